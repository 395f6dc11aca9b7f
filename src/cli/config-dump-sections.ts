// The resources of an Envoy config_dump (Envoy's own, meshlite's view of what
// it serves a proxy, or an offline translation: all the same shape), by kind.
// Only what xDS delivered is read: the dynamic resources, not the bootstrap's.

// biome-ignore lint/suspicious/noExplicitAny: config_dump JSON is read field by field, each field checked where used
export type Resource = Record<string, any>;

export const DUMP_KINDS = ['clusters', 'listeners', 'routes', 'endpoints', 'secrets'] as const;
export type DumpKind = (typeof DUMP_KINDS)[number];

const SECTION_TYPE: Record<DumpKind, string> = {
  clusters: 'ClustersConfigDump',
  listeners: 'ListenersConfigDump',
  routes: 'RoutesConfigDump',
  endpoints: 'EndpointsConfigDump',
  secrets: 'SecretsConfigDump',
};

/** A secret with the state Envoy holds it in: ACTIVE, or WARMING (its material not yet arrived). */
export interface DumpSecret {
  name: string;
  status: 'ACTIVE' | 'WARMING';
  secret?: Resource;
}

function section(dump: unknown, kind: DumpKind): Resource {
  const configs = (dump as { configs?: Resource[] } | null)?.configs;
  if (!Array.isArray(configs)) return {};
  return configs.find((c) => typeof c?.['@type'] === 'string' && c['@type'].endsWith(`.${SECTION_TYPE[kind]}`)) ?? {};
}

const list = (value: unknown): Resource[] => (Array.isArray(value) ? (value as Resource[]) : []);

/** Without the `@type` the dump wraps each resource in. */
function bare(resource: Resource | undefined): Resource | undefined {
  if (!resource) return undefined;
  const { '@type': _type, ...rest } = resource;
  return rest;
}

export function dumpClusters(dump: unknown): Resource[] {
  const s = section(dump, 'clusters');
  return [...list(s.dynamic_active_clusters), ...list(s.dynamic_warming_clusters)]
    .map((c) => bare(c.cluster))
    .filter((c): c is Resource => c !== undefined);
}

export function dumpListeners(dump: unknown): Resource[] {
  return list(section(dump, 'listeners').dynamic_listeners)
    .map((l) => bare(l.active_state?.listener ?? l.warming_state?.listener))
    .filter((l): l is Resource => l !== undefined);
}

export function dumpRoutes(dump: unknown): Resource[] {
  return list(section(dump, 'routes').dynamic_route_configs)
    .map((r) => bare(r.route_config))
    .filter((r): r is Resource => r !== undefined);
}

/**
 * Every ClusterLoadAssignment: EDS's, and those a cluster carries inline
 * (Envoy's dump lists those with EDS's, meshlite's and offline dumps do not).
 */
export function dumpEndpoints(dump: unknown): Resource[] {
  const eds = list(section(dump, 'endpoints').dynamic_endpoint_configs)
    .map((e) => bare(e.endpoint_config))
    .filter((e): e is Resource => e !== undefined);
  const named = new Set(eds.map((e) => e.cluster_name));
  const inline = dumpClusters(dump)
    .filter((c) => c.load_assignment && !named.has(c.name))
    .map((c) => ({ ...c.load_assignment, cluster_name: c.name }));
  return [...eds, ...inline];
}

export function dumpSecrets(dump: unknown): DumpSecret[] {
  const s = section(dump, 'secrets');
  const of = (entries: Resource[], status: DumpSecret['status']): DumpSecret[] =>
    entries.map((e) => ({ name: String(e.name ?? e.secret?.name ?? ''), status, secret: bare(e.secret) }));
  return [...of(list(s.dynamic_active_secrets), 'ACTIVE'), ...of(list(s.dynamic_warming_secrets), 'WARMING')];
}

/** The full resources of one kind, for -o json|yaml (secrets still carry their key: redact them before printing). */
export function resourcesOf(dump: unknown, kind: DumpKind): Resource[] {
  switch (kind) {
    case 'clusters':
      return dumpClusters(dump);
    case 'listeners':
      return dumpListeners(dump);
    case 'routes':
      return dumpRoutes(dump);
    case 'endpoints':
      return dumpEndpoints(dump);
    case 'secrets':
      return dumpSecrets(dump).map((s) => s.secret ?? { name: s.name });
  }
}

const REDACTED = '[redacted]';
const PRIVATE_KEY_PEM = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/;
const SECRET_FIELDS = new Set(['private_key', 'password', 'session_ticket_keys', 'hmac_secret']);

/**
 * A deep copy with every private key gone: the key fields of a TLS
 * certificate (whatever form they take, unless they only name a file), and
 * any other string or bytes that hold a PEM private key.
 */
export function redactKeys(value: unknown): unknown {
  if (typeof value === 'string') return holdsPrivateKey(value) ? REDACTED : value;
  if (Array.isArray(value)) return value.map(redactKeys);
  if (value === null || typeof value !== 'object') return value;
  const out: Resource = {};
  for (const [key, field] of Object.entries(value as Resource)) {
    if (SECRET_FIELDS.has(key) && !namesOnlyAFile(field)) out[key] = { inline_string: REDACTED };
    else out[key] = redactKeys(field);
  }
  return out;
}

function namesOnlyAFile(field: unknown): boolean {
  return field !== null && typeof field === 'object' && Object.keys(field).every((k) => k === 'filename');
}

function holdsPrivateKey(text: string): boolean {
  if (PRIVATE_KEY_PEM.test(text)) return true;
  // inline_bytes is base64: a key in it reads as text only once decoded.
  if (text.length < 64 || !/^[A-Za-z0-9+/=\s]+$/.test(text)) return false;
  return PRIVATE_KEY_PEM.test(Buffer.from(text, 'base64').toString('latin1'));
}
