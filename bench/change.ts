// One mesh-wide change, offline: the bench:push mesh (N sidecars) is loaded,
// modelled and translated for every proxy, then its mesh-wide
// PeerAuthentication flips STRICT <-> PERMISSIVE and the same steps run again,
// timed one by one in this thread: the worker's load (read + parse + validate,
// the mesh checks, the analysis), the control plane's model, and the
// translation of every proxy with one Translator per model.
//
//   npm run bench:change
//   node --expose-gc dist/bench/change.js --proxies 1000 --changes 5
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BackgroundConfigLoader, InlineConfigLoader } from '../src/control-plane/config-loader.js';
import { buildMeshModel } from '../src/model/mesh-model.js';
import { policiesOnlyChanged, type TranslationInputs } from '../src/control-plane/translation-reuse.js';
import { Translator } from '../src/translate/translator.js';
import { round, runGc } from './bench-util.js';
import { type MtlsMode, writeMeshMode, writePushMesh } from './push-config.js';

const { values: args } = parseArgs({
  options: {
    proxies: { type: 'string', default: '1000' },
    changes: { type: 'string', default: '6' },
    /** Skip the inline load (its CPU figure): a profile of this thread then shows only model and translation. */
    'no-inline-load': { type: 'boolean', default: false },
    /** Every model gets a new Translator (what a change to anything but policies costs). */
    'no-reuse': { type: 'boolean', default: false },
  },
});
const proxiesWanted = Number(args.proxies);
const changes = Number(args.changes);
if (!Number.isInteger(proxiesWanted) || proxiesWanted < 1 || !Number.isInteger(changes) || changes < 1) {
  process.stderr.write('--proxies and --changes need positive integers\n');
  process.exit(2);
}

interface Step {
  load: number;
  loadCpu: number;
  model: number;
  translate: number;
  /** Process CPU during model + translation. */
  translateCpu: number;
  total: number;
}

const cpuMs = (since: NodeJS.CpuUsage) => {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1000;
};

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'meshlite-bench-change-'));
  const services = Math.max(1, Math.ceil(proxiesWanted / 5));
  const mesh = writePushMesh(join(root, 'config'), {
    proxies: proxiesWanted,
    services,
    namespaces: Math.max(1, Math.ceil(services / 10)),
  });
  const ids = mesh.proxies.map((p) => p.id);
  // The loader the control plane uses (a worker per load): its wall time is the load's share of a change.
  const loader = new BackgroundConfigLoader();
  // The same loads on this thread, for their CPU time (a loader keeps what it may between loads, like the worker).
  const inline = new InlineConfigLoader();
  const steps: Step[] = [];
  try {
    let mode: MtlsMode = 'STRICT';
    // As the control plane does: the last Translator is handed on when only policies changed.
    let previous: { translator: Translator; inputs: TranslationInputs | undefined } | undefined;
    for (let i = 0; i <= changes; i++) {
      if (i > 0) {
        mode = mode === 'STRICT' ? 'PERMISSIVE' : 'STRICT';
        writeMeshMode(mesh.policyFile, mode);
      }
      runGc();
      const t0 = performance.now();
      const loaded = await loader.load([mesh.dir]);
      const t1 = performance.now();
      if (!loaded.ok) throw new Error(`the bench mesh does not load: ${loaded.issues[0]?.message}`);
      const model = buildMeshModel(loaded.config);
      const t2 = performance.now();
      const translateCpu0 = process.cpuUsage();
      const inputs = loaded.kindDigests && { kindDigests: loaded.kindDigests, registered: '[]' };
      const reuse = !args['no-reuse'] && previous && policiesOnlyChanged(previous.inputs, inputs) ? previous.translator : undefined;
      const translator = new Translator(model, {}, reuse);
      previous = { translator, inputs };
      for (const id of ids) {
        const r = translator.translate(id);
        if (!r.ok) throw new Error(`translation of ${id} failed: ${r.error}`);
      }
      const t3 = performance.now();
      const translateCpu = cpuMs(translateCpu0);
      // The worker's CPU is not this thread's: the inline load is timed separately for it.
      const loadCpu0 = process.cpuUsage();
      if (!args['no-inline-load']) await inline.load([mesh.dir]);
      const loadCpu = cpuMs(loadCpu0);
      steps.push({ load: t1 - t0, loadCpu, model: t2 - t1, translate: t3 - t2, translateCpu, total: t3 - t0 });
    }
  } finally {
    (loader as { close?: () => void }).close?.();
    rmSync(root, { recursive: true, force: true });
  }
  const changed = steps.slice(1);
  const median = (k: keyof Step) => {
    const v = changed.map((s) => s[k]).sort((a, b) => a - b);
    return round(v[Math.floor(v.length / 2)]!, 1);
  };
  const summary = {
    proxies: ids.length,
    services,
    changes: changed.length,
    firstMs: Object.fromEntries(Object.entries(steps[0]!).map(([k, v]) => [k, round(v, 1)])),
    medianMs: {
      load: median('load'),
      loadInlineCpu: median('loadCpu'),
      model: median('model'),
      translate: median('translate'),
      translateCpu: median('translateCpu'),
      total: median('total'),
    },
  };
  process.stdout.write(
    `${ids.length} proxies, one mesh-wide PeerAuthentication change (median of ${changed.length}):\n` +
      `  load (worker, wall) ${summary.medianMs.load} ms (the same load inline: ${summary.medianMs.loadInlineCpu} ms CPU)\n` +
      `  model ${summary.medianMs.model} ms, translate all ${summary.medianMs.translate} ms (${summary.medianMs.translateCpu} ms CPU); load + model + translate ${summary.medianMs.total} ms\n`,
  );
  process.stdout.write(`BENCH_JSON ${JSON.stringify(summary)}\n`);
}

main().catch((err) => {
  process.stderr.write(`bench:change failed: ${(err as Error).message}\n`);
  process.exitCode = 1;
});
