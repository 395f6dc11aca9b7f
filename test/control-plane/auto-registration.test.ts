// WorkloadGroup auto-registration through the whole `meshlite serve`
// composition: an agent with a group token registers its host, another proxy's
// EDS gets the new endpoint, the probe's verdict flips its health there, and
// the entry goes a grace period after the agent's stream closed.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RegistrationAgent } from '../../src/agent/registration-agent.js';
import { type RunningMeshlite, startMeshlite } from '../../src/control-plane/start-meshlite.js';
import { until } from '../support/poll.js';
import { decodeResource, SotwClient, type SotwResponse } from '../server/xds-client.js';

const CLUSTER = 'outbound|80||api.shop.svc.cluster.local';
const quiet = pino({ level: 'silent' });

function config(probePort: number): string {
  return `apiVersion: networking.istio.io/v1
kind: WorkloadGroup
metadata: {name: api-vms, namespace: shop}
spec:
  metadata:
    labels: {app: api}
  template:
    serviceAccount: api
    ports: {http: 8080}
    labels: {security.istio.io/tlsMode: istio}
  probe:
    tcpSocket: {port: ${probePort}}
    periodSeconds: 1
    timeoutSeconds: 1
    failureThreshold: 1
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: api, namespace: shop}
spec:
  hosts: [api.shop.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 80, name: http, protocol: HTTP}]
  workloadSelector:
    labels: {app: api}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: client, namespace: shop}
spec:
  address: 127.0.0.1
  serviceAccount: client
  labels: {app: client, security.istio.io/tlsMode: istio}
`;
}

interface Fixture {
  m: RunningMeshlite;
  dir: string;
  probeTarget: Server;
  probePort: number;
}

async function listen(server: Server, port = 0): Promise<number> {
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', () => resolve()));
  return (server.address() as { port: number }).port;
}

async function withMeshlite(body: (f: Fixture) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'meshlite-autoreg-'));
  const probeTarget = createServer((s) => s.destroy());
  const probePort = await listen(probeTarget);
  writeFileSync(join(dir, 'mesh.yaml'), config(probePort));
  let m: RunningMeshlite | undefined;
  try {
    m = await startMeshlite({
      configPaths: [join(dir, 'mesh.yaml')],
      stateDir: join(dir, 'state'),
      adsAddress: '127.0.0.1:0',
      adminAddress: '127.0.0.1:0',
      insecure: false,
      autoRegisterGraceMs: 1500,
      logger: quiet,
    });
    await body({ m, dir, probeTarget, probePort });
  } finally {
    await m?.stop();
    probeTarget.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function agent(m: RunningMeshlite, token: string | undefined, group = 'api-vms.shop'): RegistrationAgent {
  return new RegistrationAgent({
    controlPlane: `127.0.0.1:${m.adsPort}`,
    group,
    address: '127.0.0.1',
    token: () => token,
    rootCertPem: m.ca.rootCertPem,
    backoff: { initialMs: 100, maxMs: 200 },
    logger: quiet,
  });
}

/** The client proxy's EDS for the api service, followed as it changes. */
class EdsWatch {
  private readonly client: grpc.Client;
  private readonly stream: SotwClient;
  latest: { address: string; port: number; health?: string }[] | undefined;

  static async open(m: RunningMeshlite): Promise<EdsWatch> {
    const md = new grpc.Metadata();
    md.set('authorization', `Bearer ${await m.tokens!.issue('client.shop')}`);
    return new EdsWatch(m, md);
  }

  private constructor(m: RunningMeshlite, md: grpc.Metadata) {
    this.client = new grpc.Client(`127.0.0.1:${m.adsPort}`, grpc.credentials.createSsl(Buffer.from(m.ca.rootCertPem)), {
      'grpc.ssl_target_name_override': 'meshlite',
    });
    this.stream = new SotwClient(this.client, md);
    this.stream.request('endpoints', { node: { id: 'client.shop', cluster: 'client.shop' }, names: [CLUSTER] });
  }

  /** Reads (and ACKs) responses until the endpoints satisfy `check`. */
  async until(what: string, check: (eps: NonNullable<EdsWatch['latest']>) => boolean): Promise<NonNullable<EdsWatch['latest']>> {
    const deadline = Date.now() + 10_000;
    while (!this.latest || !check(this.latest)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`EDS of client.shop: ${what} not within 10 s (last: ${JSON.stringify(this.latest)})`);
      const res: SotwResponse = await this.stream.next(left);
      this.stream.ack(res, [CLUSTER]);
      const cla = res.resources.map((r) => decodeResource('endpoints', r.value)).find((c) => c.cluster_name === CLUSTER);
      this.latest = (cla?.endpoints ?? []).flatMap((group: { lb_endpoints?: unknown[] }) =>
        (group.lb_endpoints ?? []).map((e: any) => ({
          address: e.endpoint.address.socket_address.address,
          port: e.endpoint.address.socket_address.port_value,
          health: e.health_status,
        })),
      );
    }
    return this.latest;
  }

  close(): void {
    this.stream.close();
    this.client.close();
  }
}

test('an agent with a group token registers; other proxies get its endpoint; it goes after the grace period', () =>
  withMeshlite(async ({ m }) => {
    const eds = await EdsWatch.open(m);
    const token = (await m.tokens!.issueGroupToken('api-vms.shop')).token;
    const a = agent(m, token);
    try {
      await eds.until('no endpoint before any registration', (eps) => eps.length === 0);
      a.start();
      assert.is(await a.registered(), 'api-vms-127-0-0-1.shop');
      const eps = await eds.until('the registered endpoint', (e) => e.length === 1);
      assert.equal(eps[0]!.address, '127.0.0.1');
      assert.is(eps[0]!.port, 8080, 'the template port');
      const listed = m.registrations.list();
      assert.equal(
        listed.map((r) => [r.id, r.group, r.address, r.streams]),
        [['api-vms-127-0-0-1.shop', 'api-vms.shop', '127.0.0.1', 1]],
      );
      const debug = (await (await fetch(`http://127.0.0.1:${m.adminPort}/debug/registrationz`)).json()) as { id: string }[];
      assert.equal(
        debug.map((r) => r.id),
        ['api-vms-127-0-0-1.shop'],
        '/debug/registrationz lists it',
      );
      const w = m.controlPlane.currentModel!.registry.workload('api-vms-127-0-0-1.shop')!;
      assert.is(w.identity, 'spiffe://cluster.local/ns/shop/sa/api');
      assert.equal(w.labels, { app: 'api', 'security.istio.io/tlsMode': 'istio' });

      a.stop();
      await until('removal scheduled', () => (m.registrations.list()[0]?.removeAt ? true : undefined), 5000);
      assert.is(m.registrations.list().length, 1, 'still there within the grace period');
      await eds.until('the endpoint removed after the grace period', (e) => e.length === 0);
      assert.equal(m.registrations.list(), []);
    } finally {
      a.stop();
      eds.close();
    }
  }));

test('the probe verdict marks the endpoint UNHEALTHY in EDS, and healthy again', () =>
  withMeshlite(async ({ m, probeTarget, probePort }) => {
    const eds = await EdsWatch.open(m);
    const a = agent(m, (await m.tokens!.issueGroupToken('api-vms.shop')).token);
    try {
      a.start();
      await a.registered();
      await until('healthy reported', () => (m.registrations.list()[0]?.healthy === true ? true : undefined), 10_000);
      let eps = await eds.until('a healthy endpoint', (e) => e.length === 1 && e[0]!.health === undefined);
      await new Promise<void>((r) => probeTarget.close(() => r()));
      eps = await eds.until('the endpoint unhealthy', (e) => e[0]?.health === 'UNHEALTHY');
      assert.is(eps.length, 1, 'an unhealthy endpoint stays, marked');
      assert.match(m.registrations.list()[0]!.healthMessage ?? '', /TCP connect/);
      await listen(probeTarget, probePort);
      await eds.until('the endpoint healthy again', (e) => e.length === 1 && e[0]!.health === undefined);
    } finally {
      a.stop();
      eds.close();
    }
  }));

test('registration is refused without a group token, with a workload token, or for another group', () =>
  withMeshlite(async ({ m }) => {
    const cases: [string, string | undefined, string, RegExp][] = [
      ['no token', undefined, 'api-vms.shop', /no bearer token/],
      ['a workload token', await m.tokens!.issue('client.shop'), 'api-vms.shop', /not a WorkloadGroup token/],
      ['another group', (await m.tokens!.issueGroupToken('other.shop')).token, 'api-vms.shop', /for WorkloadGroup "other.shop"/],
      ['an unknown group', (await m.tokens!.issueGroupToken('nope.shop')).token, 'nope.shop', /no WorkloadGroup "nope.shop"/],
    ];
    for (const [what, token, group, reason] of cases) {
      const a = agent(m, token, group);
      try {
        a.start();
        await until(what, () => a.status().lastError);
        assert.match(a.status().lastError!, reason, what);
        assert.is(a.status().workloadId, undefined, what);
      } finally {
        a.stop();
      }
    }
    assert.equal(m.registrations.list(), []);
  }));

test('a group token opens the ADS stream of a workload of its group only', () =>
  withMeshlite(async ({ m }) => {
    const token = (await m.tokens!.issueGroupToken('api-vms.shop')).token;
    const a = agent(m, token);
    const client = new grpc.Client(`127.0.0.1:${m.adsPort}`, grpc.credentials.createSsl(Buffer.from(m.ca.rootCertPem)), {
      'grpc.ssl_target_name_override': 'meshlite',
    });
    const md = new grpc.Metadata();
    md.set('authorization', `Bearer ${token}`);
    const own = new SotwClient(client, md);
    const other = new SotwClient(client, md);
    try {
      a.start();
      const id = await a.registered();
      own.request('clusters', { node: { id, cluster: id } });
      const cds = await own.next();
      assert.ok(cds.names.length > 0, 'the registered workload gets its config');
      other.request('clusters', { node: { id: 'client.shop' } });
      const end = await other.raw.endWithin();
      assert.is(grpc.status[end.code], 'PERMISSION_DENIED', end.details);
      a.stop();
      // The ADS stream still holds the entry past the grace period.
      await until('registration stream gone', () => (m.registrations.list()[0]?.streams === 1 ? true : undefined), 5000);
      assert.is(m.registrations.list()[0]?.removeAt, undefined);
    } finally {
      a.stop();
      own.close();
      other.close();
      client.close();
    }
  }));

test.run();
