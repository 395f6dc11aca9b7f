// A kind as a user types it on the command line (`gateway`, `Gateway`,
// `authorizationpolicies`) matched against the kinds meshlite reads.
import { KIND_HANDLERS } from '../config/kinds/index.js';

export interface KnownKind {
  group: string;
  kind: string;
}

/** The lower-case plural, as `kubectl get` takes it: policy -> policies, gateway -> gateways. */
export function pluralOf(kind: string): string {
  const lower = kind.toLowerCase();
  if (/[^aeiou]y$/.test(lower)) return `${lower.slice(0, -1)}ies`;
  if (/(s|x|ch|sh)$/.test(lower)) return `${lower}es`;
  return `${lower}s`;
}

// The short names Istio's resource definitions declare.
const SHORT_NAMES: Readonly<Record<string, string>> = {
  VirtualService: 'vs',
  Gateway: 'gw',
  DestinationRule: 'dr',
  ServiceEntry: 'se',
  WorkloadEntry: 'we',
  WorkloadGroup: 'wg',
  PeerAuthentication: 'pa',
  AuthorizationPolicy: 'ap',
  RequestAuthentication: 'ra',
};

/** Whether `query` names `kind`: its name in any case, its plural, its short name, or any of them `.group`. */
export function kindMatches(kind: KnownKind, query: string): boolean {
  const q = query.toLowerCase();
  const short = Object.hasOwn(SHORT_NAMES, kind.kind) ? [SHORT_NAMES[kind.kind]!] : [];
  const names = [kind.kind.toLowerCase(), pluralOf(kind.kind), ...short];
  return names.some((n) => q === n || q === `${n}.${kind.group}`);
}

/** Every kind meshlite reads that `query` names (several when two groups share a kind name). */
export function resolveKind(query: string): KnownKind[] {
  return KIND_HANDLERS.filter((h) => kindMatches(h, query)).map((h) => ({ group: h.group, kind: h.kind }));
}

export function knownKindNames(): string[] {
  return [...new Set(KIND_HANDLERS.map((h) => h.kind))].sort();
}
