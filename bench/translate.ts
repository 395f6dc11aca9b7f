// Translation benchmark: a synthetic mesh (default 1,000 services, 5,000
// workloads, 2,000 policies) through the real loader, the mesh model, the
// per-proxy translator for every sidecar, and, for a sample of proxies, the
// strict proto validation + encoding of every resource.
//
//   npm run bench:translate
//   node --expose-gc dist/bench/translate.js --services 50 --workloads 250 --policies 100
//
// What is kept alive: the config set and mesh model for the whole run; per
// proxy only timings and resource counts (each proxy's output is dropped
// before the next is translated), except during the "retain" step, which
// keeps `--retain-sample` outputs at once to size them.
import { buildConfigSet } from '../src/config/load-config.js';
import type { ConfigIssue } from '../src/config/diagnostics.js';
import { parseYamlText, type YamlDocument } from '../src/config/yaml-files.js';
import { buildMeshModel, type MeshModel } from '../src/model/mesh-model.js';
import { envoyRootStats, lookupMessage } from '../src/proto/envoy-root.js';
import { jsonToBinary } from '../src/proto/proto-json.js';
import { type ProxySnapshot, SnapshotEncoder } from '../src/cache/snapshot.js';
import { asJson } from '../src/xds/common.js';
import type { ClusterLoadAssignment, RouteConfiguration } from '../src/xds/envoy-types/index.js';
import { Translator } from '../src/translate/translator.js';
import type { ProxyResources } from '../src/xds/proxy-resources.js';
import { sidecarProxies } from '../src/translate/translator.js';
import {
  type Distribution,
  distribution,
  mb,
  MemorySampler,
  ms,
  msSince,
  OptionError,
  now,
  pad,
  parseOptions,
  round,
  roundDist,
  runGc,
  timed,
} from './bench-util.js';
import { generateMesh } from './synthetic-mesh.js';

const KINDS = ['clusters', 'endpoints', 'listeners', 'routes'] as const;
type Kind = (typeof KINDS)[number];
const PROTO: Record<Kind, string> = {
  clusters: 'envoy.config.cluster.v3.Cluster',
  endpoints: 'envoy.config.endpoint.v3.ClusterLoadAssignment',
  listeners: 'envoy.config.listener.v3.Listener',
  routes: 'envoy.config.route.v3.RouteConfiguration',
};

/** One Translator per model, as the control plane keeps one per config generation (its caches make a namespace's proxies share work). */
const translators = new WeakMap<MeshModel, Translator>();

function translateOrDie(model: MeshModel, id: string): ProxyResources {
  let translator = translators.get(model);
  if (!translator) translators.set(model, (translator = new Translator(model)));
  const result = translator.translate(id);
  if (!result.ok) throw new Error(`translation of ${id} failed: ${result.error}`);
  return result.resources;
}

function lbEndpointCount(endpoints: readonly ClusterLoadAssignment[]): number {
  let n = 0;
  for (const cla of endpoints) for (const group of cla.endpoints ?? []) n += (group.lb_endpoints ?? []).length;
  return n;
}

function virtualHostCount(routes: readonly RouteConfiguration[]): number {
  return routes.reduce((n, r) => n + (r.virtual_hosts ?? []).length, 0);
}

function evenlySpaced(total: number, want: number): number[] {
  const n = Math.min(total, want);
  return Array.from({ length: n }, (_, i) => Math.floor((i * total) / n));
}

function main(): void {
  const opts = parseOptions(process.argv.slice(2), process.env);
  const mem = new MemorySampler();
  const hasGc = runGc();
  const out = (line = ''): void => {
    process.stdout.write(`${line}\n`);
  };
  const phase = (label: string, fn: () => void): void => {
    runGc();
    fn();
    mem.sample(`${label}:end`);
  };
  out(
    `meshlite translation benchmark (node ${process.version}, ${process.arch}, gc between phases: ${hasGc ? 'yes' : 'no (run with --expose-gc)'})`,
  );
  out(
    `shape: ${opts.services} services, ${opts.workloads} workloads, ${opts.policies} policies, ${opts.authz} authorization policies, ${opts.namespaces} namespaces, seed ${opts.seed}${opts.sidecars ? ', a Sidecar per namespace' : ''}`,
  );
  mem.sample('start');

  // 1. Generate YAML text (not part of any measured figure).
  const [mesh, generateMs] = timed(() => generateMesh(opts));
  out(`generated ${mesh.files.length} YAML files, ${mb(mesh.bytes)}, kinds ${JSON.stringify(mesh.counts)} in ${ms(generateMs)}`);
  mem.sample('generate:end');

  // 2. Load: YAML parse, then validation + building the ConfigSet.
  let documents: YamlDocument[] = [];
  const yamlIssues: ConfigIssue[] = [];
  let parseMs = 0;
  let buildMs = 0;
  let config!: Extract<ReturnType<typeof buildConfigSet>, { ok: true }>['config'];
  phase('load', () => {
    const start = now();
    for (const file of mesh.files) {
      const parsed = parseYamlText(file.text, file.name);
      documents.push(...parsed.documents);
      yamlIssues.push(...parsed.issues);
    }
    parseMs = msSince(start);
    mem.sample('load:parsed');
    const [result, elapsed] = timed(() =>
      buildConfigSet(
        documents,
        yamlIssues,
        mesh.files.map((f) => f.name),
      ),
    );
    buildMs = elapsed;
    if (!result.ok) {
      for (const issue of result.issues.slice(0, 20))
        process.stderr.write(`${issue.file}:${issue.line}:${issue.column} ${issue.path}: ${issue.message}\n`);
      throw new Error(`synthetic config is invalid: ${result.issues.length} issue(s)`);
    }
    config = result.config;
  });
  const docCount = documents.length;
  documents = [];
  mesh.files.length = 0;
  runGc();
  const afterLoad = mem.sample('load:retained');
  out(`config load: parse ${ms(parseMs)} + validate/build ${ms(buildMs)} = ${ms(parseMs + buildMs)} for ${docCount} documents`);

  // 3. Mesh model.
  let model!: ReturnType<typeof buildMeshModel>;
  let modelMs = 0;
  phase('model', () => {
    [model, modelMs] = timed(() => buildMeshModel(config));
  });
  const afterModel = mem.sample('model:retained');
  out(
    `mesh model: ${ms(modelMs)} (${model.registry.services.length} services, ${model.registry.workloads.length} workloads); heap after load ${mb(afterLoad.heapUsed)}, after model ${mb(afterModel.heapUsed)}`,
  );

  // 4. Translate every sidecar proxy, keeping only timings and counts.
  let proxies = sidecarProxies(model);
  const allProxies = proxies.length;
  if (opts.maxProxies > 0) proxies = proxies.slice(0, opts.maxProxies);
  const perProxy = new Float64Array(proxies.length);
  const counts = { clusters: 0, endpoints: 0, listeners: 0, routes: 0, lbEndpoints: 0, warnings: 0 };
  const perKind: Record<Kind, number[]> = { clusters: [], endpoints: [], listeners: [], routes: [] };
  let sample: Record<string, number | string> = {};
  let translateMs = 0;
  phase('translate', () => {
    const start = now();
    for (let i = 0; i < proxies.length; i++) {
      const t0 = now();
      const r = translateOrDie(model, proxies[i]!.id);
      perProxy[i] = msSince(t0);
      for (const kind of KINDS) {
        counts[kind] += r[kind].length;
        perKind[kind].push(r[kind].length);
      }
      counts.warnings += r.warnings.length;
      counts.lbEndpoints += lbEndpointCount(r.endpoints);
      if (i === 0) {
        sample = {
          proxy: r.proxyId,
          clusters: r.clusters.length,
          endpoints: r.endpoints.length,
          lbEndpoints: lbEndpointCount(r.endpoints),
          listeners: r.listeners.length,
          routes: r.routes.length,
          virtualHosts: virtualHostCount(r.routes),
          secretNames: r.secrets.length,
          warnings: r.warnings.length,
        };
      }
      if ((i + 1) % opts.memEvery === 0) mem.sample(`translate:${i + 1}`);
    }
    translateMs = msSince(start);
  });
  const translateDist = distribution(perProxy);
  const kindDist = Object.fromEntries(KINDS.map((k) => [k, distribution(perKind[k])])) as Record<Kind, Distribution>;
  out();
  out(
    `translation: ${proxies.length} of ${allProxies} sidecar proxies in ${ms(translateMs)} (${round(proxies.length / (translateMs / 1000), 1)} proxies/s)`,
  );
  out(
    `  per proxy: mean ${ms(translateDist.mean)}, p50 ${ms(translateDist.p50)}, p90 ${ms(translateDist.p90)}, p99 ${ms(translateDist.p99)}, max ${ms(translateDist.max)} (first ${ms(perProxy[0] ?? 0)})`,
  );
  out(
    `  sample proxy ${sample.proxy}: ${sample.clusters} clusters, ${sample.endpoints} endpoints (CLAs, ${sample.lbEndpoints} lb endpoints), ${sample.listeners} listeners, ${sample.routes} route configs (${sample.virtualHosts} virtual hosts), ${sample.secretNames} secret names, ${sample.warnings} warnings`,
  );
  for (const k of KINDS)
    out(
      `  ${pad(`${k} per proxy:`, 22)}min ${kindDist[k].min}, mean ${round(kindDist[k].mean, 1)}, max ${kindDist[k].max}; total ${counts[k]}`,
    );
  out(`  lb endpoints total: ${counts.lbEndpoints}; warnings total: ${counts.warnings}`);

  // 4b. What serving really costs: every proxy's snapshot (validated, encoded,
  // versioned) held at once, as `meshlite serve` holds them for connected proxies.
  // One SnapshotEncoder, as serve has: encodings are cached by resource identity,
  // so resources shared by a namespace are encoded once.
  const snapshotPerProxy: number[] = [];
  let snapshotMs = 0;
  let snapshotsHeld = 0;
  phase('snapshots', () => {
    const held: ProxySnapshot[] = [];
    const encoder = new SnapshotEncoder();
    const start = process.hrtime.bigint();
    for (const [i, p] of proxies.entries()) {
      const [snap, elapsed] = timed(() => encoder.build(translateOrDie(model, p.id), []));
      snapshotPerProxy.push(elapsed);
      held.push(snap);
      if ((i + 1) % opts.memEvery === 0) mem.sample(`snapshots:${i + 1}`);
    }
    snapshotMs = msSince(start);
    runGc();
    snapshotsHeld = mem.sample('snapshots:all-held').heapUsed;
    held.length = 0;
  });
  const snapshotDist = distribution(snapshotPerProxy);
  out(`snapshots (translate + validate + encode + version, all ${proxies.length} proxies held at once): ${ms(snapshotMs)}`);
  out(
    `  per proxy: mean ${ms(snapshotDist.mean)}, p50 ${ms(snapshotDist.p50)}, p99 ${ms(snapshotDist.p99)}, max ${ms(snapshotDist.max)}; heap with all held ${mb(snapshotsHeld)}`,
  );

  // 5. Proto schema load (one-off, lazily on first lookup).
  let protoLoadMs = 0;
  phase('protoLoad', () => {
    const [, elapsed] = timed(() => KINDS.forEach((k) => lookupMessage(PROTO[k])));
    protoLoadMs = elapsed;
  });
  const rootStats = envoyRootStats();

  // 6. Validate + encode the resources of a sample of proxies.
  const sampleIdx = evenlySpaced(proxies.length, opts.encodeSample);
  const encodePerProxy: number[] = [];
  const sampleTranslate: number[] = [];
  const bytesPerProxy: number[] = [];
  const jsonBytesPerProxy: number[] = [];
  const byKind = Object.fromEntries(KINDS.map((k) => [k, { resources: 0, ms: 0, bytes: 0, maxMs: 0, maxName: '' }])) as Record<
    Kind,
    { resources: number; ms: number; bytes: number; maxMs: number; maxName: string }
  >;
  let encodeMs = 0;
  phase('encode', () => {
    for (let s = 0; s < sampleIdx.length; s++) {
      const t0 = now();
      const r = translateOrDie(model, proxies[sampleIdx[s]!]!.id);
      sampleTranslate.push(msSince(t0));
      let bytes = 0;
      const t1 = now();
      for (const kind of KINDS) {
        const acc = byKind[kind];
        for (const resource of r[kind].map(asJson)) {
          const t2 = now();
          const encoded = jsonToBinary(PROTO[kind], resource);
          const elapsed = msSince(t2);
          acc.ms += elapsed;
          if (elapsed > acc.maxMs) {
            acc.maxMs = elapsed;
            acc.maxName = String(resource.name ?? resource.cluster_name);
          }
          acc.resources++;
          acc.bytes += encoded.length;
          bytes += encoded.length;
        }
      }
      const elapsed = msSince(t1);
      encodeMs += elapsed;
      encodePerProxy.push(elapsed);
      bytesPerProxy.push(bytes);
      let jsonBytes = 0;
      for (const kind of KINDS) for (const resource of r[kind]) jsonBytes += JSON.stringify(resource).length;
      jsonBytesPerProxy.push(jsonBytes);
      if ((s + 1) % 10 === 0) mem.sample(`encode:${s + 1}`);
    }
  });
  const encodeDist = distribution(encodePerProxy);
  const bytesDist = distribution(bytesPerProxy);
  const jsonDist = distribution(jsonBytesPerProxy);
  out();
  out(`proto schema load: ${ms(protoLoadMs)}${rootStats ? ` (${rootStats.fileCount} files)` : ''}`);
  out(`uncached validate+encode (jsonToBinary per proxy, no sharing) for ${sampleIdx.length} sample proxies: ${ms(encodeMs)} total`);
  out(
    `  per proxy: mean ${ms(encodeDist.mean)}, p50 ${ms(encodeDist.p50)}, p99 ${ms(encodeDist.p99)}, max ${ms(encodeDist.max)} (translation of the same proxies: mean ${ms(distribution(sampleTranslate).mean)})`,
  );
  out(
    `  encoded bytes per proxy: mean ${mb(bytesDist.mean)}, min ${mb(bytesDist.min)}, max ${mb(bytesDist.max)} (JSON text: mean ${mb(jsonDist.mean)})`,
  );
  for (const k of KINDS) {
    const a = byKind[k];
    out(
      `  ${pad(`${k}:`, 12)}${a.resources} resources, ${ms(a.ms)}, ${round(a.resources ? (a.ms * 1000) / a.resources : 0, 1)} µs/resource, ${round(a.resources ? a.bytes / a.resources : 0, 0)} B/resource, slowest ${ms(a.maxMs)} (${a.maxName})`,
    );
  }
  const projectedEncodeAll = encodeDist.mean * proxies.length;
  out(`  projected for all ${proxies.length} proxies: ${ms(projectedEncodeAll)}`);

  // 7. Retained size of proxy outputs (a cache of every proxy's resources would cost this much each).
  let retainedPerProxy = 0;
  const retainN = Math.min(opts.retainSample, proxies.length);
  if (retainN > 0) {
    runGc();
    const before = process.memoryUsage().heapUsed;
    const kept: ProxyResources[] = evenlySpaced(proxies.length, retainN).map((i) => translateOrDie(model, proxies[i]!.id));
    runGc();
    const after = mem.sample('retain:all-kept').heapUsed;
    retainedPerProxy = (after - before) / kept.length;
    kept.length = 0;
  }
  runGc();
  const final = mem.sample('end');

  out();
  out(
    `memory: peak rss ${mb(mem.peak.rss)} (at ${mem.peak.rssAt}), peak heapUsed ${mb(mem.peak.heapUsed)} (at ${mem.peak.heapUsedAt}), ${mem.peak.samples} samples`,
  );
  for (const [p, m] of mem.phasePeaks) out(`  ${pad(`${p}:`, 14)}rss ${mb(m.rss)}, heapUsed ${mb(m.heapUsed)}`);
  out(`  heap retained after load ${mb(afterLoad.heapUsed)}, after model ${mb(afterModel.heapUsed)}, at end ${mb(final.heapUsed)}`);
  if (retainN > 0)
    out(
      `  one proxy's output held in memory: ~${mb(retainedPerProxy)} (${retainN} kept at once; all ${proxies.length} would be ~${mb(retainedPerProxy * proxies.length)})`,
    );

  const summary = {
    shape: {
      ...opts,
      documents: docCount,
      yamlBytes: mesh.bytes,
      generated: mesh.counts,
      sidecarProxies: allProxies,
      translatedProxies: proxies.length,
    },
    load: { parseMs: round(parseMs), validateBuildMs: round(buildMs), totalMs: round(parseMs + buildMs) },
    model: { ms: round(modelMs), services: model.registry.services.length, workloads: model.registry.workloads.length },
    translate: {
      totalMs: round(translateMs),
      proxiesPerSecond: round(proxies.length / (translateMs / 1000), 1),
      perProxyMs: roundDist(translateDist),
      sampleProxy: sample,
      perProxyCounts: Object.fromEntries(
        KINDS.map((k) => [k, { min: kindDist[k].min, mean: round(kindDist[k].mean, 1), max: kindDist[k].max }]),
      ),
      totals: counts,
    },
    snapshots: { totalMs: round(snapshotMs), perProxyMs: roundDist(snapshotDist), heapAllHeldBytes: snapshotsHeld },
    encode: {
      protoLoadMs: round(protoLoadMs),
      sampleProxies: sampleIdx.length,
      totalMs: round(encodeMs),
      perProxyMs: roundDist(encodeDist),
      bytesPerProxy: roundDist(bytesDist),
      jsonBytesPerProxy: roundDist(jsonDist),
      byKind: Object.fromEntries(KINDS.map((k) => [k, { ...byKind[k], ms: round(byKind[k].ms), maxMs: round(byKind[k].maxMs) }])),
      projectedAllProxiesMs: round(projectedEncodeAll),
    },
    memory: {
      peakRssBytes: mem.peak.rss,
      peakHeapUsedBytes: mem.peak.heapUsed,
      peakRssAt: mem.peak.rssAt,
      peakHeapUsedAt: mem.peak.heapUsedAt,
      heapAfterLoadBytes: afterLoad.heapUsed,
      heapAfterModelBytes: afterModel.heapUsed,
      retainedBytesPerProxyOutput: Math.round(retainedPerProxy),
      phases: Object.fromEntries(mem.phasePeaks),
      kept: 'config set + mesh model for the whole run; per proxy only timings and counts; encode/retain phases re-translate sample proxies',
    },
  };
  process.stdout.write(`BENCH_JSON ${JSON.stringify(summary)}\n`);
}

try {
  main();
} catch (err) {
  if (!(err instanceof OptionError)) throw err;
  process.stderr.write(`${err.message}\n`);
  process.exit(2);
}
