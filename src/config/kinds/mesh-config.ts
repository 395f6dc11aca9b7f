import { envoyRoot } from '../../proto/envoy-root.js';
import type { PathSegment } from '../diagnostics.js';
import { anything, bool, int, list, mapOf, obj, oneOf, port, str } from '../schema.js';
import {
  DEFAULT_MESH_CONFIG,
  type ExtAuthzHttpProvider,
  type ExtAuthzProvider,
  type ExtensionProvider,
  type InterceptionMode,
} from '../types.js';
import { accessLogSettings } from './access-log-settings.js';
import { DURATION } from './common-fields.js';
import type { KindHandler } from './kind-handler.js';

const DNS_NAME = str({ pattern: /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, hint: 'expected a lower-case DNS name' });

// ---- extensionProviders (Istio's meshConfig.extensionProviders, ext_authz kinds only) ----

/** `host`, or Istio's `namespace/host` form. */
const PROVIDER_SERVICE = str({
  pattern: /^([a-z0-9]([-a-z0-9]*[a-z0-9])?\/)?[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/,
  hint: 'expected a service host name such as "ext-authz.foo.svc.cluster.local" (or "<namespace>/<host>")',
});
const HEADER_PATTERNS = list(str({ nonEmpty: true }));

const EXT_AUTHZ_COMMON = {
  service: PROVIDER_SERVICE,
  port: port(),
  timeout: DURATION,
  failOpen: bool(),
  /** An HTTP status code, as a number or (like Istio) a string of digits. */
  statusOnError: anything(),
};

const EXT_AUTHZ_HTTP = obj(
  {
    ...EXT_AUTHZ_COMMON,
    pathPrefix: str(),
    includeRequestHeadersInCheck: HEADER_PATTERNS,
    includeAdditionalHeadersInCheck: mapOf(str()),
    headersToUpstreamOnAllow: HEADER_PATTERNS,
    headersToDownstreamOnDeny: HEADER_PATTERNS,
    headersToDownstreamOnAllow: HEADER_PATTERNS,
    // Envoy's with_request_body needs a positive size, so it is not optional here.
    includeRequestBodyInCheck: obj({ maxRequestBytes: int(1, 4294967295), allowPartialMessage: bool() }, { required: ['maxRequestBytes'] }),
  },
  { required: ['service', 'port'] },
);

const EXT_AUTHZ_GRPC = obj(EXT_AUTHZ_COMMON, { required: ['service', 'port'] });

const EXTENSION_PROVIDER = obj(
  { name: str({ nonEmpty: true }), envoyExtAuthzHttp: EXT_AUTHZ_HTTP, envoyExtAuthzGrpc: EXT_AUTHZ_GRPC },
  { required: ['name'] },
);

/** RFC 9110 token characters: what an HTTP header name may contain. */
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

type Report = (path: PathSegment[], message: string) => void;

/** Why `value` is not an HTTP status code Envoy's `envoy.type.v3.StatusCode` knows, or undefined. */
function statusProblem(value: unknown): string | undefined {
  const code = typeof value === 'number' ? value : typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(code)) return `expected an HTTP status code such as 403 or "503", got ${JSON.stringify(value)}`;
  // Envoy's enum lists the codes it accepts (e.g. no 418): anything else is NACKed.
  const known = envoyRoot().lookupEnum('envoy.type.v3.StatusCode').valuesById[code];
  return code >= 100 && known !== undefined ? undefined : `${code} is not an HTTP status code Envoy accepts here`;
}

/** Header name patterns: a name, `prefix*` or `*suffix` (Istio's forms). */
function headerPatternProblems(values: readonly string[], path: PathSegment[], report: Report): void {
  values.forEach((v, i) => {
    const bare = v.startsWith('*') ? v.slice(1) : v.endsWith('*') ? v.slice(0, -1) : v;
    if (!HEADER_NAME.test(bare) || bare.includes('*'))
      report([...path, i], `"${v}" is not a header name (or a "prefix*" / "*suffix" pattern)`);
  });
}

function toCommon(raw: Record<string, unknown>, path: PathSegment[], report: Report): ExtAuthzProvider {
  let statusOnError: number | undefined;
  if (raw.statusOnError !== undefined && raw.statusOnError !== null) {
    const problem = statusProblem(raw.statusOnError);
    if (problem) report([...path, 'statusOnError'], problem);
    else statusOnError = Number(raw.statusOnError);
  }
  return {
    service: raw.service as string,
    port: raw.port as number,
    timeout: raw.timeout as string | undefined,
    failOpen: raw.failOpen === true,
    statusOnError,
  };
}

function toHttp(raw: Record<string, unknown>, path: PathSegment[], report: Report): ExtAuthzHttpProvider {
  const strings = (field: string): string[] => {
    const values = [...((raw[field] as string[] | undefined) ?? [])];
    headerPatternProblems(values, [...path, field], report);
    return values;
  };
  const pathPrefix = raw.pathPrefix as string | undefined;
  if (pathPrefix !== undefined && !/^\/[^\s?#]*$/.test(pathPrefix))
    report([...path, 'pathPrefix'], `"${pathPrefix}" must start with "/" and hold no spaces, "?" or "#"`);
  const additional: Record<string, string> = {};
  const rawAdditional = (raw.includeAdditionalHeadersInCheck as Record<string, string> | undefined) ?? {};
  for (const key of Object.keys(rawAdditional).sort()) {
    const value = rawAdditional[key]!;
    if (!HEADER_NAME.test(key) || key.includes('*'))
      report([...path, 'includeAdditionalHeadersInCheck', key], `"${key}" is not a header name`);
    else if (/[\0\r\n]/.test(value)) report([...path, 'includeAdditionalHeadersInCheck', key], 'a header value cannot hold NUL, CR or LF');
    additional[key] = value;
  }
  const body = raw.includeRequestBodyInCheck as { maxRequestBytes?: number; allowPartialMessage?: boolean } | undefined | null;
  return {
    ...toCommon(raw, path, report),
    pathPrefix,
    includeRequestHeadersInCheck: strings('includeRequestHeadersInCheck'),
    includeAdditionalHeadersInCheck: additional,
    headersToUpstreamOnAllow: strings('headersToUpstreamOnAllow'),
    headersToDownstreamOnDeny: strings('headersToDownstreamOnDeny'),
    headersToDownstreamOnAllow: strings('headersToDownstreamOnAllow'),
    includeRequestBodyInCheck: body
      ? { maxRequestBytes: body.maxRequestBytes!, allowPartialMessage: body.allowPartialMessage === true }
      : undefined,
  };
}

function toProviders(raw: unknown, report: Report): ExtensionProvider[] {
  const out: ExtensionProvider[] = [];
  const seen = new Map<string, number>();
  ((raw ?? []) as Record<string, unknown>[]).forEach((p, i) => {
    const path: PathSegment[] = ['spec', 'extensionProviders', i];
    const name = p.name as string;
    const first = seen.get(name);
    if (first !== undefined) report([...path, 'name'], `duplicate extension provider "${name}" (first at extensionProviders[${first}])`);
    else seen.set(name, i);
    const http = p.envoyExtAuthzHttp as Record<string, unknown> | undefined | null;
    const grpc = p.envoyExtAuthzGrpc as Record<string, unknown> | undefined | null;
    if (http && grpc) return report(path, 'set only one of envoyExtAuthzHttp or envoyExtAuthzGrpc');
    if (http) out.push({ name, kind: 'envoyExtAuthzHttp', http: toHttp(http, [...path, 'envoyExtAuthzHttp'], report) });
    else if (grpc) out.push({ name, kind: 'envoyExtAuthzGrpc', grpc: toCommon(grpc, [...path, 'envoyExtAuthzGrpc'], report) });
    else report(path, 'needs envoyExtAuthzHttp or envoyExtAuthzGrpc (the provider kinds meshlite supports)');
  });
  return out;
}

/** meshlite's equivalent of Istio's mesh ConfigMap. At most one per config set. */
export const meshConfig: KindHandler = {
  group: 'meshlite.io',
  versions: ['v1alpha1'],
  kind: 'MeshConfig',
  clusterScoped: true,
  specSchema: obj({
    trustDomain: DNS_NAME,
    trustDomainAliases: list(DNS_NAME),
    rootNamespace: DNS_NAME,
    enableAutoMtls: bool(),
    domainSuffix: DNS_NAME,
    defaultInterceptionMode: oneOf('EXPLICIT', 'TRANSPARENT'),
    extensionProviders: list(EXTENSION_PROVIDER),
    accessLogFile: str(),
    accessLogEncoding: oneOf('TEXT', 'JSON'),
    accessLogFormat: str(),
  }),
  build(spec, ctx) {
    const d = DEFAULT_MESH_CONFIG;
    const accessLog = accessLogSettings(spec, ctx.report);
    return {
      kind: 'MeshConfig',
      meta: ctx.meta,
      source: ctx.source,
      spec: {
        trustDomain: (spec.trustDomain as string | undefined) ?? d.trustDomain,
        trustDomainAliases: [...new Set((spec.trustDomainAliases as string[] | undefined) ?? [])].sort(),
        rootNamespace: (spec.rootNamespace as string | undefined) ?? d.rootNamespace,
        enableAutoMtls: (spec.enableAutoMtls as boolean | undefined) ?? d.enableAutoMtls,
        domainSuffix: (spec.domainSuffix as string | undefined) ?? d.domainSuffix,
        defaultInterceptionMode: (spec.defaultInterceptionMode as InterceptionMode | undefined) ?? d.defaultInterceptionMode,
        extensionProviders: spec.extensionProviders ? toProviders(spec.extensionProviders, ctx.report) : d.extensionProviders,
        ...(accessLog ? { accessLog } : {}),
      },
    };
  },
};
