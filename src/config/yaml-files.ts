// Reads YAML files and directories into documents that remember where each
// node came from, so validation errors can point at file:line:column.
import { isMap, isPair, isScalar, isSeq, LineCounter, parseAllDocuments, type Document, type Node } from 'yaml';
import { appendAll } from '../util/append-all.js';
import { readConfigFiles } from './config-files.js';
import type { ConfigIssue, PathSegment } from './diagnostics.js';
import { DEFAULT_LOAD_LIMITS, type LoadLimits, overLimit } from './limits.js';

export interface YamlDocument {
  file: string;
  /** Index of the document inside its file (0-based). */
  index: number;
  value: unknown;
  /** The namespace of a namespaced resource that names none; without it, it must name one. */
  defaultNamespace?: string;
  /** Line and column of the node at `path` (of its key, when `atKey`). */
  locate(path: readonly PathSegment[], atKey?: boolean): { line: number; column: number };
}

export interface YamlReadResult {
  documents: YamlDocument[];
  issues: ConfigIssue[];
  files: string[];
  /** Per file read: its size and how many documents it holds (what a non-atomic save shrinks). */
  summaries: FileSummary[];
}

export interface FileSummary {
  file: string;
  bytes: number;
  documents: number;
}

/**
 * Reads every YAML file under `paths`; file names in results are relative to
 * `cwd`. A document naming no namespace takes its directory's namespace file, else `defaultNamespace`.
 * `parse` may answer from parses kept between loads (YamlParseCache).
 */
export function readYamlFiles(
  paths: readonly string[],
  cwd = process.cwd(),
  limits: LoadLimits = DEFAULT_LOAD_LIMITS,
  defaultNamespace?: string,
  parse: ParseText = parseYamlText,
): YamlReadResult {
  const read = readConfigFiles(paths, cwd, limits);
  const documents: YamlDocument[] = [];
  const issues: ConfigIssue[] = read.issues;
  const summaries: FileSummary[] = [];
  for (const file of read.files) {
    const namespace = file.defaultNamespace ?? defaultNamespace;
    const parsed = parse(file.text, file.display, limits, namespace);
    appendAll(documents, parsed.documents);
    appendAll(issues, parsed.issues);
    summaries.push({ file: file.display, bytes: file.bytes, documents: parsed.documents.length });
  }
  return { documents, issues, files: read.files.map((f) => f.path), summaries };
}

export type ParseText = (
  text: string,
  file: string,
  limits: LoadLimits,
  defaultNamespace?: string,
) => { documents: YamlDocument[]; issues: ConfigIssue[] };

export function parseYamlText(
  text: string,
  file: string,
  limits: LoadLimits = DEFAULT_LOAD_LIMITS,
  defaultNamespace?: string,
): { documents: YamlDocument[]; issues: ConfigIssue[] } {
  const lineCounter = new LineCounter();
  const documents: YamlDocument[] = [];
  const issues: ConfigIssue[] = [];
  const at = (offset: number, message: string) => {
    const pos = lineCounter.linePos(offset);
    issues.push({ file, line: pos.line, column: pos.col, path: '', message });
  };
  let list: Document.Parsed[];
  try {
    const docs = parseAllDocuments(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
    list = (Array.isArray(docs) ? docs : [docs]) as Document.Parsed[];
  } catch (err) {
    return {
      documents,
      issues: [{ file, line: 0, column: 0, path: '', message: `invalid YAML: ${firstLine(String((err as Error).message))}` }],
    };
  }
  if (list.length > limits.maxDocumentsPerFile) {
    at(
      list[limits.maxDocumentsPerFile]!.range[0],
      `${list.length} YAML documents in one file, ${overLimit('maxDocumentsPerFile', limits.maxDocumentsPerFile)}`,
    );
    return { documents, issues };
  }
  list.forEach((doc, index) => {
    const before = issues.length;
    for (const err of doc.errors) at(err.pos[0], `invalid YAML: ${firstLine(err.message)}`);
    // An empty document (`---` with nothing after it, e.g. a trailing separator)
    // parses as a null scalar: skip it like kubectl does.
    if (issues.length > before || doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) return;
    const shape = checkShape(doc.contents, limits);
    if (shape) return at(shape.offset, shape.message);
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: limits.maxAliases });
    } catch (err) {
      const message = firstLine(String((err as Error).message));
      const aliases = /alias/i.test(message);
      return at(
        doc.contents.range?.[0] ?? 0,
        aliases
          ? `too many alias (*name) expansions: ${message}, ${overLimit('maxAliases', limits.maxAliases)}`
          : `invalid YAML: ${message}`,
      );
    }
    documents.push({
      file,
      index,
      value,
      ...(defaultNamespace === undefined ? {} : { defaultNamespace }),
      locate: (path, atKey = false) => {
        const offset = offsetOf(doc, path, atKey);
        const pos = lineCounter.linePos(offset);
        return { line: pos.line, column: pos.col };
      },
    });
  });
  return { documents, issues };
}

/** Depth and list lengths, walked without recursion (the input decides how deep it goes). */
function checkShape(root: Node, limits: LoadLimits): { offset: number; message: string } | undefined {
  const stack: { node: unknown; depth: number }[] = [{ node: root, depth: 1 }];
  while (stack.length > 0) {
    const { node, depth } = stack.pop()!;
    if (isPair(node)) {
      stack.push({ node: node.key, depth }, { node: node.value, depth });
      continue;
    }
    if (!isMap(node) && !isSeq(node)) continue;
    const offset = node.range?.[0] ?? 0;
    if (depth > limits.maxDepth)
      return { offset, message: `maps and lists nested ${depth} deep, ${overLimit('maxDepth', limits.maxDepth)}` };
    if (isSeq(node) && node.items.length > limits.maxListItems) {
      return { offset, message: `a list of ${node.items.length} items, ${overLimit('maxListItems', limits.maxListItems)}` };
    }
    for (const item of node.items as unknown[]) stack.push({ node: item, depth: depth + 1 });
  }
  return undefined;
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
