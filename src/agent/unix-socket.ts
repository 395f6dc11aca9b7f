// The Unix sockets Envoy reaches the agent on (ADS relay, SDS): only the
// agent's own user may connect (mode 0600), and a socket left behind by an
// agent that died is replaced, while one that still answers is not taken over.
import { chmodSync, lstatSync, rmSync } from 'node:fs';
import net from 'node:net';
import * as grpc from '@grpc/grpc-js';

/** Binds `server` to `path`; throws when another process serves it or it cannot be bound. */
export async function bindUnixSocket(server: grpc.Server, path: string): Promise<void> {
  await removeStaleSocket(path);
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`unix://${path}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
  );
  chmodSync(path, 0o600);
}

async function removeStaleSocket(path: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch {
    return; // nothing there
  }
  if (!isSocket) throw new Error(`${path} exists and is not a socket`);
  if (await answers(path)) throw new Error(`${path} is in use by another process`);
  rmSync(path, { force: true });
}

function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(path);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Stops `server` (ending its calls after `graceMs` at most) and removes its socket file. */
export async function closeUnixServer(server: grpc.Server, path: string, graceMs = 2000): Promise<void> {
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
  rmSync(path, { force: true });
}
