// `meshlite authz check <proxy> --from <who>`: would this proxy let this
// client's request in? Offline from the config (-c / --store), or against
// what a running meshlite serves (--meshlite-admin). Exit 0 allowed, 1 denied
// (or an error), 2 usage.
import { Command, Option } from 'commander';
import type { MeshModel } from '../model/mesh-model.js';
import {
  type CheckRequest,
  type CheckResult,
  checkAuthz,
  type PolicyRef,
  resolveClient,
  serviceAuthority,
} from '../inspect/authz-check.js';
import { inboundPorts } from '../inspect/inbound-listeners.js';
import { dumpProxyConfig } from '../translate/proxy-config-dump.js';
import { adminClient } from './admin-client.js';
import { addConfigSourceFlags, type ConfigSourceFlags, loadModelFromSourceOrExit } from './config-source.js';
import { collect } from './load.js';

interface CheckFlags extends ConfigSourceFlags {
  from: string;
  method: string;
  path: string;
  header?: string[];
  host?: string;
  sni?: string;
  port?: string;
  jwtClaims?: string;
  output: 'text' | 'json';
  meshliteAdmin?: string;
  adminTokenFile?: string;
}

const COMMAND = 'meshlite authz check';

function usage(message: string): never {
  process.stderr.write(`${COMMAND}: ${message}\n`);
  process.exit(2);
}

function fail(message: string): never {
  process.stderr.write(`${COMMAND}: ${message}\n`);
  process.exit(1);
}

/** Commander's own errors (unknown flag, missing argument) as one line naming the command; main.ts makes them exit 2. */
function oneLineErrors(command: Command): Command {
  return command.configureOutput({ outputError: (text, write) => write(`${COMMAND}: ${text.replace(/^error: /, '')}`) });
}

function parseRequest(opts: CheckFlags): CheckRequest {
  const headers: Record<string, string> = {};
  for (const h of opts.header ?? []) {
    const eq = h.indexOf('=');
    if (eq <= 0) usage(`--header ${h}: give name=value`);
    headers[h.slice(0, eq).trim().toLowerCase()] = h.slice(eq + 1);
  }
  let port: number | undefined;
  if (opts.port !== undefined) {
    port = /^\d+$/.test(opts.port) ? Number(opts.port) : NaN;
    if (!(port >= 1 && port <= 65535)) usage(`--port ${opts.port}: not a port number`);
  }
  let jwtPayload: Record<string, unknown> | undefined;
  if (opts.jwtClaims !== undefined) {
    try {
      jwtPayload = JSON.parse(opts.jwtClaims) as Record<string, unknown>;
    } catch (err) {
      usage(`--jwt-claims: not JSON (${(err as Error).message})`);
    }
    if (typeof jwtPayload !== 'object' || jwtPayload === null || Array.isArray(jwtPayload)) usage('--jwt-claims: give a JSON object');
  }
  if (!opts.path.startsWith('/')) usage(`--path ${opts.path}: a path starts with /`);
  return {
    method: opts.method.toUpperCase(),
    path: opts.path,
    headers,
    ...(opts.host ? { host: opts.host } : {}),
    ...(opts.sni ? { serverName: opts.sni } : {}),
    ...(port !== undefined ? { port } : {}),
    ...(jwtPayload ? { jwtPayload } : {}),
  };
}

async function liveDump(opts: CheckFlags, proxy: string): Promise<unknown> {
  const address = opts.meshliteAdmin!.replace(/^https?:\/\//, '').replace(/\/+$/, '');
  const client = adminClient('authz check', { adminAddress: address, adminTokenFile: opts.adminTokenFile });
  const res = await client.request('GET', `/debug/config_dump?proxy=${encodeURIComponent(proxy)}`);
  if (res.status !== 200) fail(`meshlite at ${address} has no config for "${proxy}": ${String(res.body.error ?? res.status)}`);
  return res.body;
}

const where = (r: PolicyRef) =>
  `AuthorizationPolicy ${r.namespace}/${r.name}${r.custom ? ' (CUSTOM)' : ''}, rule ${r.rule}${r.source ? ` (${r.source.file}:${r.source.line})` : ''}`;

function clientText(r: CheckResult): string {
  const c = r.client;
  if (c.kind === 'none') return 'a client without a mesh identity';
  if (c.kind === 'principal') return c.principal;
  if (!c.principal) return `${c.id} (no sidecar: plaintext)`;
  return r.connection === 'mTLS' ? `${c.id} (${c.principal})` : `${c.id} (its sidecar's config sends ${r.connection} here)`;
}

export function formatCheck(r: CheckResult): string {
  const lines = [`${r.verdict === 'allow' ? 'ALLOW' : 'DENY'}  ${clientText(r)} -> ${r.proxy} port ${r.port}, ${r.connection}`];
  if (r.refused) return `${[...lines, `  ${r.refused}`].join('\n')}\n`;
  if (r.request) {
    lines.push(`  request: ${r.request.method} ${r.request.path} (host ${r.request.host})`);
    const seen = r.request.asEnvoySees;
    if (seen) lines.push(`  as Envoy sees it after normalization: ${seen.path} (host ${seen.host})`);
  } else lines.push('  TCP connection');
  lines.push(`  ${r.reason}`);
  if (r.decision?.decidedBy)
    lines.push(`  filter: ${r.decision.decidedBy.filter} (${r.decision.decidedBy.action}) on chain ${r.chain ?? '?'}`);
  if (r.policy) lines.push(`  policy: ${where(r.policy)}`);
  const candidates = r.candidates ?? [];
  if (candidates.length > 0) lines.push(`  ALLOW rules here, none matching: ${candidates.map(where).join('; ')}`);
  for (const s of r.shadow ?? []) {
    const name = s.policyRef ? where(s.policyRef) : (s.policy ?? 'no policy matched');
    lines.push(
      `  dry-run ${s.action}: would ${s.wouldDeny ? 'deny' : 'allow'} (${name})${s.undetermined ? ` [cannot evaluate: ${s.undetermined}]` : ''}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

async function runCheck(proxy: string, opts: CheckFlags): Promise<void> {
  const req = parseRequest(opts);
  const offline = (opts.config?.length ?? 0) > 0 || opts.store !== undefined;
  if (!offline && !opts.meshliteAdmin)
    usage('give the config with -c <path> or --store <url>, or a running meshlite with --meshlite-admin <url>');
  const model: MeshModel | undefined = offline ? await loadModelFromSourceOrExit(opts, 'authz check') : undefined;
  let dump: unknown;
  if (opts.meshliteAdmin) dump = await liveDump(opts, proxy);
  else {
    const r = dumpProxyConfig(model!, proxy);
    if (!r.ok) fail(r.error);
    dump = r.dump;
  }
  const client = resolveClient(opts.from, model, proxy);
  if (!client.ok) usage(client.error);
  if (req.host === undefined && model) {
    const ports = inboundPorts(dump);
    const port = req.port ?? (ports.length === 1 ? ports[0] : undefined);
    const authority = port === undefined ? undefined : serviceAuthority(model, proxy, port);
    if (authority) req.host = authority;
  }
  let result: ReturnType<typeof checkAuthz>;
  try {
    result = checkAuthz(dump, proxy, client.value, req, model?.config.authorizationPolicies ?? []);
  } catch (err) {
    // A config shape the evaluator trips over: one line, and no verdict (never an allow).
    fail(`cannot evaluate ${proxy}'s config: ${(err as Error).message}`);
  }
  if (!result.ok) usage(result.error);
  process.stdout.write(opts.output === 'json' ? `${JSON.stringify(result.value, null, 2)}\n` : formatCheck(result.value));
  process.exitCode = result.value.verdict === 'allow' ? 0 : 1;
}

export function authzCommand(): Command {
  const check = addConfigSourceFlags(
    new Command('check')
      .description(
        "would <proxy>'s inbound side let this request in? Evaluates its Envoy RBAC filters offline (exit 0 allow, 1 deny, 2 usage)",
      )
      .argument('<proxy>', 'the receiving proxy, <name>.<namespace> as `meshlite proxies` lists it'),
  )
    .requiredOption(
      '--from <who>',
      'the client: a workload (<ns>/<name> or <name>.<ns>), a principal (spiffe://td/ns/x/sa/y or td/ns/x/sa/y), or none',
    )
    .option('--method <method>', 'HTTP method', 'GET')
    .option('--path <path>', 'HTTP path, with query', '/')
    .option('--header <name=value>', 'a request header (repeatable)', collect)
    .option('--host <authority>', "the request's :authority (default: the service host and port a mesh client uses)")
    .option('--sni <name>', 'the SNI the client sends (with --from none: TLS without a client certificate, as to a gateway TLS port)')
    .option('--port <port>', "the proxy's inbound (target) port; default: its only one")
    .option('--jwt-claims <json>', "a verified JWT's payload, as a JSON object")
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
    .option(
      '--meshlite-admin <url>',
      'check what a running meshlite serves (its admin address); the client still resolves from -c/--store when given',
    )
    .option('--admin-token-file <path>', 'file holding the admin bearer token (the one given to meshlite serve --admin-token-file)')
    .action(runCheck);
  return oneLineErrors(new Command('authz').description('access-control tools')).addCommand(oneLineErrors(check));
}
