// The gRPC xDS bootstrap (the JSON file GRPC_XDS_BOOTSTRAP points at) for a
// proxyless client: where meshlite's ADS is and who the node is.
//
// grpc-js-xds can only reach its control plane over an `insecure` (or
// google_default) channel, so this bootstrap works with `meshlite serve
// --insecure` only; the node id is then believed as the workload id.
import { PROXYLESS_NODE_KIND, PROXYLESS_SERVER_LISTENER_TEMPLATE } from '../model/view-types.js';

export interface GrpcBootstrapOptions {
  workload: { id: string; namespace: string; locality?: string };
  /** `host:port` of meshlite's ADS. */
  adsAddress: string;
}

export interface GrpcBootstrap {
  xds_servers: { server_uri: string; channel_creds: { type: string }[]; server_features: string[] }[];
  node: { id: string; cluster: string; locality: { region?: string; zone?: string; sub_zone?: string }; metadata: Record<string, string> };
  /** Lets the app serve with grpc's XdsServer: the Listener names meshlite gives proxyless server ports. */
  server_listener_resource_name_template: string;
}

export function buildGrpcBootstrap(options: GrpcBootstrapOptions): GrpcBootstrap {
  const [region, zone, subZone] = (options.workload.locality ?? '').split('/');
  const locality: GrpcBootstrap['node']['locality'] = {};
  if (region) locality.region = region;
  if (zone) locality.zone = zone;
  if (subZone) locality.sub_zone = subZone;
  return {
    xds_servers: [
      {
        server_uri: options.adsAddress,
        channel_creds: [{ type: 'insecure' }],
        // ignore_resource_deletion: grpc-js-xds does not pick up a listener or
        // cluster that was removed and re-added unchanged; keeping it avoids that.
        server_features: ['xds_v3', 'ignore_resource_deletion'],
      },
    ],
    node: {
      id: options.workload.id,
      cluster: options.workload.id,
      // grpc-js-xds refuses a bootstrap without node.locality, even an empty one.
      locality,
      metadata: { NAMESPACE: options.workload.namespace, MESHLITE: PROXYLESS_NODE_KIND },
    },
    server_listener_resource_name_template: PROXYLESS_SERVER_LISTENER_TEMPLATE,
  };
}
