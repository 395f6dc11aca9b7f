// The server end of a call: what is bound at the endpoint's address and port
// (a sidecar's inbound listener, or the app itself), which filter chain takes
// the connection, whether the TLS handshake succeeds, and the access policy.
import type { MeshModel } from '../model/mesh-model.js';
import { proxyKind } from '../model/proxy-kind.js';
import type { Workload } from '../model/registry.js';
import {
  type DumpIndex,
  hcmRouteConfig,
  httpConnectionManager,
  type JsonObject,
  networkFiltersOf,
  obj,
  socketAddress,
  str,
  tcpProxy,
} from './dump-index.js';
import { chooseFilterChain } from './filter-chain-choice.js';
import { httpAccess, networkAccess } from './inbound-rbac.js';
import { peerAuthenticationNote } from './policy-notes.js';
import { normalizeRequest } from './request-normalization.js';
import { chooseRoute, perFilterConfigOf, type RequestLine } from './route-match.js';
import { downstreamTls, handshake, type TlsSide } from './tls-handshake.js';

/** `reset`: the connection is closed without an HTTP answer (curl 000, or 503 from a client sidecar). */
export type ServerAnswer = { code: '200' | '403' | 'reset' | '?'; mtls: boolean; steps: string[] };

export interface ServerMesh {
  model: MeshModel;
  /** Inbound listeners by `address:port`. */
  inbound: ReadonlyMap<string, { workload: Workload; index: DumpIndex; listener: JsonObject }>;
  workloadsByAddress: ReadonlyMap<string, Workload>;
}

export interface Arrival {
  address: string;
  port: number;
  /** The client's TLS side; undefined for plaintext. */
  tls?: TlsSide;
  clientIdentity?: string;
  sourceIp?: string;
  request: RequestLine;
}

export function indexInbound(
  workload: Workload,
  index: DumpIndex,
  into: Map<string, { workload: Workload; index: DumpIndex; listener: JsonObject }>,
): void {
  for (const listener of index.listeners) {
    if (listener.traffic_direction === 'OUTBOUND') continue;
    const at = socketAddress(listener.address);
    if (!at) continue;
    const address = at.address === '0.0.0.0' ? workload.address : at.address;
    // Captured traffic (original destination) reaches one listener whatever the port.
    const captures = (Array.isArray(listener.listener_filters) ? listener.listener_filters : []).some((f) =>
      String(obj(f).name ?? '').includes('original_dst'),
    );
    into.set(`${address}:${captures ? '*' : at.port}`, { workload, index, listener });
  }
}

export function serverAnswer(mesh: ServerMesh, arrival: Arrival): ServerAnswer {
  const where = `${arrival.address}:${arrival.port}`;
  const bound = mesh.inbound.get(where) ?? mesh.inbound.get(`${arrival.address}:*`);
  if (!bound) return withoutSidecar(mesh, arrival, where);
  const { workload, index, listener } = bound;
  const server = `${workload.namespace}/${workload.name}`;
  const choice = chooseFilterChain(listener, {
    destinationIp: arrival.address,
    destinationPort: arrival.port,
    tls: arrival.tls !== undefined,
    serverName: arrival.tls?.sni,
    alpn: arrival.tls?.alpn ?? [],
  });
  const sent = arrival.tls ? 'TLS' : 'plaintext';
  const mode = () => peerAuthenticationNote(mesh.model, workload, arrival.port);
  if (choice.kind === 'unknown') return { code: '?', mtls: false, steps: [`${server} port ${arrival.port}: ${choice.why}`] };
  if (choice.kind === 'none') {
    const need = arrival.tls ? 'accepts no TLS from this client' : 'requires mTLS';
    return {
      code: 'reset',
      mtls: false,
      steps: [`server ${server} port ${arrival.port} ${need} (${mode()}): no filter chain takes a ${sent} connection`],
    };
  }
  const serverTls = downstreamTls(choice.chain);
  const steps: string[] = [];
  if (arrival.tls && !serverTls)
    return {
      code: 'reset',
      mtls: false,
      steps: [`server ${server} port ${arrival.port} takes TLS on plaintext chain ${choice.name} (${mode()}): the handshake fails`],
    };
  if (!arrival.tls && serverTls)
    return {
      code: 'reset',
      mtls: false,
      steps: [`server ${server} port ${arrival.port} chain ${choice.name} expects TLS (${mode()}): plaintext is reset`],
    };
  let mtls = false;
  if (arrival.tls && serverTls) {
    const result = handshake(arrival.tls, arrival.clientIdentity, serverTls, workload.identity);
    if (result.ok === 'unknown') return { code: '?', mtls: false, steps: [`TLS to ${server}: ${result.why}`] };
    if (!result.ok) return { code: 'reset', mtls: false, steps: [`TLS handshake with ${server} fails: ${result.why}`] };
    mtls = arrival.tls.certificate !== 'none' && serverTls.trust !== 'none';
    steps.push(`${mtls ? 'mTLS' : 'TLS'} accepted by ${server} on chain ${choice.name} (${mode()})`);
  } else steps.push(`plaintext accepted by ${server} on chain ${choice.name} (${mode()})`);
  const after = afterHandshake(choice.chain, index, arrival, mtls);
  return { ...after, steps: [...steps, ...after.steps] };
}

function afterHandshake(chain: JsonObject, index: DumpIndex, arrival: Arrival, mtls: boolean): ServerAnswer {
  const filters = networkFiltersOf(chain);
  const facts = {
    peerPrincipal: mtls ? arrival.clientIdentity : undefined,
    sourceIp: arrival.sourceIp,
    destinationIp: arrival.address,
    destinationPort: arrival.port,
    serverName: arrival.tls?.sni,
    method: arrival.request.method,
    path: arrival.request.path,
    host: arrival.request.authority,
    headers: { ...arrival.request.headers },
  };
  const network = networkAccess(filters, facts);
  if (network.verdict === 'unknown') return { code: '?', mtls, steps: [network.reason] };
  if (network.verdict === 'deny') return { code: 'reset', mtls, steps: [`the connection is closed: ${network.reason}`] };
  const hcm = httpConnectionManager(chain);
  if (!hcm) {
    const tcp = tcpProxy(chain);
    return tcp
      ? { code: '200', mtls, steps: [`TCP proxy to ${str(tcp.cluster)}; the app answers`] }
      : { code: '?', mtls, steps: ['the chain has no HTTP or TCP proxy'] };
  }
  const routeConfig = hcmRouteConfig(hcm, index);
  if (!routeConfig) return { code: '?', mtls, steps: ['the inbound route configuration is missing'] };
  // Routing and RBAC see the request after the HCM's path and host hygiene.
  const seen = normalizeRequest(hcm, { path: arrival.request.path, host: arrival.request.authority });
  const request = { ...arrival.request, path: seen.path, authority: seen.host ?? arrival.request.authority };
  facts.path = request.path;
  facts.host = request.authority;
  const choice = chooseRoute(routeConfig, request);
  if (choice.kind !== 'route') return { code: '?', mtls, steps: [`inbound: ${choice.why}`] };
  const access = httpAccess(hcm, perFilterConfigOf(routeConfig, choice), facts);
  if (access.verdict === 'unknown') return { code: '?', mtls, steps: [access.reason] };
  if (access.verdict === 'deny') return { code: '403', mtls, steps: [`RBAC denies: ${access.reason}`] };
  return { code: '200', mtls, steps: [`${access.reason}; the app answers`] };
}

function withoutSidecar(mesh: ServerMesh, arrival: Arrival, where: string): ServerAnswer {
  const workload = mesh.workloadsByAddress.get(arrival.address);
  if (!workload) return { code: '?', mtls: false, steps: [`${where} belongs to no workload of the mesh`] };
  const name = `${workload.namespace}/${workload.name}`;
  const kind = proxyKind(mesh.model, workload);
  if (kind === 'gateway' || kind === 'proxyless')
    return { code: '?', mtls: false, steps: [`${name} is a ${kind === 'gateway' ? 'gateway' : 'proxyless gRPC app'}: not predicted`] };
  if (workload.sidecar) return { code: '?', mtls: false, steps: [`${name} has a sidecar but no inbound listener on ${where}`] };
  if (arrival.tls) return { code: 'reset', mtls: false, steps: [`${name} has no sidecar and serves plaintext: the TLS handshake fails`] };
  return { code: '200', mtls: false, steps: [`${name} has no sidecar: the app answers plaintext on ${where}`] };
}
