// In-place saves (truncate, then write, as editors and `cat > file` do) on a
// running S1 world with real Envoys. Sampled every 20 ms, no Envoy ever loses
// a cluster or listener while services.yaml or workloads.yaml is rewritten,
// and a DENY policy's file being rewritten never lets a denied request in.
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { authorizationPolicy, HTTPBIN_SELECTOR, ISTIO_LIKE_DRAIN_ARGS, PolicyChecker } from '../support/e2e/authz.js';
import { configDumpSections, dynamicConfig } from '../support/e2e/envoy.js';
import { adminJson, configz } from '../support/e2e/meshlite.js';
import { withProcesses } from '../support/e2e/process-manager.js';
import { meshRequest } from '../support/e2e/raw-http.js';
import { waitForConfigz } from '../support/e2e/wait-for-sync.js';
import { startWorld, type World } from '../support/e2e/world.js';

// The writer pauses up to 800 ms; on a loaded machine that pause stretches, so
// the settle period meshlite is given keeps a wide margin over it (a file that
// really stays short for longer than the settle period is applied, by design).
const SETTLE = ['--settle', '3s'];

/**
 * Rewrites a file in place like `cat > file`: truncate, write the first part,
 * wait, write the rest. Resolves to when the file was cut short and when it was whole again.
 */
async function saveInPlace(path: string, text: string, pauseMs: number, firstPart = 0): Promise<{ cutAt: number; wholeAt: number }> {
  const fd = openSync(path, 'w'); // O_TRUNC: the file is empty from here on
  const cutAt = Date.now();
  try {
    writeSync(fd, text.slice(0, firstPart));
    await sleep(pauseMs); // the slow writer: this gap is what the test is about
    writeSync(fd, text.slice(firstPart));
    return { cutAt, wholeAt: Date.now() };
  } finally {
    closeSync(fd);
  }
}

interface Sample {
  /** When the config_dump was asked for, and when it came back. */
  askedAt: number;
  at: number;
  proxy: string;
  clusters: number;
  listeners: number;
  secrets: number;
}

/** Samples every Envoy's config_dump every 20 ms until stopped; returns the samples. */
function sampleEnvoys(world: World): { stop(): Promise<Sample[]> } {
  const samples: Sample[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const started = Date.now();
      await Promise.all(
        world.sidecarProxies.map(async (proxy) => {
          const askedAt = Date.now();
          const s = await configDumpSections(world.envoy(proxy));
          samples.push({
            askedAt,
            at: Date.now(),
            proxy,
            clusters: (s.ClustersConfigDump?.dynamic_active_clusters ?? []).length,
            listeners: (s.ListenersConfigDump?.dynamic_listeners ?? []).filter((l: { active_state?: unknown }) => l.active_state).length,
            secrets: (s.SecretsConfigDump?.dynamic_active_secrets ?? []).length,
          });
        }),
      );
      await sleep(Math.max(0, 20 - (Date.now() - started)));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return samples;
    },
  };
}

/** Waits until meshlite holds nothing back and has applied a generation after `after`. */
async function settled(world: World, after: number): Promise<void> {
  await waitForConfigz(
    world.meshlite.adminUrl,
    (s) => s.state === 'ok' && (s.generation ?? 0) > after && !(s as { waitingToSettle?: unknown }).waitingToSettle,
    'the save applied and nothing held back',
    20_000,
  );
}

test('truncate-then-rewrite of services.yaml and workloads.yaml: no Envoy ever loses a cluster, listener or secret', async () => {
  await withProcesses('non-atomic-save', async (pm) => {
    const world = await startWorld(pm, { envoyArgs: ISTIO_LIKE_DRAIN_ARGS, meshliteArgs: SETTLE });
    const before = Object.fromEntries(
      await Promise.all(world.sidecarProxies.map(async (id) => [id, await dynamicConfig(world.envoy(id))] as const)),
    );
    const first = await sampleEnvoys(world).stop();
    const floor = new Map(first.map((s) => [s.proxy, s]));
    for (const [file, pauseMs, firstPart] of [
      ['services.yaml', 200, 0],
      ['workloads.yaml', 500, 0],
      ['services.yaml', 800, 0],
      ['workloads.yaml', 400, 300], // a partial first write: a prefix of the file sits on disk
    ] as const) {
      const path = join(world.cfg.dir, file);
      const text = readFileSync(path, 'utf8');
      const generation = (await configz(world.meshlite.adminUrl)).generation!;
      const sampler = sampleEnvoys(world);
      const { cutAt, wholeAt } = await saveInPlace(path, text, pauseMs, firstPart);
      await settled(world, generation);
      const samples = await sampler.stop();
      // Not vacuous: every Envoy was read while the file sat cut short on disk.
      for (const proxy of world.sidecarProxies)
        assert.ok(
          samples.some((s) => s.proxy === proxy && s.askedAt >= cutAt && s.at <= wholeAt),
          `${file}: ${proxy} was never read while the file was cut short (${samples.length} samples)`,
        );
      const drops = samples.filter((s) => {
        const f = floor.get(s.proxy)!;
        return s.clusters < f.clusters || s.listeners < f.listeners || s.secrets < f.secrets;
      });
      assert.equal(drops, [], `${file} (pause ${pauseMs} ms): an Envoy lost resources during the save`);
    }
    for (const id of world.sidecarProxies) assert.equal(await dynamicConfig(world.envoy(id)), before[id], `${id} ends with its config`);
    assert.match(world.meshlite.logs(), 'waiting for the files to settle before applying');
  });
});

test('rewriting a DENY policy in place never lets a denied request through', async () => {
  await withProcesses('non-atomic-save-deny', async (pm) => {
    const world = await startWorld(pm, { envoyArgs: ISTIO_LIKE_DRAIN_ARGS, meshliteArgs: SETTLE });
    const checker = new PolicyChecker(world);
    const deny = authorizationPolicy('bar', 'deny-secret', {
      selector: HTTPBIN_SELECTOR,
      action: 'DENY',
      rules: [{ to: [{ operation: { paths: ['/secret'] } }] }],
    });
    await checker.apply(deny);
    await checker.expect('DENY /secret', [{ from: 'foo', to: 'bar', path: '/secret', want: '403' }]);
    const path = join(world.cfg.dir, 'authz.yaml');
    const codes = new Map<string, number>();
    let running = true;
    const client = (async () => {
      while (running) {
        const r = await meshRequest(world.workload('sleep.foo'), world.workload('httpbin.bar'), '/secret', { probe: 'loop' });
        codes.set(r.code, (codes.get(r.code) ?? 0) + 1);
        await sleep(10);
      }
    })();
    for (const pauseMs of [200, 600]) {
      const generation = (await configz(world.meshlite.adminUrl)).generation!;
      await saveInPlace(path, readFileSync(path, 'utf8'), pauseMs);
      await settled(world, generation);
    }
    running = false;
    await client;
    const total = [...codes.values()].reduce((a, b) => a + b, 0);
    assert.ok(total >= 40, `only ${total} requests during the saves`);
    assert.equal([...codes.keys()], ['403'], `codes during the saves: ${JSON.stringify(Object.fromEntries(codes))}`);
    assert.not.match(world.apps.get('httpbin.bar')!.log(), /^request loop /m, 'a denied request reached httpbin.bar');
    const ready = await adminJson(world.meshlite.adminUrl, '/ready');
    assert.is(ready.config, 'ok');
  });
});

test.run();
