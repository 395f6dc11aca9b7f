// Adapts the built-in CA and its rotation cache to what the control plane needs.
import type { CertificateAuthority } from '../ca/certificate-authority.js';
import type { WorkloadCertificateCache } from '../ca/rotation.js';
import type { WorkloadCredentialSource } from './workload-credentials.js';

export function caCredentials(ca: CertificateAuthority, certificates: WorkloadCertificateCache): WorkloadCredentialSource {
  return {
    rootCertPem: () => ca.rootCertPem,
    async certificateFor({ namespace, serviceAccount }) {
      const result = await certificates.get({ trustDomain: ca.trustDomain, namespace, serviceAccount });
      if (!result.ok) throw new Error(`cannot issue a certificate for ${namespace}/${serviceAccount}: ${result.error}`);
      const c = result.certificate;
      if (!c.privateKeyPem) throw new Error('issued certificate has no private key');
      return { certChainPem: c.certChainPem, privateKeyPem: c.privateKeyPem, serialNumber: c.serialNumber, notAfter: c.notAfter };
    },
    onRotated(listener) {
      certificates.onRotated((rotation) => listener(rotation.key));
    },
  };
}
