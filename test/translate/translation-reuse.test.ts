// A config change that touches only peer and access policies hands the last
// Translator on (translation-reuse.ts): its outbound side is taken over while
// every endpoint's mTLS is unchanged, and rebuilt when it is not. Either way
// each proxy's resources equal a translation from scratch of the new model.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as fc from 'fast-check';
import type { LoadResult } from '../../src/config/load-config.js';
import { InlineConfigLoader } from '../../src/control-plane/config-loader.js';
import { policiesOnlyChanged, type TranslationInputs } from '../../src/control-plane/translation-reuse.js';
import { buildMeshModel } from '../../src/model/mesh-model.js';
import { meshProxies, translate, Translator } from '../../src/translate/translator.js';
import { EXAMPLES_DIR } from '../support/paths.js';

const policy = (mode: string, port?: { port: number; mode: string }) => `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: istio-system}
spec:
  mtls: {mode: ${mode}}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-admin, namespace: bar}
spec:
  action: DENY
  rules: [{to: [{operation: {paths: ["/${mode.toLowerCase()}*"]}}]}]
${
  port
    ? `---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: httpbin, namespace: bar}
spec:
  selector: {matchLabels: {app: httpbin}}
  portLevelMtls: {"${port.port}": {mode: ${port.mode}}}
`
    : ''
}`;

const inputsOf = (r: LoadResult): TranslationInputs | undefined =>
  r.ok && r.kindDigests ? { kindDigests: r.kindDigests, registered: '[]' } : undefined;

function assertLikeScratch(translator: Translator, label: string): void {
  for (const { workload } of meshProxies(translator.model)) {
    const got = translator.translate(workload.id);
    const want = translate(translator.model, workload.id);
    assert.ok(got.ok && want.ok, `${label} ${workload.id}`);
    if (got.ok && want.ok) assert.equal(got.resources, want.resources, `${label} ${workload.id}`);
  }
}

test('property: after policy-only changes the handed-on translation equals one from scratch; other changes are not handed on', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshlite-reuse-'));
  try {
    cpSync(join(EXAMPLES_DIR, 's1-auto-mtls'), dir, { recursive: true });
    const loader = new InlineConfigLoader({ cwd: dir });
    writeFileSync(join(dir, 'policy.yaml'), policy('STRICT'));
    let last = await loader.load([dir]);
    assert.ok(last.ok);
    if (!last.ok) return;
    let translator = new Translator(buildMeshModel(last.config));
    let reusedOnce = false;
    let rebuiltOnce = false;
    const modes = fc.constantFrom('STRICT', 'PERMISSIVE', 'DISABLE', 'UNSET');
    const steps = fc.sample(fc.tuple(modes, fc.option(fc.record({ port: fc.constantFrom(80, 8080), mode: modes }))), {
      numRuns: 12,
      seed: 15,
    });
    for (const [mode, port] of steps) {
      writeFileSync(join(dir, 'policy.yaml'), policy(mode, port ?? undefined));
      const next = await loader.load([dir]);
      assert.ok(next.ok && next.kindDigests);
      if (!next.ok) return;
      assert.ok(policiesOnlyChanged(inputsOf(last), inputsOf(next)), `${mode} ${JSON.stringify(port)}`);
      translator = new Translator(buildMeshModel(next.config), {}, translator);
      if (translator.views.reused) reusedOnce = true;
      else rebuiltOnce = true;
      assertLikeScratch(translator, `${mode} ${JSON.stringify(port)}`);
      last = next;
    }
    assert.ok(reusedOnce && rebuiltOnce, 'the steps both kept and changed which endpoints take mTLS');
    // A workload moves: not a policy-only change.
    writeFileSync(
      join(dir, 'extra.yaml'),
      'apiVersion: networking.istio.io/v1\nkind: WorkloadEntry\nmetadata: {name: extra, namespace: bar}\nspec: {address: 127.0.9.9, labels: {app: httpbin}}\n',
    );
    const moved = await loader.load([dir]);
    assert.ok(moved.ok);
    assert.is(policiesOnlyChanged(inputsOf(last), inputsOf(moved)), false);
    assert.is(policiesOnlyChanged(inputsOf(last), undefined), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
