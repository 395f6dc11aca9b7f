// A load that changed only policies reuses the last load's registry and the
// outcome of its mesh-level checks (which read services, workloads, Sidecars
// and MeshConfig, never a policy); any other change builds and checks anew.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { stringify } from 'yaml';
import { YamlParseCache } from '../../src/config/yaml-parse-cache.js';
import { loadMesh, MeshCheckMemo } from '../../src/control-plane/load-mesh.js';
import { type Document, mtlsPolicy, serviceEntry, workloadEntry } from '../support/fixtures/index.js';

const text = (docs: Document[]) => docs.map((d) => stringify(d)).join('---\n');

const db = serviceEntry('baz/db', { ports: [{ name: 'tcp', number: 5432, protocol: 'TCP' }] });
const dbWorkload = workloadEntry('baz/db', { address: '127.0.0.5', labels: { app: 'db', 'security.istio.io/tlsMode': 'none' } });
const sleep = workloadEntry('foo/sleep', { address: '127.0.1.2' });
// A proxy whose outbound listeners would bind the database's own address and port.
const clashing = workloadEntry(
  'foo/sleep',
  { address: '127.0.1.2' },
  { annotations: { 'sidecar.meshlite.io/outboundAddress': '127.0.0.5' } },
);

function withDir(run: (write: (file: string, docs: Document[]) => void, load: () => ReturnType<typeof loadMesh>) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'meshlite-mesh-memo-'));
  const parseCache = new YamlParseCache();
  const memo = new MeshCheckMemo();
  try {
    run(
      (file, docs) => writeFileSync(join(dir, file), text(docs)),
      () => loadMesh([dir], { parseCache }, memo),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a policy-only change keeps the registry; a workload change builds a new one', () => {
  withDir((write, load) => {
    write('services.yaml', [db, dbWorkload, sleep]);
    write('policy.yaml', [mtlsPolicy('istio-system/default', 'STRICT')]);
    const first = load();
    assert.ok(first.result.ok && first.model);
    write('policy.yaml', [mtlsPolicy('istio-system/default', 'PERMISSIVE')]);
    const second = load();
    assert.ok(second.result.ok && second.model);
    assert.is(second.model!.registry, first.model!.registry);
    assert.is(second.model!.peerAuthn === first.model!.peerAuthn, false, 'the policies themselves are new');
    const other = workloadEntry(
      'foo/other',
      { address: '127.0.1.3' },
      { annotations: { 'sidecar.meshlite.io/outboundAddress': '127.0.1.3' } },
    );
    write('services.yaml', [db, dbWorkload, sleep, other]);
    const third = load();
    assert.ok(third.result.ok && third.model, JSON.stringify(!third.result.ok && third.result.issues));
    assert.is.not(third.model!.registry, first.model!.registry);
    assert.ok(third.model!.registry.workload('other.foo'));
  });
});

test('a config rejected by a mesh-level check stays rejected, with the same issue, when only a policy changes', () => {
  withDir((write, load) => {
    write('services.yaml', [db, dbWorkload, clashing]);
    write('policy.yaml', [mtlsPolicy('istio-system/default', 'STRICT')]);
    const first = load().result;
    assert.is(first.ok, false);
    const message = !first.ok ? first.issues.map((i) => i.message).join('\n') : '';
    assert.match(message, '127.0.0.5:5432');
    write('policy.yaml', [mtlsPolicy('istio-system/default', 'PERMISSIVE')]);
    const second = load().result;
    assert.is(second.ok, false);
    assert.is(!second.ok && second.issues.map((i) => i.message).join('\n'), message);
    // Fixing the workload is not a policy change: checked anew, and accepted.
    write('services.yaml', [db, dbWorkload, sleep]);
    assert.is(load().result.ok, true);
  });
});

test.run();
