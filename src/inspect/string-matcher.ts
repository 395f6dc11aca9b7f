// Envoy's StringMatcher and RE2 regexes, evaluated offline. Anything this
// module does not understand throws CannotEvaluate, so the caller fails
// closed instead of guessing a match.

export type Obj = Record<string, unknown>;

/** A matcher (or regex) the evaluator does not understand: the answer would be a guess. */
export class CannotEvaluate extends Error {
  override readonly name = 'CannotEvaluate';
}

export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export function objField(o: Obj, key: string, where: string): Obj {
  const v = o[key];
  if (!isObj(v)) throw new CannotEvaluate(`${where}: field ${key} is not an object`);
  return v;
}

export function listField(o: Obj, key: string, where: string): unknown[] {
  const v = o[key];
  if (!Array.isArray(v)) throw new CannotEvaluate(`${where}: field ${key} is not a list`);
  return v;
}

function stringField(o: Obj, key: string, where: string): string {
  const v = o[key];
  if (typeof v !== 'string') throw new CannotEvaluate(`${where}: ${key} is not a string`);
  return v;
}

// RE2 syntax JavaScript reads differently or not at all. A pattern using any
// of these is refused rather than run with another meaning.
const RE2_ONLY = [/\\[CzQEpP]/, /\(\?P</, /\[\[:/, /\(\?[imsU-]*[sU][imsU-]*[):]/];

/**
 * An RE2 pattern as a JS RegExp matching the whole input (Envoy's safe_regex
 * is a full match). A leading `(?i)` becomes the `i` flag; other flag groups
 * and RE2-only syntax are refused.
 */
export function re2FullMatch(pattern: string): RegExp {
  let source = pattern;
  let flags = 'u';
  if (source.startsWith('(?i)')) {
    source = source.slice(4);
    flags += 'i';
  }
  if (RE2_ONLY.some((r) => r.test(source)) || /\(\?[a-zA-Z]/.test(source)) {
    throw new CannotEvaluate(`regex "${pattern}" uses RE2 syntax this evaluator does not translate`);
  }
  try {
    return new RegExp(`^(?:${source})$`, flags);
  } catch {
    try {
      // Without the u flag JS accepts a few escapes RE2 also accepts (e.g. `\-` outside classes).
      return new RegExp(`^(?:${source})$`, flags.replace('u', ''));
    } catch (e) {
      throw new CannotEvaluate(`regex "${pattern}" is not valid here: ${(e as Error).message}`);
    }
  }
}

function regexOf(m: unknown, where: string): RegExp {
  if (!isObj(m)) throw new CannotEvaluate(`${where}: safe_regex is not an object`);
  return re2FullMatch(stringField(m, 'regex', where));
}

/** Envoy StringMatcher (exact, prefix, suffix, contains, safe_regex; ignore_case on the first four). */
export function matchString(m: unknown, value: string, where: string): boolean {
  if (!isObj(m)) throw new CannotEvaluate(`${where}: string matcher is not an object`);
  const ic = m.ignore_case === true;
  const norm = (s: string) => (ic ? s.toLowerCase() : s);
  const kinds = Object.keys(m).filter((k) => k !== 'ignore_case');
  if (kinds.length !== 1) throw new CannotEvaluate(`${where}: string matcher with fields ${kinds.join(', ') || '(none)'}`);
  const kind = kinds[0]!;
  switch (kind) {
    case 'exact':
      return norm(value) === norm(stringField(m, kind, where));
    case 'prefix':
      return norm(value).startsWith(norm(stringField(m, kind, where)));
    case 'suffix':
      return norm(value).endsWith(norm(stringField(m, kind, where)));
    case 'contains':
      return norm(value).includes(norm(stringField(m, kind, where)));
    case 'safe_regex':
      return regexOf(m.safe_regex, where).test(value);
    default:
      throw new CannotEvaluate(`${where}: unknown string matcher "${kind}"`);
  }
}

/** The HeaderMatcher's own (legacy) value forms, besides string_match. */
export function matchHeaderSpecifier(kind: string, m: Obj, value: string, where: string): boolean {
  switch (kind) {
    case 'string_match':
      return matchString(m.string_match, value, where);
    case 'exact_match':
      return value === stringField(m, kind, where);
    case 'prefix_match':
      return value.startsWith(stringField(m, kind, where));
    case 'suffix_match':
      return value.endsWith(stringField(m, kind, where));
    case 'contains_match':
      return value.includes(stringField(m, kind, where));
    case 'safe_regex_match':
      return regexOf(m.safe_regex_match, where).test(value);
    case 'range_match': {
      const r = objField(m, kind, where);
      if (!/^-?\d+$/.test(value)) return false;
      const n = BigInt(value);
      return n >= BigInt(String(r.start ?? 0)) && n < BigInt(String(r.end ?? 0));
    }
    default:
      throw new CannotEvaluate(`${where}: unknown header matcher "${kind}"`);
  }
}
