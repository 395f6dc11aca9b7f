// The CA's admin endpoints: GET /debug/ca (the signing CA, its roots and
// any root rotation) and POST /ca/rotate-root (starts one). Both sit behind
// the admin token when serve has one, like every endpoint but the open three.
import type { FastifyInstance } from 'fastify';
import type { CertificateAuthority } from '../ca/certificate-authority.js';

export interface RotateRootRequest {
  /** The next CA's directory (cacerts layout); absolute, as serve reads it. */
  newCaDir?: string;
  /** trust-both gives way after this even if some proxies lag; the server's default when undefined. */
  phaseTimeoutMs?: number;
}

export type RotateRootOutcome = { ok: true; status: object } | { ok: false; httpStatus: 400 | 409; error: string };

/** A root rotation as the admin server drives and shows it. */
export interface AdminRootRotation {
  status(): object;
  start(request: RotateRootRequest): Promise<RotateRootOutcome>;
}

export interface CaRouteDeps {
  ca: CertificateAuthority;
  insecure: boolean;
  rootRotation?: AdminRootRotation;
}

/** The longest phase timeout a request may ask for: a week. */
const MAX_PHASE_TIMEOUT_MS = 7 * 24 * 3600 * 1000;

export function registerCaRoutes(app: FastifyInstance, deps: CaRouteDeps): void {
  app.get('/debug/ca', async () => ({
    ...deps.ca.info,
    trustDomain: deps.ca.trustDomain,
    insecureAds: deps.insecure,
    ...(deps.rootRotation ? { rotation: deps.rootRotation.status() } : {}),
  }));

  app.post('/ca/rotate-root', async (req, reply) => {
    if (!deps.rootRotation) return reply.code(404).send({ error: 'this meshlite cannot rotate its CA root' });
    const request = parseRequest(req.body);
    if (typeof request === 'string') return reply.code(400).send({ error: request });
    const outcome = await deps.rootRotation.start(request);
    if (!outcome.ok) return reply.code(outcome.httpStatus).send({ error: outcome.error });
    return reply.code(202).send(outcome.status);
  });
}

/** The request body, or why it is not one. */
function parseRequest(body: unknown): RotateRootRequest | string {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) return 'the body must be a JSON object';
  const { newCaDir, phaseTimeoutMs, ...rest } = body as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) return `unknown field ${JSON.stringify(unknown[0])} (expected newCaDir, phaseTimeoutMs)`;
  if (newCaDir !== undefined && (typeof newCaDir !== 'string' || !newCaDir.startsWith('/')))
    return 'newCaDir must be an absolute directory path';
  if (
    phaseTimeoutMs !== undefined &&
    (!Number.isInteger(phaseTimeoutMs) || (phaseTimeoutMs as number) < 0 || (phaseTimeoutMs as number) > MAX_PHASE_TIMEOUT_MS)
  )
    return `phaseTimeoutMs must be a whole number of milliseconds from 0 to ${MAX_PHASE_TIMEOUT_MS}`;
  return { newCaDir: newCaDir as string | undefined, phaseTimeoutMs: phaseTimeoutMs as number | undefined };
}
