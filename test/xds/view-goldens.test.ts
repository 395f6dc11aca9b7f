// The builders are a function of the view alone: every `<proxy>.view.json`
// golden, read back as JSON (no model, no config), builds exactly the Envoy
// config of its `<proxy>.json` golden.
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ProxyView } from '../../src/model/view-types.js';
import { canonicalJson } from '../../src/proto/proto-json.js';
import { offlineSecretMaterial } from '../../src/translate/offline-secret-material.js';
import { CONFIG_DUMP_TYPE, formatJson } from '../../src/translate/proxy-config-dump.js';
import type { JsonObject } from '../../src/xds/common.js';
import { buildConfigDump } from '../../src/xds/config-dump.js';
import { buildSecret } from '../../src/xds/secret.js';
import { buildResources } from '../../src/xds/translate.js';
import { goldenCases } from '../support/golden-cases.js';

const envoyCases = goldenCases().filter((c) => c.stage === 'envoy');

test('every view golden builds its Envoy golden byte for byte', () => {
  assert.ok(envoyCases.length >= 20, `only ${envoyCases.length} cases`);
  for (const c of envoyCases) {
    const view = JSON.parse(readFileSync(c.goldenPath.replace(/\.json$/, '.view.json'), 'utf8')) as ProxyView;
    const resources = buildResources(view);
    const material = offlineSecretMaterial(view.proxy.identity);
    const secrets = resources.secrets.map((ref) => buildSecret(ref, material)).filter((s): s is JsonObject => s !== undefined);
    const built = formatJson(canonicalJson(CONFIG_DUMP_TYPE, buildConfigDump(resources, secrets)));
    if (built !== readFileSync(c.goldenPath, 'utf8')) assert.fixture(built, readFileSync(c.goldenPath, 'utf8'), `${c.scenario}/${c.proxy}`);
  }
});

test('a changed view changes the build: the test reads the view, not the model', () => {
  const c = envoyCases.find((x) => x.scenario === 's1-auto-mtls' && x.proxy === 'sleep.foo')!;
  const view = JSON.parse(readFileSync(c.goldenPath.replace(/\.json$/, '.view.json'), 'utf8')) as ProxyView;
  assert.is(view.kind, 'sidecar');
  if (view.kind !== 'sidecar') return;
  const before = buildResources(view).clusters.length;
  view.outbound.clusters = view.outbound.clusters.slice(1);
  assert.is(buildResources(view).clusters.length, before - 1);
});

test.run();
