// What `meshlite serve` is started with and what a started one offers: the
// contract between the command line (or a test) and the composition root.
import type { AutoRegistrations } from './auto-registration.js';
import type { Logger as PinoLogger } from 'pino';
import type { CertificateAuthority } from '../ca/certificate-authority.js';
import type { RateLimit } from '../ca-service/rate-limit.js';
import type { LoadLimits } from '../config/limits.js';
import type { CredentialStore } from '../credentials/credential-store.js';
import type { TokenAuthority } from '../identity/proxy-token.js';
import type { EtcdStore } from '../store/etcd-store.js';
import type { ControlPlane } from './control-plane.js';
import type { RootRotationDriver } from './root-rotation-driver.js';

export interface MeshliteOptions {
  configPaths: string[];
  stateDir: string;
  /** Istio `cacerts` directory for a plugged-in CA; else a self-signed root in the state dir. */
  caDir?: string;
  /** Secrets for `credentialName` (served as kubernetes://<name>); none when absent. */
  secretsDir?: string;
  adsAddress: string;
  adminAddress: string;
  /** Plaintext ADS and no proxy tokens. Only for development and proxyless clients. */
  insecure: boolean;
  /** Workload certificate lifetime: SDS certificates get it, CreateCertificate grants at most it. */
  certTtlSeconds?: number;
  /** CreateCertificate calls per identity; 60 a minute by default. */
  csrRateLimit?: RateLimit;
  /** How often jwksUri documents are fetched again (20 minutes by default, as Istio). */
  jwksRefreshSeconds?: number;
  debounceMs?: number;
  /** How long files must be quiet before a change that shrinks or removes one is applied. */
  settleMs?: number;
  limits?: Partial<LoadLimits>;
  /** The namespace of config documents (in files) that name none and whose directory names none. */
  defaultNamespace?: string;
  /** Bearer token every admin endpoint but /healthz, /ready and /metrics requires; none when undefined. */
  adminToken?: string;
  /** A stream must authenticate (and a TLS handshake finish) within this; default 10 s. */
  authTimeoutSeconds?: number;
  /** ADS connections are closed gracefully at this age (proxies reconnect and re-authenticate); 0 or undefined: never. */
  maxConnectionAgeSeconds?: number;
  /** How long a connection's streams may go on after that; default 10 s. */
  maxConnectionAgeGraceSeconds?: number;
  /**
   * Replicated mode: config is read from this store (config/ keys) and followed instead of `configPaths`; the CA,
   * token key, revocations and certificate ledger are shared through it. The caller opens and closes it.
   */
  store?: EtcdStore;
  /** The 32-byte key sealing the CA and token keys in the store (--store-key-file). */
  storeKey?: Buffer;
  logger: PinoLogger;
  /** This replica's name in the store; default `<hostname>-<ads port>`. */
  replicaId?: string;
  /** host:port proxies and other replicas reach this replica's ADS at; default the ADS listen address. */
  advertiseAddress?: string;
  /** TTL of the lease the replica's registry entries live under; default 10 s. */
  replicaLeaseSeconds?: number;
  /** How long an auto-registered workload outlives its last stream; default 10 s. */
  autoRegisterGraceMs?: number;
  /** Marathon polled for services and workloads (--registry marathon=<url>), merged with the config read-only. */
  marathon?: { url: string; intervalMs: number /** Of apps without a namespace label; else an id's first segment. */; namespace?: string };
}

/** A listener could not bind: which one, where, and the system error code (EADDRINUSE, EACCES, ...). */
export class ListenFailure extends Error {
  constructor(
    readonly listener: 'ads' | 'admin',
    readonly address: string,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface RunningMeshlite {
  adsPort: number;
  adminPort: number;
  controlPlane: ControlPlane;
  ca: CertificateAuthority;
  /** The CA root rotation (`meshlite ca rotate-root`). */
  rootRotation: RootRotationDriver;
  tokens?: TokenAuthority;
  /** Workloads agents registered from WorkloadGroups. */
  registrations: AutoRegistrations;
  /** The secrets directory's credentials, when --secrets-dir was given. */
  credentials?: CredentialStore;
  reload(): void;
  stop(): Promise<void>;
}

export function splitAddress(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  return { host: address.slice(0, i), port: Number(address.slice(i + 1)) };
}
