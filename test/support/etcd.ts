// Real etcd servers for the replicated-mode tests (Debian's etcd-server
// package; `.ci/run` installs it). Each test file passes an address of its own
// loopback block (`loopbackAddress(owner)`): member i of a cluster listens on
// 127.<block>.9.<i+1>, client port 2379, peer port 2380. Data lives in the process manager's temp directory,
// so a restarted member comes back with its data. With `tls`, members want TLS
// and a client certificate from clients and from each other.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { EtcdStore, type StoreTlsFiles } from '../../src/store/etcd-store.js';
import { parseStoreUrl } from '../../src/store/store-url.js';
import type { ManagedProcess, ProcessManager } from './e2e/process-manager.js';

export const ETCD_BIN = process.env.ETCD_BIN ?? '/usr/bin/etcd';

export function etcdInstalled(): boolean {
  return existsSync(ETCD_BIN);
}

export interface EtcdMember {
  name: string;
  clientUrl: string;
  process: ManagedProcess;
  /** SIGTERM and wait. */
  stop(): Promise<void>;
  /** SIGKILL and wait (a crash). */
  kill(): Promise<void>;
  /** Start again on the same address and data directory; resolves when it answers. */
  start(): Promise<void>;
}

/** PEM files for a cluster that requires mutual TLS; one CA signs them all. */
export interface EtcdTls {
  caFile: string;
  /** What every member presents to clients and peers: IP SANs of every member, server and client auth. */
  serverCert: string;
  serverKey: string;
  /** What the harness presents when it waits for the members to answer. */
  clientCert: string;
  clientKey: string;
}

export interface StartEtcdOptions {
  label?: string;
  tls?: EtcdTls;
}

export interface EtcdCluster {
  members: EtcdMember[];
  /** `h1:2379,h2:2379,...` for `--store etcd://...` (or `etcds://` with TLS). */
  hosts: string;
  storeUrl(prefix?: string): string;
  stopAll(): Promise<void>;
}

/** Starts `size` members (1 or 3) on 127.<block>.9.x and waits until the cluster answers reads. */
export async function startEtcd(
  pm: ProcessManager,
  blockAddress: string,
  size = 1,
  labelOrOptions: string | StartEtcdOptions = 'etcd',
): Promise<EtcdCluster> {
  const options = typeof labelOrOptions === 'string' ? { label: labelOrOptions } : labelOrOptions;
  const label = options.label ?? 'etcd';
  const tls = options.tls;
  const scheme = tls ? 'https' : 'http';
  // A lone member talks to no peer: its peer URL stays plain (etcd wants peer certificates for an https one).
  const peerScheme = tls && size > 1 ? 'https' : 'http';
  const block = blockAddress.split('.')[1];
  const hosts = Array.from({ length: size }, (_, i) => `127.${block}.9.${i + 1}`);
  const names = hosts.map((_, i) => `${label}${i + 1}`);
  const initialCluster = hosts.map((h, i) => `${names[i]}=${peerScheme}://${h}:2380`).join(',');
  const members: EtcdMember[] = hosts.map((host, i) => {
    const name = names[i]!;
    const clientUrl = `${scheme}://${host}:2379`;
    const args = [
      '--name',
      name,
      '--data-dir',
      join(pm.dir, `${name}.data`),
      '--listen-client-urls',
      clientUrl,
      '--advertise-client-urls',
      clientUrl,
      '--listen-peer-urls',
      `${peerScheme}://${host}:2380`,
      '--initial-advertise-peer-urls',
      `${peerScheme}://${host}:2380`,
      '--initial-cluster',
      initialCluster,
      '--initial-cluster-state',
      'new',
      '--initial-cluster-token',
      `meshlite-test-${block}`,
      '--heartbeat-interval',
      '50',
      '--election-timeout',
      '500',
      '--log-level',
      'warn',
      '--logger',
      'zap',
      ...(tls ? tlsArgs(tls, size > 1) : []),
    ];
    const member: EtcdMember = {
      name,
      clientUrl,
      process: pm.start(name, ETCD_BIN, args),
      async stop() {
        await member.process.stop();
      },
      async kill() {
        member.process.child.kill('SIGKILL');
        await member.process.exited;
      },
      async start() {
        if (member.process.running) return;
        member.process = pm.start(name, ETCD_BIN, args);
        await waitAnswering([clientUrl], member.process, undefined, tls);
      },
    };
    return member;
  });
  await waitAnswering(
    members.map((m) => m.clientUrl),
    members[0]!.process,
    undefined,
    tls,
  );
  return {
    members,
    hosts: hosts.map((h) => `${h}:2379`).join(','),
    storeUrl: (prefix = '/meshlite') => `${tls ? 'etcds' : 'etcd'}://${hosts.map((h) => `${h}:2379`).join(',')}${prefix}`,
    stopAll: async () => {
      await Promise.all(members.map((m) => m.stop()));
    },
  };
}

function tlsArgs(tls: EtcdTls, peers: boolean): string[] {
  const client = ['--cert-file', tls.serverCert, '--key-file', tls.serverKey, '--trusted-ca-file', tls.caFile, '--client-cert-auth'];
  const peer = [
    '--peer-cert-file',
    tls.serverCert,
    '--peer-key-file',
    tls.serverKey,
    '--peer-trusted-ca-file',
    tls.caFile,
    '--peer-client-cert-auth',
  ];
  return peers ? [...client, ...peer] : client;
}

/** Polls a linearizable read until the members answer it (a quorum exists); fails early if etcd exits. */
export async function waitAnswering(urls: string[], watched: ManagedProcess, timeoutMs = 20_000, tls?: EtcdTls): Promise<void> {
  const credentials = tls && {
    rootCertificate: readFileSync(tls.caFile),
    certChain: readFileSync(tls.clientCert),
    privateKey: readFileSync(tls.clientKey),
  };
  const client = new Etcd3({ hosts: urls, dialTimeout: 500, credentials });
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      if (!watched.running) throw new Error(`${watched.name} exited before answering\n${watched.tail()}`);
      try {
        await client.get('meshlite-test-probe').string();
        return;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`etcd at ${urls.join(',')} did not answer within ${timeoutMs} ms: ${String(err)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } finally {
    client.close();
  }
}

/**
 * A store connection to `cluster` under `prefix` (short deadlines for tests,
 * `tls` files for a TLS cluster), remembered in `opened` to be closed after.
 */
export function openTestStore(cluster: EtcdCluster, prefix: string, opened: EtcdStore[], tls?: StoreTlsFiles): EtcdStore {
  const store = new EtcdStore({ location: parseStoreUrl(cluster.storeUrl(prefix)), tls, callTimeoutMs: 1500 });
  opened.push(store);
  return store;
}
