// `meshlite ca rotate-root`: asks a running serve to rotate its CA root
// (POST /ca/rotate-root on the admin server), prints the phase, and with
// --wait follows the phases until the rotation is done.
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Command } from 'commander';
import { ADMIN_ADDRESS_OPTION, ADMIN_TOKEN_OPTION, type AdminTargetOptions, adminClient } from './admin-client.js';
import { fetchRotation, formatRotation, type RotationView } from './ca-status.js';
import { parseDurationMillis } from './duration.js';
import { exitWith } from './state.js';

interface RotateRootOptions extends AdminTargetOptions {
  newCaDir?: string;
  phaseTimeout: string;
  wait?: boolean;
  pollInterval: string;
}

export function caRotateRootCommand(): Command {
  return new Command('rotate-root')
    .description(
      'rotate the CA root of a running meshlite serve under traffic: trust both roots, sign with the new one, then drop the old one',
    )
    .option('--new-ca-dir <dir>', 'the next CA in the cacerts layout (required with serve --ca-dir; else meshlite makes a new root)')
    .option(...ADMIN_ADDRESS_OPTION)
    .option(...ADMIN_TOKEN_OPTION)
    .option(
      '--phase-timeout <duration>',
      'sign with the new root after this even if some connected proxies did not accept the new trust bundle',
      '5m',
    )
    .option('--wait', 'follow the phases until the rotation is done')
    .option('--poll-interval <duration>', 'how often --wait asks meshlite', '1s')
    .action(async (opts: RotateRootOptions) => {
      const phaseTimeoutMs = millisOrExit('--phase-timeout', opts.phaseTimeout);
      const pollMs = millisOrExit('--poll-interval', opts.pollInterval);
      const body = { ...(opts.newCaDir ? { newCaDir: resolve(opts.newCaDir) } : {}), phaseTimeoutMs };
      const res = await adminClient('ca rotate-root', opts).request('POST', '/ca/rotate-root', body);
      if (res.status !== 202) exitWith(`meshlite ca rotate-root: ${String(res.body.error ?? `admin server answered ${res.status}`)}`);
      const started = res.body as unknown as RotationView;
      process.stdout.write(`root rotation started\n${formatRotation(started)}`);
      if (opts.wait) await follow(opts, started.phase, pollMs);
    });
}

/** Prints each phase change until done; exits 1 if the rotation vanishes. */
async function follow(opts: RotateRootOptions, first: string, pollMs: number): Promise<void> {
  let last = first;
  while (last !== 'done') {
    await sleep(pollMs);
    const { rotation } = await fetchRotation('ca rotate-root', opts);
    if (rotation.phase === last) continue;
    if (rotation.phase === 'idle')
      exitWith('meshlite ca rotate-root: the rotation is gone (was meshlite serve restarted with another state directory?)');
    last = rotation.phase;
    process.stdout.write(`\n${formatRotation(rotation)}`);
  }
}

function millisOrExit(flag: string, text: string): number {
  try {
    return parseDurationMillis(text);
  } catch (err) {
    return exitWith(`${flag}: ${(err as Error).message}`);
  }
}
