// Every type but Secret passes through the relay unchanged: meshlite's
// responses reach Envoy as they are, and Envoy's requests reach meshlite as
// they are. What the relay keeps is what a new upstream stream needs (Envoy's
// last request of each type) and which nonces the current stream sent, so
// that a request answering a response of an earlier stream is not taken for
// an answer to this one. Pure state: the relay performs the actions.
import type { SotwRequest } from '../server/discovery-codec.js';

/**
 * forward: send Envoy's bytes as they are; subscribe: send them as a fresh
 * subscription (no nonce, no error), since the stream that sent the answered
 * response is gone; hold: send nothing (no upstream stream, or Envoy is about
 * to answer this stream's newer response, which will carry its names).
 */
export type RelayAction = 'forward' | 'subscribe' | 'hold';

/** Nonces remembered per type: enough for responses Envoy has not answered yet. */
const REMEMBERED_NONCES = 16;

export class RelayedTypes {
  /** Envoy's last request per type URL, in the order Envoy first asked for each type. */
  private readonly last = new Map<string, SotwRequest>();
  /** Nonces of responses the current upstream stream relayed, per type URL, oldest first. */
  private readonly relayed = new Map<string, string[]>();
  private open = false;

  onEnvoyRequest(req: SotwRequest): RelayAction {
    this.last.set(req.typeUrl, req);
    if (!this.open) return 'hold';
    if (req.responseNonce === '') return 'forward';
    const sent = this.relayed.get(req.typeUrl);
    if (sent?.includes(req.responseNonce)) return 'forward';
    return sent && sent.length > 0 ? 'hold' : 'subscribe';
  }

  onUpstreamResponse(typeUrl: string, nonce: string): void {
    const sent = this.relayed.get(typeUrl) ?? [];
    sent.push(nonce);
    if (sent.length > REMEMBERED_NONCES) sent.shift();
    this.relayed.set(typeUrl, sent);
  }

  /** A new upstream stream: Envoy's last request of each type, to send again as a fresh subscription. */
  upstreamOpened(): SotwRequest[] {
    this.open = true;
    this.relayed.clear();
    return [...this.last.values()];
  }

  upstreamClosed(): void {
    this.open = false;
  }
}
