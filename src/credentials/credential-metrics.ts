// `meshlite_credentials_missing`: how many distinct `kubernetes://` SDS names
// connected proxies reference that are not served (absent or invalid), read
// from the control plane at scrape time.
import { Gauge, type Registry } from 'prom-client';

export function registerCredentialMetrics(registry: Registry, missingSecretNames: () => readonly string[]): Gauge {
  return new Gauge({
    name: 'meshlite_credentials_missing',
    help: 'Credentials (kubernetes:// SDS names) referenced by connected proxies but not available: missing or invalid in the secrets directory',
    registers: [registry],
    collect() {
      this.set(missingSecretNames().length);
    },
  });
}

/**
 * `meshlite_jwks_available{uri}`: 1 when meshlite holds a good JWKS for a
 * RequestAuthentication jwksUri, 0 while it has none (that issuer's tokens
 * are rejected). Read from the fetcher at scrape time.
 */
export function registerJwksMetrics(registry: Registry, jwks: { uris(): string[]; current(uri: string): string | undefined }): Gauge {
  return new Gauge({
    name: 'meshlite_jwks_available',
    help: 'Whether a good JWKS document is held for a RequestAuthentication jwksUri (0: tokens of its issuer are rejected)',
    labelNames: ['uri'],
    registers: [registry],
    collect() {
      this.reset();
      for (const uri of jwks.uris()) this.set({ uri }, jwks.current(uri) === undefined ? 0 : 1);
    },
  });
}
