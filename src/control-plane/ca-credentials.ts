// Adapts the built-in CA and its rotation cache to what the control plane
// needs, and makes the ADS listener's TLS material.
import type { CertificateAuthority } from '../ca/certificate-authority.js';
import type { WorkloadCertificateCache } from '../ca/rotation.js';
import type { AdsTls } from '../server/ads-listener.js';
import { ADS_SERVER_NAME } from '../xds/bootstrap.js';
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
    onTrustChanged(listener) {
      ca.onTrustChanged(() => listener());
    },
  };
}

/** The metrics a key-counting source updates. */
export interface KeyCounters {
  certificatesIssued: { inc(): void };
  workloadKeysGenerated: { inc(labels: { identity: string }): void };
}

/**
 * The same source, counting each certificate (and so each private key) meshlite
 * made once, by identity: proxies run by agents make their own and count nowhere here.
 */
export function countingKeys(source: WorkloadCredentialSource, metrics: KeyCounters): WorkloadCredentialSource {
  const seen = new Set<string>();
  return {
    ...source,
    async certificateFor(identity) {
      const pair = await source.certificateFor(identity);
      if (!seen.has(pair.serialNumber)) {
        seen.add(pair.serialNumber);
        metrics.certificatesIssued.inc();
        metrics.workloadKeysGenerated.inc({ identity: `${identity.namespace}/${identity.serviceAccount}` });
      }
      return pair;
    },
  };
}

/** meshlite's own ADS certificate in the ledger of issued certificates: each one supersedes the one before. */
export const ADS_CERTIFICATE_HOLDER = 'meshlite ADS server';

/**
 * The ADS serving certificate (DNS `meshlite` and `localhost`, 127.0.0.1 and
 * the listen IP). Client certificates are asked for, not required, and
 * verified against the CA's roots: workloads renew theirs with CreateCertificate.
 */
export async function adsServingTls(ca: CertificateAuthority, adsHost: string): Promise<AdsTls> {
  const ips = [...new Set(['127.0.0.1', ...(/^[\d.]+$/.test(adsHost) && adsHost !== '0.0.0.0' ? [adsHost] : [])])];
  const issued = await ca.issueServerCertificate([ADS_SERVER_NAME, 'localhost'], ips, {
    ttlSeconds: 90 * 24 * 3600,
    holder: ADS_CERTIFICATE_HOLDER,
  });
  if (!issued.ok) throw new Error(`cannot issue the ADS serving certificate: ${issued.error}`);
  return { certChainPem: issued.certificate.certChainPem, privateKeyPem: issued.certificate.privateKeyPem!, clientCaPem: ca.rootCertPem };
}
