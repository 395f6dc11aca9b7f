// What one Envoy really holds: wait until its config_dump shows a state (an
// ACK only says a config was accepted; a cluster whose new SDS secret has not
// arrived yet keeps warming while the old one still serves), and read stats
// whose names contain regex metacharacters (`outbound|9090||host`).
import { setTimeout as sleep } from 'node:timers/promises';
import { configDumpSections, type Envoy } from './envoy.js';

type Json = Record<string, any>;
export type Sections = Record<string, Json>;

/**
 * Polls Envoy's /config_dump until `check` returns undefined (it returns what
 * is still missing otherwise); resolves with the sections that satisfied it.
 */
export async function waitForEnvoyConfig(
  envoy: Envoy,
  what: string,
  check: (s: Sections) => string | undefined,
  timeoutMs = 15_000,
): Promise<Sections> {
  const deadline = Date.now() + timeoutMs;
  let last = 'nothing polled yet';
  for (;;) {
    try {
      const sections = await configDumpSections(envoy);
      const missing = check(sections);
      if (missing === undefined) return sections;
      last = missing;
    } catch (err) {
      last = `admin not answering: ${(err as Error).message}`;
    }
    if (Date.now() > deadline) throw new Error(`Envoy ${envoy.name}: ${what} not reached after ${timeoutMs} ms: ${last}`);
    await sleep(50);
  }
}

/** A dynamic active cluster by name (undefined when absent). */
export function activeCluster(s: Sections, name: string): Json | undefined {
  return (s.ClustersConfigDump?.dynamic_active_clusters ?? []).find((c: Json) => c.cluster?.name === name)?.cluster;
}

export function warmingClusters(s: Sections): string[] {
  return (s.ClustersConfigDump?.dynamic_warming_clusters ?? []).map((c: Json) => String(c.cluster?.name));
}

/** A dynamic active secret by name (the Secret resource itself). */
export function activeSecret(s: Sections, name: string): Json | undefined {
  return (s.SecretsConfigDump?.dynamic_active_secrets ?? []).find((x: Json) => x.name === name)?.secret;
}

/** The UpstreamTlsContext of a cluster's transport socket, if it has one. */
export function upstreamTls(cluster: Json | undefined): Json | undefined {
  const ts = cluster?.transport_socket;
  return ts?.name === 'envoy.transport_sockets.tls' ? ts.typed_config : undefined;
}

/** SDS names a cluster's TLS context uses: its certificate (if any) and its validation context. */
export function clusterSecretNames(cluster: Json | undefined): { cert?: string; root?: string } {
  const common = upstreamTls(cluster)?.common_tls_context;
  return {
    cert: common?.tls_certificate_sds_secret_configs?.[0]?.name,
    root: common?.combined_validation_context?.validation_context_sds_secret_config?.name,
  };
}

/** Upstream HTTP options of a cluster (auto_sni, auto_san_validation), if set. */
export function upstreamHttpOptions(cluster: Json | undefined): Json | undefined {
  return cluster?.typed_extension_protocol_options?.['envoy.extensions.upstreams.http.v3.HttpProtocolOptions']
    ?.upstream_http_protocol_options;
}

/** The text of a DataSource as Envoy dumps it (inline_bytes is base64; a file Envoy read shows as its content). */
export function dataSourceText(ds: Json | undefined): string | undefined {
  if (!ds) return undefined;
  if (typeof ds.inline_bytes === 'string') return Buffer.from(ds.inline_bytes, 'base64').toString('utf8');
  if (typeof ds.inline_string === 'string') return ds.inline_string;
  return typeof ds.filename === 'string' ? `file:${ds.filename}` : undefined;
}

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A counter or gauge by exact name, 0 when Envoy has not created it yet. */
export async function statValue(envoy: Envoy, name: string): Promise<number> {
  const text = await envoy.get(`/stats?filter=${encodeURIComponent(`^${escapeRegex(name)}$`)}`);
  const m = /:\s*(\d+)\s*$/m.exec(text);
  return m ? Number(m[1]) : 0;
}
