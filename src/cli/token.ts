import { Command } from 'commander';
import { DEFAULT_TOKEN_TTL_SECONDS, type IssuedToken } from '../identity/proxy-token.js';
import { addRevocations, readRevocations, type Revocation, revocationsPath } from '../identity/token-revocations.js';
import { addConfigSourceFlags, configSourceOrExit, type ConfigSourceFlags } from './config-source.js';
import { loadModelOrExit } from './load.js';
import { addStoreFlags, type StoreConnectionFlags } from './store-connection.js';
import { DEFAULT_STATE_DIR, durationOrExit, exitWith, loadTokenAuthority, requireMeshProxy, requireServeState } from './state.js';

const DEFAULT_TTL = `${DEFAULT_TOKEN_TTL_SECONDS / 86400}d`;

interface TokenOptions extends ConfigSourceFlags {
  proxy?: string;
  group?: string;
  stateDir: string;
  caDir?: string;
  ttl: string;
  json?: boolean;
  storeKeyFile?: string;
}

const STORE_PURPOSE = 'the store of a replicated meshlite (instead of --state-dir)';

export function tokenCommand(): Command {
  const token = addConfigSourceFlags(
    new Command('token')
      .description(
        "print an ADS bearer token for a proxy (signed with the key in the state directory, or with --store the store's shared key); its id goes to stderr",
      )
      .enablePositionalOptions(),
  )
    .option('--proxy <name.namespace>', 'the workload the token is for (this or --group is required)')
    .option('--group <name.namespace>', 'instead of --proxy: a WorkloadGroup whose agents register themselves with the token')
    .option('--state-dir <dir>', 'the state directory of meshlite serve (CA root, token key)', DEFAULT_STATE_DIR)
    .option('--ca-dir <dir>', 'plugged-in CA directory (Istio cacerts layout)')
    .option('--ttl <duration>', 'token lifetime; the stream it opens is closed when it expires', DEFAULT_TTL)
    .option('--json', 'print {token, jti, proxy, issuedAt, expiresAt} as JSON')
    .option('--store-key-file <file>', 'with --store: the key the replicas seal their keys with (serve --store-key-file)')
    .action(async (opts: TokenOptions) => {
      configSourceOrExit(opts, 'token');
      if ((opts.proxy === undefined) === (opts.group === undefined))
        exitWith("error: give exactly one of '--proxy <name.namespace>' or '--group <name.namespace>'");
      const ttl = durationOrExit('--ttl', opts.ttl);
      const issued = opts.group !== undefined ? await issueForGroup(opts, opts.group, ttl) : await issue(opts, opts.proxy!, ttl);
      const expiresAt = new Date(issued.expiresAt * 1000).toISOString();
      if (opts.json) {
        const out = {
          token: issued.token,
          jti: issued.tokenId,
          ...(opts.group !== undefined ? { group: opts.group } : { proxy: issued.workloadId }),
          issuedAt: new Date(issued.issuedAt * 1000).toISOString(),
          expiresAt,
        };
        process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
        return;
      }
      process.stdout.write(`${issued.token}\n`);
      const where = opts.store !== undefined ? `--store ${opts.store}` : `--state-dir ${opts.stateDir}`;
      process.stderr.write(
        `token id (jti) ${issued.tokenId} for ${opts.proxy ?? `group ${opts.group}`}, expires ${expiresAt}; revoke it with: meshlite token revoke --id ${issued.tokenId} ${where}\n`,
      );
    });
  token.addCommand(revokeCommand());
  token.addCommand(revocationsCommand());
  return token;
}

async function issue(opts: TokenOptions, proxy: string, ttl: number): Promise<IssuedToken> {
  const source = configSourceOrExit(opts, 'token');
  if (source.kind === 'store') {
    const { issueStoreToken } = await import('./store-token.js');
    return issueStoreToken({ flags: source.flags, storeKeyFile: opts.storeKeyFile, proxy, ttlSeconds: ttl });
  }
  const model = loadModelOrExit(opts.config!, opts.namespace);
  requireMeshProxy(model, proxy);
  const tokens = await loadTokenAuthority(opts.stateDir, opts.caDir);
  return tokens.issueToken(proxy, ttl);
}

async function issueForGroup(opts: TokenOptions, group: string, ttl: number): Promise<IssuedToken> {
  const source = configSourceOrExit(opts, 'token');
  if (source.kind === 'store') exitWith('meshlite token --group: group tokens are made from a state directory (not --store) for now');
  const model = loadModelOrExit(opts.config!, opts.namespace);
  const known = (model.config.workloadGroups ?? []).map((g) => `${g.meta.name}.${g.meta.namespace}`);
  if (!known.includes(group))
    exitWith(`meshlite token: no WorkloadGroup "${group}" in the config${known.length ? ` (known: ${known.join(', ')})` : ''}`);
  const tokens = await loadTokenAuthority(opts.stateDir, opts.caDir);
  return tokens.issueGroupToken(group, ttl);
}

function revokeCommand(): Command {
  return addStoreFlags(new Command('revoke'), false, STORE_PURPOSE)
    .description(
      'revoke one token (--id) or every token of a proxy issued up to now (--proxy); a running meshlite serve closes their streams within a second',
    )
    .option('--proxy <name.namespace>', 'revoke every token of this proxy issued up to now (tokens issued later stay valid)')
    .option('--id <jti>', 'revoke the token with this id (printed by `meshlite token`, shown in /debug/adsz)')
    .option('--state-dir <dir>', 'the state directory of meshlite serve', DEFAULT_STATE_DIR)
    .action(async (opts: StoreConnectionFlags & { proxy?: string; id?: string; stateDir: string }) => {
      if ((opts.proxy === undefined) === (opts.id === undefined))
        exitWith('meshlite token revoke: give exactly one of --proxy <name.namespace> or --id <jti>');
      if (opts.store === undefined) requireServeState(opts.stateDir, undefined);
      const revokedAt = new Date();
      const entry: Revocation =
        opts.proxy !== undefined
          ? { proxy: opts.proxy, issuedUpTo: Math.floor(revokedAt.getTime() / 1000), revokedAt: revokedAt.toISOString() }
          : { tokenId: opts.id!, revokedAt: revokedAt.toISOString() };
      const what = 'proxy' in entry ? `every token of ${entry.proxy} issued up to ${revokedAt.toISOString()}` : `token ${entry.tokenId}`;
      if (opts.store !== undefined) {
        const key = await (await import('./store-token.js')).revokeInStore({ ...opts, store: opts.store }, entry);
        process.stdout.write(`revoked ${what} (recorded in ${opts.store} as ${key}; every replica closes its streams)\n`);
        return;
      }
      try {
        await addRevocations(opts.stateDir, [entry]);
      } catch (err) {
        exitWith(`meshlite token revoke: ${(err as Error).message}`);
      }
      process.stdout.write(`revoked ${what} (recorded in ${revocationsPath(opts.stateDir)})\n`);
    });
}

function revocationsCommand(): Command {
  return addStoreFlags(new Command('revocations'), false, STORE_PURPOSE)
    .description('list the revoked tokens recorded in the state directory')
    .option('--state-dir <dir>', 'the state directory of meshlite serve', DEFAULT_STATE_DIR)
    .option('--json', 'print the entries as JSON')
    .action(async (opts: StoreConnectionFlags & { stateDir: string; json?: boolean }) => {
      const read =
        opts.store === undefined
          ? await readRevocations(opts.stateDir)
          : { ok: true as const, value: await (await import('./store-token.js')).storeRevocations({ ...opts, store: opts.store }) };
      if (!read.ok) exitWith(`meshlite token revocations: ${read.error}`);
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(read.value, null, 2)}\n`);
        return;
      }
      if (read.value.length === 0) process.stdout.write(`no revoked tokens in ${opts.store ?? revocationsPath(opts.stateDir)}\n`);
      for (const r of read.value) {
        const what =
          'proxy' in r ? `proxy ${r.proxy}\ttokens issued up to ${new Date(r.issuedUpTo * 1000).toISOString()}` : `id ${r.tokenId}`;
        process.stdout.write(`${what}\trevoked ${r.revokedAt}\n`);
      }
    });
}
