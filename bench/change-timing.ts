// Offline timing of one mesh-wide PeerAuthentication change, in one process and
// without gRPC: the bench:push mesh with N proxies, each with a SotW stream
// that holds (and ACKed) its config, then STRICT <-> PERMISSIVE flips. Each
// change is split the way the control plane does the work: reload (the
// loader's work on this thread, with its parse cache, then the model),
// translation (the last Translator handed on when only policies changed),
// secrets + encoding into snapshots, the consistency check, push (snapshots
// handed to the streams, responses encoded) and the ACKs. Medians over
// --changes changes.
//
//   node --expose-gc dist/bench/change-timing.js --proxies 1000 --changes 5
//   node --expose-gc dist/bench/change-timing.js --no-reuse   # a change to anything but policies: a new Translator
//   node --expose-gc dist/bench/change-timing.js --cpu-prof /tmp/changes.cpuprofile   # the changes only
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SnapshotCache } from '../src/cache/snapshot-cache.js';
import { changedTypes, SnapshotEncoder } from '../src/cache/snapshot.js';
import { ConsistencyChecker } from '../src/cache/snapshot-consistency.js';
import { InlineConfigLoader } from '../src/control-plane/config-loader.js';
import { policiesOnlyChanged, type TranslationInputs } from '../src/control-plane/translation-reuse.js';
import { NO_SECRETS_DIRECTORY } from '../src/credentials/credential-store.js';
import { resolveProxySecrets, SecretMemo } from '../src/control-plane/proxy-secrets.js';
import type { WorkloadCredentialSource } from '../src/control-plane/workload-credentials.js';
import { buildMeshModel } from '../src/model/mesh-model.js';
import { SotwStream } from '../src/server/sotw-stream.js';
import { NO_OBSERVER } from '../src/server/stream-status.js';
import { Translator } from '../src/translate/translator.js';
import { PUSH_ORDER } from '../src/server/xds-protocol.js';
import { TYPE_URL_OF } from '../src/xds/type-urls.js';
import { parseCommandLine } from './bench-util.js';
import { type MtlsMode, writeMeshMode, writePushMesh } from './push-config.js';

const USAGE = `usage: node --expose-gc dist/bench/change-timing.js [options]
  --proxies N        proxies with a stream each (default 1000)
  --changes K        STRICT <-> PERMISSIVE flips to time (default 5)
  --cpu-prof FILE    a CPU profile of the changes only (not the connect)
  --no-reuse         every change gets a new Translator, as a change to anything but policies does`;
const { values: args } = parseCommandLine(
  'change-timing',
  {
    proxies: { type: 'string', default: '1000' },
    changes: { type: 'string', default: '5' },
    'cpu-prof': { type: 'string' },
    'no-reuse': { type: 'boolean', default: false },
  },
  USAGE,
);
const proxies = Number(args.proxies);
const changes = Number(args.changes);
if (!Number.isInteger(proxies) || proxies < 1 || !Number.isInteger(changes) || changes < 1) {
  process.stderr.write('change-timing: --proxies and --changes need positive integers\n');
  process.exit(2);
}

const ROOT_PEM = '-----BEGIN CERTIFICATE-----\nROOT\n-----END CERTIFICATE-----\n';
/** One certificate per identity, kept as the CA's rotation cache keeps it: a rebuild gets the same strings. */
const issued = new Map<string, Awaited<ReturnType<WorkloadCredentialSource['certificateFor']>>>();
const credentials: WorkloadCredentialSource = {
  rootCertPem: () => ROOT_PEM,
  async certificateFor({ namespace, serviceAccount }) {
    const key = `${namespace}/${serviceAccount}`;
    const known = issued.get(key);
    if (known) return { ...known };
    const pair = {
      certChainPem: `-----BEGIN CERTIFICATE-----\n${namespace}/${serviceAccount}\n-----END CERTIFICATE-----\n`,
      privateKeyPem: '-----BEGIN PRIVATE KEY-----\nKEY\n-----END PRIVATE KEY-----\n',
      serialNumber: '1',
      notAfter: new Date(Date.now() + 86_400_000),
    };
    issued.set(key, pair);
    return { ...pair };
  },
  onRotated() {},
};

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

type Run = Record<Phase, number> & { cpu: number; changedTypes: string; bytes: number };
type Phase = 'reload' | 'translation' | 'secrets' | 'check' | 'encode' | 'push' | 'ack';
const PHASES: Phase[] = ['reload', 'translation', 'secrets', 'check', 'encode', 'push', 'ack'];

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'meshlite-change-'));
  const services = Math.max(1, Math.ceil(proxies / 5));
  const mesh = writePushMesh(dir, { proxies, services, namespaces: Math.max(1, Math.ceil(services / 10)) });
  const cache = new SnapshotCache();
  const encoder = new SnapshotEncoder();
  const checker = new ConsistencyChecker();
  const secretMemo = new SecretMemo();
  const loader = new InlineConfigLoader();
  let previous: { translator: Translator; inputs: TranslationInputs | undefined } | undefined;
  let wrote = 0;
  const streams = mesh.proxies.map((p) => {
    const stream = new SotwStream(
      p.id,
      (encode) => void (wrote += encode().byteLength),
      NO_OBSERVER,
      () => {},
    );
    cache.watch(p.id, (s) => stream.onSnapshot(s));
    return stream;
  });
  /** Every stream answers its last response of each type with an ACK. */
  const ackAll = () => {
    for (const stream of streams) {
      for (const status of stream.status()) {
        if (!status.sentNonce || status.ackedVersion === status.sentVersion) continue;
        stream.onRequest({
          versionInfo: status.sentVersion ?? '',
          resourceNames: [],
          typeUrl: TYPE_URL_OF[status.type],
          responseNonce: status.sentNonce,
        });
      }
    }
  };

  const runOnce = async (): Promise<Run> => {
    const t: Record<Phase, number> = { reload: 0, translation: 0, secrets: 0, check: 0, encode: 0, push: 0, ack: 0 };
    const cpuAtStart = cpuMs();
    // Phases by the wall clock (one thread, no I/O waits; process.cpuUsage per lap would cost more than some phases), the total also as CPU.
    let at = performance.now();
    const lap = (phase: Phase) => {
      const now = performance.now();
      t[phase] += now - at;
      at = now;
    };
    const loaded = await loader.load([dir]);
    if (!loaded.ok) throw new Error('the bench config did not load');
    const inputs = loaded.kindDigests && { kindDigests: loaded.kindDigests, registered: '[]' };
    const reuse = !args['no-reuse'] && previous && policiesOnlyChanged(previous.inputs, inputs) ? previous.translator : undefined;
    const translator = new Translator(buildMeshModel(loaded.config, undefined, reuse?.model.registry), {}, reuse);
    previous = { translator, inputs };
    lap('reload');
    const changed = new Set<string>();
    wrote = 0;
    encoder.startRound();
    for (const p of mesh.proxies) {
      const translated = translator.translate(p.id);
      if (!translated.ok) throw new Error(translated.error);
      lap('translation');
      const { secrets, unserved } = await resolveProxySecrets(translated.resources.secrets, translated.proxy, {
        keysOnNode: false,
        workload: credentials,
        tls: NO_SECRETS_DIRECTORY,
        memo: secretMemo,
      });
      lap('secrets');
      if (checker.dangling({ ...translated.resources, secrets }, unserved).length > 0) throw new Error(`${p.id}: dangling`);
      lap('check');
      await encoder.encodeInSlices(translated.resources, secrets, () => undefined);
      const snapshot = encoder.build(translated.resources, secrets);
      for (const type of changedTypes(cache.get(p.id), snapshot)) changed.add(type);
      lap('encode');
      cache.set(p.id, snapshot);
      lap('push');
    }
    encoder.endRound();
    lap('encode');
    ackAll();
    lap('ack');
    return { ...t, cpu: cpuMs() - cpuAtStart, changedTypes: [...changed].join(','), bytes: wrote };
  };

  // Connect: every stream subscribes to every type (wildcard), then gets its first snapshot.
  for (const stream of streams) {
    for (const type of PUSH_ORDER) stream.onRequest({ versionInfo: '', resourceNames: [], typeUrl: TYPE_URL_OF[type], responseNonce: '' });
  }
  const connect = await runOnce();
  // A second ACK round: SotW answers dependent types once their parents were ACKed.
  ackAll();
  process.stdout.write(`connect (${proxies} proxies): ${describe(connect)}\n`);
  const runs: Run[] = [];
  const profiler = args['cpu-prof'] ? new Session() : undefined;
  if (profiler) {
    profiler.connect();
    await profiler.post('Profiler.enable');
    await profiler.post('Profiler.start');
  }
  let mode: MtlsMode = 'STRICT';
  for (let i = 0; i < changes; i++) {
    mode = mode === 'STRICT' ? 'PERMISSIVE' : 'STRICT';
    writeMeshMode(mesh.policyFile, mode);
    globalThis.gc?.();
    const run = await runOnce();
    runs.push(run);
    process.stdout.write(`change ${i + 1} -> ${mode}: ${describe(run)}\n`);
  }
  if (profiler) {
    const { profile } = await profiler.post('Profiler.stop');
    writeFileSync(args['cpu-prof']!, JSON.stringify(profile));
  }
  const median = Object.fromEntries(PHASES.map((p) => [p, medianOf(runs.map((r) => r[p]))])) as Record<Phase, number>;
  const cpu = medianOf(runs.map((r) => r.cpu));
  const total = PHASES.reduce((sum, p) => sum + median[p], 0);
  process.stdout.write(
    `median of ${changes} changes: ${describe({ ...median, cpu, changedTypes: runs[0]!.changedTypes, bytes: runs[0]!.bytes })}\n`,
  );
  const stats = encoder.contentStats();
  process.stdout.write(
    `content caches: ${stats.resources} encodings, ${stats.types} type snapshots, ${stats.anys} typed configs held; ${stats.hits} hits, ${stats.misses} encodes\n`,
  );
  const json = {
    bench: 'change-timing',
    reuse: !args['no-reuse'],
    proxies,
    changes,
    ms: { ...roundAll(median), total: Math.round(total) },
    cpuMs: Math.round(cpu),
    cache: stats,
  };
  process.stdout.write(`BENCH_JSON ${JSON.stringify(json)}\n`);
  rmSync(dir, { recursive: true, force: true });
}

function roundAll(r: Record<Phase, number>): Record<Phase, number> {
  return Object.fromEntries(PHASES.map((p) => [p, Math.round(r[p])])) as Record<Phase, number>;
}

function medianOf(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function describe(r: Run): string {
  const total = PHASES.reduce((sum, p) => sum + r[p], 0);
  const parts = PHASES.map((p) => `${p} ${Math.round(r[p])}`).join(', ');
  return `${parts} = ${Math.round(total)} ms (${Math.round(r.cpu)} ms CPU); changed types: ${r.changedTypes || 'none'}; ${(r.bytes / 1048576).toFixed(1)} MiB written`;
}

main().catch((err) => {
  process.stderr.write(`change-timing: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
