// Listeners that proxies of one class share but for their name and bound
// address (EXPLICIT interception: one listener per port on the proxy's own
// address). The per-proxy listener remembers the class listener it came
// from, so the encoder can encode the shared part once per class: name and
// address are the Listener's fields 1 and 2, which a canonical encoding
// writes first, so the proxy's two fields followed by the class listener's
// other fields are byte for byte the proxy listener's own encoding.
import type { Address, Listener } from './envoy-types/index.js';

const CLASS_LISTENER = Symbol('class listener');

/** The class listener with the proxy's own name and address; everything else is the class listener's. */
export function addressedListener(shared: Listener, name: string, address: Address): Listener {
  const own: Listener = { ...shared, name, address };
  // Not enumerable: a copy made with different content must not claim the class listener's body.
  Object.defineProperty(own, CLASS_LISTENER, { value: shared, enumerable: false });
  return own;
}

/** The class listener `listener` was made from by addressedListener, if any. */
export function classListenerOf(listener: object): Listener | undefined {
  return (listener as { [CLASS_LISTENER]?: Listener })[CLASS_LISTENER];
}
