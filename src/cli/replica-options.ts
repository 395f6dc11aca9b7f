// `serve` flags naming this replica in the store (used only with --store).
import { type Command, InvalidArgumentError, Option } from 'commander';
import { parseDurationSeconds } from './duration.js';

export interface ReplicaFlags {
  replicaId?: string;
  advertiseAddress?: string;
  replicaLeaseSeconds: number;
}

function replicaId(value: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(value))
    throw new InvalidArgumentError('expected letters, digits, ".", "_" or "-" (at most 128), starting with a letter or digit');
  return value;
}

function hostPort(value: string): string {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(value);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) throw new InvalidArgumentError('expected host:port');
  return value;
}

function leaseSeconds(value: string): number {
  let seconds: number;
  try {
    seconds = parseDurationSeconds(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
  if (seconds < 2) throw new InvalidArgumentError('expected at least 2s');
  return seconds;
}

export function addReplicaOptions(command: Command): Command {
  return command
    .addOption(new Option('--replica-id <id>', "this replica's name in the store (default <hostname>-<ads port>)").argParser(replicaId))
    .addOption(
      new Option(
        '--advertise-address <host:port>',
        "where proxies and other replicas reach this replica's ADS (default the --ads-address; its host is this host's name when that is 0.0.0.0 or ::)",
      ).argParser(hostPort),
    )
    .addOption(
      new Option('--replica-lease <duration>', "a dead replica's entries leave the store this long after its last keepalive")
        .argParser(leaseSeconds)
        .default(10, '10s'),
    );
}

export function replicaFlagsFrom(opts: Record<string, unknown>): ReplicaFlags {
  return {
    replicaId: opts.replicaId as string | undefined,
    advertiseAddress: opts.advertiseAddress as string | undefined,
    replicaLeaseSeconds: opts.replicaLease as number,
  };
}
