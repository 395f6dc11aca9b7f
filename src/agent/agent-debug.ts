// The agent's own state for GET /debug/agent: what it holds and whom it talks
// to. Never key material: anyone who reaches the status port may read it.
import { X509Certificate } from 'node:crypto';
import { certificateBlocks } from '../ca/pem.js';
import type { AdsRelay } from './ads-relay.js';
import type { CertificateManager } from './certificate-manager.js';
import type { EnvoySupervisor } from './envoy-supervisor.js';
import type { GrpcModeStatus } from './grpc-mode.js';

export interface AgentParts {
  /** What the agent serves: its Envoy, a proxyless gRPC app, or only its sockets. */
  mode: 'envoy' | 'grpc' | 'sockets';
  proxyId: string;
  controlPlane: string;
  workDir: string;
  certificates: CertificateManager;
  relay: AdsRelay | undefined;
  envoy: EnvoySupervisor | undefined;
  grpc?: GrpcModeStatus;
}

export function agentDebugView(p: AgentParts): unknown {
  const held = p.certificates.certificate();
  return {
    mode: p.mode,
    proxy: p.proxyId,
    controlPlane: p.controlPlane,
    workDir: p.workDir,
    certificate: held
      ? {
          spiffeId: held.spiffeId,
          serialNumber: held.serialNumber,
          notBefore: held.notBefore.toISOString(),
          notAfter: held.notAfter.toISOString(),
          expiresInSeconds: p.certificates.expiresInSeconds(),
          rootFingerprint: fingerprint(held.rootPem),
        }
      : null,
    trustBundle: bundleFingerprints(p.certificates.trustBundlePem()),
    upstream: p.relay?.status() ?? null,
    envoy: p.envoy?.status() ?? null,
    grpc: p.grpc ?? null,
  };
}

/** SHA-256 fingerprints of the bundle's roots, in its order (meshlite's signing root first). */
function bundleFingerprints(pem: string): string[] {
  const blocks = certificateBlocks(pem, 'trust bundle');
  return blocks.ok ? blocks.value.map((der) => new X509Certificate(der).fingerprint256) : [];
}

function fingerprint(pem: string): string | null {
  try {
    return new X509Certificate(pem).fingerprint256;
  } catch {
    return null;
  }
}
