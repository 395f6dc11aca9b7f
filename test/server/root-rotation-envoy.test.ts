// The failure a root rotation fixes, with a real Envoy: one bootstrapped by
// `meshlite bootstrap` before the rotation pins the old root for its ADS
// connection. After signing moves to the new root meshlite serves a new ADS
// certificate; Envoy reconnects (connections are closed at a short max age)
// and still verifies meshlite through the cross-signed certificate, and it
// receives the ROOTCA with the new root: both roots, then the new one alone.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type RunningMeshlite, startMeshlite } from '../../src/control-plane/start-meshlite.js';
import { startEnvoyFromFile, writeBootstrap } from '../support/e2e/envoy.js';
import { loopbackAddress } from '../support/e2e/loopback-blocks.js';
import { withProcesses } from '../support/e2e/process-manager.js';
import { EXAMPLES_DIR } from '../support/paths.js';
import { certificatesOf, until } from '../control-plane/root-rotation-support.js';

/** The S1 example with its workload addresses moved into this file's loopback block. */
function configIn(dir: string): string {
  const [a, b] = loopbackAddress('server/root-rotation-envoy.test.ts', 0).split('.');
  const configDir = join(dir, 'config');
  mkdirSync(configDir);
  for (const f of readdirSync(join(EXAMPLES_DIR, 's1-auto-mtls'))) {
    const text = readFileSync(join(EXAMPLES_DIR, 's1-auto-mtls', f), 'utf8');
    writeFileSync(join(configDir, f), text.replace(/\b127\.0\.(\d+)\.(\d+)\b/g, `${a}.${b}.$1.$2`));
  }
  return configDir;
}

const serialOf = (pem: string) => certificatesOf(pem)[0]!.serialNumber.toLowerCase();

test('an Envoy bootstrapped before the rotation reconnects to meshlite after signing-new and gets the new ROOTCA', async () => {
  await withProcesses('root-rotation-envoy', async (pm) => {
    const configDir = configIn(pm.dir);
    const stateDir = join(pm.dir, 'state');
    let m: RunningMeshlite | undefined;
    try {
      m = await startMeshlite({
        configPaths: [configDir],
        stateDir,
        adsAddress: '127.0.0.1:0',
        adminAddress: '127.0.0.1:0',
        insecure: false,
        certTtlSeconds: 4,
        maxConnectionAgeSeconds: 2,
        maxConnectionAgeGraceSeconds: 1,
        settleMs: 0,
        logger: pino({ level: 'silent' }),
      });
      const running = m;
      const oldRoot = running.ca.rootCertPem;
      const { path, bootstrap } = await writeBootstrap(pm, 'sleep.foo', {
        configDir,
        stateDir,
        adsAddress: `127.0.0.1:${running.adsPort}`,
      });
      const xds = bootstrap.static_resources.clusters[0];
      assert.is(
        xds.transport_socket.typed_config.common_tls_context.validation_context.trusted_ca.inline_string,
        oldRoot,
        'the bootstrap pins the old root',
      );
      const envoy = await startEnvoyFromFile(pm, 'sleep.foo', path);
      // The ROOTCA secret Envoy holds (its config dump shows trusted CAs; only private keys are redacted).
      const rootCa = async () => {
        const dump = await envoy.getJson<{ configs: Record<string, any>[] }>('/config_dump');
        const secrets = dump.configs.find((c) => String(c['@type']).endsWith('SecretsConfigDump'));
        const secret = (secrets?.dynamic_active_secrets ?? []).find((x: { name: string }) => x.name === 'ROOTCA');
        return (secret?.secret?.validation_context?.trusted_ca?.inline_string as string | undefined) ?? '';
      };
      const caSerials = async () => certificatesOf(await rootCa()).map((c) => c.serialNumber.toLowerCase());
      await until('Envoy holds ROOTCA with the old root', async () => (await caSerials()).join() === serialOf(oldRoot), 30_000);

      assert.ok((await running.rootRotation.start({ phaseTimeoutMs: 120_000 })).ok);
      // Envoy must accept the bundle with both roots (no timeout: two minutes away) for signing to move.
      const newRoot = certificatesOf(running.ca.rootCertPem)[1]!.toString();
      const [oldSerial, newSerial] = [serialOf(oldRoot), serialOf(newRoot)];
      await until('signing-new', () => (running.rootRotation.status() as { phase: string }).phase === 'signing-new', 30_000);
      const switchedAt = Date.now();
      await until(
        'Envoy reconnected (on the new ADS certificate) after signing-new',
        async () => (await streamsSince('sleep.foo', switchedAt, running)) > 0,
        30_000,
      );
      // new + old while signing-new lasts (a second or two here: the direct certificates are superseded at once), then new alone.
      await until('Envoy holds a ROOTCA led by the new root', async () => (await caSerials())[0] === newSerial, 30_000);
      await until('done', () => (running.rootRotation.status() as { phase: string }).phase === 'done', 30_000);
      const doneAt = Date.now();
      await until('Envoy holds ROOTCA with only the new root', async () => (await caSerials()).join() === newSerial, 30_000);
      await until('Envoy reconnected again after done', async () => (await streamsSince('sleep.foo', doneAt, running)) > 0, 30_000);
      assert.is.not(oldSerial, newSerial);
      assert.is(await envoy.stat(`cluster.meshlite-xds.ssl.fail_verify_error`), 0, 'Envoy never failed to verify meshlite');
      assert.ok(((await envoy.stat('cluster.meshlite-xds.ssl.handshake')) ?? 0) >= 3, 'several TLS handshakes (reconnects) happened');
      assert.is(await envoy.stat('control_plane.connected_state'), 1);
    } finally {
      await m?.stop();
    }
  });
});

/** ADS streams of `proxy` open now that began after `since` (ms), from /debug/adsz. */
async function streamsSince(proxy: string, since: number, m: RunningMeshlite): Promise<number> {
  const streams = (await (await fetch(`http://127.0.0.1:${m.adminPort}/debug/adsz`)).json()) as { proxy: string; connectedAt: string }[];
  return streams.filter((s) => s.proxy === proxy && Date.parse(s.connectedAt) > since).length;
}

test.run();
