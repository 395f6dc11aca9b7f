// Weighted routing over DestinationRule subsets, end to end: sleep.foo calls
// http://reviews.bar:9080/ through its sidecar; a mesh VirtualService splits
// the calls 80/20 between reviews v1 and v2 (each behind its own sidecar,
// mutual TLS), then the weights change live to 50/50 (no Envoy restart).
//
// Envoy's weighted_clusters draws a uniform random number per request, so of
// N requests the number reaching v1 is Binomial(N, p). The test accepts the
// exact central region with alpha = 1e-4 (binomialRegion): for N = 400 that
// is 288..350 (share 0.720..0.875) at p = 0.8 and 161..239 (0.403..0.598) at
// p = 0.5; a correct split fails a run with probability <= 2e-4 (two checks).
// Every call must succeed and carry the version the app answered with, and
// the client sidecar's own per-subset request counters must agree.
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { binomialRegion, describeRegion } from '../support/e2e/binomial.js';
import { exampleFile, mapAddresses, prepareConfigDir, readWorkloads, type WorkloadInfo } from '../support/e2e/config-dir.js';
import { proxyGet } from '../support/e2e/egress-clients.js';
import type { Envoy } from '../support/e2e/envoy.js';
import { activeCluster, statValue, waitForEnvoyConfig, warmingClusters } from '../support/e2e/envoy-state.js';
import { DIFF_MATCH, envoyIdentity, startMeshProxies } from '../support/e2e/mesh-proxies.js';
import { withProcesses } from '../support/e2e/process-manager.js';
import { REPO_ROOT } from '../support/paths.js';

const REVIEWS_APP = join(REPO_ROOT, 'dist/test/support/apps/reviews.js');
const N = 400;
const ALPHA = 1e-4;
const CONCURRENCY = 8;
const URL_ = 'http://reviews.bar:9080/';
const HOST = 'reviews.bar.svc.cluster.local';
const CLUSTER = (subset: string) => `outbound|9080|${subset}|${HOST}`;
const PROXIES = ['reviews-v1.bar', 'reviews-v2.bar', 'sleep.foo'];

type Json = Record<string, any>;

/** The weights of sleep's route to reviews, as Envoy holds them ({} when absent). */
function heldWeights(routes: Json | undefined): Record<string, number> {
  for (const rc of routes?.dynamic_route_configs ?? []) {
    for (const vh of rc.route_config?.virtual_hosts ?? []) {
      if (!(vh.domains ?? []).includes('reviews.bar:9080')) continue;
      const clusters: Json[] = vh.routes?.[0]?.route?.weighted_clusters?.clusters ?? [];
      return Object.fromEntries(clusters.map((c) => [String(c.name), Number(c.weight)]));
    }
  }
  return {};
}

/** Waits until sleep's Envoy routes reviews with these weights over active (not warming) subset clusters. */
async function waitForWeights(envoy: Envoy, v1: number, v2: number): Promise<void> {
  const want = { [CLUSTER('v1')]: v1, [CLUSTER('v2')]: v2 };
  await waitForEnvoyConfig(envoy, `reviews weighted ${v1}/${v2}`, (s) => {
    const got = heldWeights(s.RoutesConfigDump);
    if (JSON.stringify(got) !== JSON.stringify(want)) return `weights ${JSON.stringify(got)}`;
    for (const c of Object.keys(want)) if (!activeCluster(s, c) || warmingClusters(s).includes(c)) return `${c} not active`;
    return undefined;
  });
}

interface Sample {
  counts: Record<string, number>;
  failures: string[];
}

/** N calls from `from` through its sidecar, CONCURRENCY at a time; counts the version each reply names. */
async function sample(from: WorkloadInfo, n: number): Promise<Sample> {
  const counts: Record<string, number> = {};
  const failures: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < n) {
      next++;
      const r = await proxyGet(from, URL_);
      let version: string | undefined;
      try {
        version = r.code === '200' ? (JSON.parse(r.body) as { version?: string }).version : undefined;
      } catch {
        version = undefined;
      }
      if (!version || r.headers['x-reviews-version'] !== version) failures.push(`${r.code} ${r.error ?? ''} ${r.body.slice(0, 120)}`);
      else counts[version] = (counts[version] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return { counts, failures };
}

/** Samples N calls and asserts the v1 count is in the binomial region for share `p`; returns the counts. */
async function assertSplit(from: WorkloadInfo, sidecar: Envoy, p: number, step: string): Promise<Record<string, number>> {
  const region = binomialRegion(N, p, ALPHA);
  const rq = (subset: string) => statValue(sidecar, `cluster.${CLUSTER(subset)}.upstream_rq_total`);
  const before = { v1: await rq('v1'), v2: await rq('v2') };
  const started = Date.now();
  const { counts, failures } = await sample(from, N);
  assert.equal(failures, [], `${step}: every call answered by a reviews version`);
  const v1 = counts.v1 ?? 0;
  const v2 = counts.v2 ?? 0;
  assert.equal(
    Object.keys(counts).filter((v) => v !== 'v1' && v !== 'v2'),
    [],
    `${step}: only v1 and v2 answer`,
  );
  assert.is(v1 + v2, N);
  const summary = `${step}: v1 ${v1}/${N} (${(v1 / N).toFixed(3)}), v2 ${v2}; ${describeRegion(region)}; ${Date.now() - started} ms`;
  console.log(`  ${summary}`);
  assert.ok(v1 >= region.lo && v1 <= region.hi, summary);
  // The client sidecar's own counters saw the same split (no retries, one upstream request per call).
  assert.equal(
    { v1: (await rq('v1')) - before.v1, v2: (await rq('v2')) - before.v2 },
    { v1, v2 },
    `${step}: sidecar per-subset request counters`,
  );
  return counts;
}

test('weighted subsets: 80/20 split between reviews v1 and v2 converges, then 50/50 after a live edit', async () => {
  await withProcesses('weighted', async (pm) => {
    const cfg = await prepareConfigDir(pm.dir, 'weighted-subsets');
    const workloads = readWorkloads(cfg.dir);
    const workload = (id: string): WorkloadInfo => {
      const w = workloads.find((x) => x.id === id);
      if (!w) throw new Error(`no workload ${id} in ${cfg.dir}`);
      return w;
    };
    const sleep = workload('sleep.foo');
    for (const [id, version] of [
      ['reviews-v1.bar', 'v1'],
      ['reviews-v2.bar', 'v2'],
    ] as const) {
      const w = workload(id);
      assert.is(
        w.applicationAddress,
        mapAddresses(version === 'v1' ? '127.0.12.5' : '127.0.12.6', cfg.block),
        `${id} app address from the example`,
      );
      const app = pm.start(`app-${id}`, process.execPath, [REVIEWS_APP, w.applicationAddress, '9080', version]);
      await app.waitForLog(/reviews v\d listening/);
    }

    // Only what the calls need: meshlite, sleep.foo's sidecar, and both reviews sidecars.
    const mesh = await startMeshProxies(pm, cfg, { proxies: PROXIES });
    const sidecar = mesh.envoy('sleep.foo');
    await waitForWeights(sidecar, 80, 20);
    const first = await envoyIdentity(sidecar);

    const split80 = await assertSplit(sleep, sidecar, 0.8, '80/20');
    assert.ok((split80.v2 ?? 0) > 0, 'v2 got some traffic');
    // Both subsets were reached over mutual TLS (auto mTLS to sidecar endpoints).
    for (const subset of ['v1', 'v2']) {
      assert.ok((await statValue(sidecar, `cluster.${CLUSTER(subset)}.ssl.handshake`)) >= 1, `mTLS handshakes to ${subset}`);
    }
    for (const proxy of PROXIES) assert.is(mesh.diff(proxy).stdout, DIFF_MATCH, `meshlite diff for ${proxy} at 80/20`);

    // Live: 50/50.
    const routing = exampleFile('weighted-subsets/routing.yaml', cfg.block);
    const even = routing.replace('weight: 80', 'weight: 50').replace('weight: 20', 'weight: 50');
    assert.is((even.match(/weight: 50/g) ?? []).length, 2, 'both weights rewritten');
    await mesh.edit('routing.yaml', even);
    await waitForWeights(sidecar, 50, 50);
    await assertSplit(sleep, sidecar, 0.5, '50/50');
    for (const proxy of PROXIES) assert.is(mesh.diff(proxy).stdout, DIFF_MATCH, `meshlite diff for ${proxy} at 50/50`);

    const now = await envoyIdentity(sidecar);
    assert.is(now.pid, first.pid, 'same sleep.foo Envoy');
    assert.is(now.restartEpoch, 0);
  });
});

test.run();
