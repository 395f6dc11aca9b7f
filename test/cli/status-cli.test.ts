// `meshlite status` and `meshlite proxy-config --meshlite-admin` against a
// meshlite serving in this process (with an admin token) and three xDS
// clients speaking real ADS over TLS: one accepts everything (SYNCED on every
// type, its certificate's expiry shown), one rejects its listeners (NACKED,
// with its message), one never accepts its clusters (STALE).
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { dumpClusters, dumpRoutes, dumpSecrets } from '../../src/cli/config-dump-sections.js';
import type { ResourceType } from '../../src/xds/type-urls.js';
import { startTestMeshlite, type TestMeshlite } from '../ca-service/ca-client.js';
import { SotwClient } from '../server/xds-client.js';
import { after, before } from '../support/hooks.js';
import { EXAMPLES_DIR, REPO_ROOT } from '../support/paths.js';
import { until } from '../support/poll.js';

const CLI = join(REPO_ROOT, 'dist/src/cli/main.js');
const TOKEN = 'status-admin-token-51c2';
const NACK_MESSAGE =
  'Error adding/updating listener(s) 127.0.2.1_80: the test client refuses every listener it is given, whatever they hold, to show how a rejection looks';
let t: TestMeshlite;
let tokenFile: string;
const clients: ProxyClient[] = [];

/** An Envoy-like SotW client: wildcard CDS and LDS, EDS/RDS/SDS by the names meshlite's dump of it holds. */
class ProxyClient {
  readonly client: grpc.Client;
  readonly stream: SotwClient;
  private readonly names = new Map<ResourceType, string[]>();

  private constructor(client: grpc.Client, stream: SotwClient) {
    this.client = client;
    this.stream = stream;
  }

  static async open(proxy: string, behaviour: { nack?: ResourceType; neverAck?: ResourceType } = {}): Promise<ProxyClient> {
    const client = new grpc.Client(`127.0.0.1:${t.m.adsPort}`, grpc.credentials.createSsl(Buffer.from(t.m.ca.rootCertPem)), {
      'grpc.ssl_target_name_override': 'meshlite',
      'grpc.use_local_subchannel_pool': 1,
    });
    const md = new grpc.Metadata();
    md.set('authorization', `Bearer ${await t.m.tokens!.issue(proxy)}`);
    const c = new ProxyClient(client, new SotwClient(client, md));
    const node = { id: proxy };
    c.stream.request('clusters', { node });
    c.stream.request('listeners', { node });
    const dump = await until(`${proxy}'s snapshot`, async () => {
      const res = await adminGet(`/debug/config_dump?proxy=${proxy}`);
      return res.status === 200 ? res.body : undefined;
    });
    // As Envoy does: EDS for the clusters of type EDS.
    const edsClusters = dumpClusters(dump).filter((x) => x.type === 'EDS');
    c.names.set(
      'endpoints',
      edsClusters.map((x) => String(x.eds_cluster_config?.service_name ?? x.name)),
    );
    c.names.set(
      'routes',
      dumpRoutes(dump).map((r) => String(r.name)),
    );
    c.names.set(
      'secrets',
      dumpSecrets(dump).map((s) => s.name),
    );
    for (const type of ['endpoints', 'routes', 'secrets'] as const) c.stream.request(type, { node, names: c.names.get(type) });
    void c.loop(behaviour);
    clients.push(c);
    return c;
  }

  private async loop(behaviour: { nack?: ResourceType; neverAck?: ResourceType }): Promise<void> {
    for (;;) {
      let res: Awaited<ReturnType<SotwClient['next']>>;
      try {
        res = await this.stream.next(120_000);
      } catch {
        return;
      }
      const names = this.names.get(res.type) ?? [];
      if (res.type === behaviour.neverAck) continue;
      if (res.type === behaviour.nack) this.stream.request(res.type, { nonce: res.nonce, names, error: NACK_MESSAGE });
      else this.stream.ack(res, names);
    }
  }

  close(): void {
    this.stream.close();
    this.client.close();
  }
}

async function adminGet(path: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`http://127.0.0.1:${t.m.adminPort}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  return { status: res.status, body: await res.json() };
}

function meshlite(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const admin = () => ['--meshlite-admin', `http://127.0.0.1:${t.m.adminPort}`, '--admin-token-file', tokenFile];

/** The table's cells of one proxy's row (cells are separated by two or more spaces). */
function rowOf(table: string, proxy: string): string[] {
  const line = table.split('\n').find((l) => l.startsWith(`${proxy} `));
  assert.ok(line, `no row for ${proxy} in:\n${table}`);
  return line.split(/ {2,}/);
}

before(test, async () => {
  const s1 = readdirSync(join(EXAMPLES_DIR, 's1-auto-mtls'))
    .map((f) => readFileSync(join(EXAMPLES_DIR, 's1-auto-mtls', f), 'utf8'))
    .join('\n---\n');
  t = await startTestMeshlite({ adminToken: TOKEN }, s1);
  tokenFile = join(t.dir, 'admin-token');
  writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
  await ProxyClient.open('httpbin.foo');
  await ProxyClient.open('sleep.foo', { nack: 'listeners' });
  await ProxyClient.open('sleep.bar', { neverAck: 'clusters' });
  // Every client has answered (or, for the lagging one, received) each type once.
  await until('every client answered', async () => {
    const sync = (await adminGet('/debug/syncz')).body as { proxy: string; types: { type: string; state: string }[] }[];
    const state = (p: string, type: string) => sync.find((s) => s.proxy === p)?.types.find((x) => x.type === type)?.state;
    const ready =
      sync.find((s) => s.proxy === 'httpbin.foo')?.types.every((x) => x.state === 'SYNCED') &&
      state('sleep.foo', 'listeners') === 'NACKED' &&
      state('sleep.foo', 'secrets') === 'SYNCED' &&
      state('sleep.bar', 'secrets') === 'SYNCED';
    return ready || undefined;
  });
});
after(test, async () => {
  for (const c of clients) c.close();
  await t?.stop();
});

test('status: one row per proxy, sorted; SYNCED, NACKED (shortened message) and STALE per type; kind and certificate expiry', async () => {
  const r = await meshlite('status', ...admin());
  assert.is(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  assert.equal(lines[0]!.split(/ {2,}/), ['NAME', 'KIND', 'REPLICA', 'CDS', 'LDS', 'EDS', 'RDS', 'SDS', 'LAST NACK', 'CERT EXPIRES']);
  assert.equal(
    lines.slice(1).map((l) => l.split(' ')[0]),
    ['httpbin.foo', 'sleep.bar', 'sleep.foo'],
  );
  const httpbin = rowOf(r.stdout, 'httpbin.foo');
  assert.equal(httpbin.slice(0, 9), ['httpbin.foo', 'sidecar', '-', 'SYNCED', 'SYNCED', 'SYNCED', 'SYNCED', 'SYNCED', '-']);
  // meshlite's default certificate lifetime is 24h: it was issued moments ago.
  assert.match(httpbin[9]!, /^23h5\dm$/);
  const sleepFoo = rowOf(r.stdout, 'sleep.foo');
  assert.is(sleepFoo[4], 'NACKED');
  assert.equal([sleepFoo[3], sleepFoo[5], sleepFoo[7]], ['SYNCED', 'SYNCED', 'SYNCED']);
  assert.is(sleepFoo[8], 'listeners: Error adding/updating list...');
  const sleepBar = rowOf(r.stdout, 'sleep.bar');
  assert.is(sleepBar[3], 'STALE');
  assert.is(sleepBar[7], 'SYNCED');
});

test('status -o wide and -o json carry the full NACK message; status <proxy> prints versions sent and accepted', async () => {
  const wide = await meshlite('status', ...admin(), '-o', 'wide');
  assert.is(wide.code, 0, wide.stderr);
  assert.ok(rowOf(wide.stdout, 'sleep.foo').includes(`listeners: ${NACK_MESSAGE}`));
  const json = await meshlite('status', ...admin(), '-o', 'json');
  const rows = JSON.parse(json.stdout) as { proxy: string; types: { type: string; nacked?: { message: string } }[] }[];
  assert.is(rows.find((p) => p.proxy === 'sleep.foo')?.types.find((x) => x.type === 'listeners')?.nacked?.message, NACK_MESSAGE);
  const detail = await meshlite('status', 'sleep.foo', ...admin());
  assert.is(detail.code, 0, detail.stderr);
  assert.match(detail.stdout, 'kind: sidecar');
  assert.match(detail.stdout, NACK_MESSAGE);
  const sync = (await adminGet('/debug/syncz?proxy=sleep.foo')).body as {
    types: { type: string; sentVersion: string; ackedVersion?: string }[];
  };
  const listeners = sync.types.find((x) => x.type === 'listeners')!;
  const clusters = sync.types.find((x) => x.type === 'clusters')!;
  assert.ok(listeners.ackedVersion === undefined, 'the listeners were never accepted');
  assert.match(detail.stdout, new RegExp(`LDS \\(listeners\\)\\s+NACKED\\s+\\d+\\s+\\S+\\s+${listeners.sentVersion}\\s+-\n`));
  assert.match(
    detail.stdout,
    new RegExp(`CDS \\(clusters\\)\\s+SYNCED\\s+\\d+\\s+\\S+\\s+${clusters.sentVersion}\\s+${clusters.sentVersion}\n`),
  );
  const missing = await meshlite('status', 'nobody.foo', ...admin());
  assert.is(missing.code, 1);
  assert.match(missing.stderr, 'proxy "nobody.foo" is not connected (connected: httpbin.foo, sleep.bar, sleep.foo)');
});

test('status: unreachable admin is one line and exit 4; a missing token one line and exit 1', async () => {
  const port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  const down = await meshlite('status', '--meshlite-admin', `127.0.0.1:${port}`);
  assert.is(down.code, 4);
  assert.is(down.stderr.trimEnd().split('\n').length, 1);
  assert.match(down.stderr, `cannot reach meshlite's admin server at http://127.0.0.1:${port}`);
  const noToken = await meshlite('status', '--meshlite-admin', `127.0.0.1:${t.m.adminPort}`);
  assert.is(noToken.code, 1);
  assert.match(noToken.stderr, 'refused the request (401)');
});

test('proxy-config --meshlite-admin: the served clusters and secrets; the issued certificate, never its key', async () => {
  const clusters = await meshlite('proxy-config', 'clusters', 'httpbin.foo', ...admin());
  assert.is(clusters.code, 0, clusters.stderr);
  assert.match(clusters.stdout, /\nhttpbin\.bar\.svc\.cluster\.local\s+8000\s+-\s+outbound\s+EDS\s+-\n/);
  assert.match(clusters.stdout, /\n-\s+80\s+-\s+inbound\s+STATIC\s+-\n/);
  const secrets = await meshlite('proxy-config', 'secrets', 'httpbin.foo', ...admin());
  assert.is(secrets.code, 0, secrets.stderr);
  const sync = (await adminGet('/debug/syncz?proxy=httpbin.foo')).body as { certificate: { serialNumber: string; notAfter: string } };
  const row = rowOf(secrets.stdout, 'default');
  assert.equal(row.slice(0, 5), ['default', 'Cert Chain', 'ACTIVE', 'true', sync.certificate.serialNumber]);
  assert.is(row[5], sync.certificate.notAfter.replace('.000Z', 'Z'));
  assert.equal(rowOf(secrets.stdout, 'ROOTCA').slice(0, 4), ['ROOTCA', 'CA', 'ACTIVE', 'true']);
  const json = await meshlite('proxy-config', 'secrets', 'httpbin.foo', ...admin(), '-o', 'json');
  assert.is(json.code, 0, json.stderr);
  assert.not.match(json.stdout, 'PRIVATE KEY');
  assert.match(json.stdout, 'BEGIN CERTIFICATE');
  const unknown = await meshlite('proxy-config', 'clusters', 'nobody.foo', ...admin());
  assert.is(unknown.code, 1);
  assert.match(unknown.stderr, 'no snapshot for "nobody.foo"');
});

test.run();
