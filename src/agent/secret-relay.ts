// The Secret traffic of the relay in both directions: what SecretSplit
// decides, carried out on the wire (decoding meshlite's secrets, relaying the
// ones Envoy asked for, answering Envoy's local names, logging NACKs).
import type { SotwRequest } from '../server/discovery-codec.js';
import { encodeSotwResponse } from '../server/discovery-codec.js';
import type { Logger } from '../util/logger.js';
import type { EnvoySession } from './envoy-session.js';
import { decodeSecret, type RelayResponse, SECRET_TYPE_URL } from './relay-codec.js';
import type { SecretSplit, UpstreamSecret, UpstreamSecretRequest } from './secret-split.js';

export interface SecretRelayContext {
  split: SecretSplit;
  /** The Envoy the split belongs to; none for the ROOTCA-only stream. */
  session?: EnvoySession;
  sendUpstream(req: UpstreamSecretRequest): void;
  logger: Logger;
}

/** A Secret response from meshlite. Returns the trust bundle it carried, if valid. */
export function relayUpstreamSecrets(ctx: SecretRelayContext, res: RelayResponse): string | undefined {
  const { split, logger } = ctx;
  const resources: UpstreamSecret[] = [];
  for (const value of res.resources) {
    try {
      const secret = decodeSecret(value);
      resources.push({ name: secret.name, value, ...(secret.trustedCaPem !== undefined ? { trustedCaPem: secret.trustedCaPem } : {}) });
    } catch (err) {
      const message = `a Secret resource does not decode: ${(err as Error).message}`;
      logger.warn({ version: res.versionInfo, error: message }, 'rejected (NACK) secrets from meshlite');
      ctx.sendUpstream(split.reject(res.nonce, message));
      return undefined;
    }
  }
  const out = split.onUpstreamResponse({ versionInfo: res.versionInfo, nonce: res.nonce, resources });
  if (out.rejected) logger.warn({ version: res.versionInfo, error: out.rejected }, 'rejected (NACK) the trust bundle meshlite sent');
  if (out.toEnvoy) {
    const { versionInfo, nonce } = out.toEnvoy;
    const wire = out.toEnvoy.resources.map((r) => ({ name: r.name, version: versionInfo, value: r.value }));
    ctx.session?.write(encodeSotwResponse(SECRET_TYPE_URL, versionInfo, nonce, wire));
  }
  if (out.upstream) ctx.sendUpstream(out.upstream);
  return out.trustBundle;
}

/** A Secret request from Envoy (SecretSplit only asks to send upstream while its stream is open). */
export function relayEnvoySecrets(ctx: SecretRelayContext, req: SotwRequest, pushLocal: () => void): void {
  const out = ctx.split.onEnvoyRequest({ names: req.resourceNames, nonce: req.responseNonce, errorDetail: req.errorDetail });
  const error = req.errorDetail?.message;
  if (out.answered === 'local-nack') ctx.logger.warn({ error }, "Envoy rejected (NACK) the agent's own secrets");
  if (out.answered === 'relayed-nack') ctx.logger.warn({ error }, 'Envoy rejected (NACK) secrets from meshlite');
  if (out.respondLocally) pushLocal();
  if (out.upstream) ctx.sendUpstream(out.upstream);
}
