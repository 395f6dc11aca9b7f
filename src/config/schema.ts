// A small declarative schema for Istio-style YAML. Validation walks the plain
// value and reports every problem with its path; callers turn paths into
// file positions. Unknown fields are errors, with a "did you mean" hint.
import type { PathSegment } from './diagnostics.js';

export type Schema =
  | { t: 'string'; pattern?: RegExp; hint?: string; nonEmpty?: boolean }
  | { t: 'int'; min?: number; max?: number }
  | { t: 'bool' }
  | { t: 'enum'; values: readonly string[] }
  | { t: 'array'; of: Schema }
  | { t: 'map'; of: Schema; key?: 'port' }
  | { t: 'object'; fields: Readonly<Record<string, Schema>>; required?: readonly string[]; nullable?: boolean }
  | { t: 'any' };

export const str = (opts: { pattern?: RegExp; hint?: string; nonEmpty?: boolean } = {}): Schema => ({ t: 'string', ...opts });
export const int = (min?: number, max?: number): Schema => ({ t: 'int', min, max });
export const port = (): Schema => int(1, 65535);
export const bool = (): Schema => ({ t: 'bool' });
export const oneOf = (...values: string[]): Schema => ({ t: 'enum', values });
export const list = (of: Schema): Schema => ({ t: 'array', of });
export const mapOf = (of: Schema, key?: 'port'): Schema => ({ t: 'map', of, key });
export const obj = (fields: Record<string, Schema>, opts: { required?: string[]; nullable?: boolean } = {}): Schema => ({
  t: 'object',
  fields,
  ...opts,
});
export const anything = (): Schema => ({ t: 'any' });
export const labels = (): Schema => mapOf(str());

export interface SchemaProblem {
  path: PathSegment[];
  message: string;
  /** Point at the key rather than the value (unknown fields). */
  atKey: boolean;
}

export function validateSchema(schema: Schema, value: unknown, path: PathSegment[] = []): SchemaProblem[] {
  const problems: SchemaProblem[] = [];
  walk(schema, value, path, problems);
  return problems;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  return `${typeof value} ${JSON.stringify(value)}`;
}

function walk(schema: Schema, value: unknown, path: PathSegment[], out: SchemaProblem[]): void {
  const fail = (message: string, atKey = false): void => {
    out.push({ path, message, atKey });
  };
  switch (schema.t) {
    case 'any':
      return;
    case 'string':
      if (typeof value !== 'string') return fail(`expected a string, got ${describe(value)}`);
      if (schema.nonEmpty && value === '') return fail('must not be empty');
      if (schema.pattern && !schema.pattern.test(value))
        return fail(`invalid value ${JSON.stringify(value)}${schema.hint ? `: ${schema.hint}` : ''}`);
      return;
    case 'int':
      if (typeof value !== 'number' || !Number.isInteger(value)) return fail(`expected an integer, got ${describe(value)}`);
      if (schema.min !== undefined && value < schema.min) return fail(`must be >= ${schema.min}, got ${value}`);
      if (schema.max !== undefined && value > schema.max) return fail(`must be <= ${schema.max}, got ${value}`);
      return;
    case 'bool':
      if (typeof value !== 'boolean') return fail(`expected true or false, got ${describe(value)}`);
      return;
    case 'enum':
      if (typeof value !== 'string' || !schema.values.includes(value))
        return fail(`invalid value ${JSON.stringify(value)}; expected one of ${schema.values.join(', ')}`);
      return;
    case 'array':
      if (!Array.isArray(value)) return fail(`expected a list, got ${describe(value)}`);
      value.forEach((item, i) => walk(schema.of, item, [...path, i], out));
      return;
    case 'map':
      if (!isPlainObject(value)) return fail(`expected a map, got ${describe(value)}`);
      for (const [key, item] of Object.entries(value)) {
        if (schema.key === 'port' && !/^\d+$/.test(key))
          out.push({ path: [...path, key], message: `expected a port number as key, got ${JSON.stringify(key)}`, atKey: true });
        walk(schema.of, item, [...path, key], out);
      }
      return;
    case 'object': {
      if (value === null && schema.nullable) return;
      if (!isPlainObject(value)) return fail(`expected a map, got ${describe(value)}`);
      for (const [key, item] of Object.entries(value)) {
        const fieldSchema = schema.fields[key];
        if (!fieldSchema) {
          const hint = closest(key, Object.keys(schema.fields));
          out.push({ path: [...path, key], message: `unknown field "${key}"${hint ? ` (did you mean "${hint}"?)` : ''}`, atKey: true });
          continue;
        }
        if (item === null && !(fieldSchema.t === 'object' && fieldSchema.nullable)) continue;
        walk(fieldSchema, item, [...path, key], out);
      }
      for (const key of schema.required ?? []) {
        if (value[key] === undefined || value[key] === null)
          out.push({ path: [...path, key], message: 'required field is missing', atKey: false });
      }
      return;
    }
  }
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      bestDistance = d;
      best = candidate;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const temp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = temp;
    }
  }
  return row[b.length]!;
}
