// serve with --registry marathon=<url>: Marathon's apps become services whose
// endpoints reach a connected proxy within one poll interval; a Marathon that
// fails or answers junk keeps the last registry, and /ready and the metrics say so.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startMeshlite, type RunningMeshlite } from '../../src/control-plane/start-meshlite.js';
import { loopbackAddress } from '../support/e2e/loopback-blocks.js';
import { hostApp, hostTask } from '../support/marathon-fixtures.js';
import { MarathonStandIn } from '../support/marathon-stand-in.js';
import { SotwClient } from '../server/xds-client.js';

const HOST = loopbackAddress('control-plane/marathon-registry.test.ts');
/** 127.<block>: the tasks and the sleep workload take addresses in the same block. */
const BLOCK = HOST.split('.').slice(0, 2).join('.');
const INTERVAL_MS = 1000;
const CLUSTER = 'outbound|8000||httpbin.foo.svc.cluster.local';
const SLEEP = `apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: sleep, namespace: foo}
spec:
  address: ${BLOCK}.2.1
  serviceAccount: sleep
  labels: {app: sleep, security.istio.io/tlsMode: istio}
`;

type Json = Record<string, any>;
const dir = mkdtempSync(join(tmpdir(), 'meshlite-marathon-'));
const marathon = new MarathonStandIn();
let running: RunningMeshlite | undefined;
let client: grpc.Client | undefined;
let stream: SotwClient | undefined;

const task = (n: number) => hostTask('/foo/httpbin', n, `${BLOCK}.1.${n}`, [31000 + n]);
const admin = (path: string) => fetch(`http://127.0.0.1:${running!.adminPort}${path}`);

/** host:port of every endpoint sleep.foo is given for httpbin's cluster. */
async function httpbinEndpoints(): Promise<string[]> {
  const dump = (await (await admin('/debug/config_dump?proxy=sleep.foo')).json()) as Json;
  const out: string[] = [];
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(visit);
    else if (v && typeof v === 'object') {
      const o = v as Json;
      if (o.cluster_name === CLUSTER)
        for (const e of o.endpoints ?? [])
          for (const l of e.lb_endpoints ?? [])
            out.push(`${l.endpoint.address.socket_address.address}:${l.endpoint.address.socket_address.port_value}`);
      else Object.values(o).forEach(visit);
    }
  };
  visit(dump);
  return out.sort();
}

async function until<T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await probe();
    if (ok(last)) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what}: not within ${timeoutMs}ms (last: ${JSON.stringify(last)})`);
}

const registryStatus = async () => ((await (await admin('/ready')).json()) as Json).registries[0] as Json;
const upMetric = async () => /meshlite_registry_up\{source="marathon"\} (\d)/.exec(await (await admin('/metrics')).text())?.[1];

test.before(async () => {
  writeFileSync(join(dir, 'sleep.yaml'), SLEEP);
  marathon.apps = [hostApp('/foo/httpbin', [task(1)])];
  const url = await marathon.start(HOST);
  running = await startMeshlite({
    configPaths: [join(dir, 'sleep.yaml')],
    stateDir: join(dir, 'state'),
    adsAddress: '127.0.0.1:0',
    adminAddress: '127.0.0.1:0',
    insecure: true,
    logger: pino({ level: 'silent' }),
    marathon: { url, intervalMs: INTERVAL_MS },
  });
  client = new grpc.Client(`127.0.0.1:${running.adsPort}`, grpc.credentials.createInsecure());
  stream = new SotwClient(client);
  stream.request('clusters', { node: { id: 'sleep.foo' } });
  const cds = await stream.next();
  assert.ok(cds.names.includes(CLUSTER), `Marathon's app is a service from the start: ${cds.names.join(', ')}`);
});

test.after(async () => {
  stream?.close();
  client?.close();
  await running?.stop();
  await marathon.stop();
  rmSync(dir, { recursive: true, force: true });
});

test("the first config holds Marathon's tasks; /ready and the metric say Marathon is up", async () => {
  assert.equal(await httpbinEndpoints(), [`${BLOCK}.1.1:31001`]);
  const status = await registryStatus();
  assert.is(status.source, 'marathon');
  assert.is(status.up, true);
  assert.is(status.sources, 1);
  assert.is(await upMetric(), '1');
  assert.ok(marathon.requests.includes('/v2/pods/::status'), 'pods are polled too');
});

test('a task added in Marathon reaches the proxy within one interval', async () => {
  marathon.apps = [hostApp('/foo/httpbin', [task(1), task(2)])];
  const changed = Date.now();
  await until('the new task as an endpoint', httpbinEndpoints, (e) => e.includes(`${BLOCK}.1.2:31002`), 5000);
  const took = Date.now() - changed;
  // One interval until the next poll, then one load (a worker thread) and one push.
  assert.ok(took < INTERVAL_MS + 1500, `took ${took}ms`);
});

for (const mode of ['error', 'junk'] as const)
  test(`a Marathon that answers ${mode === 'error' ? 'HTTP 503' : 'junk'} keeps the last registry and says so`, async () => {
    marathon.mode = mode;
    const status = await until('the registry marked down', registryStatus, (s) => s.up === false);
    assert.match(status.lastError, mode === 'error' ? /HTTP 503/ : /not JSON/);
    assert.is(status.servingLastGood, true);
    assert.is(await upMetric(), '0');
    const seen = marathon.requests.length;
    await until(
      'two more polls',
      async () => marathon.requests.length,
      (n) => n >= seen + 4,
      5000,
    );
    assert.equal(await httpbinEndpoints(), [`${BLOCK}.1.1:31001`, `${BLOCK}.1.2:31002`], 'the last registry is still served');
    const ready = await admin('/ready');
    assert.is(ready.status, 200, 'the config is still served');
    marathon.mode = 'ok';
    await until('the registry up again', registryStatus, (s) => s.up === true);
  });

test('a task gone from Marathon is gone from the proxy', async () => {
  marathon.apps = [hostApp('/foo/httpbin', [task(2)])];
  await until('only the second task', httpbinEndpoints, (e) => e.join() === `${BLOCK}.1.2:31002`, 5000);
});

test.run();
