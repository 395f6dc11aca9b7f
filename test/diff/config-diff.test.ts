import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { diffConfigDumps, formatDiff } from '../../src/diff/config-diff.js';
import { dumpProxyConfig } from '../../src/translate/proxy-config-dump.js';
import { type Document, meshOf, mtlsPolicy, serviceEntry, workloadEntry } from '../support/fixtures/index.js';

type Obj = Record<string, any>;
const docs = [serviceEntry('bar/httpbin'), workloadEntry('bar/httpbin', { address: '127.0.2.1' })];

function dump(...extra: Document[]): Obj {
  const r = dumpProxyConfig(meshOf([...docs, ...extra]), 'httpbin.bar');
  if (!r.ok) throw new Error(r.error);
  return JSON.parse(JSON.stringify(r.dump));
}

/** What Envoy adds around the same resources: versions, timestamps, its own key order. */
function asEnvoyWouldPrint(d: Obj): Obj {
  const copy = JSON.parse(JSON.stringify(d));
  for (const section of copy.configs) {
    for (const c of section.dynamic_active_clusters ?? []) Object.assign(c, { version_info: 'v7', last_updated: '2026-01-01T00:00:00Z' });
    for (const l of section.dynamic_listeners ?? [])
      Object.assign(l.active_state, { version_info: 'v7', last_updated: '2026-01-01T00:00:00Z' });
    for (const s of section.dynamic_active_secrets ?? [])
      s.secret = { name: s.name, tls_certificate: { certificate_chain: { inline_bytes: 'MIIB...' } } };
  }
  const reversed = (object: Obj): Obj =>
    Object.fromEntries(
      Object.entries(object)
        .reverse()
        .map(([k, v]) => [k, v && typeof v === 'object' && !Array.isArray(v) ? reversed(v) : v]),
    );
  copy.configs[0].dynamic_active_clusters = copy.configs[0].dynamic_active_clusters
    .reverse()
    .map((c: Obj) => ({ ...c, cluster: reversed(c.cluster) }));
  return copy;
}

test('same config matches despite versions, timestamps, secret material, order and key order', () => {
  const diffs = diffConfigDumps(dump(), asEnvoyWouldPrint(dump()));
  assert.equal(formatDiff(diffs), 'Clusters Match\nListeners Match\nRoutes Match\nSecrets Match\n');
});

test('a policy change shows as a listener diff and nothing else', () => {
  const diffs = diffConfigDumps(dump(mtlsPolicy('bar/default', 'STRICT')), dump());
  assert.equal(
    diffs.map((d) => [d.section, d.match]),
    [
      ['Clusters', true],
      ['Listeners', false],
      ['Routes', true],
      ['Secrets', true],
    ],
  );
  const patch = diffs[1]!.patch;
  assert.match(patch, '--- meshlite listeners');
  assert.match(patch, '+++ envoy listeners');
  assert.match(patch, /\+\s+"transport_protocol": "raw_buffer"/);
});

test('a missing secret is a difference', () => {
  const held = dump();
  held.configs[4].dynamic_active_secrets.pop();
  const diffs = diffConfigDumps(dump(), held);
  assert.not.ok(diffs[3]!.match);
  assert.match(diffs[3]!.patch, /-\s+"default"|-\s+"ROOTCA"/);
});

test.run();
