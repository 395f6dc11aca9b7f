// Secret resources (SDS). Which secrets a proxy needs is part of its view
// (SecretRef); their material comes from a source the caller provides
// (meshlite's CA, or files on the proxy's own host).
import type { SecretRef } from '../model/view-types.js';
import type { Secret } from './envoy-types/index.js';

/** The system trust bundle on the proxy's host, for SIMPLE TLS without a CA file. */
export const SYSTEM_TRUST_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';

export interface WorkloadCertificate {
  certChainPem: string;
  privateKeyPem: string;
}

export interface SecretMaterial {
  workloadCertificate(): WorkloadCertificate | undefined;
  rootCertificates(): string | undefined;
  /** The chain + key of credential `name` (`kubernetes://<name>`); absent or undefined: not served. */
  credentialCertificate?(name: string): WorkloadCertificate | undefined;
  /** The trusted CA of credential `name` (`kubernetes://<name>-cacert`); absent or undefined: not served. */
  credentialCa?(name: string): string | undefined;
}

/**
 * Builds a Secret for a reference, or undefined when its material is not available
 * (Envoy then keeps the listener or cluster that needs it warming: fail closed).
 * File secrets point at files on the proxy's host, which Envoy reads itself.
 */
export function buildSecret(ref: SecretRef, material: SecretMaterial): Secret | undefined {
  const name = ref.name;
  switch (ref.kind) {
    case 'workload-cert': {
      const cert = material.workloadCertificate();
      if (!cert) return undefined;
      return {
        name,
        tls_certificate: { certificate_chain: { inline_string: cert.certChainPem }, private_key: { inline_string: cert.privateKeyPem } },
      };
    }
    case 'root-ca': {
      const roots = material.rootCertificates();
      return roots ? { name, validation_context: { trusted_ca: { inline_string: roots } } } : undefined;
    }
    case 'file-cert':
      return { name, tls_certificate: { certificate_chain: { filename: ref.cert }, private_key: { filename: ref.key } } };
    case 'file-root':
      return { name, validation_context: { trusted_ca: { filename: ref.ca === 'system' ? SYSTEM_TRUST_BUNDLE : ref.ca } } };
    case 'credential': {
      if (ref.ca) {
        const ca = material.credentialCa?.(ref.credential);
        return ca ? { name, validation_context: { trusted_ca: { inline_string: ca } } } : undefined;
      }
      const cert = material.credentialCertificate?.(ref.credential);
      if (!cert) return undefined;
      return {
        name,
        tls_certificate: { certificate_chain: { inline_string: cert.certChainPem }, private_key: { inline_string: cert.privateKeyPem } },
      };
    }
  }
}

/** What Envoy's admin shows: private keys held inline are replaced by "[redacted]". */
export function redactSecret(secret: Secret): Secret {
  const tls = secret.tls_certificate;
  const key = tls?.private_key;
  if (!tls || !key || key.filename !== undefined) return secret;
  return { ...secret, tls_certificate: { ...tls, private_key: { inline_string: '[redacted]' } } };
}
