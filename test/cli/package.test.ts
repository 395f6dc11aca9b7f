// The npm package as an operator installs it: packed, installed into an empty
// project from the npm cache, then run. It must carry the built CLI, its type
// declarations, the proto it reads at run time and the examples as real files,
// and nothing of the tests, goldens or benches.
//
// Packing the repo itself would run prepack, which rebuilds dist/ under the
// other tests running beside this one. So the package root is a copy: dist/src
// from the suite's build, declarations compiled straight into the copy, the
// examples staged by the same script prepack runs; then `npm pack
// --ignore-scripts` there. The files whitelist and the exports are package.json's own.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { stageExamples } from '../../scripts/stage-examples.js';
import { after, before } from '../support/hooks.js';
import { REPO_ROOT } from '../support/paths.js';
import { until } from '../support/poll.js';

const work = mkdtempSync(join(tmpdir(), 'meshlite-package-'));
const packageRoot = join(work, 'package-root');
const app = join(work, 'app');

function run(cmd: string, args: string[], cwd: string, timeout = 120_000) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout, env: { ...process.env, npm_config_update_notifier: 'false' } });
  if (r.error) throw r.error;
  return r;
}

function mustRun(cmd: string, args: string[], cwd: string): string {
  const r = run(cmd, args, cwd);
  assert.is(r.status, 0, `${cmd} ${args.join(' ')} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

let tarball = '';
let entries: string[] = [];

before(test, () => {
  mkdirSync(packageRoot, { recursive: true });
  for (const file of ['package.json', 'README.md', 'protos']) cpSync(join(REPO_ROOT, file), join(packageRoot, file), { recursive: true });
  if (existsSync(join(REPO_ROOT, 'deploy'))) cpSync(join(REPO_ROOT, 'deploy'), join(packageRoot, 'deploy'), { recursive: true });
  cpSync(join(REPO_ROOT, 'dist/src'), join(packageRoot, 'dist/src'), { recursive: true });
  stageExamples(packageRoot);
  mustRun(
    process.execPath,
    [join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.declarations.json', '--outDir', join(packageRoot, 'dist')],
    REPO_ROOT,
  );
  const packed = JSON.parse(mustRun('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], packageRoot)) as {
    filename: string;
    files: { path: string }[];
  }[];
  tarball = join(work, packed[0]!.filename);
  entries = packed[0]!.files.map((f) => f.path);
});

after(test, () => rmSync(work, { recursive: true, force: true }));

test('the tarball holds the built code with declarations, the proto and the examples, and no tests, goldens or benches', () => {
  assert.ok(entries.includes('dist/src/cli/main.js'), 'the CLI');
  assert.ok(entries.includes('dist/src/control-plane/start-meshlite.d.ts'), 'declarations');
  assert.ok(entries.filter((e) => e.endsWith('.d.ts')).length > 100, 'declarations for the code');
  assert.ok(entries.includes('protos/istio-certificate-service.proto'));
  assert.ok(entries.includes('dist/examples/s2-mesh-strict/base/services.yaml'), 'a linked example directory, as files');
  assert.ok(entries.includes('dist/examples/demo/workloads.yaml'), 'the demo link, as files');
  const unwanted = entries.filter(
    (e) => /^(test|golden|bench|scripts|src)\/|^dist\/(test|bench|scripts)\/|\.map$|\.ts$/.test(e) && !e.endsWith('.d.ts'),
  );
  assert.equal(unwanted, []);
  const listing = mustRun('tar', ['-tvzf', tarball], work);
  assert.equal(
    listing.split('\n').filter((l) => l.startsWith('l')),
    [],
    'no symlinks in the tarball',
  );
});

test('installed from the npm cache into an empty project: --help, validate on a packed example, import with types', () => {
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'meshlite-package-test', private: true, type: 'module' }));
  let install = run('npm', ['install', '--offline', '--no-audit', '--no-fund', tarball], app);
  if (install.status !== 0) install = run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], app);
  assert.is(install.status, 0, install.stderr);
  assert.not.match(install.stderr, /EBADENGINE/, `an installed dependency refuses this Node.js:\n${install.stderr}`);

  const help = mustRun('npx', ['--no', '--', 'meshlite', '--help'], app);
  assert.match(help, /Usage: meshlite/, help);
  assert.match(help, /validate/);
  for (const example of ['s1-auto-mtls', 's2-mesh-strict', 'gateway-tls-modes']) {
    const validate = run(
      process.execPath,
      ['node_modules/.bin/meshlite', 'validate', '-c', `node_modules/meshlite/dist/examples/${example}`],
      app,
    );
    assert.is(validate.status, 0, `${example}: ${validate.stdout}${validate.stderr}`);
    assert.match(validate.stdout, /\bok\b/, `${example}: ${validate.stdout}`);
  }
  const imported = mustRun(
    process.execPath,
    ['--input-type=module', '-e', "const m = await import('meshlite'); console.log(typeof m.startMeshlite)"],
    app,
  );
  assert.is(imported.trim(), 'function');
  assert.ok(existsSync(join(app, 'node_modules/meshlite/dist/src/control-plane/start-meshlite.d.ts')));
});

test('the installed package serves: its CA service proto and config worker are inside it', async () => {
  const stateDir = join(work, 'state');
  const bin = join(app, 'node_modules/.bin/meshlite');
  const args = ['serve', '-c', 'node_modules/meshlite/dist/examples/s1-auto-mtls', '--state-dir', stateDir];
  const child: ChildProcess = spawn(bin, [...args, '--ads-address', '127.0.0.1:0', '--admin-address', '127.0.0.1:0'], {
    cwd: app,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  try {
    const line = await until('the installed meshlite serves', () => {
      if (child.exitCode !== null) throw new Error(`serve exited ${child.exitCode}:\n${out}`);
      return out.split('\n').find((l) => l.includes('meshlite serving'));
    });
    const admin = String((JSON.parse(line) as { admin: string }).admin);
    const metrics = await (await fetch(`http://${admin}/metrics`)).text();
    assert.match(metrics, /meshlite_build_info\{version="\d+\.\d+\.\d+[^"]*",node_version="/);
  } finally {
    child.kill('SIGTERM');
    if (child.exitCode === null) await new Promise((res) => child.once('exit', res));
  }
});

test.run();
