// Which filter chain of a listener Envoy hands a new connection to. Envoy
// narrows the chains criterion by criterion (destination port, destination
// IP, server name, transport protocol, application protocols, then the source
// criteria): at each step the most specific chains that match stay; chains
// that do not set the criterion stay only when none set it and match.
import { arr, type JsonObject, obj, str } from './dump-index.js';

export interface ConnectionFacts {
  destinationIp: string;
  destinationPort: number;
  /** What the listener filters detect: `tls` needs a TLS inspector, everything else reads as `raw_buffer`. */
  tls: boolean;
  serverName?: string;
  /** ALPN offered by a TLS client. */
  alpn: readonly string[];
}

export type ChainChoice =
  | { kind: 'chain'; chain: JsonObject; name: string; transportProtocol: string }
  | { kind: 'none'; transportProtocol: string }
  | { kind: 'unknown'; why: string };

const SOURCE_FIELDS = ['direct_source_prefix_ranges', 'source_type', 'source_prefix_ranges', 'source_ports'];

export function chooseFilterChain(listener: JsonObject, facts: ConnectionFacts): ChainChoice {
  if (listener.filter_chain_matcher) return { kind: 'unknown', why: 'the listener selects chains with a matcher tree' };
  const filters = arr(listener.listener_filters).map((f) => str(obj(f).name) ?? '');
  const inspectsTls = filters.some((n) => n.includes('tls_inspector'));
  const inspectsHttp = filters.some((n) => n.includes('http_inspector'));
  const transportProtocol = facts.tls && inspectsTls ? 'tls' : 'raw_buffer';
  const serverName = facts.tls && inspectsTls ? facts.serverName : undefined;
  const appProtocols = facts.tls ? (inspectsTls ? facts.alpn : []) : inspectsHttp ? ['http/1.1'] : [];

  let candidates = arr(listener.filter_chains).map(obj);
  const steps: ((m: JsonObject) => number | undefined)[] = [
    (m) => (m.destination_port === undefined ? undefined : m.destination_port === facts.destinationPort ? 1 : -1),
    (m) => prefixScore(arr(m.prefix_ranges), facts.destinationIp),
    (m) => serverNameScore(arr(m.server_names).map(String), serverName),
    (m) =>
      m.transport_protocol === undefined || m.transport_protocol === '' ? undefined : m.transport_protocol === transportProtocol ? 1 : -1,
    (m) => {
      const wanted = arr(m.application_protocols).map(String);
      if (wanted.length === 0) return undefined;
      return wanted.some((p) => appProtocols.includes(p)) ? 1 : -1;
    },
  ];
  for (const step of steps) {
    const scored = candidates.map((chain) => ({ chain, score: step(obj(chain.filter_chain_match)) }));
    const best = scored.reduce((max, s) => Math.max(max, s.score ?? -1), -1);
    candidates =
      best >= 0
        ? scored.filter((s) => s.score === best).map((s) => s.chain)
        : scored.filter((s) => s.score === undefined).map((s) => s.chain);
    if (candidates.length === 0) break;
  }
  if (candidates.some((c) => SOURCE_FIELDS.some((f) => obj(c.filter_chain_match)[f] !== undefined)))
    return { kind: 'unknown', why: 'the remaining filter chains match on the source of the connection' };
  const chain = candidates[0] ?? (listener.default_filter_chain ? obj(listener.default_filter_chain) : undefined);
  if (!chain) return { kind: 'none', transportProtocol };
  return { kind: 'chain', chain, name: str(chain.name) ?? '(unnamed)', transportProtocol };
}

function serverNameScore(names: string[], serverName: string | undefined): number | undefined {
  if (names.length === 0) return undefined;
  if (serverName === undefined) return -1;
  if (names.includes(serverName)) return 10_000;
  const wild = names.filter((n) => n.startsWith('*.') && serverName.endsWith(n.slice(1)));
  return wild.reduce((max, n) => Math.max(max, n.length), -1);
}

function prefixScore(ranges: unknown[], ip: string): number | undefined {
  if (ranges.length === 0) return undefined;
  let best = -1;
  for (const r of ranges.map(obj)) {
    const prefix = str(r.address_prefix) ?? '';
    const len = typeof r.prefix_len === 'number' ? r.prefix_len : 32;
    if (inPrefix(ip, prefix, len)) best = Math.max(best, len);
  }
  return best;
}

function ipv4(ip: string): number | undefined {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return undefined;
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

function inPrefix(ip: string, prefix: string, len: number): boolean {
  const a = ipv4(ip);
  const b = ipv4(prefix);
  if (a === undefined || b === undefined) return ip === prefix;
  if (len === 0) return true;
  const mask = len >= 32 ? 0xffffffff : (~0 << (32 - len)) >>> 0;
  return (a & mask) === (b & mask);
}
