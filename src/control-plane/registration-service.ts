// Serves meshlite.v1.Registration on the ADS port (see registration-protocol.ts):
// an agent holding a WorkloadGroup token registers its host as a WorkloadEntry
// of that group, and reports its probe's verdict on the same stream.
import { isIP } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import type { ConfigSet, WorkloadProbe } from '../config/types.js';
import type { TokenAuthority } from '../identity/proxy-token.js';
import type { RevocationList } from '../identity/token-revocations.js';
import type { AdsServer } from '../server/ads-server.js';
import { REGISTRATION_SERVICE_DEFINITION, type RegistrationRequest, type RegistrationResponse } from '../server/registration-protocol.js';
import type { Logger } from '../util/logger.js';
import type { AutoRegistrations } from './auto-registration.js';

export interface RegistrationServiceDeps {
  ads: AdsServer;
  registrations: AutoRegistrations;
  /** Undefined in the explicit insecure mode: the group named is believed. */
  tokens: TokenAuthority | undefined;
  revocations(): RevocationList | undefined;
  config(): ConfigSet | undefined;
  logger: Logger;
}

type Call = grpc.ServerDuplexStream<RegistrationRequest, RegistrationResponse>;

export function mountRegistrationService(deps: RegistrationServiceDeps): void {
  deps.ads.addService(REGISTRATION_SERVICE_DEFINITION, { Register: (call: Call) => serve(call, deps) });
}

function serve(call: Call, deps: RegistrationServiceDeps): void {
  let workloadId: string | undefined;
  let ended = false;
  const end = (code?: grpc.status, details?: string) => {
    if (ended) return;
    ended = true;
    if (workloadId) deps.registrations.release(workloadId);
    if (code !== undefined) {
      deps.logger.warn({ peer: call.getPeer(), code: grpc.status[code], reason: details }, 'refused a workload registration');
      call.emit('error', { code, details });
    } else call.end();
  };
  call.on('data', (request: RegistrationRequest) => {
    if (ended) return;
    if (workloadId === undefined) {
      void first(call, request, deps).then(
        (result) => {
          if (!result.ok) return end(result.code, result.message);
          if (ended) return deps.registrations.release(result.workloadId);
          workloadId = result.workloadId;
          call.write({ workloadId, ...(result.probe ? { probe: result.probe } : {}) });
        },
        (err) => end(grpc.status.INTERNAL, String(err)),
      );
      return;
    }
    const health = request.health;
    if (!health || typeof health.healthy !== 'boolean')
      return end(grpc.status.INVALID_ARGUMENT, 'after the first message only {"health": {"healthy": bool}} is expected');
    const message = typeof health.message === 'string' ? health.message.slice(0, 512) : undefined;
    deps.registrations.reportHealth(workloadId, health.healthy, message);
  });
  call.on('end', () => end());
  call.on('error', () => end());
  call.on('cancelled', () => end());
}

type First = { ok: true; workloadId: string; probe?: WorkloadProbe } | { ok: false; code: grpc.status; message: string };

async function first(call: Call, request: RegistrationRequest, deps: RegistrationServiceDeps): Promise<First> {
  const { group, address } = request;
  if (typeof group !== 'string' || typeof address !== 'string')
    return { ok: false, code: grpc.status.INVALID_ARGUMENT, message: 'the first message must carry "group" and "address"' };
  if (isIP(address) === 0)
    return { ok: false, code: grpc.status.INVALID_ARGUMENT, message: `"address" must be an IP address, got ${JSON.stringify(address)}` };
  if (deps.tokens) {
    const header = call.metadata.get('authorization')[0];
    const token = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice('Bearer '.length).trim() : '';
    if (!token)
      return { ok: false, code: grpc.status.UNAUTHENTICATED, message: 'no bearer token (create one with `meshlite token --group`)' };
    const check = await deps.tokens.verify(token);
    if (!check.ok) return { ok: false, code: grpc.status.UNAUTHENTICATED, message: `invalid token: ${check.reason}` };
    if (check.group !== group)
      return {
        ok: false,
        code: grpc.status.PERMISSION_DENIED,
        message: check.group ? `the token is for WorkloadGroup "${check.group}", not "${group}"` : 'the token is not a WorkloadGroup token',
      };
    const revoked = deps.revocations()?.revokedReason(check);
    if (revoked) return { ok: false, code: grpc.status.UNAUTHENTICATED, message: `token revoked: ${revoked}` };
  }
  const registered = deps.registrations.register(deps.config(), group, address);
  const probe = deps.config()?.workloadGroups?.find((g) => `${g.meta.name}.${g.meta.namespace}` === group)?.spec.probe;
  return registered.ok ? { ...registered, probe } : { ok: false, code: grpc.status.FAILED_PRECONDITION, message: registered.reason };
}
