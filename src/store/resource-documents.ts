// A config file cut into its documents, each kept as the text the user wrote
// (comments included) so the store holds one resource per key in their own
// words. Comments before a document's `---` go with that document; a bare
// `---` marker is dropped, and documents holding nothing are skipped.
import { Parser, parseDocument } from 'yaml';
import { withExplicitNamespace } from './explicit-namespace.js';
import { resourceKeyOf } from './stored-resources.js';

export interface ResourceDocument {
  /** The document's own text, as stored. */
  text: string;
  /** Its store key, or undefined when it does not name one (the loader says why). */
  key: string | undefined;
}

/** `defaultNamespace`: written into each namespaced resource that names none (what is stored is explicit). */
export function splitResourceDocuments(source: string, defaultNamespace?: string): ResourceDocument[] {
  const tokens = [...new Parser().parse(source)];
  const out: ResourceDocument[] = [];
  let pending = '';
  let directives = false;
  tokens.forEach((token, i) => {
    const text = source.slice(token.offset, tokens[i + 1]?.offset ?? source.length);
    if (token.type === 'directive') directives = true;
    if (token.type !== 'document') {
      // Comments and blank lines lead into the next document; `...` ends the previous one.
      if (token.type !== 'doc-end') pending += text;
      return;
    }
    const own = directives ? pending + text : dropMarker(pending + text);
    pending = '';
    directives = false;
    const parsed = documentValue(own);
    if (parsed === null) return;
    const ended = own.endsWith('\n') ? own : `${own}\n`;
    const stored =
      parsed === undefined || defaultNamespace === undefined
        ? { text: ended, value: parsed }
        : withExplicitNamespace(ended, parsed, defaultNamespace);
    out.push({ text: stored.text, key: stored.value === undefined ? undefined : resourceKeyOf(stored.value) });
  });
  return out;
}

function dropMarker(text: string): string {
  const m = /^((?:[ \t]*(?:#[^\n]*)?\n)*)---[ \t]*(\n)?/.exec(text);
  if (!m) return text;
  return m[1] + text.slice(m[0].length);
}

/** The document's value; null for an empty document; undefined when it does not parse. */
function documentValue(text: string): unknown {
  const doc = parseDocument(text, { prettyErrors: false });
  if (doc.errors.length > 0) return undefined;
  if (doc.contents === null) return null;
  try {
    const value = doc.toJS({ maxAliasCount: 100 });
    return value === null || value === undefined ? null : value;
  } catch {
    return undefined;
  }
}
