// Prometheus metrics of the certificate-signing API, registered on the
// meshlite instance's registry.
import { Counter, Histogram, type Registry } from 'prom-client';

/** Why a CreateCertificate call was refused (the `reason` label). */
export type RefusalReason =
  | 'unauthenticated'
  | 'permission_denied'
  | 'rate_limited'
  | 'malformed_request'
  | 'invalid_request'
  | 'invalid_csr'
  | 'no_config'
  | 'ca_unavailable'
  | 'not_served'
  | 'internal';

export interface CaServiceMetrics {
  signed: Counter<'auth'>;
  refused: Counter<'reason'>;
  signSeconds: Histogram;
}

export function registerCaServiceMetrics(registry: Registry): CaServiceMetrics {
  return {
    signed: new Counter({
      name: 'meshlite_ca_certificates_signed_total',
      help: 'Certificates signed for CreateCertificate calls, by how the caller authenticated (token, certificate)',
      labelNames: ['auth'],
      registers: [registry],
    }),
    refused: new Counter({
      name: 'meshlite_ca_requests_refused_total',
      help: 'CreateCertificate calls refused, by reason (unauthenticated, permission_denied, rate_limited, invalid_csr, invalid_request, no_config, ...)',
      labelNames: ['reason'],
      registers: [registry],
    }),
    signSeconds: new Histogram({
      name: 'meshlite_ca_sign_seconds',
      help: 'Time to answer a CreateCertificate call that got a certificate (authentication, CSR check and signing)',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
      registers: [registry],
    }),
  };
}
