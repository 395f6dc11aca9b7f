// A running meshlite analyzes every config it applies: the findings of the
// config it serves are in /debug/configz (with counts by severity) and in the
// meshlite_config_findings gauge, and they never stop a config from applying.
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadConfigTexts } from '../../src/config/load-texts.js';
import { analyzeApplied } from '../../src/control-plane/config-findings.js';
import { type RunningMeshlite, startMeshlite } from '../../src/control-plane/start-meshlite.js';
import { buildMeshModel } from '../../src/model/mesh-model.js';
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
    // The file watcher may also apply a generation (even one that read typo.yaml half written): wait for the one with it.
    const second = await until('the reload with the typo applied', async () => {
      const z = await configz(m);
      return z.state === 'ok' && z.generation > first.generation && z.findings.length > 0 ? z : undefined;
    });
    assert.equal(
      second.findings.map((f: Configz) => `${f.code} ${f.severity} ${f.kind} ${f.namespace}/${f.name} ${f.field}`),
      ['ML0301 Warning DestinationRule foo/typo spec.host'],
    );
    // Placed at the field by the config-loading worker: `  host: ...` is line 5, its value starts in column 9.
    assert.ok(String(second.findings[0].file).endsWith('typo.yaml'), second.findings[0].file);
    assert.equal([second.findings[0].line, second.findings[0].column], [5, 9]);
    assert.equal(second.findingCounts, { Error: 0, Warning: 1, Info: 0 });
    assert.is(await gauge(m, 'Warning'), '1');

    writeFileSync(join(config, 'broken.yaml'), 'apiVersion: networking.istio.io/v1\nkind: Nonsense\nmetadata: {name: x}\n');
    m.reload();
    const rejected = await until('the broken reload rejected', async () => {
      const z = await configz(m);
      return z.state === 'rejected' ? z : undefined;
    });
    // Still serving the typo's config (a watcher reload of the half-written file may have re-applied it once more).
    assert.ok(rejected.servingGeneration >= second.generation, `serving ${rejected.servingGeneration}`);
    assert.equal(
      rejected.findings.map((f: Configz) => f.code),
      ['ML0301'],
    );
  });
});

test('a load without findings (loaded on the calling thread) is analyzed when applied; a failing analysis serves the config all the same', () => {
  const loaded = loadConfigTexts([{ name: 'typo.yaml', text: UNKNOWN_HOST_RULE }]);
  assert.ok(loaded.ok);
  const counted: Record<string, number>[] = [];
  const warned: string[] = [];
  const logger = { info: () => {}, warn: (_o: object, m?: string) => void warned.push(m ?? ''), debug: () => {} };
  const hooks = { configAnalyzed: (c: Record<string, number>) => void counted.push({ ...c }) };
  const found = analyzeApplied(undefined, loaded.config, buildMeshModel(loaded.config), logger, hooks);
  assert.equal(
    found.map((f) => `${f.code} ${f.file}:${f.line}`),
    ['ML0301 typo.yaml:1'],
  );
  assert.equal(counted, [{ Error: 0, Warning: 1, Info: 0 }]);
  const given = [{ ...found[0]!, line: 5, column: 9 }];
  assert.is(analyzeApplied(given, loaded.config, buildMeshModel(loaded.config), logger, hooks), given, "the worker's findings are kept");
  const broken = {
    configAnalyzed: () => {
      throw new Error('gauge broke');
    },
  };
  assert.equal(analyzeApplied(undefined, loaded.config, buildMeshModel(loaded.config), logger, broken), []);
  assert.equal(warned, ['config analysis failed; the config is served all the same']);
});

test.run();
