/** Parses "30s", "15m", "24h", "365d" (or a plain number of seconds) into seconds. */
export function parseDurationSeconds(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(s|m|h|d)?$/.exec(text.trim());
  if (!m) throw new Error(`invalid duration "${text}" (expected e.g. 30s, 15m, 24h, 365d)`);
  const unit = { s: 1, m: 60, h: 3600, d: 86400 }[(m[2] ?? 's') as 's' | 'm' | 'h' | 'd'];
  return Math.round(Number(m[1]) * unit);
}
