// Mounts the certificate-signing API (src/ca-service) on the ADS server. It
// may sign for the workloads meshlite serves under the config in force: a
// workload removed from the config can no longer renew its certificate.
import type { Registry } from 'prom-client';
import type { CertificateAuthority } from '../ca/certificate-authority.js';
import { CA_SERVICE_DEFINITION } from '../ca-service/ca-proto.js';
import { registerCaServiceMetrics } from '../ca-service/ca-service-metrics.js';
import type { ServedWorkloads } from '../ca-service/caller-auth.js';
import { CertificateService } from '../ca-service/certificate-service.js';
import type { RateLimit } from '../ca-service/rate-limit.js';
import type { TokenAuthority } from '../identity/proxy-token.js';
import type { RevocationList } from '../identity/token-revocations.js';
import type { MeshModel } from '../model/mesh-model.js';
import type { AdsServer } from '../server/ads-server.js';
import type { Logger } from '../util/logger.js';
import { servedWorkloadsMemo } from './served-workloads.js';

export interface CertificateServiceDeps {
  ads: AdsServer;
  ca: CertificateAuthority;
  tokens?: TokenAuthority;
  revocations(): RevocationList | undefined;
  certificateRevoked?(serial: string): string | undefined;
  controlPlane: { readonly currentModel: MeshModel | undefined };
  registry: Registry;
  maxTtlSeconds: number;
  rateLimit?: RateLimit;
  logger: Logger;
  /** The WorkloadGroup a live auto-registered workload came from. */
  registeredFrom?(workloadId: string): string | undefined;
  /** The workloads served under a model; shared with ADS stream authentication. */
  servedIn?: (model: MeshModel) => ServedWorkloads;
}

export function mountCertificateService(deps: CertificateServiceDeps): CertificateService {
  const servedIn = deps.servedIn ?? servedWorkloadsMemo();
  const service = new CertificateService({
    ca: deps.ca,
    tokens: deps.tokens,
    revocations: deps.revocations,
    certificateRevoked: deps.certificateRevoked,
    workloads: () => {
      const model = deps.controlPlane.currentModel;
      return model && servedIn(model);
    },
    registeredFrom: deps.registeredFrom,
    certificateRejection: (peer) => deps.ads.clientCertificate(peer)?.rejection,
    maxTtlSeconds: deps.maxTtlSeconds,
    rateLimit: deps.rateLimit,
    logger: deps.logger,
    metrics: registerCaServiceMetrics(deps.registry),
  });
  deps.ads.addService(CA_SERVICE_DEFINITION, service.implementation);
  return service;
}
