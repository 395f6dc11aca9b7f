// The import graph of the TypeScript files under a directory, read from their
// static import and export-from statements (type-only ones too), and the
// checks the architecture test runs on it: cycles between files, cycles
// between top-level folders, and imports a folder's rules do not allow.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/** Files (paths relative to the root, e.g. `config/types.ts`) and the files each imports. */
export type ImportGraph = ReadonlyMap<string, readonly string[]>;

/** What a folder may import, and single imports allowed beyond that (each with its reason). */
export interface LayerRules {
  mayImport: Readonly<Record<string, readonly string[]>>;
  exceptions: readonly { from: string; to: string; why: string }[];
}

// `import x from`, `import * as x from`, `import { a, type b } from`, `import type ...`,
// `import x, { y } from`, `export * from`, `export * as x from`, `export { a } from`, `import 'x'`.
const STATIC_IMPORT =
  /^(?:import|export)\s+(?:type\s+)?(?:[\w$]+\s*,?\s*)?(?:\*\s*(?:as\s+[\w$]+\s*)?)?(?:\{[^}]*\}\s*)?from\s*['"]([^'"]+)['"]|^import\s*['"]([^'"]+)['"]/gm;
const DYNAMIC_IMPORT = /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;
/** Every statement that starts like an import; the parse must account for each. */
const IMPORT_LIKE = /^import\b|^export\s+(?:type\s+)?(?:\*|\{[^}]*\}\s*from\b)/gm;

function tsFiles(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((entry) => {
      const path = join(dir, entry);
      return statSync(path).isDirectory() ? tsFiles(path) : entry.endsWith('.ts') ? [path] : [];
    });
}

/** Module specifiers of one file's source, in order. Throws when a statement that looks like an import was not understood. */
export function importSpecifiers(source: string, file = '<source>'): string[] {
  const found = [...source.matchAll(STATIC_IMPORT)].map((m) => (m[1] ?? m[2])!);
  const statements = source.match(IMPORT_LIKE)?.length ?? 0;
  if (statements !== found.length) {
    throw new Error(`${file}: ${statements} import/export-from statements but ${found.length} parsed; teach STATIC_IMPORT the new form`);
  }
  for (const m of source.matchAll(DYNAMIC_IMPORT)) found.push(m[1]!);
  return found;
}

/** The graph of every .ts file under root. Relative imports must name a file under root. */
export function readImportGraph(root: string): ImportGraph {
  const graph = new Map<string, string[]>();
  const problems: string[] = [];
  for (const path of tsFiles(root)) {
    const file = relative(root, path);
    const targets: string[] = [];
    for (const spec of importSpecifiers(readFileSync(path, 'utf8'), file)) {
      if (!spec.startsWith('.')) continue;
      const target = relative(root, resolve(dirname(path), spec)).replace(/\.js$/, '.ts');
      if (target.startsWith('..')) problems.push(`${file} imports ${spec}, outside ${root}`);
      else targets.push(target);
    }
    graph.set(file, targets);
  }
  for (const [file, targets] of graph) {
    for (const t of targets) if (!graph.has(t)) problems.push(`${file} imports ${t}, which does not exist`);
  }
  if (problems.length > 0) throw new Error(problems.join('\n'));
  return graph;
}

/** The top-level folder of a file (`config/kinds/gateway.ts` -> `config`); files at the root are `.`. */
export function folderOf(file: string): string {
  const slash = file.indexOf('/');
  return slash < 0 ? '.' : file.slice(0, slash);
}

/**
 * Cycles, each as a chain that starts and ends on the same node: one per back
 * edge of a depth-first walk, so a graph with any cycle yields at least one.
 */
export function findCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): void => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      const s = state.get(next);
      if (s === 'open') cycles.push([...stack.slice(stack.indexOf(next)), next]);
      else if (s === undefined) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of [...graph.keys()].sort()) if (!state.has(node)) visit(node);
  return cycles;
}

/** Folder-to-folder edges, each with the file imports that make it. */
export function folderGraph(graph: ImportGraph): Map<string, Map<string, string[]>> {
  const folders = new Map<string, Map<string, string[]>>();
  for (const [file, targets] of graph) {
    const from = folderOf(file);
    const edges = folders.get(from) ?? new Map<string, string[]>();
    folders.set(from, edges);
    for (const target of targets) {
      const to = folderOf(target);
      if (to === from) continue;
      edges.set(to, [...(edges.get(to) ?? []), `${file} -> ${target}`]);
    }
  }
  return folders;
}

/** Folder cycles, each written as its chain plus one file import for every step. */
export function folderCycles(graph: ImportGraph): string[] {
  const folders = folderGraph(graph);
  const plain = new Map([...folders].map(([f, edges]) => [f, [...edges.keys()].sort()]));
  return findCycles(plain).map((chain) => {
    const steps = chain.slice(1).map((to, i) => `  ${folders.get(chain[i]!)!.get(to)![0]}`);
    return `${chain.join(' -> ')}\n${steps.join('\n')}`;
  });
}

/** Imports between folders that the rules do not allow, and rules that name unknown folders or unused exceptions. */
export function layerViolations(graph: ImportGraph, rules: LayerRules): string[] {
  const out: string[] = [];
  const folders = new Set([...graph.keys()].map(folderOf));
  for (const folder of [...folders].sort()) {
    if (!(folder in rules.mayImport)) out.push(`folder ${folder} has no layer rule; add it to the rules with what it may import`);
  }
  const used = new Set<string>();
  for (const [file, targets] of graph) {
    const from = folderOf(file);
    const allowed = rules.mayImport[from] ?? [];
    for (const target of targets) {
      const to = folderOf(target);
      if (to === from || allowed.includes(to)) continue;
      const exception = rules.exceptions.find((e) => e.from === file && e.to === target);
      if (exception) {
        used.add(`${exception.from} -> ${exception.to}`);
        continue;
      }
      out.push(
        `${file} -> ${target}: ${allowed.length > 0 ? `${from} may import only ${allowed.join(', ')}` : `${from} may import no other folder`}`,
      );
    }
  }
  for (const e of rules.exceptions) {
    if (!used.has(`${e.from} -> ${e.to}`)) out.push(`exception ${e.from} -> ${e.to} is no longer needed; remove it from the rules`);
  }
  return out;
}
