const UNIT_SECONDS = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 } as const;

function parse(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!m) throw new Error(`invalid duration "${text}" (expected e.g. 500ms, 30s, 15m, 24h, 365d)`);
  return Number(m[1]) * UNIT_SECONDS[(m[2] ?? 's') as keyof typeof UNIT_SECONDS];
}

/** Parses "30s", "15m", "24h", "365d" (or a plain number of seconds) into whole seconds. */
export function parseDurationSeconds(text: string): number {
  return Math.round(parse(text));
}

/** Like parseDurationSeconds, into milliseconds, and "500ms" is accepted too. */
export function parseDurationMillis(text: string): number {
  return Math.round(parse(text) * 1000);
}
