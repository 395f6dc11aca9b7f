import { int, labels, list, obj, oneOf, port, str, type Schema } from '../schema.js';
import type { ConnectionPoolSettings, OutlierDetection, Subset, TrafficPolicy, TrafficPolicyCore } from '../types.js';
import { CLIENT_TLS, DURATION, toClientTls, toLabels, UINT32, WORKLOAD_SELECTOR } from './common-fields.js';
import type { BuildContext, KindHandler } from './kind-handler.js';

const LOAD_BALANCER = obj({ simple: oneOf('UNSPECIFIED', 'RANDOM', 'PASSTHROUGH', 'ROUND_ROBIN', 'LEAST_REQUEST', 'LEAST_CONN') });
const CONNECTION_POOL = obj({
  tcp: obj({ maxConnections: UINT32, connectTimeout: DURATION }),
  http: obj({ http1MaxPendingRequests: UINT32, http2MaxRequests: UINT32, maxRequestsPerConnection: UINT32, maxRetries: UINT32 }),
});
const OUTLIER_DETECTION = obj({
  consecutive5xxErrors: UINT32,
  consecutiveGatewayErrors: UINT32,
  interval: DURATION,
  baseEjectionTime: DURATION,
  maxEjectionPercent: int(0, 100),
});
const CORE_FIELDS = { tls: CLIENT_TLS, loadBalancer: LOAD_BALANCER, connectionPool: CONNECTION_POOL, outlierDetection: OUTLIER_DETECTION };
const TRAFFIC_POLICY: Schema = obj({
  ...CORE_FIELDS,
  portLevelSettings: list(obj({ port: obj({ number: port() }, { required: ['number'] }), ...CORE_FIELDS }, { required: ['port'] })),
});

export const destinationRule: KindHandler = {
  group: 'networking.istio.io',
  versions: ['v1', 'v1beta1', 'v1alpha3'],
  kind: 'DestinationRule',
  specSchema: obj(
    {
      host: str({ nonEmpty: true }),
      trafficPolicy: TRAFFIC_POLICY,
      subsets: list(obj({ name: str({ nonEmpty: true }), labels: labels(), trafficPolicy: TRAFFIC_POLICY }, { required: ['name'] })),
      exportTo: list(str()),
      workloadSelector: WORKLOAD_SELECTOR,
    },
    { required: ['host'] },
  ),
  build(spec, ctx) {
    if (spec.workloadSelector) ctx.report(['spec', 'workloadSelector'], 'workloadSelector on DestinationRule is not supported by meshlite');
    const subsets: Subset[] = [];
    const seen = new Set<string>();
    ((spec.subsets ?? []) as Record<string, unknown>[]).forEach((raw, i) => {
      const name = raw.name as string;
      if (seen.has(name)) ctx.report(['spec', 'subsets', i, 'name'], `duplicate subset name "${name}"`);
      seen.add(name);
      subsets.push({
        name,
        labels: toLabels(raw.labels),
        trafficPolicy: raw.trafficPolicy
          ? toTrafficPolicy(raw.trafficPolicy as Record<string, unknown>, ['spec', 'subsets', i, 'trafficPolicy'], ctx)
          : undefined,
      });
    });
    return {
      kind: 'DestinationRule',
      meta: ctx.meta,
      source: ctx.source,
      spec: {
        host: spec.host as string,
        trafficPolicy: spec.trafficPolicy
          ? toTrafficPolicy(spec.trafficPolicy as Record<string, unknown>, ['spec', 'trafficPolicy'], ctx)
          : undefined,
        subsets,
        exportTo: [...((spec.exportTo as string[] | undefined) ?? [])],
      },
    };
  },
};

function toCore(raw: Record<string, unknown>, path: (string | number)[], ctx: BuildContext): TrafficPolicyCore {
  return {
    tls: raw.tls ? toClientTls(raw.tls as Record<string, unknown>, [...path, 'tls'], ctx.report) : undefined,
    loadBalancer: raw.loadBalancer as TrafficPolicyCore['loadBalancer'],
    connectionPool: raw.connectionPool as ConnectionPoolSettings | undefined,
    outlierDetection: raw.outlierDetection as OutlierDetection | undefined,
  };
}

function toTrafficPolicy(raw: Record<string, unknown>, path: (string | number)[], ctx: BuildContext): TrafficPolicy {
  const portLevelSettings = new Map<number, TrafficPolicyCore>();
  ((raw.portLevelSettings ?? []) as Record<string, unknown>[]).forEach((setting, i) => {
    const number = (setting.port as { number: number }).number;
    if (portLevelSettings.has(number)) ctx.report([...path, 'portLevelSettings', i, 'port', 'number'], `duplicate port ${number}`);
    portLevelSettings.set(number, toCore(setting, [...path, 'portLevelSettings', i], ctx));
  });
  return { ...toCore(raw, path, ctx), portLevelSettings };
}
