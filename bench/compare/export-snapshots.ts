// Exports what meshlite serves each proxy of the push-bench mesh, in both
// states of the mesh-wide policy (STRICT, then PERMISSIVE), into a snapshot
// file (snapshot-file.ts), plus an ADS serving certificate from the same CA.
// A real meshlite runs in this process; every proxy is "connected" through the
// control plane's own entry point, so the snapshots are exactly the ones its
// ADS streams would get. Run by bench/compare/compare.ts as a child process:
//
//   node dist/bench/compare/export-snapshots.js <configDir> <stateDir> <policyFile> <proxyIdsJson> <outDir>
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import type { SnapshotCache } from '../../src/cache/snapshot-cache.js';
import { RESOURCE_TYPES } from '../../src/xds/type-urls.js';
import { adsServingTls } from '../../src/control-plane/ca-credentials.js';
import { startMeshlite } from '../../src/control-plane/start-meshlite.js';
import { writeMeshMode } from '../push-config.js';
import { CERT_FILE, encodeAny, type ExportedState, KEY_FILE, SNAPSHOT_FILE, STATE_MODES, writeSnapshotFile } from './snapshot-file.js';

const log = (msg: string) => process.stderr.write(`[export] ${msg}\n`);

async function main(): Promise<void> {
  const [configDir, stateDir, policyFile, idsFile, outDir] = process.argv.slice(2);
  if (!outDir) throw new Error('usage: export-snapshots.js <configDir> <stateDir> <policyFile> <proxyIdsJson> <outDir>');
  const ids = JSON.parse(readFileSync(idsFile!, 'utf8')) as string[];
  writeMeshMode(policyFile!, STATE_MODES[0]!);
  const started = performance.now();
  const running = await startMeshlite({
    configPaths: [configDir!],
    stateDir: stateDir!,
    adsAddress: '127.0.0.1:0',
    adminAddress: '127.0.0.1:0',
    insecure: false,
    logger: pino({ level: 'warn' }),
    debounceMs: 20,
  });
  try {
    const cp = running.controlPlane;
    // The control plane's cache is private: it is read here, and only here, to see what streams are served.
    const cache = (cp as unknown as { cache: SnapshotCache }).cache;
    const states: ExportedState[] = [];
    const anys = new Map<Uint8Array, Uint8Array>();
    log(`meshlite started in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    let stepStart = performance.now();
    for (const [i, mode] of STATE_MODES.entries()) {
      if (i > 0) {
        const generation = cp.configStatus?.generation ?? 0;
        writeMeshMode(policyFile!, mode);
        running.reload();
        const deadline = Date.now() + 120_000;
        while ((cp.configStatus?.generation ?? 0) <= generation) {
          if (Date.now() > deadline) throw new Error(`meshlite did not apply the ${mode} policy`);
          await new Promise((r) => setTimeout(r, 10));
        }
      } else {
        await Promise.all(ids.map((id) => cp.proxyConnected(id)));
      }
      await cp.idle();
      log(`${mode}: ${ids.length} snapshots built in ${((performance.now() - stepStart) / 1000).toFixed(1)} s`);
      stepStart = performance.now();
      const proxies = ids.map((id) => {
        const snapshot = cache.get(id);
        if (!snapshot) throw new Error(`meshlite built no snapshot for ${id}`);
        const types = RESOURCE_TYPES.map((t) => {
          const ts = snapshot[t];
          const resources = [...ts.resources.values()].map((r) => {
            let any = anys.get(r.value);
            if (!any) anys.set(r.value, (any = encodeAny(ts.typeUrl, r.value)));
            return { name: r.name, version: r.version, any };
          });
          return { typeUrl: ts.typeUrl, version: ts.version, resources };
        });
        return { id, types };
      });
      states.push({ label: mode, proxies });
    }
    writeMeshMode(policyFile!, STATE_MODES[0]!);
    const file = writeSnapshotFile(states);
    writeFileSync(join(outDir, SNAPSHOT_FILE), file);
    log(`${(file.length / 1024 / 1024).toFixed(1)} MiB written in ${((performance.now() - stepStart) / 1000).toFixed(1)} s`);
    const tls = await adsServingTls(running.ca, '127.0.0.1');
    writeFileSync(join(outDir, CERT_FILE), tls.certChainPem);
    writeFileSync(join(outDir, KEY_FILE), tls.privateKeyPem, { mode: 0o600 });
  } finally {
    await running.stop();
  }
}

if (process.argv[1]?.endsWith('export-snapshots.js')) {
  main().then(
    () => process.exit(0),
    (err) => {
      process.stderr.write(`export failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
