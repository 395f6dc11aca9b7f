// Listen addresses (`host:port`) and the error for one that cannot be listened on,
// apart from the listener so the CLI can check flags without loading it.

/** The address could not be listened on; `code` is the system error (EADDRINUSE, EACCES, EADDRNOTAVAIL, ENOTFOUND). */
export class ListenError extends Error {
  constructor(
    readonly address: string,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Splits `host:port` (`[::1]:15010` too). */
export function splitHostPort(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  const host = address.slice(0, i).replace(/^\[(.*)\]$/, '$1');
  const port = Number(address.slice(i + 1));
  if (i < 0 || !Number.isInteger(port) || port < 0 || port > 65535) throw new ListenError(address, 'EINVAL', `${address} is not host:port`);
  return { host, port };
}
