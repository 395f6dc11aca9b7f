// What a gateway Envoy really holds (its listener active, not warming, with
// these filter chains; these secrets served), and meshlite's view of the
// credentials it serves (/debug/credentialz).
import { setTimeout as sleep } from 'node:timers/promises';
import type { Envoy } from './envoy.js';
import { activeSecret, type Sections, waitForEnvoyConfig, warmingClusters } from './envoy-state.js';
import type { Meshlite } from './meshlite.js';

type Json = Record<string, any>;

/** A dynamic listener's states by name (undefined when Envoy has no such listener). */
export function dynamicListener(s: Sections, name: string): { active?: Json; warming?: Json } | undefined {
  const l = (s.ListenersConfigDump?.dynamic_listeners ?? []).find((x: Json) => x.name === name);
  return l ? { active: l.active_state?.listener, warming: l.warming_state?.listener } : undefined;
}

export interface GatewayExpectation {
  listener: string;
  /** Filter chain names of the active listener, in order. */
  chains: readonly string[];
  /** SDS secrets that must be active. */
  secrets?: readonly string[];
}

/** Check for waitForEnvoyConfig: the listener is active with exactly these chains, not warming, and its secrets are served. */
export function gatewayHolds(want: GatewayExpectation): (s: Sections) => string | undefined {
  return (s) => {
    const l = dynamicListener(s, want.listener);
    if (!l?.active) return `listener ${want.listener} is not active`;
    if (l.warming) return `listener ${want.listener} is warming (chains ${chainNames(l.warming).join(', ')})`;
    const chains = chainNames(l.active);
    if (chains.join('\n') !== want.chains.join('\n')) return `listener ${want.listener} has chains ${chains.join(', ')}`;
    for (const secret of want.secrets ?? []) if (!activeSecret(s, secret)) return `secret ${secret} is not active`;
    const warming = warmingClusters(s);
    if (warming.length > 0) return `clusters warming: ${warming.join(', ')}`;
    return undefined;
  };
}

export function chainNames(listener: Json | undefined): string[] {
  return (listener?.filter_chains ?? []).map((c: Json) => String(c.name));
}

export function waitForGateway(envoy: Envoy, want: GatewayExpectation, timeoutMs = 20_000): Promise<Sections> {
  return waitForEnvoyConfig(envoy, `${want.listener} with ${want.chains.join(', ')}`, gatewayHolds(want), timeoutMs);
}

export interface CredentialzReport {
  directory: string | null;
  credentials: {
    name: string;
    certificate?: { serialNumber: string; subjectAltNames: string[] };
    referencedBy: Record<string, string[]>;
    errors: string[];
  }[];
  missing: { secretName: string; reason: string; proxies: string[] }[];
}

/** Polls meshlite's /debug/credentialz until `check` returns undefined (or what is still missing). */
export async function waitForCredentialz(
  meshlite: Meshlite,
  what: string,
  check: (r: CredentialzReport) => string | undefined,
  timeoutMs = 15_000,
): Promise<CredentialzReport> {
  const deadline = Date.now() + timeoutMs;
  let last = 'nothing polled yet';
  for (;;) {
    try {
      const res = await fetch(`${meshlite.adminUrl}/debug/credentialz`, { signal: AbortSignal.timeout(3000) });
      const report = (await res.json()) as CredentialzReport;
      const missing = check(report);
      if (missing === undefined) return report;
      last = missing;
    } catch (err) {
      last = `admin not answering: ${(err as Error).message}`;
    }
    if (Date.now() > deadline) throw new Error(`credentialz: ${what} not reached after ${timeoutMs} ms: ${last}`);
    await sleep(50);
  }
}
