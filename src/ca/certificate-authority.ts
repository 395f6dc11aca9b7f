// meshlite's built-in certificate authority. It signs exactly the identity
// its caller authenticated: nothing a client puts in a CSR besides the public
// key reaches a certificate.
import { isIP } from 'node:net';
import { spiffeIdOf, validateTrustDomain, type WorkloadIdentity } from './identity.js';
import {
  DEFAULT_ROOT_TTL_SECONDS,
  MAX_ROOT_TTL_SECONDS,
  DEFAULT_WORKLOAD_TTL_SECONDS,
  issueFailure,
  MAX_WORKLOAD_TTL_SECONDS,
  SERVER_USAGES,
  signLeaf,
  validateTtl,
  WORKLOAD_USAGES,
  type IssueResult,
  type LeafProfile,
  type Signer,
} from './issue.js';
import { checkCsr } from './csr.js';
import { generateKeyPair, privateKeyToPem, type KeyAlgorithm } from './keys.js';
import { loadPluggedInCa } from './plugged-in-ca.js';
import { loadOrCreateStoredRoot } from './root-store.js';
import type { SanEntry } from './x509-template.js';

export type { IssuedCertificate, IssueFailureCode, IssueResult } from './issue.js';
export type { WorkloadIdentity } from './identity.js';

/** The part of a pino logger the CA uses. Nothing logged ever holds key material. */
export interface CaLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

export interface CertificateAuthorityOptions {
  /** meshlite's state directory; the self-signed root lives in `<stateDir>/ca/`. */
  stateDir?: string;
  /** A directory in Istio's cacerts layout (ca-cert.pem, ca-key.pem, root-cert.pem, cert-chain.pem). */
  pluggedInDir?: string;
  trustDomain: string;
  /** Lifetime of a newly created self-signed root; default 10 years, at most 100. */
  rootTtlSeconds?: number;
  /** Key of a newly created self-signed root; default ECDSA P-256. */
  rootKeyAlgorithm?: KeyAlgorithm;
  now?: () => Date;
  logger?: CaLogger;
}

export interface IssueOptions {
  /** Default 24 h, at most 90 days; always clamped to the CA certificate's own NotAfter. */
  ttlSeconds?: number;
  /** Who will hold the certificate (a proxy id, an identity), for the ledger of issued certificates. */
  holder?: string;
  /** The serial of the certificate this one replaces (a renewal authenticated by that certificate). */
  renewalOf?: string;
}

/** What the CA tells issue listeners: never the key, never the certificate itself. */
export interface IssuedRecord {
  serialNumber: string;
  /** The SPIFFE id, or the DNS names and IPs of a server certificate. */
  subject: string;
  holder?: string;
  renewalOf?: string;
  /** SHA-256 fingerprint of the root the certificate chains to. */
  rootFingerprintSha256: string;
  issuedAt: Date;
  notAfter: Date;
}

export interface CaInfo {
  source: 'self-signed' | 'plugged-in';
  directory: string;
  /** SHA-256 fingerprint of the root anchoring issued chains, as colon-separated upper-case hex. */
  rootFingerprintSha256: string;
  rootSerialNumber: string;
  rootNotAfter: Date;
  signerFingerprintSha256: string;
  signerSerialNumber: string;
  signerNotAfter: Date;
}

const DNS_NAME = /^(\*\.)?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

export class CertificateAuthority {
  readonly trustDomain: string;
  #signer: Signer;
  #trustBundlePem: string;
  #info: CaInfo;
  readonly #now: () => Date;
  readonly #logger: CaLogger | undefined;
  readonly #trustListeners = new Set<(bundlePem: string) => void>();
  readonly #issueListeners = new Set<(record: IssuedRecord) => void>();

  private constructor(trustDomain: string, signer: Signer, rootCertPem: string, info: CaInfo, now: () => Date, logger?: CaLogger) {
    this.trustDomain = trustDomain;
    this.#signer = signer;
    this.#trustBundlePem = rootCertPem;
    this.#info = info;
    this.#now = now;
    this.#logger = logger;
  }

  /** The trust bundle workloads need, PEM: during a root rotation, both roots. */
  get rootCertPem(): string {
    return this.#trustBundlePem;
  }

  /** The signing CA. */
  get info(): CaInfo {
    return this.#info;
  }

  /** The signing certificate and its key (a root rotation cross-signs the next root with it). */
  get signer(): Signer {
    return this.#signer;
  }

  /** Signs with another CA from now on (a root rotation); the trust bundle is set apart. */
  useSigner(signer: Signer, info: CaInfo): void {
    this.#signer = signer;
    this.#info = info;
  }

  /** Replaces the trust bundle; listeners hear of it when it changed. */
  setTrustBundle(bundlePem: string): void {
    if (bundlePem === this.#trustBundlePem) return;
    this.#trustBundlePem = bundlePem;
    for (const listener of this.#trustListeners) listener(bundlePem);
  }

  onTrustChanged(listener: (bundlePem: string) => void): () => void {
    this.#trustListeners.add(listener);
    return () => this.#trustListeners.delete(listener);
  }

  /** Called after every certificate this CA signs (the rotation's ledger). */
  onIssued(listener: (record: IssuedRecord) => void): () => void {
    this.#issueListeners.add(listener);
    return () => this.#issueListeners.delete(listener);
  }

  /** Loads the CA from exactly one source, creating the self-signed root on first use. Throws on any problem. */
  static async loadOrCreate(opts: CertificateAuthorityOptions): Promise<CertificateAuthority> {
    const now = opts.now ?? (() => new Date());
    const domain = validateTrustDomain(opts.trustDomain);
    if (!domain.ok) throw new Error(`meshlite CA: ${domain.error}`);
    if ((opts.stateDir === undefined) === (opts.pluggedInDir === undefined)) {
      throw new Error('meshlite CA: give exactly one of stateDir (self-signed root) or pluggedInDir (Istio cacerts layout)');
    }
    if (opts.pluggedInDir !== undefined) {
      const loaded = await loadPluggedInCa(opts.pluggedInDir, now());
      if (!loaded.ok) throw new Error(`meshlite CA: ${loaded.error}`);
      if (loaded.value.looseKeyMode !== undefined) warnKeyMode(opts.logger, `${opts.pluggedInDir}/ca-key.pem`, loaded.value.looseKeyMode);
      const ca = new CertificateAuthority(
        opts.trustDomain,
        loaded.value.signer,
        loaded.value.trustBundlePem,
        describeCa('plugged-in', opts.pluggedInDir, loaded.value.signer),
        now,
        opts.logger,
      );
      opts.logger?.info({ ...ca.info }, 'meshlite CA loaded from plugged-in certificates');
      return ca;
    }
    const ttl = validateTtl(opts.rootTtlSeconds, DEFAULT_ROOT_TTL_SECONDS, MAX_ROOT_TTL_SECONDS);
    if (!ttl.ok) throw new Error(`meshlite CA: root ${ttl.error}`);
    const stored = await loadOrCreateStoredRoot(opts.stateDir!, opts.trustDomain, ttl.value, opts.rootKeyAlgorithm ?? 'ecdsa-p256', now());
    if (!stored.ok) throw new Error(`meshlite CA: ${stored.error}`);
    const { signer, directory, created, looseKeyMode } = stored.value;
    if (looseKeyMode !== undefined) warnKeyMode(opts.logger, `${directory}/root-key.pem`, looseKeyMode);
    const ca = new CertificateAuthority(
      opts.trustDomain,
      signer,
      signer.root.pem,
      describeCa('self-signed', directory, signer),
      now,
      opts.logger,
    );
    opts.logger?.info({ ...ca.info }, created ? 'meshlite CA created a self-signed root' : 'meshlite CA loaded its self-signed root');
    return ca;
  }

  /** A self-signed CA whose root and key are kept elsewhere (the store); `source` names where, for /debug/ca. */
  static fromRootSigner(trustDomain: string, signer: Signer, source: string, opts: { now?: () => Date; logger?: CaLogger } = {}) {
    const domain = validateTrustDomain(trustDomain);
    if (!domain.ok) throw new Error(`meshlite CA: ${domain.error}`);
    const info = describeCa('self-signed', source, signer);
    return new CertificateAuthority(trustDomain, signer, signer.root.pem, info, opts.now ?? (() => new Date()), opts.logger);
  }

  /** An X.509-SVID for `identity` with a P-256 key generated here. */
  async issueWorkloadCertificate(identity: WorkloadIdentity, opts: IssueOptions = {}): Promise<IssueResult> {
    const request = this.#workloadRequest(identity, opts);
    if (!request.ok) return request.failure;
    const key = await generateKeyPair('ecdsa-p256');
    const result = signLeaf(this.#signer, key.spkiDer, workloadProfile(request.spiffeId), request.ttlSeconds, this.#now());
    if (!result.ok) return result;
    this.#logIssued(request.spiffeId, result, { ...opts, holder: opts.holder ?? request.spiffeId });
    return { ok: true, certificate: { ...result.certificate, privateKeyPem: privateKeyToPem(key.privateKey), spiffeId: request.spiffeId } };
  }

  /**
   * An X.509-SVID for `identity` (from the caller's authentication) on the
   * public key of a PKCS#10 CSR. The CSR must be signed by its key, which
   * must be ECDSA P-256 or RSA of at least 2048 bits; its subject, SANs and
   * extensions are ignored.
   */
  async signCsr(csrPem: string, identity: WorkloadIdentity, opts: IssueOptions = {}): Promise<IssueResult> {
    const request = this.#workloadRequest(identity, opts);
    if (!request.ok) return request.failure;
    const csr = checkCsr(csrPem);
    if (!csr.ok) return issueFailure('invalid-csr', csr.error);
    const result = signLeaf(this.#signer, csr.value.spkiDer, workloadProfile(request.spiffeId), request.ttlSeconds, this.#now());
    if (!result.ok) return result;
    this.#logIssued(request.spiffeId, result, opts);
    return { ok: true, certificate: { ...result.certificate, spiffeId: request.spiffeId } };
  }

  /** A serverAuth certificate with DNS and IP SANs (meshlite's own TLS listeners), P-256 key generated here. */
  async issueServerCertificate(dnsNames: readonly string[], ipAddresses: readonly string[], opts: IssueOptions = {}): Promise<IssueResult> {
    if (dnsNames.length + ipAddresses.length === 0)
      return issueFailure('invalid-request', 'a server certificate needs at least one DNS name or IP address');
    const badDns = dnsNames.find((n) => n.length > 253 || !DNS_NAME.test(n));
    if (badDns !== undefined) return issueFailure('invalid-request', `${JSON.stringify(badDns)} is not a valid DNS name`);
    // Node's isIP accepts IPv6 zone ids ("fe80::1%eth0"), which have no place in a certificate.
    const badIp = ipAddresses.find((a) => isIP(a) === 0 || a.includes('%'));
    if (badIp !== undefined) return issueFailure('invalid-request', `${JSON.stringify(badIp)} is not an IP address`);
    const ttl = validateTtl(opts.ttlSeconds, DEFAULT_WORKLOAD_TTL_SECONDS, MAX_WORKLOAD_TTL_SECONDS);
    if (!ttl.ok) return issueFailure('invalid-request', ttl.error);
    const names: SanEntry[] = [
      ...dnsNames.map((value) => ({ type: 'dns' as const, value })),
      ...ipAddresses.map((value) => ({ type: 'ip' as const, value })),
    ];
    const key = await generateKeyPair('ecdsa-p256');
    const result = signLeaf(this.#signer, key.spkiDer, { names, extendedKeyUsage: SERVER_USAGES }, ttl.value, this.#now());
    if (!result.ok) return result;
    this.#logger?.info(
      { dnsNames, ipAddresses, serialNumber: result.certificate.serialNumber, notAfter: result.certificate.notAfter },
      'meshlite CA issued a server certificate',
    );
    this.#record([...dnsNames, ...ipAddresses].join(','), result, opts);
    return { ok: true, certificate: { ...result.certificate, privateKeyPem: privateKeyToPem(key.privateKey) } };
  }

  /** Everything about a workload request that can be checked before any key work. */
  #workloadRequest(
    identity: WorkloadIdentity,
    opts: IssueOptions,
  ): { ok: true; spiffeId: string; ttlSeconds: number } | { ok: false; failure: IssueResult } {
    if (identity.trustDomain !== this.trustDomain) {
      return {
        ok: false,
        failure: issueFailure('invalid-identity', `trust domain "${identity.trustDomain}" is not this CA's ("${this.trustDomain}")`),
      };
    }
    const id = spiffeIdOf(identity);
    if (!id.ok) return { ok: false, failure: issueFailure('invalid-identity', id.error) };
    const ttl = validateTtl(opts.ttlSeconds, DEFAULT_WORKLOAD_TTL_SECONDS, MAX_WORKLOAD_TTL_SECONDS);
    if (!ttl.ok) return { ok: false, failure: issueFailure('invalid-request', ttl.error) };
    return { ok: true, spiffeId: id.value, ttlSeconds: ttl.value };
  }

  #logIssued(spiffeId: string, result: Extract<IssueResult, { ok: true }>, opts: IssueOptions): void {
    const { serialNumber, notAfter } = result.certificate;
    this.#logger?.info({ spiffeId, serialNumber, notAfter }, 'meshlite CA issued a workload certificate');
    this.#record(spiffeId, result, opts);
  }

  #record(subject: string, result: Extract<IssueResult, { ok: true }>, opts: IssueOptions): void {
    if (this.#issueListeners.size === 0) return;
    const record: IssuedRecord = {
      serialNumber: result.certificate.serialNumber,
      subject,
      holder: opts.holder,
      renewalOf: opts.renewalOf,
      rootFingerprintSha256: this.#signer.root.node.fingerprint256,
      issuedAt: this.#now(),
      notAfter: result.certificate.notAfter,
    };
    for (const listener of this.#issueListeners) listener(record);
  }
}

function workloadProfile(spiffeId: string): LeafProfile {
  return { names: [{ type: 'uri', value: spiffeId }], extendedKeyUsage: WORKLOAD_USAGES };
}

/** What /debug/ca and the logs say about a signing CA. */
export function describeCa(source: CaInfo['source'], directory: string, signer: Signer): CaInfo {
  return {
    source,
    directory,
    rootFingerprintSha256: signer.root.node.fingerprint256,
    rootSerialNumber: signer.root.cert.serialNumber,
    rootNotAfter: signer.root.cert.notAfter,
    signerFingerprintSha256: signer.certificate.node.fingerprint256,
    signerSerialNumber: signer.certificate.cert.serialNumber,
    signerNotAfter: signer.certificate.cert.notAfter,
  };
}

function warnKeyMode(logger: CaLogger | undefined, path: string, mode: number): void {
  logger?.warn({ path, mode: `0${mode.toString(8)}` }, 'CA private key file is readable by group or others; chmod 600 it');
}
