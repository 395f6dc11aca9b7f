// Summarises a V8 .cpuprofile (from `node --cpu-prof`): top functions by self
// time and, for meshlite's own code, by inclusive time.
//
//   node --expose-gc --cpu-prof --cpu-prof-dir=/tmp/prof dist/bench/translate.js --max-proxies 50
//   node dist/bench/profile-summary.js /tmp/prof/CPU.*.cpuprofile [--top 30]
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** `file:///…/dist/src/model/x.js` -> `src/model/x.ts`; node internals and deps keep a short form. */
function shortUrl(url: string): string {
  const dist = url.match(/\/dist\/((?:src|bench|test)\/.*)\.js$/);
  if (dist) return `${dist[1]}.ts`;
  const dep = url.match(/node_modules\/(.*)$/);
  if (dep) return dep[1]!;
  return url.replace(/^file:\/\//, '') || '(native)';
}

function label(frame: CallFrame): string {
  return `${shortUrl(frame.url)}:${frame.functionName || '(anonymous)'}`;
}

function main(): void {
  const args = process.argv.slice(2);
  const topAt = args.indexOf('--top');
  const top = topAt >= 0 ? Number(args[topAt + 1]) : 30;
  const files = args.filter((a, i) => !a.startsWith('--') && !(topAt >= 0 && i === topAt + 1));
  if (files.length === 0) throw new Error('usage: profile-summary.js <file.cpuprofile> [--top N]');
  for (const file of files) summarise(file, top);
}

function summarise(file: string, top: number): void {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const totalUs = profile.endTime - profile.startTime;

  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id)!;
    const own = label(node.callFrame);
    self.set(own, (self.get(own) ?? 0) + us);
    // Inclusive: credit every distinct function on the stack once.
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const l = label(byId.get(cur)!.callFrame);
      if (seen.has(l)) continue;
      seen.add(l);
      inclusive.set(l, (inclusive.get(l) ?? 0) + us);
    }
  }
  const pct = (us: number): string => `${((100 * us) / totalUs).toFixed(1).padStart(5)}%`;
  const secs = (us: number): string => `${(us / 1e6).toFixed(2).padStart(7)}s`;
  process.stdout.write(`${file}: ${(totalUs / 1e6).toFixed(2)} s profiled, ${profile.samples.length} samples\n`);
  process.stdout.write(`\ntop ${top} by self time:\n`);
  for (const [l, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`  ${secs(us)} ${pct(us)}  ${l}\n`);
  process.stdout.write(`\ntop ${top} meshlite functions by inclusive time:\n`);
  const own = [...inclusive].filter(([l]) => /^(src|bench)\//.test(l));
  for (const [l, us] of own.sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`  ${secs(us)} ${pct(us)}  ${l}\n`);
}

main();
