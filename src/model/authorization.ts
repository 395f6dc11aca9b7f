// Which AuthorizationPolicies and RequestAuthentications apply to a workload.
// Unlike PeerAuthentication nothing overrides anything: every policy in scope
// applies. In scope are the root namespace's policies (mesh-wide, or every
// workload whose labels match their selector, in any namespace) and the
// workload's own namespace's policies (all of it, or matched by selector).
import type { AuthorizationPolicy, RequestAuthentication } from '../config/authz-types.js';
import type { ConfigSet, ExtensionProvider, Labels, MeshConfigSpec } from '../config/types.js';
import { durationMillis } from '../config/kinds/common-fields.js';
import { DEFAULT_JWKS_FETCH_TIMEOUT } from '../config/kinds/request-authentication.js';
import { matchesSelector } from './labels.js';
import { clusterName } from './names.js';
import type { Registry } from './registry.js';
import type { AuthzView, ProviderView } from './view-types.js';

export interface AuthzSubject {
  namespace: string;
  labels: Labels;
}

export interface WorkloadAuthz {
  /** Sorted by namespace, then name (the order of Envoy policies and of /debug output). */
  authorizationPolicies: readonly AuthorizationPolicy[];
  requestAuthentications: readonly RequestAuthentication[];
}

export const NO_AUTHZ: WorkloadAuthz = { authorizationPolicies: [], requestAuthentications: [] };

/** The parts of the mesh model an AuthzView reads (the MeshModel satisfies it). */
export interface AuthzSources {
  authz: AuthorizationIndex;
  mesh: MeshConfigSpec;
  jwks: ReadonlyMap<string, string>;
  registry: Registry;
}

/** A workload's access control as plain data: its policies, trust domains, CUSTOM providers and JWKS. */
export function authzView(model: AuthzSources, subject: AuthzSubject): AuthzView {
  const { authorizationPolicies, requestAuthentications } = model.authz.for(subject);
  const custom = authorizationPolicies.some((p) => p.spec.action === 'CUSTOM');
  const fetched: [string, string][] = [];
  for (const r of requestAuthentications) {
    for (const rule of r.spec.jwtRules) {
      const text = rule.jwks === undefined && rule.jwksUri !== undefined ? model.jwks.get(rule.jwksUri) : undefined;
      if (text !== undefined) fetched.push([rule.jwksUri!, text]);
    }
  }
  // fromEntries defines own properties, whatever the URI (even `__proto__`).
  const jwks = Object.fromEntries(fetched.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const id = (p: Scoped) => `${p.meta.namespace}/${p.meta.name}`;
  return {
    key: `${authorizationPolicies.map(id).join(',')}|${requestAuthentications.map(id).join(',')}`,
    authorizationPolicies,
    requestAuthentications,
    trustDomains: trustDomains(model.mesh),
    providers: custom ? model.mesh.extensionProviders.map((p) => withCluster(model, p)) : [],
    jwks,
  };
}

function withCluster(model: AuthzSources, provider: ExtensionProvider): ProviderView {
  const { service, port } = provider.kind === 'envoyExtAuthzHttp' ? provider.http : provider.grpc;
  const cluster = providerCluster(model, service, port);
  return cluster === undefined ? provider : { ...provider, cluster };
}

/**
 * The outbound cluster of an extension provider's `service:port`, if the
 * registry has it. Provider hosts are written as in Istio's mesh config: an
 * FQDN, `name.namespace`, or `namespace/host`.
 */
export function providerCluster(model: AuthzSources, service: string, port: number): string | undefined {
  const slash = service.indexOf('/');
  const host =
    slash < 0
      ? model.registry.resolveHost(service, model.mesh.rootNamespace)
      : model.registry.resolveHost(service.slice(slash + 1), service.slice(0, slash));
  const found = model.registry.service(host);
  return found?.ports.some((p) => p.number === port) ? clusterName('outbound', port, '', host) : undefined;
}

/** Trust domain first, then its aliases: every domain whose peers we accept. */
export function trustDomains(mesh: MeshConfigSpec): string[] {
  return [mesh.trustDomain, ...mesh.trustDomainAliases.filter((d) => d !== mesh.trustDomain)];
}

type Scoped = { meta: { namespace: string; name: string }; spec: { selector?: Labels } };

const byNamespaceName = (a: Scoped, b: Scoped) =>
  a.meta.namespace < b.meta.namespace
    ? -1
    : a.meta.namespace > b.meta.namespace
      ? 1
      : a.meta.name < b.meta.name
        ? -1
        : a.meta.name > b.meta.name
          ? 1
          : 0;

function groupByNamespace<T extends Scoped>(items: readonly T[]): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of [...items].sort(byNamespaceName)) {
    const list = out.get(item.meta.namespace) ?? [];
    list.push(item);
    out.set(item.meta.namespace, list);
  }
  return out;
}

export class AuthorizationIndex {
  private readonly policies: Map<string, AuthorizationPolicy[]>;
  private readonly requestAuthns: Map<string, RequestAuthentication[]>;
  private readonly rootNamespace: string;
  /** Proxies with the same namespace and labels share one answer (and the filters built from it). */
  private readonly memo = new Map<string, WorkloadAuthz>();
  /** Every jwksUri any RequestAuthentication names, sorted. */
  readonly jwksUris: readonly string[];

  constructor(config: ConfigSet) {
    this.rootNamespace = config.mesh.rootNamespace;
    this.policies = groupByNamespace(config.authorizationPolicies);
    this.requestAuthns = groupByNamespace(config.requestAuthentications);
    this.jwksUris = jwksUrisOf(config);
  }

  get empty(): boolean {
    return this.policies.size === 0 && this.requestAuthns.size === 0;
  }

  for(subject: AuthzSubject): WorkloadAuthz {
    if (this.empty) return NO_AUTHZ;
    const key = `${subject.namespace}\u0000${Object.entries(subject.labels)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, v]) => `${k}=${v}`)
      .join(',')}`;
    let found = this.memo.get(key);
    if (!found) {
      found = {
        authorizationPolicies: this.select(this.policies, subject),
        requestAuthentications: this.select(this.requestAuthns, subject),
      };
      if (found.authorizationPolicies.length === 0 && found.requestAuthentications.length === 0) found = NO_AUTHZ;
      this.memo.set(key, found);
    }
    return found;
  }

  private select<T extends Scoped>(byNamespace: Map<string, T[]>, subject: AuthzSubject): T[] {
    const namespaces = subject.namespace === this.rootNamespace ? [this.rootNamespace] : [this.rootNamespace, subject.namespace];
    const out = namespaces.flatMap((ns) =>
      (byNamespace.get(ns) ?? []).filter((p) => !p.spec.selector || matchesSelector(p.spec.selector, subject.labels)),
    );
    return out.sort(byNamespaceName);
  }
}

/** Every jwksUri meshlite must fetch (rules with an inline `jwks` need none), sorted. */
export function jwksUrisOf(config: ConfigSet): string[] {
  const uris = config.requestAuthentications.flatMap((r) =>
    r.spec.jwtRules.flatMap((j) => (j.jwksUri !== undefined && j.jwks === undefined ? [j.jwksUri] : [])),
  );
  return [...new Set(uris)].sort();
}

/**
 * How long meshlite waits for each jwksUri (the rule's `timeout`, else Istio's
 * 5s). When rules disagree about one URI the longest wins: a short timeout in
 * one policy must not starve another policy that allows more.
 */
export function jwksTimeoutsOf(config: ConfigSet): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of config.requestAuthentications) {
    for (const j of r.spec.jwtRules) {
      if (j.jwksUri === undefined || j.jwks !== undefined) continue;
      const millis = durationMillis(j.timeout ?? DEFAULT_JWKS_FETCH_TIMEOUT);
      out.set(j.jwksUri, Math.max(out.get(j.jwksUri) ?? 0, millis));
    }
  }
  return out;
}

export type PolicyScope = 'mesh' | 'namespace' | 'workload';

/** Why a policy applies: mesh-wide (root namespace, no selector), its namespace, or a workload selector. */
export function policyScope(p: Scoped, rootNamespace: string): PolicyScope {
  return p.spec.selector ? 'workload' : p.meta.namespace === rootNamespace ? 'mesh' : 'namespace';
}
