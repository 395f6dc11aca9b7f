// A running meshlite analyzes every config it applies: the findings of the
// config it serves are in /debug/configz (with counts by severity) and in the
// meshlite_config_findings gauge, and they never stop a config from applying.
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type RunningMeshlite, startMeshlite } from '../../src/control-plane/start-meshlite.js';
import { EXAMPLES_DIR } from '../support/paths.js';
import { until } from '../support/poll.js';

const UNKNOWN_HOST_RULE = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: typo, namespace: foo}
spec:
  host: httpbn.foo.svc.cluster.local
`;

type Configz = Record<string, any>;

async function withMeshlite(body: (m: RunningMeshlite, dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'meshlite-findings-'));
  const config = join(dir, 'config');
  cpSync(join(EXAMPLES_DIR, 's1-auto-mtls'), config, { recursive: true });
  let running: RunningMeshlite | undefined;
  try {
    running = await startMeshlite({
      configPaths: [config],
      stateDir: join(dir, 'state'),
      adsAddress: '127.0.0.1:0',
      adminAddress: '127.0.0.1:0',
      insecure: true,
      debounceMs: 20,
      settleMs: 100,
      logger: pino({ level: 'silent' }),
    });
    await body(running, config);
  } finally {
    await running?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const get = async (m: RunningMeshlite, path: string) => fetch(`http://127.0.0.1:${m.adminPort}${path}`);
const configz = async (m: RunningMeshlite): Promise<Configz> => (await get(m, '/debug/configz')).json() as Promise<Configz>;
const gauge = async (m: RunningMeshlite, severity: string) => {
  const text = await (await get(m, '/metrics')).text();
  return new RegExp(`^meshlite_config_findings\\{severity="${severity}"\\} (\\d+)$`, 'm').exec(text)?.[1];
};

test('a reload with a finding shows it in /debug/configz and the gauge; a rejected reload keeps the served findings', async () => {
  await withMeshlite(async (m, config) => {
    const first = await configz(m);
    assert.is(first.state, 'ok');
    assert.equal(first.findings, []);
    assert.equal(first.findingCounts, { Error: 0, Warning: 0, Info: 0 });
    assert.is(await gauge(m, 'Warning'), '0');

    writeFileSync(join(config, 'typo.yaml'), UNKNOWN_HOST_RULE);
    m.reload();
    const second = await until('the reload with the typo applied', async () => {
      const z = await configz(m);
      return z.state === 'ok' && z.generation > first.generation ? z : undefined;
    });
    assert.equal(
      second.findings.map((f: Configz) => `${f.code} ${f.severity} ${f.kind} ${f.namespace}/${f.name} ${f.field}`),
      ['ML0301 Warning DestinationRule foo/typo spec.host'],
    );
    assert.ok(String(second.findings[0].file).endsWith('typo.yaml'), second.findings[0].file);
    assert.equal(second.findingCounts, { Error: 0, Warning: 1, Info: 0 });
    assert.is(await gauge(m, 'Warning'), '1');

    writeFileSync(join(config, 'broken.yaml'), 'apiVersion: networking.istio.io/v1\nkind: Nonsense\nmetadata: {name: x}\n');
    m.reload();
    const rejected = await until('the broken reload rejected', async () => {
      const z = await configz(m);
      return z.state === 'rejected' ? z : undefined;
    });
    assert.is(rejected.servingGeneration, second.generation);
    assert.equal(
      rejected.findings.map((f: Configz) => f.code),
      ['ML0301'],
    );
  });
});

test.run();
