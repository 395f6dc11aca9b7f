// Summarises a V8 .cpuprofile (from `node --cpu-prof`): top functions by self
// time and, for meshlite's own code, by inclusive time.
//
//   node --expose-gc --cpu-prof --cpu-prof-dir=/tmp/prof dist/bench/translate.js --max-proxies 50
//   node dist/bench/profile-summary.js /tmp/prof/CPU.*.cpuprofile [--top 30] [--from µs --to µs]
// --from/--to keep the samples of a window on the monotonic clock in µs
// (process.hrtime.bigint() / 1000n in another process on the same host).
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

/** Where a frame's code lives, coarsely: a dependency, a node subsystem or a meshlite folder. */
function area(frame: CallFrame): string {
  const short = shortUrl(frame.url);
  if (short === '(native)') return `(${frame.functionName.replace(/[()]/g, '')})`;
  const dep = short.match(/^((?:@[^/]+\/)?[^/]+)\//);
  if (frame.url.includes('node_modules/') && dep) return X509_LIBRARY.has(dep[1]!) ? '@peculiar/x509 and its ASN.1 stack' : dep[1]!;
  const internal = short.match(/^node:(?:internal\/)?([a-z_]+)/);
  if (internal) return `node:${internal[1]!.replace(/^_/, '')}`;
  const own = short.match(/^((?:src|bench|test)\/[^/]+)\//);
  return own ? own[1]! : short;
}

const X509_LIBRARY = new Set([
  '@peculiar/x509',
  '@peculiar/asn1-schema',
  '@peculiar/asn1-x509',
  '@peculiar/asn1-csr',
  '@peculiar/asn1-pkcs9',
  '@peculiar/asn1-rsa',
  '@peculiar/asn1-ecc',
  '@peculiar/asn1-cms',
  '@peculiar/asn1-pfx',
  '@peculiar/asn1-pkcs8',
  '@peculiar/asn1-x509-attr',
  '@peculiar/json-schema',
  'asn1js',
  'pvtsutils',
  'pvutils',
  'tslib',
  'tsyringe',
  'reflect-metadata',
]);

function label(frame: CallFrame): string {
  return `${shortUrl(frame.url)}:${frame.functionName || '(anonymous)'}`;
}

function main(): void {
  const args = process.argv.slice(2);
  const option = (name: string, fallback: number) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : fallback);
  const valued = new Set(['--top', '--from', '--to'].flatMap((name) => (args.includes(name) ? [args.indexOf(name) + 1] : [])));
  const files = args.filter((a, i) => !a.startsWith('--') && !valued.has(i));
  if (files.length === 0) throw new Error('usage: profile-summary.js <file.cpuprofile> [--top N] [--from µs --to µs]');
  for (const file of files) summarise(file, option('--top', 30), option('--from', -Infinity), option('--to', Infinity));
}

function summarise(file: string, top: number, from: number, to: number): void {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfUs = new Map<number, number>();
  let at = profile.startTime;
  let totalUs = 0;
  profile.samples.forEach((id, i) => {
    // A sample's delta is the time since the previous one: the time its stack ran.
    const us = profile.timeDeltas[i] ?? 0;
    at += us;
    if (at < from || at > to) return;
    totalUs += us;
    selfUs.set(id, (selfUs.get(id) ?? 0) + us);
  });

  const self = new Map<string, number>();
  const areas = new Map<string, number>();
  const inclusive = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id)!;
    const own = label(node.callFrame);
    self.set(own, (self.get(own) ?? 0) + us);
    const where = area(node.callFrame);
    areas.set(where, (areas.get(where) ?? 0) + us);
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
  if (totalUs === 0) return;
  process.stdout.write('\nself time by area (dependency, node subsystem, meshlite folder):\n');
  for (const [a, us] of [...areas].sort((x, y) => y[1] - x[1]).slice(0, top)) process.stdout.write(`  ${secs(us)} ${pct(us)}  ${a}\n`);
  process.stdout.write(`\ntop ${top} by self time:\n`);
  for (const [l, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`  ${secs(us)} ${pct(us)}  ${l}\n`);
  process.stdout.write(`\ntop ${top} meshlite functions by inclusive time:\n`);
  const own = [...inclusive].filter(([l]) => /^(src|bench)\//.test(l));
  for (const [l, us] of own.sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`  ${secs(us)} ${pct(us)}  ${l}\n`);
}

main();
