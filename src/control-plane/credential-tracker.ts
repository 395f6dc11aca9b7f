// Which `kubernetes://` credentials each connected proxy references, and
// whether each is served: what /debug shows, and what the log says when one
// becomes unavailable or available again.
import type { CredentialLookup, CredentialReference } from '../credentials/credential.js';
import type { Logger } from '../util/logger.js';

export class CredentialTracker {
  private readonly byProxy = new Map<string, ReadonlyMap<string, CredentialLookup>>();

  constructor(private readonly logger: Logger) {}

  /** Remembers a proxy's credential references; logs those that became unavailable or available again. */
  note(proxyId: string, now: ReadonlyMap<string, CredentialLookup>): void {
    const before = this.byProxy.get(proxyId);
    this.byProxy.set(proxyId, now);
    for (const [secret, lookup] of now) {
      const was = before?.get(secret);
      if (!lookup.ok && (!was || was.ok || was.reason !== lookup.reason)) {
        this.logger.warn(
          { proxy: proxyId, credential: secret, reason: lookup.reason },
          'credential not available; not served to this proxy (its listener or cluster stays warming)',
        );
      } else if (lookup.ok && was && !was.ok) {
        this.logger.info({ proxy: proxyId, credential: secret, from: lookup.from }, 'credential available again; served');
      }
    }
  }

  forget(proxyId: string): void {
    this.byProxy.delete(proxyId);
  }

  /** Every `kubernetes://` reference of every connected proxy, and whether it is served. */
  references(): CredentialReference[] {
    const out: CredentialReference[] = [];
    for (const [proxy, refs] of [...this.byProxy].sort(([a], [b]) => a.localeCompare(b))) {
      for (const [secretName, lookup] of refs)
        out.push(lookup.ok ? { proxy, secretName, available: true } : { proxy, secretName, available: false, reason: lookup.reason });
    }
    return out;
  }

  /** The distinct `kubernetes://` names connected proxies reference that are not served. */
  missing(): string[] {
    return [
      ...new Set(
        this.references()
          .filter((r) => !r.available)
          .map((r) => r.secretName),
      ),
    ].sort();
  }
}
