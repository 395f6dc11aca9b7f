// GET a JSON document from an admin server (meshlite's or an Envoy's) for the
// inspection commands: a server that does not answer is one line and exit 4,
// a refused token one line and exit 1.
import { readAdminToken } from './serve-guards.js';
import { EXIT } from './store-command.js';

export interface AdminTarget {
  /** e.g. http://127.0.0.1:15014 (no trailing slash). */
  base: string;
  token?: string;
  /** What the server is, for messages: "meshlite's admin server", "the Envoy admin". */
  what: string;
}

/** `http://host:port`, `https://...` or a bare `host:port`; one line and exit 2 for anything else. */
export function adminBase(command: string, value: string, flag: string): string {
  const withScheme = /^[a-z]+:\/\//i.test(value) ? value : `http://${value}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    return exitLine(`meshlite ${command}: ${flag} ${value} is not a URL or host:port`, EXIT.usage);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    exitLine(`meshlite ${command}: ${flag} ${value}: only http:// and https:// are supported`, EXIT.usage);
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/** The bearer token of `--admin-token-file`, or one line and exit 1. */
export function tokenFromFile(command: string, file: string | undefined): string | undefined {
  if (file === undefined) return undefined;
  try {
    return readAdminToken(file).token;
  } catch (err) {
    return exitLine(`meshlite ${command}: ${(err as Error).message}`, EXIT.refused);
  }
}

export interface JsonAnswer {
  status: number;
  body: unknown;
}

/** GET `path`; the parsed body with the status (an unparsable body becomes `{error: <text>}`). */
export async function getJson(command: string, target: AdminTarget, path: string): Promise<JsonAnswer> {
  const answer = await tryGetJson(command, target, path);
  if ('unreachable' in answer)
    return exitLine(`meshlite ${command}: cannot reach ${target.what} at ${target.base} (${answer.unreachable})`, EXIT.storeUnavailable);
  return answer;
}

/** As getJson, but a server that does not answer is a value (why), not an exit. */
export async function tryGetJson(command: string, target: AdminTarget, path: string): Promise<JsonAnswer | { unreachable: string }> {
  let res: Response;
  try {
    res = await fetch(`${target.base}${path}`, {
      headers: target.token === undefined ? {} : { authorization: `Bearer ${target.token}` },
      signal: AbortSignal.timeout(20_000),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    return { unreachable: cause?.code ?? cause?.message ?? (err as Error).message };
  }
  const text = await res.text();
  if (res.status === 401)
    exitLine(
      `meshlite ${command}: ${target.what} at ${target.base} refused the request (401): ${target.token === undefined ? 'pass --admin-token-file with the token of meshlite serve --admin-token-file' : 'the token in --admin-token-file is not the one meshlite serve uses'}`,
      EXIT.refused,
    );
  try {
    return { status: res.status, body: JSON.parse(text) as unknown };
  } catch {
    return { status: res.status, body: { error: text.slice(0, 300) } };
  }
}

/** The `error` field of an answer, or its status. */
export function answerError(answer: JsonAnswer): string {
  const error = (answer.body as { error?: unknown } | null)?.error;
  return typeof error === 'string' ? error : `HTTP ${answer.status}`;
}

export function exitLine(message: string, code: number): never {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}
