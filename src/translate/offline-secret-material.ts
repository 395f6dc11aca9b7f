// Secret material for offline translation (`meshlite generate`, goldens): the
// CA-issued certificate is not known there, so the dump says what would be
// served instead of inventing key material. The private key is shown the way
// Envoy's admin shows it anyway: "[redacted]".
import type { SecretMaterial } from '../xds/secret.js';

/** `identity`: the SPIFFE URI the certificate would carry. */
export function offlineSecretMaterial(identity: string): SecretMaterial {
  return {
    workloadCertificate: () => ({
      certChainPem: `[certificate issued by the meshlite CA for ${identity}]`,
      privateKeyPem: '[redacted]',
    }),
    rootCertificates: () => '[meshlite CA root certificates]',
  };
}
