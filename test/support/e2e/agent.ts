// Proxies run by `meshlite agent` for e2e tests: a token file and the CA root
// for first contact, the agent started with Envoy under it, and an Envoy
// handle whose admin URL the agent reports on its status endpoint.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { envoyOrThrow } from '../envoy-binary.js';
import { type Envoy, envoyAdmin } from './envoy.js';
import { CLI, meshliteCli } from './meshlite.js';
import { describeExit, type ManagedProcess, type ProcessManager } from './process-manager.js';

type Json = Record<string, any>;

export interface AgentOptions extends TokenSource {
  configDir: string;
  stateDir: string;
  /** meshlite's ADS `host:port` (several, comma-separated, for replicas). */
  adsAddress: string;
  /** `--ttl` of the token the agent starts with. */
  tokenTtl?: string;
  /** Extra Envoy options (after `--`). */
  envoyArgs?: readonly string[];
  /** Extra `meshlite agent` flags. */
  agentArgs?: readonly string[];
}

export interface AgentProxy extends Envoy {
  agent: ManagedProcess;
  statusUrl: string;
  workDir: string;
  /** The agent's own view: GET <status>/debug/agent. */
  status(): Promise<Json>;
  /** GET <status>/healthz/ready: HTTP status. */
  readiness(): Promise<number>;
}

/** Where an agent's token and first-contact root come from when not from `-c configDir --state-dir stateDir`. */
export interface TokenSource {
  /** `meshlite token` flags that say where the config and key are (e.g. `--store <url> --store-key-file f`). */
  tokenArgs?: readonly string[];
  /** meshlite's root certificate file; `<stateDir>/ca/root-cert.pem` otherwise. */
  rootCert?: string;
}

/**
 * A fresh token file for `proxyId` and the `meshlite agent` arguments every
 * test agent has (node binary first): control plane, token, meshlite's root,
 * work dir, a kernel-chosen status port.
 */
export async function agentArgs(
  pm: ProcessManager,
  proxyId: string,
  o: { configDir: string; stateDir: string; adsAddress: string; tokenTtl?: string } & TokenSource,
): Promise<{ args: string[]; workDir: string }> {
  const tokenFile = join(pm.dir, `${proxyId}.token`);
  const ttl = o.tokenTtl ? ['--ttl', o.tokenTtl] : [];
  const from = o.tokenArgs ?? ['-c', o.configDir, '--state-dir', o.stateDir];
  const token = (await meshliteCli(['token', ...from, '--proxy', proxyId, ...ttl])).trim();
  writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
  const workDir = join(pm.dir, `agent-${proxyId}`);
  const root = o.rootCert ?? join(o.stateDir, 'ca', 'root-cert.pem');
  const args = [CLI, 'agent', '--proxy', proxyId, '--control-plane', o.adsAddress, '--token-file', tokenFile, '--root-cert', root];
  return { args: [...args, '--work-dir', workDir, '--status-address', '127.0.0.1:0'], workDir };
}

/** Starts `meshlite agent` for `proxyId` and waits until it reports its Envoy ready. */
export async function startAgentProxy(pm: ProcessManager, proxyId: string, o: AgentOptions): Promise<AgentProxy> {
  const { args: common, workDir } = await agentArgs(pm, proxyId, o);
  const args = [
    ...common,
    '--envoy-bin',
    envoyOrThrow(),
    ...(o.agentArgs ?? []),
    '--',
    '-l',
    'warning',
    '--concurrency',
    '1',
    ...(o.envoyArgs ?? []),
  ];
  const agent = pm.start(`agent-${proxyId}`, process.execPath, args);
  const started = await agent.waitForLog(/"statusUrl":"(http:\/\/[^"]+)"/, 20_000);
  const statusUrl = started[1]!;
  const getStatus = async (path: string) => fetch(`${statusUrl}${path}`, { signal: AbortSignal.timeout(5000) });
  const status = async () => (await getStatus('/debug/agent')).json() as Promise<Json>;
  const deadline = Date.now() + 30_000;
  let adminUrl: string | undefined;
  for (;;) {
    if (!agent.running) throw new Error(`agent ${proxyId} exited (${describeExit(agent.exit!)})\n${agent.tail()}`);
    const s = await status().catch(() => undefined);
    adminUrl = s?.envoy?.adminUrl;
    if (adminUrl && (await getStatus('/healthz/ready').catch(() => undefined))?.status === 200) break;
    if (Date.now() > deadline) throw new Error(`agent ${proxyId}: not ready after 30 s: ${JSON.stringify(s)}\n${agent.tail()}`);
    await sleep(100);
  }
  return {
    name: proxyId,
    adminUrl,
    process: agent,
    agent,
    statusUrl,
    workDir,
    stop: async () => void (await agent.stop()),
    ...envoyAdmin(adminUrl),
    status,
    readiness: async () => (await getStatus('/healthz/ready')).status,
  };
}
