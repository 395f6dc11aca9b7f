// What `meshlite serve` refuses before it starts anything: plaintext ADS or
// an unauthenticated admin reachable from other hosts, and how it words a
// listener that cannot bind.
import { readFileSync, statSync } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';
import { splitHostPort } from '../server/listen-address.js';
import type { ListenFailure } from '../control-plane/start-meshlite.js';

/** 127.0.0.0/8, ::1 (also IPv4-mapped) and localhost. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (h === 'localhost' || h === 'localhost.') return true;
  if (isIPv4(h)) return h.startsWith('127.');
  if (isIPv6(h)) return h === '::1' || h === '0:0:0:0:0:0:0:1' || /^::ffff:127\./.test(h);
  return false;
}

export interface ServeSafetyInput {
  adsAddress: string;
  adminAddress: string;
  insecure: boolean;
  insecureAllowRemote: boolean;
  adminTokenFile?: string;
}

/** The reason serve must not start with these flags, or undefined. */
export function unsafeServeReason(flags: ServeSafetyInput): string | undefined {
  for (const [flag, address] of [
    ['--ads-address', flags.adsAddress],
    ['--admin-address', flags.adminAddress],
  ] as const) {
    try {
      splitHostPort(address);
    } catch {
      return `${flag} ${address} is not host:port`;
    }
  }
  if (flags.insecure && !flags.insecureAllowRemote && !isLoopbackHost(splitHostPort(flags.adsAddress).host)) {
    return `--insecure with --ads-address ${flags.adsAddress}, which is not a loopback address: any host that reaches it could claim any workload and get its private key; bind 127.0.0.1, or add --insecure-allow-remote if you really mean it`;
  }
  if (flags.adminTokenFile === undefined && !isLoopbackHost(splitHostPort(flags.adminAddress).host)) {
    return `--admin-address ${flags.adminAddress} is not a loopback address: pass --admin-token-file <file> (its token then guards /debug/*), or bind the admin to 127.0.0.1`;
  }
  return undefined;
}

/** The admin token: the file's content, trimmed. Throws a one-line reason. */
export function readAdminToken(path: string): { token: string; looseMode?: string } {
  let text: string;
  let mode: number;
  try {
    text = readFileSync(path, 'utf8');
    mode = statSync(path).mode & 0o777;
  } catch (err) {
    throw new Error(`--admin-token-file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const token = text.trim();
  if (token === '') throw new Error(`--admin-token-file ${path} is empty`);
  if (/\s/.test(token)) throw new Error(`--admin-token-file ${path}: the token must be one line without spaces`);
  return { token, ...((mode & 0o077) !== 0 ? { looseMode: `0${mode.toString(8)}` } : {}) };
}

const FLAGS = { ads: '--ads-address', admin: '--admin-address' } as const;

/** One line naming the flag to change. */
export function describeListenFailure(f: ListenFailure): string {
  const flag = FLAGS[f.listener];
  switch (f.code) {
    case 'EADDRINUSE':
      return `${flag} ${f.address} is already in use (EADDRINUSE); pass another ${flag}`;
    case 'EACCES':
      return `${flag} ${f.address}: permission denied (EACCES; ports below 1024 need privileges); pass another ${flag}`;
    case 'EADDRNOTAVAIL':
      return `${flag} ${f.address} is not an address of this host (EADDRNOTAVAIL); pass another ${flag}`;
    default:
      return `${flag} ${f.address}: ${f.message} (${f.code}); pass another ${flag}`;
  }
}
