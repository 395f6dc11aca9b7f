// TLS to etcd: the credentials the gRPC client wants, read from the
// --store-tls-* files with errors that name the flag; and failures of a TLS
// connection said in words a user can act on instead of OpenSSL's.
import { readFileSync, statSync } from 'node:fs';
import { isIP } from 'node:net';

export interface StoreTlsFiles {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

export interface StoreTlsCredentials {
  rootCertificate: Buffer;
  certChain?: Buffer;
  privateKey?: Buffer;
}

/** Why these files cannot make credentials, or undefined. */
export function storeTlsProblem(tls: StoreTlsFiles): string | undefined {
  if ((tls.certFile === undefined) !== (tls.keyFile === undefined)) return '--store-tls-cert and --store-tls-key go together';
  return undefined;
}

/**
 * Undefined without files: the client then dials TLS for https endpoints with
 * the system's CAs, and plaintext for the rest. Throws one line naming the flag
 * of a file that cannot be read.
 */
export function storeTlsCredentials(tls: StoreTlsFiles | undefined): StoreTlsCredentials | undefined {
  if (!tls || (tls.caFile === undefined && tls.certFile === undefined && tls.keyFile === undefined)) return undefined;
  const problem = storeTlsProblem(tls);
  if (problem) throw new Error(problem);
  return {
    // No CA file means the system's CAs: the client falls back to them only when it gets no buffer at all.
    rootCertificate: (tls.caFile === undefined ? undefined : readPem('--store-tls-ca', tls.caFile)) as Buffer,
    certChain: tls.certFile === undefined ? undefined : readPem('--store-tls-cert', tls.certFile),
    privateKey: tls.keyFile === undefined ? undefined : readPem('--store-tls-key', tls.keyFile),
  };
}

/** Group or other may read the client key: worth a warning, not a refusal (the operator owns the file). */
export function looseKeyMode(keyFile: string | undefined): number | undefined {
  if (keyFile === undefined) return undefined;
  try {
    const mode = statSync(keyFile).mode & 0o777;
    return (mode & 0o077) !== 0 ? mode : undefined;
  } catch {
    return undefined;
  }
}

function readPem(flag: string, file: string): Buffer {
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
    throw new Error(`${flag} ${file}: ${why}`);
  }
  if (!data.includes('-----BEGIN ')) throw new Error(`${flag} ${file}: not a PEM file`);
  return data;
}

/**
 * A store error in one line. TLS failures (a member refusing our client
 * certificate, a member certificate we do not trust, one that does not name the
 * address dialled) become what to fix; anything else is its first line.
 */
export function explainStoreError(err: unknown, tls: boolean): string {
  const text = String((err as Error)?.message ?? err);
  const first = text
    .split('\n')[0]!
    .replace(/\. Resolution note:.*$/, '')
    .slice(0, 300);
  const failure = tlsFailure(err);
  if (failure) return failure;
  if (!tls && /failed to connect|no connection established/i.test(text))
    return `${first} (if the members serve TLS, use etcds:// with the --store-tls-* files)`;
  return first;
}

/** What to fix when the error is a failed TLS handshake with a member, else undefined. */
export function tlsFailure(err: unknown): string | undefined {
  const text = String((err as Error)?.message ?? err);
  const first = text.split('\n')[0]!.slice(0, 300);
  if (/alert (bad certificate|certificate required|unknown ca|certificate unknown)|alert number (42|46|48|116)/i.test(text))
    return 'etcd refused the TLS client certificate: give --store-tls-cert and --store-tls-key with one signed by a CA the members trust';
  if (/unable to verify|self[- ]signed certificate|unable to get local issuer|certificate signature failure/i.test(text))
    return "the etcd member's certificate is not signed by a trusted CA: give the CA that signed it with --store-tls-ca";
  const mismatch = /(?:Hostname\/)?IP(?: address)?:? ?(\S+) is not in the cert's list|does not match certificate's altnames/i.exec(text);
  if (mismatch) return `the etcd member's certificate does not name the address dialled (${first})`;
  if (/certificate has expired|certificate is not yet valid/i.test(text))
    return `the etcd member's certificate is not valid now (${first})`;
  if (/wrong version number|packet length too long/i.test(text))
    return `the etcd member does not speak TLS: use etcd:// if it serves plaintext (${first})`;
  return undefined;
}

const QUIET = Symbol.for('meshlite.quietIpServerName');

/**
 * gRPC passes the dialled host as the TLS server name, and Node warns
 * (DEP0123) when that is an IP address. etcd members are usually dialled by
 * IP, and the IP is still checked against the certificate's IP addresses: that
 * one warning is noise on every command, so it is dropped, once per process.
 */
export function quietIpServerNameWarning(endpoints: readonly string[]): void {
  const hostOf = (e: string) =>
    e
      .replace(/^https:\/\//, '')
      .replace(/:\d+$/, '')
      .replace(/^\[(.*)\]$/, '$1');
  const byIp = endpoints.some((e) => e.startsWith('https://') && isIP(hostOf(e)) !== 0);
  const current = process.emitWarning as typeof process.emitWarning & { [QUIET]?: true };
  if (!byIp || current[QUIET]) return;
  const quiet = ((warning: string | Error, ...rest: unknown[]) => {
    const code = typeof rest[0] === 'object' ? (rest[0] as { code?: string } | null)?.code : rest[1];
    if (code === 'DEP0123') return;
    (current as (...args: unknown[]) => void).call(process, warning, ...rest);
  }) as typeof process.emitWarning & { [QUIET]?: true };
  quiet[QUIET] = true;
  process.emitWarning = quiet;
}
