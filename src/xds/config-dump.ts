// Envoy's admin ConfigDump shape (bootstrap omitted), so what meshlite means can
// be diffed against what Envoy holds. No versions or timestamps: those differ
// between runs and belong to the serving side, not the translation.
import type { Json } from '../proto/proto-json.js';
import { byName, type JsonObject, typed } from './common.js';
import { redactSecret } from './secret.js';
import { TYPE } from './type-urls.js';

const ADMIN = (name: string) => `type.googleapis.com/envoy.admin.v3.${name}`;

export interface DumpOptions {
  /** Per-type version_info to include (serving side); omitted in goldens. */
  versions?: Partial<Record<'clusters' | 'endpoints' | 'listeners' | 'routes' | 'secrets', string>>;
}

/** The resources of a dump: a translation's (ProxyResources fits) or a served snapshot's. */
export interface DumpResources {
  clusters: readonly JsonObject[];
  endpoints: readonly JsonObject[];
  listeners: readonly JsonObject[];
  routes: readonly JsonObject[];
}

export function buildConfigDump(resources: DumpResources, secrets: readonly JsonObject[], options: DumpOptions = {}): JsonObject {
  const v = options.versions ?? {};
  const withVersion = (version: string | undefined, entry: JsonObject): JsonObject =>
    version ? { version_info: version, ...entry } : entry;
  const configs: Json[] = [
    typed(ADMIN('ClustersConfigDump'), {
      dynamic_active_clusters: resources.clusters.map((c) => withVersion(v.clusters, { cluster: typed(TYPE.cluster, c) })),
    }),
    typed(ADMIN('EndpointsConfigDump'), {
      dynamic_endpoint_configs: resources.endpoints.map((e) =>
        withVersion(v.endpoints, { endpoint_config: typed(TYPE.clusterLoadAssignment, e) }),
      ),
    }),
    typed(ADMIN('ListenersConfigDump'), {
      dynamic_listeners: resources.listeners.map((l) => ({
        name: l.name as string,
        active_state: withVersion(v.listeners, { listener: typed(TYPE.listener, l) }),
      })),
    }),
    typed(ADMIN('RoutesConfigDump'), {
      dynamic_route_configs: resources.routes.map((r) => withVersion(v.routes, { route_config: typed(TYPE.routeConfiguration, r) })),
    }),
    typed(ADMIN('SecretsConfigDump'), {
      dynamic_active_secrets: [...secrets]
        .sort(byName)
        .map((s) => withVersion(v.secrets, { name: s.name as string, secret: typed(TYPE.secret, redactSecret(s)) })),
    }),
  ];
  return { configs };
}
