// `meshlite authz check`'s core: from one proxy's config dump, a client and a
// request, what the proxy's inbound side would do: the filter chain Envoy
// picks for the connection (or that none takes it), then its network and
// HTTP RBAC filters, with the deciding Envoy policy mapped back to the
// AuthorizationPolicy and rule it came from.
import type { AuthorizationPolicy } from '../config/authz-types.js';
import type { MeshModel } from '../model/mesh-model.js';
import { MeshViews } from '../model/mesh-views.js';
import type { Workload } from '../model/registry.js';
import { proxyKind } from '../translate/translator.js';
import { arr, hcmRouteConfig, httpConnectionManager, indexDump, type JsonObject, networkFiltersOf, obj, str } from './dump-index.js';
import { chooseFilterChain } from './filter-chain-choice.js';
import { inboundListenerFor, inboundPorts } from './inbound-listeners.js';
import { normalizeRequest } from './request-normalization.js';
import { evaluateHttpFilters, evaluateNetworkFilters, type RbacDecision, type RequestFacts } from './rbac-evaluator.js';
import { perFilterConfigFor } from './route-match.js';

/** Who connects: a mesh workload, a bare principal (a sidecar presenting it), or a plaintext client. */
export type Client =
  | {
      kind: 'workload';
      id: string;
      principal?: string;
      address: string;
      /** How the client's sidecar reaches this proxy, per target port, from its own outbound clusters (TLS: a DestinationRule's own TLS). */
      transport?: Record<number, Transport>;
      /** The SNI its sidecar sends with mesh mTLS, per target port. */
      sni?: Record<number, string>;
    }
  | { kind: 'principal'; principal: string }
  | { kind: 'none' };

export type Transport = 'mTLS' | 'plaintext' | 'TLS';

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: string };

const PRINCIPAL = /^(spiffe:\/\/)?[^/\s]+\/ns\/[^/\s]+\/sa\/[^/\s]+$/;

/** What the client sidecar's outbound clusters do towards the target's endpoints (first cluster per port). */
type Outbound = { transport: Record<number, Transport>; sni: Record<number, string> };

function transportOf(kind: string, istioMtls: boolean): Transport {
  if (kind === 'plaintext') return 'plaintext';
  if (kind === 'istio-mutual' || (kind === 'auto' && istioMtls)) return 'mTLS';
  return kind === 'auto' ? 'plaintext' : 'TLS';
}

function transportsTo(model: MeshModel, client: Workload, target: string | undefined): Outbound | undefined {
  const to = target === undefined ? undefined : model.registry.workload(target);
  const found = to ? new MeshViews(model).view(client.id) : undefined;
  if (!to || !found?.ok || found.view.kind !== 'sidecar') return undefined;
  const out: Outbound = { transport: {}, sni: {} };
  for (const c of found.view.outbound.clusters) {
    for (const e of c.endpoints) {
      if (e.address !== to.address || out.transport[e.port] !== undefined) continue;
      const t = transportOf(c.tls.kind, e.istioMtls);
      out.transport[e.port] = t;
      if (t === 'mTLS') out.sni[e.port] = c.sni;
    }
  }
  return Object.keys(out.transport).length > 0 ? out : undefined;
}

/**
 * `--from`: `none`, a principal (`spiffe://td/ns/x/sa/y` or `td/ns/x/sa/y`), or a workload (`<ns>/<name>` or `<name>.<ns>`).
 * With `target` (the receiving proxy), a sidecar client's transport follows its own outbound config.
 */
export function resolveClient(from: string, model: MeshModel | undefined, target?: string): Outcome<Client> {
  if (from === 'none') return { ok: true, value: { kind: 'none' } };
  if (PRINCIPAL.test(from)) {
    return { ok: true, value: { kind: 'principal', principal: from.startsWith('spiffe://') ? from : `spiffe://${from}` } };
  }
  const slash = /^([^/.]+)\/([^/]+)$/.exec(from);
  const id = slash ? `${slash[2]}.${slash[1]}` : from;
  if (!model)
    return { ok: false, error: `--from ${from}: a workload is resolved from the config (-c or --store); or give a principal or none` };
  const workload = model.registry.workloads.find((w) => w.id === id);
  if (!workload) return { ok: false, error: `--from ${from}: no workload "${id}" (give <ns>/<name>, <name>.<ns>, a principal or none)` };
  // A proxy meshlite configures (sidecar, gateway, proxyless app) presents its certificate; a bare workload presents none.
  const mtls = proxyKind(model, workload) !== undefined;
  const outbound = mtls ? transportsTo(model, workload, target) : undefined;
  return {
    ok: true,
    value: {
      kind: 'workload',
      id: workload.id,
      address: workload.address,
      ...(mtls ? { principal: workload.identity } : {}),
      ...(outbound ? { transport: outbound.transport } : {}),
      ...(outbound && Object.keys(outbound.sni).length > 0 ? { sni: outbound.sni } : {}),
    },
  };
}

/** The request as the client sends it; a `serverName` with client `none` is TLS without a client certificate. */
export interface CheckRequest extends Pick<RequestFacts, 'serverName' | 'method' | 'path' | 'host' | 'headers' | 'jwtPayload'> {
  port?: number;
}

export interface PolicyRef {
  namespace: string;
  name: string;
  rule: number;
  /** A CUSTOM policy's rule (its requests go to an external authorizer). */
  custom?: boolean;
  /** Where it was read from, when the config is at hand. */
  source?: { file: string; line: number };
}

export interface CheckResult {
  proxy: string;
  port: number;
  client: Client;
  connection: Transport;
  verdict: 'allow' | 'deny';
  reason: string;
  /** Set when no filter chain takes the connection. */
  refused?: string;
  protocol?: 'http' | 'tcp';
  chain?: string;
  /** The request as asked, and as the RBAC filters see it after the HCM's normalization when that differs. */
  request?: { method: string; path: string; host: string; asEnvoySees?: { path: string; host: string } };
  decision?: RbacDecision;
  policy?: PolicyRef;
  /** When no ALLOW rule matched: the ALLOW rules that were there. */
  candidates?: PolicyRef[];
  shadow?: (NonNullable<RbacDecision['shadow']>[number] & { policyRef?: PolicyRef })[];
}

const POLICY_KEY = /^(istio-ext-authz-)?ns\[([^\]]+)\]-policy\[([^\]]+)\]-rule\[(\d+)\]$/;

/** `ns[<ns>]-policy[<name>]-rule[<i>]` -> the policy and rule (with its file and line when the policies are given). */
export function policyRef(key: string | undefined, policies: readonly AuthorizationPolicy[] = []): PolicyRef | undefined {
  const m = key === undefined ? undefined : POLICY_KEY.exec(key);
  if (!m) return undefined;
  const [, custom, namespace, name, rule] = m as unknown as [string, string | undefined, string, string, string];
  const found = policies.find((p) => p.meta.namespace === namespace && p.meta.name === name);
  return { namespace, name, rule: Number(rule), ...(custom ? { custom: true } : {}), ...(found ? { source: found.source } : {}) };
}

/** The port to check: the one asked for, or the proxy's only inbound port. */
export function checkPort(dump: unknown, asked: number | undefined): Outcome<number> {
  const ports = inboundPorts(dump);
  if (asked !== undefined) {
    if (ports.includes(asked)) return { ok: true, value: asked };
    return { ok: false, error: `no inbound listener for port ${asked}; inbound ports: ${ports.join(', ') || 'none'}` };
  }
  if (ports.length === 1) return { ok: true, value: ports[0]! };
  if (ports.length === 0) return { ok: false, error: 'the proxy has no inbound listener' };
  return { ok: false, error: `the proxy serves several inbound ports (${ports.join(', ')}); pick one with --port` };
}

const hasTls = (chain: JsonObject) => (str(obj(obj(chain.transport_socket).typed_config)['@type']) ?? '').endsWith('DownstreamTlsContext');
const inspects = (listener: JsonObject) => arr(listener.listener_filters).length > 0;

function refusal(listener: JsonObject, connection: Transport, port: number): string {
  const names = arr(listener.filter_chains).flatMap((c) => arr(obj(obj(c).filter_chain_match).server_names));
  const refused = 'connection refused by the inbound listener:';
  if (names.length > 0)
    return `${refused} no filter chain on port ${port} for this connection; its chains take TLS with SNI ${names.join(', ')} (--sni)`;
  if (connection === 'plaintext') return `${refused} STRICT mTLS on port ${port} (no plaintext filter chain)`;
  return `${refused} no filter chain on port ${port} takes ${connection === 'mTLS' ? 'mTLS from a sidecar' : 'this TLS'}${inspects(listener) ? '' : ' (the port is plaintext only)'}`;
}

/** What the proxy `proxy` (its config dump) does with the request from `client`. */
export function checkAuthz(
  dump: unknown,
  proxy: string,
  client: Client,
  req: CheckRequest,
  policies: readonly AuthorizationPolicy[] = [],
): Outcome<CheckResult> {
  const port = checkPort(dump, req.port);
  if (!port.ok) return port;
  const index = indexDump(dump);
  const listener = inboundListenerFor(dump, port.value)!;
  const at = obj(obj(listener.address).socket_address);
  const address = str(at.address);
  const presented = client.kind === 'none' ? undefined : client.principal;
  // A plaintext client naming an SNI speaks TLS without a mesh identity (a client of a gateway's TLS port).
  const connection: Transport =
    (client.kind === 'workload' ? client.transport?.[port.value] : undefined) ??
    (presented !== undefined ? 'mTLS' : req.serverName !== undefined ? 'TLS' : 'plaintext');
  const principal = connection === 'mTLS' ? presented : undefined;
  const tls = connection !== 'plaintext';
  const base = { proxy, port: port.value, client, connection };
  const serverName = req.serverName ?? (connection === 'mTLS' && client.kind === 'workload' ? client.sni?.[port.value] : undefined);
  const choice = chooseFilterChain(listener, {
    destinationIp: address ?? '',
    destinationPort: port.value,
    tls,
    alpn: connection === 'mTLS' ? ['istio'] : [],
    serverName,
  });
  if (choice.kind === 'unknown') {
    // Which chain (and so which policies) applies is not known: no verdict but a deny.
    return { ok: true, value: { ...base, verdict: 'deny', reason: `cannot evaluate: ${choice.why}; denying` } };
  }
  const chain = choice.kind === 'chain' ? choice.chain : undefined;
  // Without a TLS inspector every connection looks plaintext: a TLS client then reaches a plaintext chain and fails.
  const plaintextOnly = tls && chain !== undefined && !hasTls(chain) && !inspects(listener);
  if (!chain || plaintextOnly) {
    const refused = refusal(listener, connection, port.value);
    return { ok: true, value: { ...base, verdict: 'deny', reason: refused, refused } };
  }
  const hcm = httpConnectionManager(chain);
  const asked = {
    path: req.path ?? '/',
    host: req.host ?? req.serverName ?? `${address ?? proxy}:${port.value}`,
  };
  // The RBAC filters see the request after the HCM's path and host hygiene.
  const seen = hcm ? normalizeRequest(hcm, asked) : asked;
  const host = seen.host ?? asked.host;
  const facts: RequestFacts = {
    destinationPort: port.value,
    ...(address !== undefined ? { destinationIp: address } : {}),
    ...(client.kind === 'workload' ? { sourceIp: client.address } : {}),
    ...(hasTls(chain) && principal ? { peerPrincipal: principal } : {}),
    ...(serverName ? { serverName } : {}),
    method: req.method ?? 'GET',
    path: seen.path,
    host,
    headers: req.headers ?? {},
    ...(req.jwtPayload ? { jwtPayload: req.jwtPayload } : {}),
  };
  const chainName = typeof chain.name === 'string' ? { chain: chain.name } : {};
  let decision = evaluateNetworkFilters(networkFiltersOf(chain), facts);
  if (decision.verdict === 'allow' && hcm) {
    const routes = hcmRouteConfig(hcm, index);
    const network = decision.shadow ?? [];
    // The policies arrive with the routes: without them, the empty RBAC slots would read as "allow".
    const missing = `the route configuration ${str(obj(hcm.rds).route_config_name) ?? ''} is not in the config dump`;
    decision = routes
      ? evaluateHttpFilters(arr(hcm.http_filters), facts, {
          perFilterConfig: perFilterConfigFor(routes, host, facts.path!, facts),
        })
      : { verdict: 'deny', reason: `cannot evaluate: ${missing}; denying`, undetermined: missing };
    if (network.length > 0) decision = { ...decision, shadow: [...network, ...(decision.shadow ?? [])] };
  }
  const ref = policyRef(decision.decidedBy?.policy, policies);
  const candidates = (decision.candidates ?? []).flatMap((c) => policyRef(c, policies) ?? []);
  const shadow = decision.shadow?.map((s) => {
    const r = policyRef(s.policy, policies);
    return r ? { ...s, policyRef: r } : s;
  });
  return {
    ok: true,
    value: {
      ...base,
      verdict: decision.verdict,
      reason: decision.reason,
      protocol: hcm ? 'http' : 'tcp',
      ...chainName,
      ...(hcm
        ? {
            request: {
              method: facts.method!,
              path: asked.path,
              host: asked.host,
              ...(seen.path !== asked.path || host !== asked.host ? { asEnvoySees: { path: seen.path, host } } : {}),
            },
          }
        : {}),
      decision,
      ...(ref ? { policy: ref } : {}),
      ...(candidates.length > 0 ? { candidates } : {}),
      ...(shadow ? { shadow } : {}),
    },
  };
}

/** The :authority a mesh client sends: `<service host>:<service port>` of a service reaching this proxy on `port`. */
export function serviceAuthority(model: MeshModel, proxy: string, port: number): string | undefined {
  const workload = model.registry.workload(proxy);
  if (!workload) return undefined;
  for (const service of model.registry.servicesOfWorkload(workload)) {
    const p = service.ports.find((sp) => (workload.ports[sp.name] ?? sp.targetPort ?? sp.number) === port);
    if (p) return `${service.host}:${p.number}`;
  }
  return undefined;
}
