// Secret resources (SDS). Which secrets a proxy needs follows from the names
// its clusters and listeners reference; their material comes from a source
// the caller provides (meshlite's CA, or files on the proxy's own host).
import type { Json } from '../proto/proto-json.js';
import type { JsonObject } from './common.js';
import { parseSecretName } from './secret-names.js';

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

/** Every SDS secret name referenced anywhere in the given resources, sorted. */
export function referencedSecretNames(resources: readonly Json[]): string[] {
  const names = new Set<string>();
  const visit = (value: Json): void => {
    if (Array.isArray(value)) value.forEach(visit);
    else if (value && typeof value === 'object') {
      for (const [key, child] of Object.entries(value)) {
        if (key === 'tls_certificate_sds_secret_configs' && Array.isArray(child)) {
          for (const c of child) names.add(String((c as JsonObject).name));
        } else if (key === 'validation_context_sds_secret_config' && child && typeof child === 'object') {
          names.add(String((child as JsonObject).name));
        } else visit(child);
      }
    }
  };
  resources.forEach(visit);
  return [...names].sort();
}

/**
 * Builds a Secret for a name, or undefined when its material is not available
 * (Envoy then keeps the listener or cluster that needs it warming: fail closed).
 * File secrets point at files on the proxy's host, which Envoy reads itself.
 */
export function buildSecret(name: string, material: SecretMaterial): JsonObject | undefined {
  const parsed = parseSecretName(name);
  switch (parsed.kind) {
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
      return { name, tls_certificate: { certificate_chain: { filename: parsed.cert }, private_key: { filename: parsed.key } } };
    case 'file-root':
      return { name, validation_context: { trusted_ca: { filename: parsed.ca === 'system' ? SYSTEM_TRUST_BUNDLE : parsed.ca } } };
    case 'credential': {
      if (parsed.ca) {
        const ca = material.credentialCa?.(parsed.credential);
        return ca ? { name, validation_context: { trusted_ca: { inline_string: ca } } } : undefined;
      }
      const cert = material.credentialCertificate?.(parsed.credential);
      if (!cert) return undefined;
      return {
        name,
        tls_certificate: { certificate_chain: { inline_string: cert.certChainPem }, private_key: { inline_string: cert.privateKeyPem } },
      };
    }
    case 'unknown':
      return undefined;
  }
}

/** What Envoy's admin shows: private keys held inline are replaced by "[redacted]". */
export function redactSecret(secret: JsonObject): JsonObject {
  const tls = secret.tls_certificate as JsonObject | undefined;
  const key = tls?.private_key as JsonObject | undefined;
  if (!tls || !key || key.filename !== undefined) return secret;
  return { ...secret, tls_certificate: { ...tls, private_key: { inline_string: '[redacted]' } } };
}
