// ML04xx: authorization and peer authentication written so that they can
// never match, or placed where meshlite does not apply them.
import type { AuthorizationPolicy, AuthzSource } from '../config/authz-types.js';
import type { PathSegment } from '../config/diagnostics.js';
import type { Labels } from '../config/types.js';
import { matchesSelector } from '../model/labels.js';
import { type AnalysisContext, knownNamespaces, type SelectableWorkload, selectedWorkloads } from './analysis-context.js';

interface Value {
  value: string;
  path: PathSegment[];
  field: 'principal' | 'namespace' | 'serviceAccount';
}

/** Every peer identity value of a policy, with where it is written. */
function identityValues(ap: AuthorizationPolicy): Value[] {
  const out: Value[] = [];
  ap.spec.rules.forEach((rule, i) => {
    rule.from.forEach(({ source }, j) => {
      const base: PathSegment[] = ['spec', 'rules', i, 'from', j, 'source'];
      const add = (key: keyof AuthzSource, field: Value['field']) =>
        source[key].forEach((value, k) => out.push({ value, path: [...base, key, k], field }));
      add('principals', 'principal');
      add('notPrincipals', 'principal');
      add('namespaces', 'namespace');
      add('notNamespaces', 'namespace');
      add('serviceAccounts', 'serviceAccount');
      add('notServiceAccounts', 'serviceAccount');
    });
    rule.when.forEach((condition, j) => {
      const field = condition.key === 'source.principal' ? 'principal' : condition.key === 'source.namespace' ? 'namespace' : undefined;
      if (!field) return;
      for (const key of ['values', 'notValues'] as const)
        condition[key].forEach((value, k) => out.push({ value, path: ['spec', 'rules', i, 'when', j, key, k], field }));
    });
  });
  return out;
}

/** ML0401: a principal written as a SPIFFE URI; ML0402: a namespace no resource or workload is in. */
export function checkPolicyIdentities(ctx: AnalysisContext): void {
  const namespaces = knownNamespaces(ctx.config);
  for (const ap of ctx.config.authorizationPolicies) {
    for (const { value, path, field } of identityValues(ap)) {
      if (field === 'principal' && value.startsWith('spiffe://')) {
        const negated = path.includes('notPrincipals') || path.includes('notValues');
        ctx.report({
          code: 'ML0401',
          severity: 'Error',
          resource: ap,
          path,
          message:
            `principals are written without the spiffe:// scheme (trust-domain/ns/<namespace>/sa/<account>); meshlite adds it, so "${value}" ` +
            `is compared with spiffe://${value}, which no peer has: ${negated ? 'it excludes no one' : ap.spec.action === 'DENY' ? 'this DENY never denies' : 'it never matches'}. ` +
            `Write "${value.slice('spiffe://'.length)}".`,
        });
        continue;
      }
      const ns = namespaceOf(value, field);
      if (ns === undefined || ns.includes('*') || namespaces.has(ns)) continue;
      ctx.report({
        code: 'ML0402',
        severity: 'Warning',
        resource: ap,
        path,
        message: `no resource or workload of this config is in namespace "${ns}", so no peer from it can connect and "${value}" matches no one. Check the name for a typo.`,
      });
    }
  }
}

/** The namespace a value names: a namespace, `<ns>/<sa>`, or the `/ns/<ns>/` part of a principal. */
function namespaceOf(value: string, field: Value['field']): string | undefined {
  if (field === 'namespace') return value;
  if (field === 'serviceAccount') return value.split('/')[0];
  const m = /^[^/]+\/ns\/([^/]+)\/sa\/[^/]+$/.exec(value);
  return m?.[1];
}

const CLIENT_CERT_MODES = new Set(['MUTUAL', 'ISTIO_MUTUAL', 'OPTIONAL_MUTUAL']);

function gatewaysOf(ctx: AnalysisContext, w: SelectableWorkload) {
  return ctx.config.gateways.filter((g) => Object.keys(g.spec.selector).length > 0 && matchesSelector(g.spec.selector, w.labels));
}

/** Workloads a selector picks, when every one of them is a gateway workload. */
function onlyGateways(ctx: AnalysisContext, selector: Labels | undefined, namespace: string): SelectableWorkload[] {
  if (!selector) return [];
  const selected = selectedWorkloads(ctx, selector, namespace);
  return selected.length > 0 && selected.every((w) => gatewaysOf(ctx, w).length > 0) ? selected : [];
}

/**
 * ML0403: a policy on gateway workloads matching peer identities when no
 * server of those gateways asks for a client certificate; ML0404: a
 * PeerAuthentication on gateway workloads, whose listeners take TLS from
 * their Gateway servers only.
 */
export function checkGatewayPolicies(ctx: AnalysisContext): void {
  if (ctx.config.gateways.length === 0) return;
  for (const ap of ctx.config.authorizationPolicies) {
    const gateways = onlyGateways(ctx, ap.spec.selector, ap.meta.namespace);
    if (gateways.length === 0) continue;
    const servers = gateways.flatMap((w) => gatewaysOf(ctx, w).flatMap((g) => g.spec.servers));
    if (servers.some((s) => s.tls && CLIENT_CERT_MODES.has(s.tls.mode))) continue;
    const first = identityValues(ap)[0];
    if (!first) continue;
    ctx.report({
      code: 'ML0403',
      severity: 'Warning',
      resource: ap,
      path: first.path.slice(0, -1),
      message:
        'this policy selects only gateway workloads, whose servers never ask clients for a certificate (no MUTUAL, ISTIO_MUTUAL or OPTIONAL_MUTUAL server), ' +
        `so peer identities (principals, namespaces, service accounts) are never known there and rules on them never match${ap.spec.action === 'ALLOW' ? ': their requests are denied' : ''}. ` +
        'Match on request properties (paths, headers, JWT claims, remote IPs) at a gateway instead.',
    });
  }
  for (const pa of ctx.config.peerAuthentications) {
    if (onlyGateways(ctx, pa.spec.selector, pa.meta.namespace).length === 0) continue;
    ctx.report({
      code: 'ML0404',
      severity: 'Warning',
      resource: pa,
      path: pa.spec.portLevelMtls.size > 0 ? ['spec', 'portLevelMtls'] : ['spec', 'mtls', 'mode'],
      message:
        'this policy selects only gateway workloads; meshlite serves them as gateways, whose listeners take their TLS from the Gateway servers, ' +
        'so its mode and portLevelMtls change nothing. Set the server tls mode on the Gateway instead.',
    });
  }
}
