// The plaintext health probe endpoint a sidecar workload may declare. A
// health checker outside the mesh (a load balancer, Consul, systemd) has no
// mesh certificate, so under STRICT mTLS it cannot reach the app's own health
// paths. The annotation names a port the sidecar serves in plaintext and, for
// each path a checker may GET there, the app port and path it stands for:
//
//   sidecar.meshlite.io/healthProbes: '{"port": 15021, "paths": {"/app-health/web/readyz": {"port": 8080, "path": "/ready"}}}'
export const HEALTH_PROBES_ANNOTATION = 'sidecar.meshlite.io/healthProbes';

export interface HealthProbeTarget {
  /** The application port the probe is forwarded to. */
  port: number;
  /** The application's own path. */
  path: string;
}

export interface HealthProbes {
  /** Where the sidecar listens for probes (plaintext, on the workload address). */
  port: number;
  /** Probe path (as the checker asks for it) -> where the application answers it. */
  paths: Record<string, HealthProbeTarget>;
}

export type HealthProbesParse = { ok: true; probes: HealthProbes } | { ok: false; error: string };

const MAX_PATHS = 64;
// A plain absolute path: no query (a checker's own query string is passed on as it is), fragment,
// whitespace, percent-escapes, empty or `.`/`..` segments. The probe listener normalises request
// paths before matching, so a declared path in any other form could never match.
const PLAIN_PATH = /^\/[A-Za-z0-9\-._~!$&'()*+,;=:@/]*$/;

function isPort(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 65535;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function pathProblem(path: string): string | undefined {
  if (!PLAIN_PATH.test(path)) return 'must be an absolute path of URL path characters (no query, spaces, fragment or %-escapes)';
  if (path.split('/').some((s) => s === '.' || s === '..')) return 'must not contain "." or ".." segments';
  if (path.includes('//')) return 'must not contain empty segments ("//")';
  return undefined;
}

function unknownKeys(o: Record<string, unknown>, known: readonly string[]): string | undefined {
  const extra = Object.keys(o).filter((k) => !known.includes(k));
  return extra.length > 0
    ? `unknown field${extra.length > 1 ? 's' : ''} ${extra.map((k) => `"${k}"`).join(', ')} (known: ${known.join(', ')})`
    : undefined;
}

/** Reads the annotation's JSON strictly: every problem is an error naming the field. */
export function parseHealthProbes(value: string): HealthProbesParse {
  const fail = (error: string): HealthProbesParse => ({ ok: false, error });
  let raw: unknown;
  try {
    raw = JSON.parse(value);
  } catch {
    return fail('expected JSON like {"port": 15021, "paths": {"/app-health/app/readyz": {"port": 8080, "path": "/ready"}}}');
  }
  if (!isPlainObject(raw)) return fail('expected a JSON object with "port" and "paths"');
  const extra = unknownKeys(raw, ['port', 'paths']);
  if (extra) return fail(extra);
  if (!isPort(raw.port)) return fail(`"port": expected a port number (1-65535), got ${JSON.stringify(raw.port)}`);
  if (!isPlainObject(raw.paths) || Object.keys(raw.paths).length === 0)
    return fail('"paths": expected an object mapping at least one probe path to {"port", "path"}');
  const entries = Object.entries(raw.paths);
  if (entries.length > MAX_PATHS) return fail(`"paths": at most ${MAX_PATHS} probe paths, got ${entries.length}`);
  const paths: Record<string, HealthProbeTarget> = {};
  for (const [probePath, target] of entries) {
    const where = `"paths"."${probePath}"`;
    const problem = pathProblem(probePath);
    if (problem) return fail(`${where}: the probe path ${problem}`);
    if (!isPlainObject(target)) return fail(`${where}: expected {"port": <app port>, "path": "<app path>"}`);
    const extraTarget = unknownKeys(target, ['port', 'path']);
    if (extraTarget) return fail(`${where}: ${extraTarget}`);
    if (!isPort(target.port)) return fail(`${where}.port: expected a port number (1-65535), got ${JSON.stringify(target.port)}`);
    if (typeof target.path !== 'string') return fail(`${where}.path: expected the application's path, got ${JSON.stringify(target.path)}`);
    const targetProblem = pathProblem(target.path);
    if (targetProblem) return fail(`${where}.path: ${targetProblem}`);
    paths[probePath] = { port: target.port, path: target.path };
  }
  return { ok: true, probes: { port: raw.port, paths } };
}
