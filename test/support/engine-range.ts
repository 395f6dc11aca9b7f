// Just enough of npm's version-range syntax to read the `engines.node` fields
// found in package-lock.json: `||` alternatives of comparators (>=, >, <=, <,
// =, ^, ~, bare) on versions that may end in x or *.

type Version = [number, number, number];
type Partial = (number | undefined)[];

function parsePartial(text: string): Partial {
  const parts = text.replace(/^v/, '').split('.');
  return [0, 1, 2].map((i) => {
    const p = parts[i];
    return p === undefined || p === 'x' || p === 'X' || p === '*' || p === '' ? undefined : Number(p);
  });
}

function compare(a: Version, b: Version): number {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

const floor = (p: Partial): Version => [p[0] ?? 0, p[1] ?? 0, p[2] ?? 0];

/** The first version above every version that matches the partial `p` exactly (6.x -> 7.0.0). */
function ceiling(p: Partial): Version | undefined {
  if (p[0] === undefined) return undefined;
  if (p[1] === undefined) return [p[0] + 1, 0, 0];
  if (p[2] === undefined) return [p[0], p[1] + 1, 0];
  return [p[0], p[1], p[2] + 1];
}

function comparatorHolds(token: string, v: Version): boolean {
  const m = /^(>=|<=|>|<|=|\^|~)?(.*)$/.exec(token)!;
  const op = m[1] ?? '';
  const p = parsePartial(m[2]!);
  if (p.some((n) => n !== undefined && Number.isNaN(n))) throw new Error(`cannot read the version range part '${token}'`);
  const low = floor(p);
  const high = ceiling(p);
  switch (op) {
    case '>=':
      return compare(v, low) >= 0;
    case '>':
      return high === undefined ? false : compare(v, high) >= 0;
    case '<=':
      return high === undefined ? true : compare(v, high) < 0;
    case '<':
      return compare(v, low) < 0;
    case '^': {
      const bump: Version = low[0] > 0 ? [low[0] + 1, 0, 0] : low[1] > 0 ? [0, low[1] + 1, 0] : [0, 0, low[2] + 1];
      return compare(v, low) >= 0 && compare(v, bump) < 0;
    }
    case '~':
      return compare(v, low) >= 0 && compare(v, [low[0], p[1] === undefined ? low[0] + 1 : low[1] + 1, 0]) < 0;
    default:
      return compare(v, low) >= 0 && (high === undefined || compare(v, high) < 0);
  }
}

/** Whether `version` (e.g. "20.0.0") is in `range` (e.g. "^16 || ^18 || >=20"). */
export function satisfiesRange(version: string, range: string): boolean {
  const v = floor(parsePartial(version));
  return range.split('||').some((alternative) => {
    const tokens = alternative
      .trim()
      .replace(/([<>=^~]+)\s+/g, '$1')
      .split(/\s+/)
      .filter(Boolean);
    return tokens.every((t) => t === '*' || comparatorHolds(t, v));
  });
}
