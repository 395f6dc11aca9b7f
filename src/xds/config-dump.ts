// Envoy's admin ConfigDump shape (bootstrap omitted), so what meshlite means can
// be diffed against what Envoy holds. No versions or timestamps: those differ
// between runs and belong to the serving side, not the translation.
import type { Json } from '../proto/proto-json.js';
import { asJson, byName, type JsonObject } from './common.js';
import type { Cluster, ClusterLoadAssignment, Listener, RouteConfiguration, Secret } from './envoy-types/index.js';
import { redactSecret } from './secret.js';
import { TYPE } from './type-urls.js';

const ADMIN = (name: string) => `type.googleapis.com/envoy.admin.v3.${name}`;
const anyJson = (typeUrl: string, message: object): JsonObject => ({ '@type': typeUrl, ...asJson(message) });

export interface DumpOptions {
  /** Per-type version_info to include (serving side); omitted in goldens. */
  versions?: Partial<Record<'clusters' | 'endpoints' | 'listeners' | 'routes' | 'secrets', string>>;
}

/** The resources of a dump: a translation's (ProxyResources fits) or a served snapshot's. */
export interface DumpResources {
  clusters: readonly Cluster[];
  endpoints: readonly ClusterLoadAssignment[];
  listeners: readonly Listener[];
  routes: readonly RouteConfiguration[];
}

export function buildConfigDump(resources: DumpResources, secrets: readonly Secret[], options: DumpOptions = {}): JsonObject {
  const v = options.versions ?? {};
  const withVersion = (version: string | undefined, entry: JsonObject): JsonObject =>
    version ? { version_info: version, ...entry } : entry;
  const configs: Json[] = [
    anyJson(ADMIN('ClustersConfigDump'), {
      dynamic_active_clusters: resources.clusters.map((c) => withVersion(v.clusters, { cluster: anyJson(TYPE.cluster, c) })),
    }),
    anyJson(ADMIN('EndpointsConfigDump'), {
      dynamic_endpoint_configs: resources.endpoints.map((e) =>
        withVersion(v.endpoints, { endpoint_config: anyJson(TYPE.clusterLoadAssignment, e) }),
      ),
    }),
    anyJson(ADMIN('ListenersConfigDump'), {
      dynamic_listeners: resources.listeners.map((l) => ({
        name: l.name as string,
        active_state: withVersion(v.listeners, { listener: anyJson(TYPE.listener, l) }),
      })),
    }),
    anyJson(ADMIN('RoutesConfigDump'), {
      dynamic_route_configs: resources.routes.map((r) => withVersion(v.routes, { route_config: anyJson(TYPE.routeConfiguration, r) })),
    }),
    anyJson(ADMIN('SecretsConfigDump'), {
      dynamic_active_secrets: [...secrets]
        .sort(byName)
        .map((s) => withVersion(v.secrets, { name: s.name as string, secret: anyJson(TYPE.secret, redactSecret(s)) })),
    }),
  ];
  return { configs };
}
