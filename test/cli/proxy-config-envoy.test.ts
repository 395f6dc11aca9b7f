// `meshlite proxy-config` and `meshlite status` with a real Envoy fed by
// meshlite: the tables read from the Envoy's own admin are the ones read from
// meshlite's view of what it serves that proxy, and status shows the Envoy
// SYNCED on every type once it accepted them.
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type RunningMeshlite, startMeshlite } from '../../src/control-plane/start-meshlite.js';
import { startEnvoy, waitEnvoyReady } from '../support/e2e/envoy.js';
import { loopbackAddress } from '../support/e2e/loopback-blocks.js';
import { withProcesses } from '../support/e2e/process-manager.js';
import { EXAMPLES_DIR, REPO_ROOT } from '../support/paths.js';
import { until } from '../support/poll.js';

const CLI = join(REPO_ROOT, 'dist/src/cli/main.js');

function meshlite(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** The S1 example with its workload addresses moved into this file's loopback block. */
function configIn(dir: string): string {
  const [a, b] = loopbackAddress('cli/proxy-config-envoy.test.ts', 0).split('.');
  const configDir = join(dir, 'config');
  mkdirSync(configDir);
  for (const f of readdirSync(join(EXAMPLES_DIR, 's1-auto-mtls'))) {
    const text = readFileSync(join(EXAMPLES_DIR, 's1-auto-mtls', f), 'utf8');
    writeFileSync(join(configDir, f), text.replace(/\b127\.0\.(\d+)\.(\d+)\b/g, `${a}.${b}.$1.$2`));
  }
  return configDir;
}

test('a real Envoy: proxy-config --envoy-admin gives the rows of --meshlite-admin; status shows it SYNCED on every type', async () => {
  await withProcesses('proxy-config-envoy', async (pm) => {
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
        settleMs: 0,
        logger: pino({ level: 'silent' }),
      });
      const running = m;
      const envoy = await startEnvoy(pm, 'httpbin.foo', { configDir, stateDir, adsAddress: `127.0.0.1:${running.adsPort}` });
      await waitEnvoyReady(envoy);
      const meshliteAdmin = `http://127.0.0.1:${running.adminPort}`;
      await until('meshlite sees httpbin.foo synced', async () => {
        const res = await fetch(`${meshliteAdmin}/debug/syncz?proxy=httpbin.foo`);
        return res.ok && ((await res.json()) as { synced: boolean }).synced ? true : undefined;
      });

      const status = await meshlite('status', '--meshlite-admin', meshliteAdmin);
      assert.is(status.code, 0, status.stderr);
      const row = status.stdout
        .split('\n')
        .find((l) => l.startsWith('httpbin.foo '))!
        .split(/ {2,}/);
      assert.equal(row.slice(0, 9), ['httpbin.foo', 'sidecar', '-', 'SYNCED', 'SYNCED', 'SYNCED', 'SYNCED', 'SYNCED', '-']);
      assert.match(row[9]!, /^2[34]h\d+m$/);

      for (const kind of ['clusters', 'listeners', 'routes', 'endpoints', 'secrets']) {
        const fromEnvoy = await meshlite('proxy-config', kind, '--envoy-admin', envoy.adminUrl);
        const fromMeshlite = await meshlite('proxy-config', kind, 'httpbin.foo', '--meshlite-admin', meshliteAdmin);
        assert.is(fromEnvoy.code, 0, fromEnvoy.stderr);
        assert.is(fromMeshlite.code, 0, fromMeshlite.stderr);
        assert.ok(fromEnvoy.stdout.split('\n').length > 2, `${kind}: the Envoy holds some:\n${fromEnvoy.stdout}`);
        assert.fixture(fromEnvoy.stdout, fromMeshlite.stdout, `${kind}: the same rows from Envoy and from meshlite`);
      }
      // The certificate Envoy holds is the one meshlite issued it, readable, its key never shown.
      const secrets = await meshlite('proxy-config', 'secrets', '--envoy-admin', envoy.adminUrl);
      const sync = (await (await fetch(`${meshliteAdmin}/debug/syncz?proxy=httpbin.foo`)).json()) as {
        certificate: { serialNumber: string };
      };
      assert.match(secrets.stdout, new RegExp(`\\ndefault\\s+Cert Chain\\s+ACTIVE\\s+true\\s+${sync.certificate.serialNumber}\\s`));
      const json = await meshlite('proxy-config', 'all', '--envoy-admin', envoy.adminUrl, '-o', 'json');
      assert.is(json.code, 0, json.stderr);
      assert.not.match(json.stdout, 'PRIVATE KEY');
      assert.match(json.stdout, 'BEGIN CERTIFICATE');
    } finally {
      await m?.stop();
    }
  });
});

test.run();
