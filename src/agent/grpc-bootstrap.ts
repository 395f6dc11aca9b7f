// The gRPC xDS bootstrap `meshlite agent --grpc` writes for a proxyless app
// (the file GRPC_XDS_BOOTSTRAP names). The app talks xDS in plaintext, but
// only to the agent on its own host, which relays it to meshlite over mTLS
// with the workload certificate. Its own mTLS uses the key and certificate
// files the agent keeps current, through a `file_watcher` certificate
// provider named `default`, the instance meshlite's proxyless clusters and
// listeners name. The file holds paths only, never key material.
import { writeFileAtomic } from '../util/files.js';
import { AGENT_NODE_METADATA } from './agent-types.js';

/** The provider instance meshlite's proxyless TLS contexts refer to. */
export const GRPC_CERTIFICATE_PROVIDER = 'default';

/** Where an XdsServer finds its Listener: meshlite publishes `grpc/server?xds.resource.listening_address=<ip>:<port>`. */
export const GRPC_SERVER_LISTENER_TEMPLATE = 'grpc/server?xds.resource.listening_address=%s';

export interface GrpcCertificatePaths {
  certificateFile: string;
  privateKeyFile: string;
  caCertificateFile: string;
}

export interface GrpcAgentBootstrapOptions {
  /** `name.namespace`: meshlite finds the workload by it. */
  proxyId: string;
  cluster: string;
  /** The agent's ADS relay as a gRPC target (`unix:///abs/path` or `127.0.0.1:port`). */
  serverUri: string;
  certificates: GrpcCertificatePaths;
  /** How often the app re-reads the certificate files, in whole seconds (at least 1). */
  refreshIntervalSeconds: number;
}

export interface GrpcAgentBootstrap {
  xds_servers: { server_uri: string; channel_creds: { type: 'insecure' }[]; server_features: string[] }[];
  node: { id: string; cluster: string; locality: Record<string, never>; metadata: Record<string, string> };
  certificate_providers: Record<
    string,
    {
      plugin_name: 'file_watcher';
      config: { certificate_file: string; private_key_file: string; ca_certificate_file: string; refresh_interval: string };
    }
  >;
  server_listener_resource_name_template: string;
}

/** Throws a RangeError for an empty id, target or path, or a refresh interval that is not a whole number of seconds ≥ 1. */
export function grpcAgentBootstrap(o: GrpcAgentBootstrapOptions): GrpcAgentBootstrap {
  if (!o.proxyId) throw new RangeError('no proxy id');
  if (!o.serverUri) throw new RangeError('no xDS server address');
  const { certificateFile, privateKeyFile, caCertificateFile } = o.certificates;
  if (!certificateFile || !privateKeyFile || !caCertificateFile) throw new RangeError('a certificate file path is empty');
  if (!Number.isInteger(o.refreshIntervalSeconds) || o.refreshIntervalSeconds < 1)
    throw new RangeError(`bad certificate refresh interval ${o.refreshIntervalSeconds}`);
  return {
    xds_servers: [
      {
        server_uri: o.serverUri,
        channel_creds: [{ type: 'insecure' }],
        // ignore_resource_deletion: grpc-js-xds does not pick up a listener or
        // cluster removed and re-added unchanged unless it keeps them.
        server_features: ['xds_v3', 'ignore_resource_deletion'],
      },
    ],
    node: {
      id: o.proxyId,
      cluster: o.cluster,
      // grpc-js-xds refuses a node without a locality; meshlite takes the workload's from its config.
      locality: {},
      metadata: { [AGENT_NODE_METADATA]: 'true' },
    },
    certificate_providers: {
      [GRPC_CERTIFICATE_PROVIDER]: {
        plugin_name: 'file_watcher',
        config: {
          certificate_file: certificateFile,
          private_key_file: privateKeyFile,
          ca_certificate_file: caCertificateFile,
          refresh_interval: `${o.refreshIntervalSeconds}s`,
        },
      },
    },
    server_listener_resource_name_template: GRPC_SERVER_LISTENER_TEMPLATE,
  };
}

/**
 * How often the app should re-read its certificate files: 5 s, or a quarter
 * of the certificate lifetime when that is shorter (a renewed certificate is
 * written at half life; the app must pick it up well before the old expires).
 */
export function certificateRefreshSeconds(certTtlSeconds: number | undefined): number {
  if (certTtlSeconds === undefined || !Number.isFinite(certTtlSeconds)) return 5;
  return Math.max(1, Math.min(5, Math.floor(certTtlSeconds / 4)));
}

/** Writes the bootstrap readable by its owner only, replacing any old file at once. */
export async function writeGrpcBootstrap(path: string, bootstrap: GrpcAgentBootstrap): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(bootstrap, null, 2)}\n`, 0o600);
}
