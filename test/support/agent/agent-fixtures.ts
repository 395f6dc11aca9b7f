// Helpers for the agent's tests: a logger that keeps its lines, an in-memory
// LocalSecrets, certificates from a real meshlite CA in the agent's shape,
// and polling with a deadline.
import { X509Certificate } from 'node:crypto';
import type { HeldCertificate, LocalSecrets } from '../../../src/agent/agent-types.js';
import type { CertificateAuthority } from '../../../src/ca/certificate-authority.js';

export interface LogLine {
  level: 'info' | 'warn' | 'error';
  fields: Record<string, unknown>;
  msg: string;
}

export interface RecordingLogger {
  lines: LogLine[];
  info(fields: object, msg?: string): void;
  warn(fields: object, msg?: string): void;
  error(fields: object, msg?: string): void;
  /** Every line as JSON, to search for what must never be logged. */
  text(): string;
  matching(re: RegExp): LogLine[];
}

export function recordingLogger(echo = false): RecordingLogger {
  const lines: LogLine[] = [];
  const add =
    (level: LogLine['level']) =>
    (fields: object, msg = '') => {
      lines.push({ level, fields: fields as Record<string, unknown>, msg });
      if (echo) console.error(`[${level}] ${msg} ${JSON.stringify(fields)}`);
    };
  return {
    lines,
    info: add('info'),
    warn: add('warn'),
    error: add('error'),
    text: () => lines.map((l) => JSON.stringify(l)).join('\n'),
    matching: (re) => lines.filter((l) => re.test(l.msg)),
  };
}

/** LocalSecrets whose content a test sets. */
export class MemorySecrets implements LocalSecrets {
  #held: HeldCertificate | undefined;
  #bundle = '';
  readonly #listeners = new Set<() => void>();

  certificate(): HeldCertificate | undefined {
    return this.#held;
  }
  trustBundlePem(): string {
    return this.#bundle;
  }
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
  set(held: HeldCertificate | undefined, bundle = this.#bundle): void {
    this.#held = held;
    this.#bundle = bundle;
    for (const l of this.#listeners) l();
  }
  /** Notifies without changing anything. */
  touch(): void {
    for (const l of this.#listeners) l();
  }
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----\n?/g;

export function pemCertificates(text: string): string[] {
  return text.match(PEM_CERTIFICATE) ?? [];
}

/** A workload certificate from `ca` (key made by the CA), held as the agent holds one. */
export async function heldFrom(ca: CertificateAuthority, namespace = 'foo', serviceAccount = 'sleep'): Promise<HeldCertificate> {
  const issued = await ca.issueWorkloadCertificate({ trustDomain: ca.trustDomain, namespace, serviceAccount });
  if (!issued.ok) throw new Error(issued.error);
  const chain = pemCertificates(issued.certificate.certChainPem);
  const { certificate } = issued;
  return {
    privateKeyPem: certificate.privateKeyPem!,
    certChainPem: chain.slice(0, -1).join(''),
    rootPem: chain[chain.length - 1]!,
    serialNumber: certificate.serialNumber,
    spiffeId: certificate.spiffeId!,
    notBefore: certificate.notBefore,
    notAfter: certificate.notAfter,
  };
}

export const serialOf = (pem: string): string => new X509Certificate(pem).serialNumber.toLowerCase();

/** Polls `check` every 20 ms until it holds; throws naming `what` after `timeoutMs`. */
export async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
