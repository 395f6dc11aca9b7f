// Reads YAML files and directories into documents that remember where each
// node came from, so validation errors can point at file:line:column.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseAllDocuments, type Document, type Node } from 'yaml';
import type { ConfigIssue, PathSegment } from './diagnostics.js';

export interface YamlDocument {
  file: string;
  /** Index of the document inside its file (0-based). */
  index: number;
  value: unknown;
  /** Line and column of the node at `path` (of its key, when `atKey`). */
  locate(path: readonly PathSegment[], atKey?: boolean): { line: number; column: number };
}

export interface YamlReadResult {
  documents: YamlDocument[];
  issues: ConfigIssue[];
  files: string[];
}

const YAML_FILE = /\.ya?ml$/i;

export function listYamlFiles(paths: readonly string[]): string[] {
  const files: string[] = [];
  const walk = (path: string): void => {
    const stat = statSync(path);
    if (stat.isDirectory()) {
      for (const entry of readdirSync(path).sort()) {
        if (entry.startsWith('.')) continue;
        const child = join(path, entry);
        if (statSync(child).isDirectory() || YAML_FILE.test(entry)) walk(child);
      }
    } else {
      files.push(path);
    }
  };
  for (const path of paths) walk(path);
  return files;
}

/** Reads every YAML file under `paths`; file names in results are relative to `cwd`. */
export function readYamlFiles(paths: readonly string[], cwd = process.cwd()): YamlReadResult {
  const documents: YamlDocument[] = [];
  const issues: ConfigIssue[] = [];
  const files = listYamlFiles(paths);
  for (const path of files) {
    const display = displayPath(path, cwd);
    const parsed = parseYamlText(readFileSync(path, 'utf8'), display);
    documents.push(...parsed.documents);
    issues.push(...parsed.issues);
  }
  return { documents, issues, files };
}

/** Paths under `cwd` print relative to it; anything else prints absolute. */
function displayPath(path: string, cwd: string): string {
  const rel = relative(cwd, path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : resolve(path);
}

export function parseYamlText(text: string, file: string): { documents: YamlDocument[]; issues: ConfigIssue[] } {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const documents: YamlDocument[] = [];
  const issues: ConfigIssue[] = [];
  const list = Array.isArray(docs) ? docs : [docs];
  list.forEach((doc, index) => {
    const problems = [...doc.errors];
    for (const err of problems) {
      const pos = lineCounter.linePos(err.pos[0]);
      issues.push({ file, line: pos.line, column: pos.col, path: '', message: `invalid YAML: ${firstLine(err.message)}` });
    }
    // An empty document (`---` with nothing after it, e.g. a trailing separator)
    // parses as a null scalar: skip it like kubectl does.
    if (problems.length > 0 || doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) return;
    documents.push({
      file,
      index,
      value: doc.toJS({ maxAliasCount: 100 }),
      locate: (path, atKey = false) => {
        const offset = offsetOf(doc, path, atKey);
        const pos = lineCounter.linePos(offset);
        return { line: pos.line, column: pos.col };
      },
    });
  });
  return { documents, issues };
}

function firstLine(message: string): string {
  return message.split('\n')[0] ?? message;
}

/** Source offset of the deepest existing node along `path`. */
function offsetOf(doc: Document, path: readonly PathSegment[], atKey: boolean): number {
  let node: Node | null | undefined = doc.contents as Node | null;
  let offset = node?.range?.[0] ?? 0;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => keyText(p.key) === String(seg));
      if (!pair) return offset;
      const keyNode = pair.key as Node | null;
      if (last && atKey && keyNode?.range) return keyNode.range[0];
      node = pair.value as Node | null;
      offset = node?.range?.[0] ?? keyNode?.range?.[0] ?? offset;
    } else if (isSeq(node) && typeof seg === 'number') {
      node = node.items[seg] as Node | null;
      if (!node) return offset;
      offset = node.range?.[0] ?? offset;
    } else {
      return offset;
    }
  }
  return offset;
}

function keyText(key: unknown): string | undefined {
  if (key && typeof key === 'object' && 'value' in key) return String((key as { value: unknown }).value);
  return key === undefined || key === null ? undefined : String(key);
}
