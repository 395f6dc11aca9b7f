// The client end of a call. With a sidecar the app's request goes to the
// sidecar's outbound listener, its route picks a cluster, the cluster's
// endpoints and transport socket decide where and how (plaintext, TLS, mTLS)
// the sidecar connects. Without a sidecar the app connects straight to each
// endpoint's address and target port in plaintext.
import { endpointPort, type Service, type ServicePort, type Workload } from '../model/registry.js';
import {
  arr,
  type DumpIndex,
  hcmRouteConfig,
  httpConnectionManager,
  type JsonObject,
  obj,
  socketAddress,
  str,
  tcpProxy,
} from './dump-index.js';
import { chooseFilterChain } from './filter-chain-choice.js';
import { destinationRuleNote } from './policy-notes.js';
import { chooseRoute, type RequestLine } from './route-match.js';
import { type Arrival, type ServerAnswer, type ServerMesh, serverAnswer } from './server-side.js';
import { upstreamSocket } from './tls-handshake.js';

/** One way a call can go: to one endpoint, with what the server did. */
export interface Attempt {
  code: '200' | '403' | '503' | '000' | '?';
  mtls: boolean;
  steps: string[];
}

export function directCall(mesh: ServerMesh, client: Workload, service: Service, port: ServicePort, request: RequestLine): Attempt[] {
  const endpoints = service.endpoints.filter((e) => !e.unhealthy);
  if (endpoints.length === 0) return [{ code: '000', mtls: false, steps: [`${service.host} has no endpoint to connect to`] }];
  return endpoints.map((e) => {
    const arrival: Arrival = { address: e.address, port: endpointPort(e, port), sourceIp: client.address, request };
    return fromServer(serverAnswer(mesh, arrival), '000', [`no sidecar: plaintext straight to ${e.address}:${arrival.port}`]);
  });
}

function fromServer(answer: ServerAnswer, resetCode: '503' | '000', before: string[]): Attempt {
  return { code: answer.code === 'reset' ? resetCode : answer.code, mtls: answer.mtls, steps: [...before, ...answer.steps] };
}

export function sidecarCall(
  mesh: ServerMesh,
  client: Workload,
  index: DumpIndex,
  service: Service,
  port: ServicePort,
  request: RequestLine,
): Attempt[] {
  const unknown = (why: string): Attempt[] => [{ code: '?', mtls: false, steps: [why] }];
  const listener = outboundListener(index, port.number);
  if (!listener) return unknown('the client sidecar has no outbound listener');
  const at = socketAddress(listener.address);
  const chain = chooseFilterChain(listener, {
    destinationIp: at?.address ?? '',
    destinationPort: at?.port ?? port.number,
    tls: false,
    alpn: [],
  });
  if (chain.kind !== 'chain') return unknown(`outbound listener ${str(listener.name)} takes no plaintext HTTP`);
  const hcm = httpConnectionManager(chain.chain);
  let clusterName: string | undefined;
  let via: string;
  if (hcm) {
    const routeConfig = hcmRouteConfig(hcm, index);
    if (!routeConfig) return unknown('the outbound route configuration is missing');
    const choice = chooseRoute(routeConfig, request);
    if (choice.kind !== 'route') return unknown(`client sidecar: ${choice.why} (Envoy answers 404)`);
    const action = obj(choice.route.route);
    if (choice.route.direct_response || choice.route.redirect)
      return unknown(`client sidecar answers itself (direct response or redirect on ${choice.virtualHost})`);
    const weighted = arr(obj(action.weighted_clusters).clusters).map((c) => str(obj(c).name) ?? '');
    if (weighted.length > 0) {
      return weighted.flatMap((name) =>
        toCluster(mesh, client, index, name, service, port, request, `route ${choice.virtualHost} -> ${name} (weighted)`),
      );
    }
    clusterName = str(action.cluster);
    via = `route ${choice.virtualHost} -> ${clusterName}`;
  } else {
    clusterName = str(tcpProxy(chain.chain)?.cluster);
    via = `TCP proxy -> ${clusterName}`;
  }
  if (!clusterName) return unknown('the client sidecar routes to no single cluster');
  return toCluster(mesh, client, index, clusterName, service, port, request, via);
}

function outboundListener(index: DumpIndex, servicePort: number): JsonObject | undefined {
  const outbound = index.listeners.filter((l) => l.traffic_direction === 'OUTBOUND' && !str(l.name)?.startsWith('virtual'));
  return outbound.find((l) => socketAddress(l.address)?.port === servicePort) ?? outbound.find((l) => httpListener(l));
}

const httpListener = (l: JsonObject) => arr(l.filter_chains).some((c) => httpConnectionManager(obj(c)) !== undefined);

function toCluster(
  mesh: ServerMesh,
  client: Workload,
  index: DumpIndex,
  name: string,
  service: Service,
  port: ServicePort,
  request: RequestLine,
  via: string,
): Attempt[] {
  const cluster = index.clusters.get(name);
  if (!cluster) return [{ code: '503', mtls: false, steps: [via, `the client sidecar has no cluster ${name}`] }];
  const type = str(cluster.type) ?? 'EDS';
  if (type !== 'EDS' && type !== 'STATIC')
    return [{ code: '?', mtls: false, steps: [via, `cluster ${name} is ${type}: its hosts are resolved at run time`] }];
  const cla =
    type === 'EDS' ? index.endpoints.get(str(obj(cluster.eds_cluster_config).service_name) ?? name) : obj(cluster.load_assignment);
  const lbEndpoints = arr(cla?.endpoints).flatMap((l) => arr(obj(l).lb_endpoints).map(obj));
  const healthy = lbEndpoints.filter((e) => !['UNHEALTHY', 'DRAINING', 'TIMEOUT'].includes(String(e.health_status ?? '')));
  if (healthy.length === 0)
    return [{ code: '503', mtls: false, steps: [via, `cluster ${name} has no healthy endpoint: no healthy upstream`] }];
  const rule = destinationRuleNote(mesh.model, service.host, service.namespace, client.namespace, port.number);
  return healthy.map((lb) => {
    const at = socketAddress(obj(lb.endpoint).address);
    if (!at) return { code: '?', mtls: false, steps: [via, 'an endpoint without a socket address'] };
    const socket = upstreamSocket(cluster, lb);
    const how = socket.tls
      ? `client sidecar sends ${socket.side.certificate === 'mesh' ? 'mTLS' : 'TLS'}`
      : 'client sidecar sends plaintext';
    const why = [socket.matchName ? `auto mTLS picks ${socket.matchName}` : undefined, rule].filter(Boolean).join(', ');
    const arrival: Arrival = {
      address: at.address,
      port: at.port,
      tls: socket.tls ? socket.side : undefined,
      clientIdentity: socket.tls && socket.side.certificate === 'mesh' ? client.identity : undefined,
      sourceIp: client.address,
      request,
    };
    return fromServer(serverAnswer(mesh, arrival), '503', [via, `${how} to ${at.address}:${at.port}${why ? ` (${why})` : ''}`]);
  });
}
