// Which DestinationRule governs traffic from a proxy to a service, and the
// traffic policy that results for one port and subset.
import { byAge } from '../config/resource.js';
import type { ConfigSet, DestinationRule, Subset, TrafficPolicy, TrafficPolicyCore } from '../config/types.js';
import { isVisibleFrom, type Registry } from './registry.js';

interface IndexedRule {
  rule: DestinationRule;
  /** Host after short-name expansion in the rule's own namespace. */
  host: string;
}

export class DestinationRuleIndex {
  private readonly exact = new Map<string, IndexedRule[]>();
  private readonly wildcards: IndexedRule[] = [];
  private readonly rootNamespace: string;
  private readonly memo = new Map<string, DestinationRule | undefined>();

  constructor(config: ConfigSet, registry: Registry) {
    this.rootNamespace = config.mesh.rootNamespace;
    for (const rule of config.destinationRules) {
      const indexed = { rule, host: registry.resolveHost(rule.spec.host, rule.meta.namespace) };
      if (indexed.host.startsWith('*')) this.wildcards.push(indexed);
      else this.exact.set(indexed.host, [...(this.exact.get(indexed.host) ?? []), indexed]);
    }
  }

  /**
   * Lookup order: the client's namespace, then the service's namespace, then
   * the root namespace, then any other namespace exporting a rule. Inside
   * one namespace the most specific host wins, then the oldest rule.
   */
  find(host: string, serviceNamespace: string, clientNamespace: string): DestinationRule | undefined {
    const key = `${host}\u0000${serviceNamespace}\u0000${clientNamespace}`;
    if (this.memo.has(key)) return this.memo.get(key);
    const found = this.lookup(host, serviceNamespace, clientNamespace);
    this.memo.set(key, found);
    return found;
  }

  private lookup(host: string, serviceNamespace: string, clientNamespace: string): DestinationRule | undefined {
    const candidates = [...(this.exact.get(host) ?? []), ...this.wildcards.filter((r) => hostMatches(r.host, host))].filter((r) =>
      isVisibleFrom(r.rule.spec.exportTo, r.rule.meta.namespace, clientNamespace),
    );
    if (candidates.length === 0) return undefined;
    for (const ns of [clientNamespace, serviceNamespace, this.rootNamespace]) {
      const best = mostSpecific(candidates.filter((c) => c.rule.meta.namespace === ns));
      if (best) return best;
    }
    return mostSpecific(candidates);
  }
}

function mostSpecific(rules: IndexedRule[]): DestinationRule | undefined {
  return [...rules].sort((a, b) => specificity(b.host) - specificity(a.host) || byAge(a.rule, b.rule))[0]?.rule;
}

function specificity(host: string): number {
  if (host === '*') return 0;
  return host.startsWith('*') ? host.length : 100_000 + host.length;
}

/** `*` matches every host, `*.example.com` its subdomains. */
export function hostMatches(pattern: string, host: string): boolean {
  if (pattern === '*') return true;
  if (pattern.startsWith('*.')) return host.endsWith(pattern.slice(1)) && host.length > pattern.length - 1;
  return pattern === host;
}

/** Policy for one port and subset: subset port level > subset > rule port level > rule, per field. */
export function effectiveTrafficPolicy(rule: DestinationRule | undefined, port: number, subset?: Subset): TrafficPolicyCore {
  const layers: (TrafficPolicyCore | undefined)[] = [];
  const push = (policy?: TrafficPolicy) => {
    layers.push(policy?.portLevelSettings.get(port), policy);
  };
  push(subset?.trafficPolicy);
  push(rule?.spec.trafficPolicy);
  const pick = <K extends keyof TrafficPolicyCore>(key: K) => layers.find((l) => l?.[key] !== undefined)?.[key];
  return {
    tls: pick('tls'),
    loadBalancer: pick('loadBalancer'),
    connectionPool: pick('connectionPool'),
    outlierDetection: pick('outlierDetection'),
  };
}
