// The snapshot file bench:compare hands from meshlite to the go-control-plane
// program: what meshlite writes, a reader of the same format reads back byte
// for byte, with each distinct resource stored once.
import * as fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { anyValue, encodeAny, type ExportedState, readSnapshotFile, writeSnapshotFile } from '../../bench/compare/snapshot-file.js';
import { buildSnapshot } from '../../src/cache/snapshot.js';
import { meshProxies, Translator } from '../../src/translate/translator.js';
import { RESOURCE_TYPES } from '../../src/xds/type-urls.js';
import { scenarioModels } from '../support/golden-cases.js';

const bytesOf = (u: Uint8Array) => Buffer.from(u).toString('hex');

/** The states as plain data (bytes as hex), for deep comparison. */
function plain(states: readonly ExportedState[]): unknown {
  return states.map((s) => ({
    label: s.label,
    proxies: s.proxies.map((p) => ({
      id: p.id,
      types: p.types.map((t) => ({
        typeUrl: t.typeUrl,
        version: t.version,
        resources: t.resources.map((r) => ({ name: r.name, version: r.version, any: bytesOf(r.any) })),
      })),
    })),
  }));
}

/** What export-snapshots.ts writes for a proxy: its snapshot, each resource as an Any. */
function exported(id: string, snapshot: ReturnType<typeof buildSnapshot>) {
  return {
    id,
    types: RESOURCE_TYPES.map((t) => ({
      typeUrl: snapshot[t].typeUrl,
      version: snapshot[t].version,
      resources: [...snapshot[t].resources.values()].map((r) => ({
        name: r.name,
        version: r.version,
        any: encodeAny(snapshot[t].typeUrl, r.value),
      })),
    })),
  };
}

test('real snapshots round-trip byte for byte, and an Any gives back the encoded resource', () => {
  // The proxies of the first example scenario, as meshlite encodes them (secret material aside: it is served at run time).
  const { model } = scenarioModels()[0]!;
  const translator = new Translator(model);
  const snapshots = meshProxies(model).map(({ workload }) => {
    const t = translator.translate(workload.id);
    if (!t.ok) throw new Error(t.error);
    return { id: workload.id, snapshot: buildSnapshot(t.resources, []) };
  });
  assert.ok(snapshots.length > 0, 'proxies to export');
  const proxies = snapshots.map(({ id, snapshot }) => exported(id, snapshot));
  const states: ExportedState[] = [
    { label: 'STRICT', proxies },
    { label: 'PERMISSIVE', proxies: proxies.slice().reverse() },
  ];
  const back = readSnapshotFile(writeSnapshotFile(states));
  assert.equal(plain(back), plain(states));
  const { snapshot } = snapshots[0]!;
  assert.ok(snapshot.clusters.resources.size > 0, 'clusters to compare');
  for (const t of RESOURCE_TYPES) {
    for (const r of snapshot[t].resources.values()) assert.is(bytesOf(anyValue(encodeAny(snapshot[t].typeUrl, r.value))), bytesOf(r.value));
  }
});

test('each distinct resource is stored once, and readers share its bytes', () => {
  const any = encodeAny('type.googleapis.com/envoy.config.cluster.v3.Cluster', new Uint8Array(5000).fill(7));
  const copy = Uint8Array.from(any);
  const proxy = (id: string, a: Uint8Array) => ({
    id,
    types: [
      { typeUrl: 'type.googleapis.com/envoy.config.cluster.v3.Cluster', version: 'v1', resources: [{ name: 'c', version: 'r1', any: a }] },
    ],
  });
  const file = writeSnapshotFile([{ label: 's', proxies: [proxy('a', any), proxy('b', copy), proxy('c', any)] }]);
  assert.ok(file.length < 2 * any.length, `one copy of the 5 KB resource, file is ${file.length} bytes`);
  const [state] = readSnapshotFile(file);
  const [a, b] = state!.proxies.map((p) => p.types[0]!.resources[0]!.any);
  assert.ok(a === b, 'one byte array for one blob');
  assert.is(bytesOf(a!), bytesOf(any));
});

test('arbitrary states round-trip', () => {
  const resource = fc.record({ name: fc.string(), version: fc.string(), any: fc.uint8Array({ maxLength: 300 }) });
  const type = fc.record({ typeUrl: fc.string(), version: fc.string(), resources: fc.array(resource, { maxLength: 4 }) });
  const proxy = fc.record({ id: fc.string(), types: fc.array(type, { maxLength: 5 }) });
  const state = fc.record({ label: fc.string(), proxies: fc.array(proxy, { maxLength: 4 }) });
  fc.assert(
    fc.property(fc.array(state, { maxLength: 3 }), (states) => {
      assert.equal(plain(readSnapshotFile(writeSnapshotFile(states))), plain(states));
    }),
  );
});

test('a damaged file is refused with a reason, never misread', () => {
  const file = writeSnapshotFile([
    {
      label: 's',
      proxies: [
        {
          id: 'p',
          types: [{ typeUrl: 'u', version: 'v', resources: [{ name: 'n', version: 'r', any: encodeAny('u', Uint8Array.of(1, 2)) }] }],
        },
      ],
    },
  ]);
  assert.throws(() => readSnapshotFile(Buffer.from('NOTASNAP')), /bad magic/);
  assert.throws(() => readSnapshotFile(file.subarray(0, file.length - 3)), /truncated/);
  assert.throws(() => readSnapshotFile(Buffer.concat([file, Buffer.from([0])])), /trailing bytes/);
});

test('an Any whose value is longer than 127 bytes (a multi-byte length) gives its value back', () => {
  const value = Uint8Array.from({ length: 20_000 }, (_, i) => i % 251);
  const any = encodeAny('type.googleapis.com/envoy.config.listener.v3.Listener', value);
  assert.is(bytesOf(anyValue(any)), bytesOf(value));
});

test.run();
