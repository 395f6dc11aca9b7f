// VirtualService (networking.istio.io): HTTP, TLS and TCP routing rules for
// hosts, bound to the mesh (sidecars) and/or to Gateways. Gateway names are
// qualified on read (`name` -> `<namespace>/<name>`), so the model compares
// them as they are; `gateways` defaults to [`mesh`].
import type { HttpMatchRequest, HttpRoute, HttpRouteDestination, L4MatchAttributes, RouteDestination, StringMatch } from '../types.js';
import { DNS_LABEL, hostCovers, hostProblem, subnetProblem, toLabels, toPercent } from './common-fields.js';
import type { BuildContext, KindHandler } from './kind-handler.js';
import {
  authorityHeaderPath,
  checkWeights,
  headerMatchNameProblem,
  qualifyGateways,
  refuseFields,
  toDestination,
  toHeaders,
  toStringMatch,
  VIRTUAL_SERVICE_SPEC,
} from './virtual-service-fields.js';

type Path = (string | number)[];
type Raw = Record<string, unknown>;

/** Envoy's redirect response codes; Istio silently drops a redirect with any other. */
const REDIRECT_CODES = [301, 302, 303, 307, 308];
/** Envoy's x-envoy-retry-on and x-envoy-retry-grpc-on conditions. */
const RETRY_ON = new Set([
  '5xx',
  'gateway-error',
  'reset',
  'reset-before-request',
  'connect-failure',
  'envoy-ratelimited',
  'retriable-4xx',
  'refused-stream',
  'retriable-status-codes',
  'retriable-headers',
  'http3-post-connect-failure',
  'cancelled',
  'deadline-exceeded',
  'internal',
  'resource-exhausted',
  'unavailable',
]);

export const virtualService: KindHandler = {
  group: 'networking.istio.io',
  versions: ['v1', 'v1beta1', 'v1alpha3'],
  kind: 'VirtualService',
  specSchema: VIRTUAL_SERVICE_SPEC,
  build(spec, ctx) {
    const namespace = ctx.meta.namespace;
    const rawGateways = (spec.gateways ?? []) as string[];
    const gateways = rawGateways.length > 0 ? qualifyGateways(rawGateways, namespace, ['spec', 'gateways'], ctx.report) : ['mesh'];
    const hosts = spec.hosts as string[];
    checkHosts(hosts, gateways.includes('mesh'), ctx);
    const http = ((spec.http ?? []) as Raw[]).map((raw, i) => toHttpRoute(raw, ['spec', 'http', i], gateways, ctx));
    const tls = ((spec.tls ?? []) as Raw[]).map((raw, i) => {
      const path = ['spec', 'tls', i];
      const match = ((raw.match ?? []) as Raw[]).map((m, j) => toL4Match(m, [...path, 'match', j], gateways, ctx, hosts));
      if (match.length === 0) ctx.report([...path, 'match'], 'a tls route needs at least one match with sniHosts');
      return { match, route: toL4Routes(raw, path, 'tls', ctx) };
    });
    const tcp = ((spec.tcp ?? []) as Raw[]).map((raw, i) => {
      const path = ['spec', 'tcp', i];
      const match = ((raw.match ?? []) as Raw[]).map((m, j) => toL4Match(m, [...path, 'match', j], gateways, ctx));
      return { match, route: toL4Routes(raw, path, 'tcp', ctx) };
    });
    if (http.length + tls.length + tcp.length === 0) ctx.report(['spec'], 'at least one http, tls or tcp route is required');
    const exportTo = [...((spec.exportTo as string[] | undefined) ?? [])];
    checkExportTo(exportTo, ctx);
    return { kind: 'VirtualService', meta: ctx.meta, source: ctx.source, spec: { hosts: [...hosts], gateways, http, tls, tcp, exportTo } };
  },
};

function checkHosts(hosts: readonly string[], toMesh: boolean, ctx: BuildContext): void {
  if (hosts.length === 0) ctx.report(['spec', 'hosts'], 'at least one host is required');
  hosts.forEach((host, i) => {
    const path = ['spec', 'hosts', i];
    let problem = host.includes('/')
      ? `invalid host "${host}": VirtualService hosts take no namespace part`
      : hostProblem(host, { shortNames: true, star: true, ip: true });
    if (!problem && host === '*' && toMesh) problem = 'the wildcard host "*" is not allowed for a VirtualService bound to the mesh';
    if (problem) return ctx.report(path, problem);
    const prior = hosts.findIndex((other, j) => j < i && (hostCovers(other, host) || hostCovers(host, other)));
    if (prior >= 0)
      ctx.report(
        path,
        hosts[prior] === host ? `host "${host}" is listed twice` : `host "${host}" overlaps host "${hosts[prior]}" of this VirtualService`,
      );
  });
}

function checkExportTo(exportTo: readonly string[], ctx: BuildContext): void {
  exportTo.forEach((value, i) => {
    const path = ['spec', 'exportTo', i];
    const key = value === '.' ? ctx.meta.namespace : value;
    if (value !== '*' && value !== '.' && !DNS_LABEL.test(value))
      ctx.report(path, `invalid value "${value}": expected ".", "*" or a namespace name`);
    else if (exportTo.slice(0, i).some((v) => (v === '.' ? ctx.meta.namespace : v) === key)) ctx.report(path, `"${value}" is listed twice`);
    else if (exportTo.length > 1 && value === '*')
      ctx.report(path, '"*" exports to every namespace and cannot be combined with other values');
  });
}

/** Match-level gateways narrow the rule; naming one outside spec.gateways can never apply. */
function matchGateways(raw: Raw, path: Path, gateways: readonly string[], ctx: BuildContext): string[] {
  const own = qualifyGateways((raw.gateways ?? []) as string[], ctx.meta.namespace, [...path, 'gateways'], ctx.report);
  own.forEach((gw, i) => {
    if (!gateways.includes(gw))
      ctx.report(
        [...path, 'gateways', i],
        `gateway "${gw}" is not in spec.gateways (${gateways.join(', ')}), so this match can never apply`,
      );
  });
  return own;
}

function toHttpMatch(raw: Raw, path: Path, gateways: readonly string[], ctx: BuildContext): HttpMatchRequest {
  refuseFields(raw, ['statPrefix'], path, ctx.report);
  const single = (key: string) => (raw[key] ? toStringMatch(raw[key] as Raw, [...path, key], ctx.report) : undefined);
  const headerMap = (key: 'headers' | 'withoutHeaders') => {
    const out: Record<string, StringMatch> = {};
    for (const [name, value] of Object.entries((raw[key] ?? {}) as Record<string, Raw>)) {
      const problem = headerMatchNameProblem(name);
      if (problem) ctx.report([...path, key, name], problem);
      // `{}` tests presence (absence under withoutHeaders): any value matches `.*`.
      const presence = Object.values(value).every((v) => v == null);
      const match = presence ? { regex: '.*' } : toStringMatch(value, [...path, key, name], ctx.report);
      if (match) out[name] = match;
    }
    return out;
  };
  const queryParams: Record<string, StringMatch> = {};
  for (const [name, value] of Object.entries((raw.queryParams ?? {}) as Record<string, Raw>)) {
    if (name === '') ctx.report([...path, 'queryParams', name], 'query parameter name must not be empty');
    const match = toStringMatch(value, [...path, 'queryParams', name], ctx.report, ['exact', 'regex']);
    if (match) queryParams[name] = match;
  }
  const sourceNamespace = raw.sourceNamespace as string | undefined;
  if (sourceNamespace !== undefined && !DNS_LABEL.test(sourceNamespace))
    ctx.report([...path, 'sourceNamespace'], `invalid namespace "${sourceNamespace}"`);
  return {
    name: raw.name as string | undefined,
    uri: single('uri'),
    scheme: single('scheme'),
    method: single('method'),
    authority: single('authority'),
    headers: headerMap('headers'),
    withoutHeaders: headerMap('withoutHeaders'),
    queryParams,
    port: raw.port as number | undefined,
    sourceLabels: raw.sourceLabels ? toLabels(raw.sourceLabels) : undefined,
    sourceNamespace,
    gateways: matchGateways(raw, path, gateways, ctx),
    ignoreUriCase: raw.ignoreUriCase === true,
  };
}

function toHttpRoute(raw: Raw, path: Path, gateways: readonly string[], ctx: BuildContext): HttpRoute {
  const report = ctx.report;
  refuseFields(raw, ['corsPolicy', 'delegate', 'mirrors'], path, report);
  refuseFields(raw, ['mirrorPercent', 'mirror_percent'], path, report, 'is deprecated and not supported by meshlite; use mirrorPercentage');
  const match = ((raw.match ?? []) as Raw[]).map((m, j) => toHttpMatch(m, [...path, 'match', j], gateways, ctx));
  const route: HttpRouteDestination[] = ((raw.route ?? []) as Raw[]).map((r, k) => ({
    destination: toDestination(r.destination as Raw, [...path, 'route', k, 'destination'], report),
    weight: r.weight as number | undefined,
    headers: toHeaders(r.headers as Raw | undefined, [...path, 'route', k, 'headers'], report),
  }));
  checkWeights(route, [...path, 'route'], report);
  const actions = (['route', 'redirect', 'directResponse'] as const).filter((k) => (k === 'route' ? route.length > 0 : raw[k] != null));
  if (actions.length === 0) report(path, 'needs one of route, redirect or directResponse');
  if (actions.length > 1)
    report([...path, actions[1]!], `${actions[1]} cannot be combined with ${actions[0]}: a rule forwards, redirects or responds directly`);
  const terminal = actions.find((a) => a !== 'route');
  if (terminal) {
    for (const key of ['rewrite', 'timeout', 'retries', 'fault', 'mirror', 'mirrorPercentage']) {
      if (raw[key] != null) report([...path, key], `${key} has no effect with ${terminal}: the request is not forwarded`);
    }
  }
  const headers = toHeaders(raw.headers as Raw | undefined, [...path, 'headers'], report);
  const rewrite = raw.rewrite ? toRewrite(raw.rewrite as Raw, [...path, 'rewrite'], report) : undefined;
  const authorityAt = authorityHeaderPath(headers, [...path, 'headers']);
  if (rewrite?.authority !== undefined && authorityAt) report(authorityAt, 'the authority is already rewritten by rewrite.authority');
  const mirror = raw.mirror ? toDestination(raw.mirror as Raw, [...path, 'mirror'], report) : undefined;
  const mirrorPercentage = raw.mirrorPercentage ? toPercent(raw.mirrorPercentage as Raw, [...path, 'mirrorPercentage'], report) : undefined;
  if (mirrorPercentage !== undefined && !mirror) report([...path, 'mirrorPercentage'], 'mirrorPercentage needs mirror');
  return {
    name: raw.name as string | undefined,
    match,
    route,
    redirect: raw.redirect ? toRedirect(raw.redirect as Raw, [...path, 'redirect'], report) : undefined,
    directResponse: raw.directResponse ? toDirectResponse(raw.directResponse as Raw, [...path, 'directResponse'], report) : undefined,
    rewrite,
    timeout: raw.timeout as string | undefined,
    retries: raw.retries ? toRetries(raw.retries as Raw, [...path, 'retries'], report) : undefined,
    fault: raw.fault ? toFault(raw.fault as Raw, [...path, 'fault'], report) : undefined,
    mirror,
    mirrorPercentage: mirror ? (mirrorPercentage ?? 100) : undefined,
    headers,
  };
}

type Rep = BuildContext['report'];

function toRedirect(raw: Raw, path: Path, report: Rep): HttpRoute['redirect'] {
  refuseFields(raw, ['derivePort'], path, report);
  const redirect = {
    uri: raw.uri as string | undefined,
    authority: raw.authority as string | undefined,
    port: raw.port as number | undefined,
    scheme: raw.scheme as string | undefined,
    redirectCode: raw.redirectCode as number | undefined,
  };
  if (
    redirect.uri === undefined &&
    redirect.authority === undefined &&
    redirect.port === undefined &&
    redirect.scheme === undefined &&
    raw.derivePort == null
  ) {
    report(path, 'redirect needs at least one of uri, authority, scheme or port');
  }
  if (redirect.scheme !== undefined && redirect.scheme !== 'http' && redirect.scheme !== 'https')
    report([...path, 'scheme'], `invalid scheme "${redirect.scheme}": expected http or https`);
  if (redirect.redirectCode !== undefined && !REDIRECT_CODES.includes(redirect.redirectCode)) {
    report([...path, 'redirectCode'], `unsupported redirect code ${redirect.redirectCode}; Envoy sends ${REDIRECT_CODES.join(', ')}`);
  }
  return redirect;
}

function toDirectResponse(raw: Raw, path: Path, report: Rep): HttpRoute['directResponse'] {
  const status = raw.status as number;
  if (status < 200 || status > 599) report([...path, 'status'], `HTTP status ${status} is not in the range 200-599`);
  const body = raw.body as Raw | undefined;
  if (body) refuseFields(body, ['bytes'], [...path, 'body'], report, 'is not supported by meshlite; use string');
  const text = body?.string as string | undefined;
  if (text !== undefined && Buffer.byteLength(text) > 1024 * 1024)
    report([...path, 'body', 'string'], 'a direct response body must be under 1 MiB');
  return { status, body: text };
}

function toRewrite(raw: Raw, path: Path, report: Rep): HttpRoute['rewrite'] {
  refuseFields(raw, ['uriRegexRewrite'], path, report);
  const rewrite = { uri: raw.uri as string | undefined, authority: raw.authority as string | undefined };
  if (rewrite.uri === undefined && rewrite.authority === undefined && raw.uriRegexRewrite == null)
    report(path, 'rewrite needs uri or authority');
  return rewrite;
}

function toRetries(raw: Raw, path: Path, report: Rep): HttpRoute['retries'] {
  refuseFields(raw, ['retryRemoteLocalities', 'backoff'], path, report);
  const retries = {
    attempts: (raw.attempts as number | undefined) ?? 0,
    perTryTimeout: raw.perTryTimeout as string | undefined,
    retryOn: raw.retryOn as string | undefined,
  };
  if (retries.attempts === 0 && (retries.perTryTimeout !== undefined || retries.retryOn !== undefined)) {
    report([...path, 'attempts'], 'retries are off when attempts is 0 (the default); perTryTimeout and retryOn need attempts >= 1');
  }
  for (const condition of retries.retryOn?.split(',') ?? []) {
    const status = /^\d+$/.test(condition) ? Number(condition) : NaN;
    if (!RETRY_ON.has(condition) && !(status >= 100 && status <= 599))
      report([...path, 'retryOn'], `unknown retryOn condition "${condition}"`);
  }
  return retries;
}

function toFault(raw: Raw, path: Path, report: Rep): HttpRoute['fault'] {
  const delay = raw.delay as Raw | undefined;
  const abort = raw.abort as Raw | undefined;
  if (!delay && !abort) report(path, 'fault needs delay or abort');
  const fault: NonNullable<HttpRoute['fault']> = {};
  if (delay) {
    const at = [...path, 'delay'];
    refuseFields(delay, ['exponentialDelay'], at, report);
    refuseFields(delay, ['percent'], at, report, 'is deprecated and not supported by meshlite; use percentage');
    if (delay.fixedDelay == null && delay.exponentialDelay == null) report([...at, 'fixedDelay'], 'a delay needs fixedDelay');
    fault.delay = {
      fixedDelay: (delay.fixedDelay as string | undefined) ?? '0s',
      percentage: delay.percentage ? toPercent(delay.percentage as Raw, [...at, 'percentage'], report) : undefined,
    };
  }
  if (abort) {
    const at = [...path, 'abort'];
    refuseFields(abort, ['grpcStatus', 'http2Error'], at, report);
    const status = abort.httpStatus as number | undefined;
    if (status === undefined && abort.grpcStatus == null && abort.http2Error == null)
      report([...at, 'httpStatus'], 'an abort needs httpStatus');
    else if (status !== undefined && (status < 200 || status > 599))
      report([...at, 'httpStatus'], `HTTP status ${status} is not in the range 200-599`);
    fault.abort = {
      httpStatus: status ?? 0,
      percentage: abort.percentage ? toPercent(abort.percentage as Raw, [...at, 'percentage'], report) : undefined,
    };
  }
  return fault;
}

/** A tls or tcp match; `sniHosts` (tls only, required there) must fall under the VirtualService hosts. */
function toL4Match(raw: Raw, path: Path, gateways: readonly string[], ctx: BuildContext, vsHosts?: readonly string[]): L4MatchAttributes {
  refuseFields(raw, ['sourceNamespace', 'sourceSubnet'], path, ctx.report);
  const sniHosts = [...((raw.sniHosts as string[] | undefined) ?? [])];
  if (vsHosts) {
    if (sniHosts.length === 0) ctx.report([...path, 'sniHosts'], 'a tls match needs at least one SNI host');
    sniHosts.forEach((sni, k) => {
      const problem = hostProblem(sni, { shortNames: true, star: true, ip: false });
      if (problem) ctx.report([...path, 'sniHosts', k], problem);
      else if (!vsHosts.some((h) => hostCovers(h, sni)))
        ctx.report([...path, 'sniHosts', k], `SNI host "${sni}" is not covered by the VirtualService hosts (${vsHosts.join(', ')})`);
    });
  }
  const destinationSubnets = [...((raw.destinationSubnets as string[] | undefined) ?? [])];
  destinationSubnets.forEach((subnet, k) => {
    const problem = subnetProblem(subnet);
    if (problem) ctx.report([...path, 'destinationSubnets', k], problem);
  });
  return {
    port: raw.port as number | undefined,
    sniHosts,
    destinationSubnets,
    gateways: matchGateways(raw, path, gateways, ctx),
    sourceLabels: raw.sourceLabels ? toLabels(raw.sourceLabels) : undefined,
  };
}

function toL4Routes(raw: Raw, path: Path, kind: 'tls' | 'tcp', ctx: BuildContext): RouteDestination[] {
  const routes = ((raw.route ?? []) as Raw[]).map((r, k) => ({
    destination: toDestination(r.destination as Raw, [...path, 'route', k, 'destination'], ctx.report),
    weight: r.weight as number | undefined,
  }));
  if (routes.length === 0) ctx.report([...path, 'route'], `a ${kind} route needs at least one destination`);
  checkWeights(routes, [...path, 'route'], ctx.report);
  return routes;
}
