// What the pieces of `meshlite agent` share: the key and certificate the
// agent holds for its one workload (the key is made on this host and never
// leaves it), the trust bundle it learns from meshlite, and the names under
// which it serves both to its Envoy.
import type { Secret } from '../xds/envoy-types/index.js';
import { buildSecret } from '../xds/secret.js';
import { ROOT_CA, WORKLOAD_CERT } from '../model/secret-refs.js';

/** A workload key and certificate held by the agent. */
export interface HeldCertificate {
  privateKeyPem: string;
  /** Leaf first, then any intermediates; no root. */
  certChainPem: string;
  /** The root the leaf chains to (the last entry of CreateCertificate's cert_chain). */
  rootPem: string;
  serialNumber: string;
  spiffeId: string;
  notBefore: Date;
  notAfter: Date;
}

/** The agent's current secrets; listeners hear of every change. */
export interface LocalSecrets {
  /** undefined until the first certificate arrived. */
  certificate(): HeldCertificate | undefined;
  /** The roots workloads trust, PEM, meshlite's signing root first; '' until known. */
  trustBundlePem(): string;
  onChange(listener: () => void): () => void;
}

export { AGENT_NODE_METADATA } from '../server/node-metadata.js';

/** The SDS names the agent answers itself; every other Secret comes from meshlite. */
export const LOCAL_SECRET_NAMES: ReadonlySet<string> = new Set([WORKLOAD_CERT.name, ROOT_CA.name]);

/** The Secret for one of LOCAL_SECRET_NAMES, or undefined while its material is not known. */
export function localSecret(name: string, secrets: LocalSecrets): Secret | undefined {
  const held = secrets.certificate();
  const ref = name === WORKLOAD_CERT.name ? WORKLOAD_CERT : name === ROOT_CA.name ? ROOT_CA : undefined;
  if (!ref) return undefined;
  return buildSecret(ref, {
    workloadCertificate: () => (held ? { certChainPem: held.certChainPem, privateKeyPem: held.privateKeyPem } : undefined),
    rootCertificates: () => secrets.trustBundlePem() || undefined,
  });
}
