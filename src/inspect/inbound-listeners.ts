// The inbound side of one proxy's config dump as `authz check` addresses it:
// by the port a client connects to.
import { arr, indexDump, type JsonObject, obj, socketAddress } from './dump-index.js';

export const inboundListeners = (dump: unknown): JsonObject[] => indexDump(dump).listeners.filter((l) => l.traffic_direction === 'INBOUND');

const chainPorts = (listener: JsonObject): unknown[] =>
  arr(listener.filter_chains).map((c) => obj(obj(c).filter_chain_match).destination_port);

/** The ports inbound listeners serve: their chains' destination ports, else the listener's own port. */
export function inboundPorts(dump: unknown): number[] {
  const ports = new Set<number>();
  for (const l of inboundListeners(dump)) {
    for (const p of chainPorts(l)) {
      const port = p ?? socketAddress(l.address)?.port;
      if (typeof port === 'number') ports.add(port);
    }
  }
  return [...ports].sort((a, b) => a - b);
}

/** The inbound listener that takes connections to `port` (a chain matching that destination port, or bound to it). */
export function inboundListenerFor(dump: unknown, port: number): JsonObject | undefined {
  const listeners = inboundListeners(dump);
  return listeners.find((l) => chainPorts(l).includes(port)) ?? listeners.find((l) => socketAddress(l.address)?.port === port);
}
