// The whole `meshlite serve` composition (startMeshlite) in-process: ADS over
// TLS with per-proxy tokens, and SDS secrets from the built-in CA that carry
// exactly the connecting proxy's identity.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CertificateAuthority } from '../../src/ca/certificate-authority.js';
import { type RunningMeshlite, startMeshlite } from '../../src/control-plane/start-meshlite.js';
import { EXAMPLES_DIR } from '../support/paths.js';
import { decodeResource, eventually, SotwClient, type SotwResponse } from './xds-client.js';

const SLEEP_FOO_ID = 'spiffe://cluster.local/ns/foo/sa/sleep';

async function withMeshlite(
  certTtlSeconds: number | undefined,
  body: (m: RunningMeshlite, stateDir: string) => Promise<void>,
): Promise<void> {
  const stateDir = mkdtempSync(join(tmpdir(), 'meshlite-tls-'));
  let running: RunningMeshlite | undefined;
  try {
    running = await startMeshlite({
      configPaths: [join(EXAMPLES_DIR, 's1-auto-mtls')],
      stateDir,
      adsAddress: '127.0.0.1:0',
      adminAddress: '127.0.0.1:0',
      insecure: false,
      certTtlSeconds,
      logger: pino({ level: 'silent' }),
    });
    await body(running, stateDir);
  } finally {
    await running?.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

function tlsClient(m: RunningMeshlite, rootPem = m.ca.rootCertPem): grpc.Client {
  return new grpc.Client(`127.0.0.1:${m.adsPort}`, grpc.credentials.createSsl(Buffer.from(rootPem)), {
    'grpc.ssl_target_name_override': 'meshlite',
  });
}

async function streamFor(client: grpc.Client, m: RunningMeshlite, proxy: string): Promise<SotwClient> {
  const md = new grpc.Metadata();
  md.set('authorization', `Bearer ${await m.tokens!.issue(proxy)}`);
  return new SotwClient(client, md);
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

interface SecretView {
  name: string;
  certificates: X509Certificate[];
  privateKeyPem?: string;
  trustedCaPem?: string;
}

function secretsOf(res: SotwResponse): SecretView[] {
  assert.is(res.type, 'secrets');
  return res.resources.map((r) => {
    const json = decodeResource('secrets', r.value);
    const chain: string = json.tls_certificate?.certificate_chain?.inline_string ?? '';
    const trusted: string | undefined = json.validation_context?.trusted_ca?.inline_string;
    return {
      name: String(json.name),
      certificates: [...(chain + (trusted ?? '')).matchAll(PEM_CERT)].map((m) => new X509Certificate(m[0])),
      privateKeyPem: json.tls_certificate?.private_key?.inline_string,
      trustedCaPem: trusted,
    };
  });
}

function uriSans(cert: X509Certificate): string[] {
  return (cert.subjectAltName ?? '')
    .split(', ')
    .filter((s) => s.startsWith('URI:'))
    .map((s) => s.slice(4));
}

test('TLS ADS: a plaintext client, or a TLS client trusting another root, is refused', () =>
  withMeshlite(undefined, async (m) => {
    const otherDir = mkdtempSync(join(tmpdir(), 'meshlite-tls-other-'));
    const plain = new grpc.Client(`127.0.0.1:${m.adsPort}`, grpc.credentials.createInsecure());
    let wrongRoot: grpc.Client | undefined;
    const streams: SotwClient[] = [];
    try {
      const s1 = await streamFor(plain, m, 'sleep.foo');
      streams.push(s1);
      s1.request('clusters', { node: { id: 'sleep.foo' } });
      const end1 = await s1.raw.endWithin();
      assert.is(grpc.status[end1.code], 'UNAVAILABLE', end1.details);

      const other = await CertificateAuthority.loadOrCreate({ stateDir: otherDir, trustDomain: 'cluster.local' });
      wrongRoot = tlsClient(m, other.rootCertPem);
      const s2 = await streamFor(wrongRoot, m, 'sleep.foo');
      streams.push(s2);
      s2.request('clusters', { node: { id: 'sleep.foo' } });
      const end2 = await s2.raw.endWithin();
      assert.is(grpc.status[end2.code], 'UNAVAILABLE', end2.details);
      assert.is(s1.raw.pending + s2.raw.pending, 0);
    } finally {
      for (const s of streams) s.close();
      plain.close();
      wrongRoot?.close();
      rmSync(otherDir, { recursive: true, force: true });
    }
  }));

test('TLS ADS: with the right root and token, sleep.foo gets config and an SDS certificate for its own SPIFFE id only', () =>
  withMeshlite(undefined, async (m) => {
    const client = tlsClient(m);
    const s = await streamFor(client, m, 'sleep.foo');
    try {
      s.request('clusters', { node: { id: 'sleep.foo', cluster: 'sleep.foo' } });
      const cds = await s.next();
      assert.ok(cds.names.includes('outbound|8000||httpbin.bar.svc.cluster.local'), cds.names.join(', '));
      s.request('secrets', { names: ['default', 'ROOTCA'] });
      const sds = await s.next();
      const secrets = secretsOf(sds);
      assert.equal(secrets.map((x) => x.name).sort(), ['ROOTCA', 'default']);
      const own = secrets.find((x) => x.name === 'default')!;
      const leaf = own.certificates[0]!;
      assert.equal(uriSans(leaf), [SLEEP_FOO_ID], `the only URI SAN (${leaf.subjectAltName})`);
      assert.not.ok(leaf.ca, 'a leaf certificate');
      const root = new X509Certificate(m.ca.rootCertPem);
      assert.ok(leaf.verify(root.publicKey), 'signed by the meshlite root');
      assert.ok(leaf.checkPrivateKey(createPrivateKey(own.privateKeyPem!)), 'with its own private key');
      const trust = secrets.find((x) => x.name === 'ROOTCA')!;
      assert.is(trust.trustedCaPem, m.ca.rootCertPem);
    } finally {
      s.close();
      client.close();
    }
  }));

test('TLS ADS: across certificate rotations with other proxies connected, no other identity ever reaches sleep.foo', () =>
  withMeshlite(4, async (m) => {
    const client = tlsClient(m);
    const proxies = ['sleep.foo', 'httpbin.foo', 'httpbin.bar', 'sleep.bar'];
    const streams = new Map<string, SotwClient>();
    const seen = new Map<string, SotwResponse[]>(proxies.map((p) => [p, []]));
    let reading = true;
    const readers: Promise<void>[] = [];
    try {
      for (const p of proxies) {
        const s = await streamFor(client, m, p);
        streams.set(p, s);
        // sleep.foo also asks for names that are not its own: it must get nothing for them.
        const names =
          p === 'sleep.foo' ? ['default', 'ROOTCA', 'spiffe://cluster.local/ns/bar/sa/httpbin', 'httpbin.bar'] : ['default', 'ROOTCA'];
        s.request('secrets', { node: { id: p }, names });
        readers.push(
          (async () => {
            while (reading) {
              let res: SotwResponse;
              try {
                res = await s.next(20_000);
              } catch {
                return;
              }
              seen.get(p)!.push(res);
              s.ack(res, names);
            }
          })(),
        );
      }
      const serials = (p: string) =>
        new Set(
          seen
            .get(p)!
            .flatMap((r) => secretsOf(r))
            .filter((x) => x.name === 'default')
            .map((x) => x.certificates[0]!.serialNumber),
        );
      await eventually('every proxy received its certificate', () => proxies.every((p) => serials(p).size >= 1), 10_000);
      await eventually('sleep.foo received a rotated certificate', () => serials('sleep.foo').size >= 2, 10_000);

      const root = new X509Certificate(m.ca.rootCertPem);
      for (const res of seen.get('sleep.foo')!) {
        for (const secret of secretsOf(res)) {
          assert.ok(['default', 'ROOTCA'].includes(secret.name), `unexpected secret ${secret.name}`);
          for (const cert of secret.certificates) {
            if (cert.fingerprint256 === root.fingerprint256) continue;
            assert.equal(uriSans(cert), [SLEEP_FOO_ID], `certificate ${cert.serialNumber} on sleep.foo's stream`);
          }
        }
      }
      for (const p of proxies.filter((x) => x !== 'sleep.foo')) {
        for (const serial of serials(p))
          assert.not.ok(serials('sleep.foo').has(serial), `${p}'s certificate ${serial} never reaches sleep.foo`);
      }
      const ns = (p: string) => p.split('.')[1];
      const leafOf = (p: string) => secretsOf(seen.get(p)![0]!).find((x) => x.name === 'default')!.certificates[0]!;
      for (const p of proxies) assert.equal(uriSans(leafOf(p)), [`spiffe://cluster.local/ns/${ns(p)}/sa/${p.split('.')[0]}`]);
    } finally {
      reading = false;
      for (const s of streams.values()) s.close();
      await Promise.all(readers);
      client.close();
    }
  }));

test.run();
