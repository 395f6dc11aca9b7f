// Helpers of the root rotation tests: an SDS client that accepts (ACKs)
// everything meshlite pushes and keeps the latest secrets, a bare TLS
// handshake with meshlite's ADS port, and certificate fingerprints.
import { X509Certificate } from 'node:crypto';
import * as tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import type { RunningMeshlite } from '../../src/control-plane/start-meshlite.js';
import { decodeResource, SotwClient } from '../server/xds-client.js';

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g;

export const certificatesOf = (pem: string): X509Certificate[] => [...pem.matchAll(PEM_CERT)].map((m) => new X509Certificate(m[0]));
export const fingerprintsOf = (pem: string): string[] => certificatesOf(pem).map((c) => c.fingerprint256);

/** A proxy's SDS stream over TLS (trusting `rootPem`) that ACKs every response and keeps the latest of each secret. */
export class AckingSecrets {
  readonly client: grpc.Client;
  readonly stream: SotwClient;
  /** Secret name -> its JSON, as last received. */
  readonly latest = new Map<string, Record<string, any>>();
  responses = 0;

  private constructor(client: grpc.Client, stream: SotwClient, acks: number) {
    this.client = client;
    this.stream = stream;
    void this.#loop(acks);
  }

  /** `acks`: how many responses it accepts; after them it reads but accepts nothing more (a proxy that lags). */
  static async open(m: RunningMeshlite, proxy: string, rootPem: string, acks = Infinity): Promise<AckingSecrets> {
    const client = new grpc.Client(`127.0.0.1:${m.adsPort}`, grpc.credentials.createSsl(Buffer.from(rootPem)), {
      'grpc.ssl_target_name_override': 'meshlite',
      'grpc.use_local_subchannel_pool': 1,
    });
    const md = new grpc.Metadata();
    md.set('authorization', `Bearer ${await m.tokens!.issue(proxy)}`);
    const stream = new SotwClient(client, md);
    stream.request('secrets', { node: { id: proxy }, names: ['default', 'ROOTCA'] });
    return new AckingSecrets(client, stream, acks);
  }

  /** The PEM of the ROOTCA secret last received. */
  get trustedPem(): string {
    return this.latest.get('ROOTCA')?.validation_context?.trusted_ca?.inline_string ?? '';
  }

  /** The leaf of the `default` secret last received. */
  get leaf(): X509Certificate | undefined {
    const chain = this.latest.get('default')?.tls_certificate?.certificate_chain?.inline_string;
    return chain ? certificatesOf(chain)[0] : undefined;
  }

  close(): void {
    this.stream.close();
    this.client.close();
  }

  async #loop(acks: number): Promise<void> {
    for (;;) {
      let res: Awaited<ReturnType<SotwClient['next']>>;
      try {
        res = await this.stream.next(120_000);
      } catch {
        return; // the stream ended
      }
      for (const r of res.resources) this.latest.set(r.name, decodeResource('secrets', r.value));
      this.responses++;
      if (this.responses <= acks) this.stream.ack(res, ['default', 'ROOTCA']);
    }
  }
}

/** A TLS handshake with meshlite's ADS port as a client trusting only `rootPem`: the verdict and the chain served. */
export function adsHandshake(port: number, rootPem: string): Promise<{ verdict: string; chain: X509Certificate[] }> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername: 'meshlite', ca: rootPem, ALPNProtocols: ['h2'] });
    socket.once('secureConnect', () => {
      const chain: X509Certificate[] = [];
      let cert = socket.getPeerCertificate(true);
      const seen = new Set<string>();
      while (cert?.raw && !seen.has(cert.fingerprint256)) {
        seen.add(cert.fingerprint256);
        chain.push(new X509Certificate(cert.raw));
        cert = cert.issuerCertificate;
      }
      socket.destroy();
      resolve({ verdict: 'verified', chain });
    });
    socket.once('error', (err) => resolve({ verdict: `${(err as NodeJS.ErrnoException).code ?? ''} ${err.message}`, chain: [] }));
  });
}

/** Polls `check` until it holds (fails with `what` after `timeoutMs`); async checks allowed. */
export async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
