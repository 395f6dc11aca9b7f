// What apply stores names its namespace: a namespaced resource written without
// one (as kubectl users write them) gets the default put into its text, so
// the key and the value agree and a later read needs no default to mean the
// same thing. The line is added to the user's text; the rest stays as written.
import { isMap, isScalar, parseDocument, stringify, type Node, type Pair } from 'yaml';
import { findHandler } from '../config/kinds/index.js';

/** The document with `metadata.namespace` set, or as it was when it names one, is cluster-scoped or is not a known kind. */
export function withExplicitNamespace(text: string, value: unknown, namespace: string): { text: string; value: unknown } {
  if (!needsNamespace(value)) return { text, value };
  const meta = (value as { metadata: Record<string, unknown> }).metadata;
  const filled = { ...(value as Record<string, unknown>), metadata: { ...meta, namespace } };
  const inserted = insertAfterName(text, namespace);
  if (inserted !== undefined && namespaceIn(inserted) === namespace) return { text: inserted, value: filled };
  // A layout the line insertion does not handle: the document is written out again (comments kept),
  // or, when even that cannot be done (metadata behind an alias), rendered from its value.
  const rewritten = setNamespace(text, namespace);
  if (rewritten !== undefined && namespaceIn(rewritten) === namespace) return { text: rewritten, value: filled };
  return { text: stringify(filled, { lineWidth: 0 }), value: filled };
}

function setNamespace(text: string, namespace: string): string | undefined {
  try {
    const doc = parseDocument(text, { prettyErrors: false });
    doc.setIn(['metadata', 'namespace'], namespace);
    return doc.toString({ lineWidth: 0 });
  } catch {
    return undefined;
  }
}

function needsNamespace(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const doc = value as Record<string, unknown>;
  const meta = doc.metadata;
  if (typeof doc.apiVersion !== 'string' || typeof doc.kind !== 'string') return false;
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta) || 'namespace' in meta) return false;
  const handler = findHandler(doc.apiVersion.split('/')[0]!, doc.kind);
  return handler !== undefined && handler.clusterScoped !== true;
}

/** The text with a `namespace` entry right after `metadata.name`; undefined when there is no such entry to follow. */
function insertAfterName(text: string, namespace: string): string | undefined {
  const doc = parseDocument(text, { prettyErrors: false });
  const metadata = doc.get('metadata', true) as Node | undefined;
  if (!isMap(metadata)) return undefined;
  const pair = metadata.items.find((p: Pair) => isScalar(p.key) && p.key.value === 'name');
  const key = pair?.key as Node | undefined;
  const valueEnd = (pair?.value as Node | undefined)?.range?.[1];
  if (!key?.range || valueEnd === undefined) return undefined;
  if (metadata.flow) return `${text.slice(0, valueEnd)}, "namespace": "${namespace}"${text.slice(valueEnd)}`;
  const lineStart = text.lastIndexOf('\n', key.range[0] - 1) + 1;
  const indent = ' '.repeat(key.range[0] - lineStart);
  const lineEnd = text.indexOf('\n', valueEnd);
  if (lineEnd < 0) return `${text}\n${indent}namespace: ${namespace}\n`;
  return `${text.slice(0, lineEnd + 1)}${indent}namespace: ${namespace}\n${text.slice(lineEnd + 1)}`;
}

function namespaceIn(text: string): unknown {
  try {
    const doc = parseDocument(text, { prettyErrors: false });
    if (doc.errors.length > 0) return undefined;
    return (doc.toJS({ maxAliasCount: 100 }) as { metadata?: { namespace?: unknown } } | null)?.metadata?.namespace;
  } catch {
    return undefined;
  }
}
