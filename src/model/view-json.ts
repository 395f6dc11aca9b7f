// A proxy view as JSON: the stage golden `<proxy>.view.json` and
// `meshlite generate --type view`. Serialising also proves the view is plain
// data: a function, Map, Set or class instance anywhere in it is an error
// naming where, never silently dropped or turned into `{}`.
import type { ProxyView } from './view-types.js';

export type ViewJson = null | boolean | number | string | ViewJson[] | { [key: string]: ViewJson };

export function viewToJson(view: ProxyView): ViewJson {
  return plain(view, 'view');
}

function plain(value: unknown, path: string): ViewJson {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`${path}: ${value} is not a JSON number`);
    return value;
  }
  if (Array.isArray(value)) return value.map((item, i) => plain(item, `${path}[${i}]`));
  if (typeof value === 'object') {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null)
      throw new Error(`${path}: a ${proto?.constructor?.name ?? 'class'} instance is not plain data`);
    const out: { [key: string]: ViewJson } = {};
    for (const [key, child] of Object.entries(value)) {
      // Optional fields that are absent are written as absent.
      if (child === undefined) continue;
      out[key] = plain(child, `${path}.${key}`);
    }
    return out;
  }
  throw new Error(`${path}: a ${typeof value} is not plain data`);
}
