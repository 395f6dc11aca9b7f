// The downstream side of the relay tests: an xDS client on the relay's Unix
// socket (what Envoy does), the same client straight to meshlite (what the
// relay must match), responses taken by type, and polling with a deadline.
import * as grpc from '@grpc/grpc-js';
import type { ResourceType } from '../../src/xds/type-urls.js';
import { SotwClient, type SotwResponse } from '../server/xds-client.js';
import type { TestMeshlite } from './relay-fixture.js';

export interface Downstream {
  sotw: SotwClient;
  close(): void;
}

/** A stream to the relay, as Envoy opens it: plaintext on the Unix socket, no credentials. */
export function relayStream(socketPath: string): Downstream {
  const client = new grpc.Client(`unix://${socketPath}`, grpc.credentials.createInsecure());
  const sotw = new SotwClient(client);
  return {
    sotw,
    close: () => {
      sotw.close();
      client.close();
    },
  };
}

/** A stream straight to meshlite for `proxy` (TLS, a token of its own). */
export async function meshliteStream(t: TestMeshlite, proxy: string): Promise<Downstream> {
  const client = new grpc.Client(`127.0.0.1:${t.port}`, grpc.credentials.createSsl(Buffer.from(t.m.ca.rootCertPem)), {
    'grpc.ssl_target_name_override': 'meshlite',
  });
  const md = new grpc.Metadata();
  md.set('authorization', `Bearer ${await t.m.tokens!.issue(proxy)}`);
  const sotw = new SotwClient(client, md);
  return {
    sotw,
    close: () => {
      sotw.close();
      client.close();
    },
  };
}

/** Responses by type: take() returns the next of one type, keeping the others for later. */
export class Inbox {
  private readonly kept: SotwResponse[] = [];
  constructor(private readonly client: SotwClient) {}

  async take(type: ResourceType, timeoutMs = 5000): Promise<SotwResponse> {
    const i = this.kept.findIndex((r) => r.type === type);
    if (i >= 0) return this.kept.splice(i, 1)[0]!;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${type} response within ${timeoutMs}ms`);
      const res = await this.client.next(left);
      if (res.type === type) return res;
      this.kept.push(res);
    }
  }
}

/** Polls `check` until it holds; fails with `what` after `timeoutMs`. */
export async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
