// Files that used to kill `meshlite serve`, dropped into the watched config
// directory of a running S1 world: meshlite stays up and answers, reports the
// rejected config (naming the file) in /debug/configz, /ready and its log,
// and every Envoy keeps exactly the config it had (its own /config_dump) and
// keeps carrying traffic. A restart with the bad file present comes up too.
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, rmSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { dynamicConfig } from '../support/e2e/envoy.js';
import { adminJson, configz } from '../support/e2e/meshlite.js';
import { withProcesses } from '../support/e2e/process-manager.js';
import { waitForConfigz, waitForSync } from '../support/e2e/wait-for-sync.js';
import { startWorld, type World } from '../support/e2e/world.js';

interface Hostile {
  name: string;
  /** Puts the bad thing into the config dir; returns what to remove to undo it. */
  plant(dir: string): string;
  /** A fragment of the error /debug/configz must show for it. */
  error: RegExp;
}

const serviceEntryHosts = (n: number) =>
  `apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: huge, namespace: foo}\nspec:\n  hosts:\n${Array.from({ length: n }, (_, i) => `  - h${i}.example.com`).join('\n')}\n  ports: [{number: 80, name: http, protocol: HTTP}]\n  resolution: NONE\n`;

const HOSTILE: Hostile[] = [
  {
    name: 'a 462-byte YAML alias bomb',
    plant: (dir) => {
      writeFileSync(join(dir, 'bomb.yaml'), `a: &a [x, x, x, x, x, x, x, x, x, x]\nb: [${Array(101).fill('*a').join(', ')}]\n`);
      return join(dir, 'bomb.yaml');
    },
    error: /bomb\.yaml:1:1: too many alias \(\*name\) expansions/,
  },
  {
    name: 'a symlink loop (ln -s . loop)',
    plant: (dir) => {
      symlinkSync('.', join(dir, 'loop'));
      return join(dir, 'loop');
    },
    error: /loop: leads to .*, already read as .* \(a symlink loop or a second link to one directory\)/,
  },
  {
    name: 'a dangling symlink',
    plant: (dir) => {
      symlinkSync('/nonexistent/meshlite.yaml', join(dir, 'x.yaml'));
      return join(dir, 'x.yaml');
    },
    error: /x\.yaml: dangling symlink: it points to \/nonexistent\/meshlite\.yaml/,
  },
  {
    name: 'a ServiceEntry with 130,000 hosts',
    plant: (dir) => {
      writeFileSync(join(dir, 'huge.yaml'), serviceEntryHosts(130_000));
      return join(dir, 'huge.yaml');
    },
    error: /huge\.yaml:6:3: a list of 130000 items, over the limit of 10000 \(--max-list-items\)/,
  },
  {
    name: 'a 50 MB file',
    plant: (dir) => {
      const path = join(dir, 'fat.yaml');
      const fd = openSync(path, 'w');
      const chunk = Buffer.alloc(1024 * 1024, `# ${'x'.repeat(77)}\n`);
      for (let i = 0; i < 50; i++) writeSync(fd, chunk);
      closeSync(fd);
      return path;
    },
    error: /fat\.yaml: file is 52428800 bytes, over the limit of 8388608 \(--max-file-bytes\)/,
  },
  {
    name: 'a FIFO named like a config file',
    plant: (dir) => {
      execFileSync('mkfifo', [join(dir, 'pipe.yaml')]);
      return join(dir, 'pipe.yaml');
    },
    error: /pipe\.yaml: not a regular file/,
  },
  {
    name: 'bytes that are not UTF-8',
    plant: (dir) => {
      writeFileSync(join(dir, 'latin1.yaml'), Buffer.from('kind: caf\xe9\n', 'latin1'));
      return join(dir, 'latin1.yaml');
    },
    error: /latin1\.yaml: not UTF-8 text/,
  },
  {
    name: '20,000 invalid documents',
    plant: (dir) => {
      const many = join(dir, 'many');
      mkdirSync(many);
      for (let f = 0; f < 4; f++) {
        const docs = Array.from(
          { length: 5_000 },
          (_, i) => `apiVersion: networking.istio.io/v1\nkind: Nope\nmetadata: {name: n${i}, namespace: foo}`,
        );
        writeFileSync(join(many, `part-${f}.yaml`), docs.join('\n---\n'));
      }
      return many;
    },
    error: /\.\.\. and 19900 more error\(s\) not listed/,
  },
];

/** What every Envoy holds, by proxy. */
async function envoyConfigs(world: World): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const id of world.sidecarProxies) out[id] = await dynamicConfig(world.envoy(id));
  return out;
}

test('hostile files: meshlite stays up, reports them, and every Envoy keeps its config and traffic', async () => {
  await withProcesses(
    'hostile-config',
    async (pm) => {
      const world = await startWorld(pm);
      const before = await envoyConfigs(world);
      assert.is((await world.call('foo', 'bar')).code, '200');

      for (const h of HOSTILE) {
        const goodGeneration = (await configz(world.meshlite.adminUrl)).generation!;
        const planted = h.plant(world.cfg.dir);
        const status = await waitForConfigz(
          world.meshlite.adminUrl,
          (s) => s.state === 'rejected' && (s.errors ?? []).some((e) => h.error.test(e)),
          `${h.name} rejected`,
          30_000,
        );
        assert.ok(world.meshlite.process.running, `meshlite died on ${h.name}`);
        assert.is(status.servingGeneration, goodGeneration, h.name);
        const ready = await adminJson(world.meshlite.adminUrl, '/ready');
        assert.equal([ready.ready, ready.config, ready.errors > 0], [true, 'rejected', true], `${h.name}: /ready ${JSON.stringify(ready)}`);
        assert.equal(await envoyConfigs(world), before, `${h.name}: an Envoy's config changed`);
        assert.is((await world.call('foo', 'bar')).code, '200', `${h.name}: traffic`);
        rmSync(planted, { recursive: true, force: true });
        await waitForConfigz(world.meshlite.adminUrl, (s) => s.state === 'ok', `config ok again after removing ${h.name}`, 30_000);
      }

      // The log names the rejections, and even 20,000 errors make a bounded log line.
      const rejections = world.meshlite
        .logs()
        .split('\n')
        .filter((l) => /"msg":"rejected the new config \(\d+ errors\); still serving generation \d+"/.test(l));
      assert.ok(rejections.length >= HOSTILE.length, `${rejections.length} rejection lines`);
      const longest = Math.max(...rejections.map((l) => l.length));
      assert.ok(longest < 16 * 1024, `a rejection log line is ${longest} bytes`);
      assert.equal(await envoyConfigs(world), before, 'Envoys end as they began');

      // A restart while a bad file is there comes up, says why it serves nothing, and Envoys keep their config.
      const bomb = HOSTILE[0]!.plant(world.cfg.dir);
      await world.meshlite.restart();
      const down = await waitForConfigz(world.meshlite.adminUrl, (s) => s.state === 'rejected', 'restart with the bomb present', 30_000);
      assert.match((down.errors ?? []).join('\n'), HOSTILE[0]!.error);
      const notReady = await fetch(`${world.meshlite.adminUrl}/ready`);
      assert.is(notReady.status, 503);
      assert.equal(await envoyConfigs(world), before, 'Envoys keep their config while meshlite has none to serve');
      assert.is((await world.call('foo', 'bar')).code, '200');
      rmSync(bomb);
      await waitForConfigz(world.meshlite.adminUrl, (s) => s.state === 'ok', 'config ok after removing the bomb', 30_000);
      await waitForSync(world.meshlite.adminUrl, { proxies: world.sidecarProxies, timeoutMs: 45_000 });
      assert.equal(await envoyConfigs(world), before, 'Envoys resynced to the same config');
    },
    240_000,
  );
});

test.run();
