// The bootstrap `meshlite agent` gives its Envoy: who the proxy is, a loopback
// admin, and ADS over a Unix socket to the agent, which relays it to meshlite
// and answers the workload's own secrets itself. The file holds no token and
// no CA material: the agent keeps those, so the file is harmless if read.
import { isIP } from 'node:net';
import type { Json } from '../proto/proto-json.js';
import { canonicalJson } from '../proto/proto-json.js';
import { formatJson } from '../translate/proxy-config-dump.js';
import { writeFileAtomic } from '../util/files.js';
import { ADS_CONFIG_SOURCE, asJson, type JsonObject, socketAddress, typed } from '../xds/common.js';
import type { Bootstrap, Cluster } from '../xds/envoy-types/index.js';
import { TYPE } from '../xds/type-urls.js';
import { AGENT_NODE_METADATA } from './agent-types.js';

/** The static cluster through which Envoy reaches the agent's ADS socket. */
export const AGENT_XDS_CLUSTER = 'xds-grpc';

export interface AgentBootstrapOptions {
  /** The proxy's id, `name.namespace`: meshlite finds the workload by it. */
  proxyId: string;
  cluster: string;
  /** The agent's Unix socket serving ADS (and SDS for `default`/`ROOTCA`). */
  adsSocketPath: string;
  /** Envoy's admin; it can stop Envoy and dump its config, so only a loopback address is accepted. */
  adminAddress: { host: string; port: number };
  /** More node metadata (e.g. NAMESPACE); MESHLITE_AGENT is always "true". */
  metadata?: Record<string, string>;
}

/** Throws a RangeError for a non-loopback admin host, a bad port or an empty socket path. */
export function agentBootstrap(opts: AgentBootstrapOptions): JsonObject {
  const { host, port } = opts.adminAddress;
  if (!isLoopbackIp(host)) throw new RangeError(`Envoy's admin must listen on a loopback IP, not "${host}"`);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`bad admin port ${port}`);
  if (!opts.adsSocketPath) throw new RangeError('no ADS socket path');
  if (!opts.proxyId) throw new RangeError('no proxy id');

  const xdsCluster: Cluster = {
    name: AGENT_XDS_CLUSTER,
    type: 'STATIC',
    connect_timeout: '1s',
    load_assignment: {
      cluster_name: AGENT_XDS_CLUSTER,
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { pipe: { path: opts.adsSocketPath } } } }] }],
    },
    typed_extension_protocol_options: {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': typed(TYPE.httpProtocolOptions, {
        explicit_http_config: { http2_protocol_options: {} },
      }),
    },
  };
  const bootstrap: Bootstrap = {
    node: {
      id: opts.proxyId,
      cluster: opts.cluster,
      metadata: { ...opts.metadata, [AGENT_NODE_METADATA]: 'true' },
    },
    static_resources: { clusters: [xdsCluster] },
    dynamic_resources: {
      lds_config: ADS_CONFIG_SOURCE,
      cds_config: ADS_CONFIG_SOURCE,
      ads_config: {
        api_type: 'GRPC',
        transport_api_version: 'V3',
        grpc_services: [{ envoy_grpc: { cluster_name: AGENT_XDS_CLUSTER } }],
        set_node_on_first_message_only: true,
      },
    },
    admin: { address: socketAddress(host, port) },
  };
  return asJson(bootstrap);
}

/** Writes the bootstrap (checked against Envoy's schema) readable by its owner only, replacing any old file at once. */
export async function writeAgentBootstrap(path: string, json: Json): Promise<void> {
  const text = formatJson(canonicalJson('envoy.config.bootstrap.v3.Bootstrap', json));
  await writeFileAtomic(path, text, 0o600);
}

function isLoopbackIp(host: string): boolean {
  if (isIP(host) === 4) return host.startsWith('127.');
  return isIP(host) === 6 && (host === '::1' || /^(0{1,4}:){7}0{0,3}1$/.test(host));
}
