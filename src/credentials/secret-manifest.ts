// A Kubernetes Secret manifest (`kind: Secret`, keys under base64 `data:` or
// plain `stringData:`), as `kubectl get secret -o yaml` prints it. Errors give
// positions and key names only: the YAML parser's own messages quote source
// lines, which may be key material.
import { parseAllDocuments } from 'yaml';
import type { Parsed } from './pem-validation.js';

export interface ManifestEntry {
  /** `data.<key>` or `stringData.<key>`, for messages. */
  field: string;
  text: string;
}

export interface ParsedManifest {
  metadataName?: string;
  entries: Map<string, ManifestEntry>;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export function parseSecretManifest(text: string): Parsed<ParsedManifest> {
  const docs = parseAllDocuments(text);
  if (!Array.isArray(docs)) return { ok: false, error: 'not a YAML document' };
  const nonEmpty = docs.filter((d) => d.contents !== null || d.errors.length > 0);
  for (const doc of nonEmpty) {
    const first = doc.errors[0];
    if (first) {
      const pos = first.linePos?.[0];
      return { ok: false, error: `not valid YAML${pos ? ` (line ${pos.line}, column ${pos.col})` : ''}` };
    }
  }
  if (nonEmpty.length !== 1) return { ok: false, error: `holds ${nonEmpty.length} YAML documents; expected exactly one Secret` };
  const value: unknown = nonEmpty[0]!.toJS();
  if (!isObject(value)) return { ok: false, error: 'is not a mapping; expected a Kubernetes Secret' };
  if (value.kind !== 'Secret') return { ok: false, error: `kind is ${JSON.stringify(value.kind ?? null)}; expected "Secret"` };
  if (value.apiVersion !== undefined && value.apiVersion !== 'v1')
    return { ok: false, error: `apiVersion is ${JSON.stringify(value.apiVersion)}; expected "v1"` };
  const entries = new Map<string, ManifestEntry>();
  for (const section of ['data', 'stringData'] as const) {
    const map = value[section];
    if (map === undefined || map === null) continue;
    if (!isObject(map)) return { ok: false, error: `${section} is not a mapping` };
    for (const [key, raw] of Object.entries(map)) {
      const field = `${section}.${key}`;
      if (typeof raw !== 'string') return { ok: false, error: `${field} is not a string` };
      if (section === 'data') {
        const compact = raw.replace(/\s+/g, '');
        if (!BASE64.test(compact) || compact.length % 4 === 1) return { ok: false, error: `${field} is not valid base64` };
        entries.set(key, { field, text: Buffer.from(compact, 'base64').toString('utf8') });
      } else {
        // As in Kubernetes, stringData wins over data for the same key.
        entries.set(key, { field, text: raw });
      }
    }
  }
  const metadata = value.metadata;
  const metadataName = isObject(metadata) && typeof metadata.name === 'string' ? metadata.name : undefined;
  return { ok: true, value: { metadataName, entries } };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
