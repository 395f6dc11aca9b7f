// The envelope every loaded config object shares (kind, metadata, spec, and
// where in the input it came from), and the age order that settles conflicts.
export type Labels = Readonly<Record<string, string>>;

export interface Source {
  file: string;
  line: number;
}

export interface Meta {
  name: string;
  namespace: string;
  labels: Labels;
  annotations: Labels;
  creationTimestamp?: string;
}

export interface Resource<Kind extends string, Spec> {
  kind: Kind;
  meta: Meta;
  spec: Spec;
  source: Source;
}

/** A creation time as a number; no (or no valid) timestamp sorts last. */
function instant(timestamp: string | undefined): number {
  const millis = timestamp === undefined ? NaN : Date.parse(timestamp);
  return Number.isNaN(millis) ? Infinity : millis;
}

/** Oldest first (creationTimestamp), then namespace/name: Istio's tie-break, made deterministic. */
export function byAge<T extends { meta: Meta }>(a: T, b: T): number {
  const ta = instant(a.meta.creationTimestamp);
  const tb = instant(b.meta.creationTimestamp);
  if (ta !== tb) return ta < tb ? -1 : 1;
  return a.meta.namespace.localeCompare(b.meta.namespace) || a.meta.name.localeCompare(b.meta.name);
}
