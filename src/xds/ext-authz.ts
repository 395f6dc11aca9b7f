// AuthorizationPolicy CUSTOM -> Envoy ext_authz, the way Istio does it with
// plain Envoy filters. Only requests (or connections) a CUSTOM policy's rules
// match may be sent to its provider, so each provider gets a pair of filters:
//
//   1. an RBAC filter holding the policies' rules as `shadow_rules` only: it
//      enforces nothing, but when a rule matches it records the matched
//      policy id in the dynamic metadata of the RBAC filter, under
//      `<shadow_rules_stat_prefix>shadow_effective_policy_id`;
//   2. the ext_authz filter, enabled only when that metadata value carries
//      the CUSTOM policy prefix (`filter_enabled_metadata`).
//
// Where that cannot work it fails closed: a policy naming an unknown
// provider, a provider whose service has no cluster, or an HTTP provider on
// a TCP chain (Envoy's network ext_authz speaks gRPC only) becomes an RBAC
// DENY of the requests its rules match, with a warning naming the policy.
import type { AuthorizationPolicy, ExtAuthzHttpProvider, ExtAuthzProvider, ProviderView } from '../model/view-types.js';
import { envoyRoot } from '../proto/envoy-root.js';
import { type HttpOrNetworkFilter, protoDuration, typed } from './common.js';
import type {
  AuthorizationResponse,
  BufferSettings,
  envoy_config_rbac_v3_RBAC as RbacRules,
  envoy_extensions_filters_http_ext_authz_v3_ExtAuthz as HttpExtAuthz,
  envoy_extensions_filters_network_ext_authz_v3_ExtAuthz as NetworkExtAuthz,
  envoy_extensions_filters_http_rbac_v3_RBAC as HttpRbac,
  envoy_extensions_filters_network_rbac_v3_RBAC as NetworkRbac,
  GrpcService,
  HttpService,
  ListStringMatcher,
  MetadataMatcher,
  Policy,
  StatusCode,
} from './envoy-types/index.js';
import { buildRbacFilters, RBAC_FILTER_NAME, RBAC_TYPE } from './rbac.js';
import { stringMatch } from './rbac-matchers.js';
import { appendAll } from '../util/append-all.js';

export interface ExtAuthzContext {
  trustDomains: readonly string[];
  protocol: 'http' | 'tcp';
}

export const EXT_AUTHZ_FILTER_NAME = { http: 'envoy.filters.http.ext_authz', tcp: 'envoy.filters.network.ext_authz' } as const;
export const EXT_AUTHZ_TYPE = {
  http: 'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz',
  tcp: 'type.googleapis.com/envoy.extensions.filters.network.ext_authz.v3.ExtAuthz',
} as const;

/** Prefix of the Envoy policy ids of CUSTOM rules (`istio-ext-authz-ns[<ns>]-policy[<name>]-rule[<i>]`), as Istio names them. */
export const EXT_AUTHZ_POLICY_PREFIX = 'istio-ext-authz-';
/** The shadow RBAC filter's `shadow_rules_stat_prefix` (per provider when a workload uses several). */
export const EXT_AUTHZ_STAT_PREFIX = 'istio_ext_authz_';
/** Envoy's RBAC filter writes the matched shadow policy id under `<shadow_rules_stat_prefix>` + this key. */
export const SHADOW_EFFECTIVE_POLICY_ID = 'shadow_effective_policy_id';
/** Istio's default check timeout (10m). */
const DEFAULT_TIMEOUT = '600s';

type Group = { provider: ProviderView; cluster: string; policies: AuthorizationPolicy[] };

const byNamespaceName = (a: AuthorizationPolicy, b: AuthorizationPolicy) =>
  a.meta.namespace.localeCompare(b.meta.namespace) || a.meta.name.localeCompare(b.meta.name);

/** Filters enforcing the CUSTOM policies among `policies` (others are ignored), to run before the DENY/ALLOW RBAC filters. */
export function buildExtAuthzFilters(
  policies: readonly AuthorizationPolicy[],
  providers: readonly ProviderView[],
  ctx: ExtAuthzContext,
): { filters: HttpOrNetworkFilter[]; warnings: string[] } {
  const warnings: string[] = [];
  const all = policies.filter((p) => p.spec.action === 'CUSTOM').sort(byNamespaceName);
  for (const p of all.filter((c) => c.spec.dryRun)) {
    warnings.push(
      `AuthorizationPolicy ${p.meta.namespace}/${p.meta.name}: dry-run CUSTOM policy ignored (the external authorizer cannot be asked without enforcing its answer)`,
    );
  }
  const custom = all.filter((p) => !p.spec.dryRun);
  if (custom.length === 0) return { filters: [], warnings };
  const failClosed: AuthorizationPolicy[] = [];
  const groups = new Map<string, Group>();
  const denied = ctx.protocol === 'tcp' ? 'connections' : 'requests';
  for (const p of custom) {
    const where = `AuthorizationPolicy ${p.meta.namespace}/${p.meta.name}`;
    const name = p.spec.provider ?? '';
    const provider = providers.find((x) => x.name === name);
    const refuse = (why: string) => {
      warnings.push(`${where}: ${why}; ${denied} its rules match are denied`);
      failClosed.push(p);
    };
    if (!provider) {
      refuse(`extension provider "${name}" is not declared in the mesh config`);
      continue;
    }
    if (ctx.protocol === 'tcp' && provider.kind === 'envoyExtAuthzHttp') {
      refuse(`extension provider "${name}" is an HTTP ext_authz service, which cannot check TCP connections (only envoyExtAuthzGrpc can)`);
      continue;
    }
    const target = serviceOf(provider);
    const cluster = provider.cluster;
    if (cluster === undefined) {
      refuse(`extension provider "${name}": no service ${target.service}:${target.port} is known`);
      continue;
    }
    const group = groups.get(name) ?? { provider, cluster, policies: [] };
    group.policies.push(p);
    groups.set(name, group);
  }

  const filters: HttpOrNetworkFilter[] = [];
  if (failClosed.length > 0) {
    const policies = customPolicies(failClosed, ctx, warnings, 'denies more');
    if (Object.keys(policies).length > 0) filters.push(rbacFilter('rules', policies, ctx));
  }
  const ordered = [...groups.values()].sort((a, b) => (a.provider.name < b.provider.name ? -1 : a.provider.name > b.provider.name ? 1 : 0));
  const prefixes = statPrefixes(ordered.map((g) => g.provider.name));
  for (const group of ordered) {
    const policies = customPolicies(group.policies, ctx, warnings, `sends more ${denied} to provider "${group.provider.name}"`);
    // No rule can match (a CUSTOM policy without rules): the provider is never asked.
    if (Object.keys(policies).length === 0) continue;
    const prefix = prefixes.get(group.provider.name)!;
    filters.push(rbacFilter('shadow', policies, ctx, prefix));
    filters.push(ctx.protocol === 'http' ? httpExtAuthz(group, prefix) : networkExtAuthz(group, prefix));
  }
  return { filters, warnings };
}

function serviceOf(provider: ProviderView): ExtAuthzProvider {
  return provider.kind === 'envoyExtAuthzHttp' ? provider.http : provider.grpc;
}

/**
 * The policies' rules as Envoy RBAC policies keyed `istio-ext-authz-ns[..]-policy[..]-rule[i]`.
 * They are translated like DENY rules: an untranslatable field is dropped,
 * so the rule matches more (more checks, or more denials), never less.
 */
function customPolicies(
  policies: readonly AuthorizationPolicy[],
  ctx: ExtAuthzContext,
  warnings: string[],
  widened: string,
): { [name: string]: Policy } {
  const asDeny = policies.map((p) => ({ ...p, spec: { ...p.spec, action: 'DENY' as const, provider: undefined } }));
  const built = buildRbacFilters(asDeny, { trustDomains: ctx.trustDomains, protocol: ctx.protocol });
  appendAll(
    warnings,
    built.warnings.map((w) => w.replace(/\(denies more\)$/, `(${widened})`)),
  );
  const rules = (built.filters[0]?.typed_config as HttpRbac | NetworkRbac | undefined)?.rules;
  const out: { [name: string]: Policy } = {};
  for (const [key, value] of Object.entries(rules?.policies ?? {})) out[EXT_AUTHZ_POLICY_PREFIX + key] = value;
  return out;
}

/** `istio_ext_authz_` for a single provider (Istio's name); one prefix per provider, from its name, when there are several. */
function statPrefixes(names: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  if (names.length === 1) return out.set(names[0]!, EXT_AUTHZ_STAT_PREFIX);
  const used = new Set<string>();
  for (const name of names) {
    const base = `${EXT_AUTHZ_STAT_PREFIX}${name.replace(/[^A-Za-z0-9_]/g, '_')}_`;
    let prefix = base;
    for (let i = 2; used.has(prefix); i++) prefix = `${base}${i}_`;
    used.add(prefix);
    out.set(name, prefix);
  }
  return out;
}

/** An RBAC filter enforcing `policies` (action DENY), or holding them as shadow rules only (enforcing nothing). */
function rbacFilter(
  kind: 'rules' | 'shadow',
  policies: { [name: string]: Policy },
  ctx: ExtAuthzContext,
  statPrefix?: string,
): HttpOrNetworkFilter {
  const rules: RbacRules = { action: 'DENY', policies };
  const fields: HttpRbac = kind === 'rules' ? { rules } : { shadow_rules: rules, shadow_rules_stat_prefix: statPrefix! };
  const config = ctx.protocol === 'http' ? typed(RBAC_TYPE.http, fields) : typed(RBAC_TYPE.tcp, { ...fields, stat_prefix: 'tcp.' });
  return { name: RBAC_FILTER_NAME[ctx.protocol], typed_config: config };
}

/** Enables ext_authz only when the shadow RBAC filter matched a CUSTOM rule. */
function enabledBy(protocol: 'http' | 'tcp', statPrefix: string): MetadataMatcher {
  return {
    filter: RBAC_FILTER_NAME[protocol],
    path: [{ key: statPrefix + SHADOW_EFFECTIVE_POLICY_ID }],
    value: { string_match: { prefix: EXT_AUTHZ_POLICY_PREFIX } },
  };
}

/** `ns/host` (Istio's disambiguating form) -> `host`. */
const hostOf = (service: string) => service.slice(service.indexOf('/') + 1);

const timeoutOf = (p: ExtAuthzProvider) => protoDuration(p.timeout ?? DEFAULT_TIMEOUT);

function grpcService(cluster: string, p: ExtAuthzProvider): GrpcService {
  return { envoy_grpc: { cluster_name: cluster, authority: hostOf(p.service) }, timeout: timeoutOf(p) };
}

/** Header name patterns (`name`, `prefix*`, `*suffix`) -> ListStringMatcher, ignoring case as header names do. */
function headerList(patterns: readonly string[]): ListStringMatcher | undefined {
  return patterns.length === 0 ? undefined : { patterns: patterns.map((p) => stringMatch(p.toLowerCase(), true)) };
}

/** An Envoy `envoy.type.v3.StatusCode` name (`ServiceUnavailable`) for a number validated by the config loader. */
function statusCode(code: number): StatusCode {
  const name = envoyRoot().lookupEnum('envoy.type.v3.StatusCode').valuesById[code] as StatusCode | undefined;
  if (name === undefined) throw new Error(`HTTP status ${code} is not an Envoy StatusCode (the config loader should have refused it)`);
  return name;
}

/** The fields without those undefined. */
const compact = <T extends object>(fields: T): T => Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as T;

function httpService(cluster: string, p: ExtAuthzHttpProvider): HttpService {
  const headersToAdd = Object.entries(p.includeAdditionalHeadersInCheck)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value]) => ({ key, value }));
  const response = compact<AuthorizationResponse>({
    allowed_upstream_headers: headerList(p.headersToUpstreamOnAllow),
    allowed_client_headers: headerList(p.headersToDownstreamOnDeny),
    allowed_client_headers_on_success: headerList(p.headersToDownstreamOnAllow),
  });
  return compact<HttpService>({
    server_uri: { uri: `http://${hostOf(p.service)}:${p.port}`, cluster, timeout: timeoutOf(p) },
    path_prefix: p.pathPrefix || undefined,
    authorization_request: headersToAdd.length > 0 ? { headers_to_add: headersToAdd } : undefined,
    authorization_response: Object.keys(response).length > 0 ? response : undefined,
  });
}

function httpExtAuthz({ provider, cluster }: Group, statPrefix: string): HttpOrNetworkFilter {
  const common = serviceOf(provider);
  const http = provider.kind === 'envoyExtAuthzHttp' ? provider.http : undefined;
  const body = http?.includeRequestBodyInCheck;
  // Keys in .proto declaration order, as Envoy's config dump prints them.
  const config = compact<HttpExtAuthz>({
    grpc_service: http ? undefined : grpcService(cluster, common),
    http_service: http ? httpService(cluster, http) : undefined,
    transport_api_version: 'V3',
    failure_mode_allow: common.failOpen || undefined,
    with_request_body: body
      ? compact<BufferSettings>({ max_request_bytes: body.maxRequestBytes, allow_partial_message: body.allowPartialMessage || undefined })
      : undefined,
    status_on_error: common.statusOnError !== undefined ? { code: statusCode(common.statusOnError) } : undefined,
    filter_enabled_metadata: enabledBy('http', statPrefix),
    allowed_headers: http ? headerList(http.includeRequestHeadersInCheck) : undefined,
  });
  return { name: EXT_AUTHZ_FILTER_NAME.http, typed_config: typed(EXT_AUTHZ_TYPE.http, config) };
}

function networkExtAuthz({ provider, cluster }: Group, statPrefix: string): HttpOrNetworkFilter {
  const p = serviceOf(provider);
  const config = compact<NetworkExtAuthz>({
    stat_prefix: 'tcp.',
    grpc_service: grpcService(cluster, p),
    failure_mode_allow: p.failOpen || undefined,
    transport_api_version: 'V3',
    filter_enabled_metadata: enabledBy('tcp', statPrefix),
  });
  return { name: EXT_AUTHZ_FILTER_NAME.tcp, typed_config: typed(EXT_AUTHZ_TYPE.tcp, config) };
}
