// Summarises V8 heap snapshots (from v8.writeHeapSnapshot, e.g. the push
// agent's `heap-snapshot`): object count and self size by constructor, or,
// given two snapshots, what grew between them, divided by a per-unit count
// (e.g. the number of connected streams) to see what each stream costs.
//
//   node dist/bench/heap-summary.js after.heapsnapshot [--top 30]
//   node dist/bench/heap-summary.js before.heapsnapshot after.heapsnapshot --per 1000
import { readFileSync } from 'node:fs';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

export interface Group {
  count: number;
  selfSize: number;
}

/** Self size and count by `<node type>:<constructor or name>`. */
export function groupByConstructor(file: string): Map<string, Group> {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const fields = snap.snapshot.meta.node_fields;
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const typeNames = snap.snapshot.meta.node_types[0];
  const out = new Map<string, Group>();
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = typeNames[snap.nodes[i + typeAt]!]!;
    // Strings and code are grouped by type only: their "names" are their contents.
    const name = type === 'object' || type === 'native' || type === 'closure' ? snap.strings[snap.nodes[i + nameAt]!]! : '';
    const key = `${type}:${name.slice(0, 60)}`;
    const g = out.get(key) ?? { count: 0, selfSize: 0 };
    g.count++;
    g.selfSize += snap.nodes[i + sizeAt]!;
    out.set(key, g);
  }
  return out;
}

function main(): void {
  const args = process.argv.slice(2);
  const opt = (name: string, dflt: number) => {
    const i = args.indexOf(name);
    if (i < 0) return dflt;
    const v = Number(args.splice(i, 2)[1]);
    if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} needs a positive number`);
    return v;
  };
  const top = opt('--top', 30);
  const per = opt('--per', 1);
  if (args.length < 1 || args.length > 2)
    throw new Error('usage: heap-summary.js [before.heapsnapshot] after.heapsnapshot [--top N] [--per N]');
  const after = groupByConstructor(args[args.length - 1]!);
  const before = args.length === 2 ? groupByConstructor(args[0]!) : new Map<string, Group>();
  const rows = [...after.keys(), ...[...before.keys()].filter((k) => !after.has(k))].map((key) => {
    const a = after.get(key) ?? { count: 0, selfSize: 0 };
    const b = before.get(key) ?? { count: 0, selfSize: 0 };
    return { key, count: a.count - b.count, size: a.selfSize - b.selfSize };
  });
  rows.sort((x, y) => Math.abs(y.size) - Math.abs(x.size));
  const total = rows.reduce((n, r) => n + r.size, 0);
  const unit = per === 1 ? '' : ` per ${per === 1 ? '' : `1/${per}`}`;
  process.stdout.write(
    `${args.length === 2 ? 'growth' : 'heap'} by constructor (self size${unit}): total ${(total / per).toFixed(0)} bytes\n`,
  );
  for (const r of rows.slice(0, top)) {
    process.stdout.write(`  ${(r.size / per).toFixed(0).padStart(12)} B  ${(r.count / per).toFixed(2).padStart(10)} objects  ${r.key}\n`);
  }
}

if (process.argv[1]?.endsWith('heap-summary.js')) {
  try {
    main();
  } catch (err) {
    process.stderr.write(`heap-summary: ${(err as Error).message}\n`);
    process.exit(1);
  }
}
