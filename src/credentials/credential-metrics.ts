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
