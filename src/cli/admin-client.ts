// Talking to a running `meshlite serve` through its admin server: the
// address, the bearer token (--admin-token-file, as serve reads it), and one
// line for every way a request can fail.
import { readAdminToken } from './serve-guards.js';
import { DEFAULT_ADMIN_ADDRESS, exitWith } from './state.js';

export interface AdminTargetOptions {
  adminAddress: string;
  adminTokenFile?: string;
}

export interface AdminClient {
  request(method: 'GET' | 'POST', path: string, body?: object): Promise<{ status: number; body: Record<string, unknown> }>;
}

export const ADMIN_ADDRESS_OPTION = ['--admin-address <host:port>', "meshlite serve's admin address", DEFAULT_ADMIN_ADDRESS] as const;
export const ADMIN_TOKEN_OPTION = [
  '--admin-token-file <path>',
  'file holding the admin bearer token (the one given to meshlite serve --admin-token-file)',
] as const;

/** A client for the admin server; exits with one line when the token file cannot be read. */
export function adminClient(command: string, opts: AdminTargetOptions): AdminClient {
  let token: string | undefined;
  try {
    if (opts.adminTokenFile !== undefined) token = readAdminToken(opts.adminTokenFile).token;
  } catch (err) {
    exitWith(`meshlite ${command}: ${(err as Error).message}`);
  }
  const base = `http://${opts.adminAddress}`;
  return {
    async request(method, path, body) {
      let res: Response;
      try {
        res = await fetch(`${base}${path}`, {
          method,
          headers: {
            ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(30_000),
        });
      } catch (err) {
        const cause = (err as { cause?: { code?: string; message?: string } }).cause;
        return exitWith(
          `meshlite ${command}: cannot reach meshlite's admin server at ${opts.adminAddress} (${cause?.code ?? cause?.message ?? (err as Error).message}); is meshlite serve running there (--admin-address)?`,
        );
      }
      const text = await res.text();
      let parsed: Record<string, unknown> = {};
      try {
        parsed = JSON.parse(text) as Record<string, unknown>;
      } catch {
        parsed = { error: text.slice(0, 200) };
      }
      if (res.status === 401)
        exitWith(
          `meshlite ${command}: the admin server refused the request (401): ${token === undefined ? 'pass --admin-token-file with the token of meshlite serve --admin-token-file' : 'the token in --admin-token-file is not the one meshlite serve uses'}`,
        );
      return { status: res.status, body: parsed };
    },
  };
}
