// runner: long
// Proxyless gRPC with mTLS, every piece a real process: `meshlite serve` (not
// insecure) on a copy of examples/proxyless-grpc in this file's loopback
// block, one `meshlite agent --grpc` per proxyless workload, an XdsServer
// Greeter (xDS server credentials) and grpc-js-xds clients (xDS channel
// credentials) that take their mTLS certificates from the files their agent
// keeps current. The server answers with the caller's SPIFFE id, so identity
// is read off each reply.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { removeConfigFile, writeConfigFile } from '../support/e2e/config-dir.js';
import { loopbackAddress } from '../support/e2e/loopback-blocks.js';
import { adminJson, adminText, type Meshlite, startMeshlite } from '../support/e2e/meshlite.js';
import { type ManagedProcess, ProcessManager } from '../support/e2e/process-manager.js';
import {
  APPS,
  callsOf,
  describeCalls,
  eventually,
  type GrpcAgent,
  startGreeterClient,
  startGrpcAgent,
  tailOf,
  tlsProbe,
} from '../support/e2e/proxyless.js';
import { after, before } from '../support/hooks.js';
import { startAgentProxy } from '../support/e2e/agent.js';
import { GREETER_DEFINITION, type HelloReply } from '../support/apps/greeter-proto.js';
import { EXAMPLES_DIR } from '../support/paths.js';
import { until } from '../support/poll.js';

const address = (n: number) => loopbackAddress('e2e/proxyless-mtls.test.ts', n);
// Not the example's 50051: grpc's XdsServer listens on its port on every
// address (it takes the IP only to name its Listener), so a port other tests
// bind on their own addresses would clash. The WorkloadEntry maps the service
// port to it; below the kernel's ephemeral range.
const SERVER_PORT = 26767;
const SERVER = `${address(1)}:${SERVER_PORT}`;
/** The sidecar'd Greeter's port (its Envoy's inbound listener on the workload address, the app behind it). */
const SIDECAR_SERVER_PORT = 26768;
const TARGET = 'xds:///greeter.bar:50051';
const CLIENT_SPIFFE = 'spiffe://cluster.local/ns/foo/sa/greeter-client';
const SERVER_SPIFFE = 'spiffe://cluster.local/ns/bar/sa/greeter';
const PROXIES = { server: 'greeter-1.bar', client: 'greeter-client.foo', intruder: 'greeter-intruder.foo' } as const;
type Role = keyof typeof PROXIES;

const pm = new ProcessManager('proxyless-mtls');
let failed = false;
let cfg: { dir: string; staging: string };
let meshlite: Meshlite;
const agents = {} as Record<Role, GrpcAgent>;
let server: ManagedProcess;
let client: ManagedProcess;

/** The example with its 127.0.60.x addresses in this block, the server on SERVER_PORT, and a second client workload. */
function writeConfig(): void {
  const example = join(EXAMPLES_DIR, 'proxyless-grpc');
  for (const f of ['services.yaml', 'policies.yaml', 'workloads.yaml']) {
    let text = readFileSync(join(example, f), 'utf8').replace(/\b127\.0\.60\.(\d+)\b/g, (_, n: string) => address(Number(n)));
    if (f === 'workloads.yaml') {
      const sa = '  serviceAccount: greeter\n';
      assert.ok(text.includes(sa), 'the example names the server workload as expected');
      text = text.replace(sa, `${sa}  ports: {grpc: ${SERVER_PORT}}\n`);
      text += [
        '---',
        'apiVersion: networking.istio.io/v1',
        'kind: WorkloadEntry',
        'metadata:',
        '  name: greeter-intruder',
        '  namespace: foo',
        '  annotations:',
        '    proxyless.meshlite.io/grpc: "true"',
        'spec:',
        `  address: ${address(11)}`,
        '  serviceAccount: greeter-intruder',
        '  labels: {app: greeter-intruder}',
        '',
      ].join('\n');
    }
    writeFileSync(join(cfg.dir, f), text);
  }
  writeFileSync(join(cfg.dir, 'mixed-mesh.yaml'), mixedMeshYaml());
}

/**
 * The mixed mesh: a sidecar client (`greeter-envoy.foo`, allowed by a second
 * ALLOW policy) calling the proxyless server, and a sidecar'd Greeter
 * (`greeter-2.bar`, service `greeter2.bar:50052`) the proxyless client calls.
 */
function mixedMeshYaml(): string {
  return `apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata:
  name: greeter-envoy
  namespace: foo
  annotations:
    sidecar.meshlite.io/applicationAddress: ${address(21)}
    sidecar.meshlite.io/outboundAddress: ${address(20)}
spec:
  address: ${address(20)}
  serviceAccount: greeter-envoy
  labels: {app: greeter-envoy, security.istio.io/tlsMode: istio}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: greeter-envoy-callers, namespace: bar}
spec:
  selector: {matchLabels: {app: greeter}}
  action: ALLOW
  rules:
  - from: [{source: {principals: [cluster.local/ns/foo/sa/greeter-envoy]}}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: greeter2, namespace: bar}
spec:
  hosts: [greeter2.bar.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports:
  - {name: grpc, number: 50052, protocol: GRPC, targetPort: ${SIDECAR_SERVER_PORT}}
  workloadSelector: {labels: {app: greeter2}}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata:
  name: greeter-2
  namespace: bar
  annotations:
    sidecar.meshlite.io/applicationAddress: ${address(31)}
    sidecar.meshlite.io/outboundAddress: ${address(30)}
spec:
  address: ${address(30)}
  serviceAccount: greeter2
  labels: {app: greeter2, security.istio.io/tlsMode: istio}
`;
}

function step(name: string, fn: () => Promise<void>): void {
  test(name, async () => {
    try {
      await fn();
    } catch (err) {
      failed = true;
      throw err;
    }
  });
}

before(test, async () => {
  try {
    cfg = { dir: join(pm.dir, 'config'), staging: join(pm.dir, 'staging') };
    for (const d of [cfg.dir, cfg.staging]) mkdirSync(d, { recursive: true });
    writeConfig();
    meshlite = await startMeshlite(pm, { configDir: cfg.dir, stateDir: join(pm.dir, 'state') });
    const agentOptions = { configDir: cfg.dir, stateDir: join(pm.dir, 'state'), adsAddress: meshlite.adsAddress, certTtl: '20s' };
    for (const role of Object.keys(PROXIES) as Role[]) agents[role] = await startGrpcAgent(pm, PROXIES[role], agentOptions);
    server = pm.start(
      'greeter-1',
      process.execPath,
      [join(APPS, 'greeter-server.js'), '--xds', address(1), String(SERVER_PORT), 'greeter-1'],
      {
        env: { ...process.env, GRPC_XDS_BOOTSTRAP: agents.server.bootstrap, GRPC_XDS_EXPERIMENTAL_RBAC: 'true' },
      },
    );
    await server.waitForLog(/listening on /, 20_000);
  } catch (err) {
    failed = true;
    throw err;
  }
});

after(test, async () => {
  await pm.stopAll();
  if (failed) pm.printTails(40);
  if (failed || process.env.MESHLITE_E2E_KEEP) pm.keepDir();
  else pm.removeDir();
});

step('calls succeed over mTLS and the server sees the caller as spiffe://cluster.local/ns/foo/sa/greeter-client', async () => {
  client = startGreeterClient(pm, 'client-greeter-client', agents.client, TARGET, ['100', '3000', '0']);
  await eventually(
    () => (callsOf(client).some((c) => c.ok) ? true : undefined),
    30_000,
    () => `no call succeeded:\n${client.tail(20)}`,
  );
  const first = callsOf(client).findIndex((c) => c.ok);
  const since = await tailOf(client, first, 10, (c) => c.ok);
  assert.equal(
    since.filter((c) => !c.ok),
    [],
    'no call fails once resolved',
  );
  assert.equal([...new Set(since.map((c) => c.caller))], [CLIENT_SPIFFE]);
  assert.equal([...new Set(since.map((c) => c.server))], ['greeter-1']);
  // The server's side of the handshake, seen with the client's certificate files: its own SPIFFE id.
  const probe = await tlsProbe(address(1), SERVER_PORT, agents.client.certsDir, true);
  assert.is(probe.error, undefined, JSON.stringify(probe));
  assert.is(probe.san, `URI:${SERVER_SPIFFE}`);
});

step('ALLOW names greeter-client only: a proxyless client with another service account gets PERMISSION_DENIED', async () => {
  const intruder = startGreeterClient(pm, 'client-greeter-intruder', agents.intruder, TARGET, ['200', '3000', '0']);
  const denied = await eventually(
    () => {
      const cs = callsOf(intruder);
      const from = cs.findIndex((c) => c.code === 'PERMISSION_DENIED');
      return from >= 0 && cs.length - from >= 5 ? cs.slice(from) : undefined;
    },
    30_000,
    () => `no denial:\n${intruder.tail(20)}`,
  );
  assert.equal(
    denied.filter((c) => c.code !== 'PERMISSION_DENIED'),
    [],
  );
  assert.not.ok(
    callsOf(intruder).some((c) => c.ok),
    'no intruder call ever got through',
  );
  await intruder.stop();
});

step('STRICT: a plaintext client, and a TLS client without a certificate, are refused', async () => {
  const plain = startGreeterClient(pm, 'client-plaintext', undefined, SERVER, ['100', '2000', '5']);
  await plain.exited;
  const cs = callsOf(plain);
  assert.is(cs.length, 5, plain.log());
  assert.equal(
    cs.filter((c) => c.ok || c.code !== 'UNAVAILABLE'),
    [],
    describeCalls(cs),
  );
  const noCert = await tlsProbe(address(1), SERVER_PORT, agents.client.certsDir, false);
  assert.ok(noCert.error, `a TLS connection without a client certificate was served: ${JSON.stringify(noCert)}`);
  assert.is(noCert.san, `URI:${SERVER_SPIFFE}`, 'the handshake reached the server');
  // The mTLS client went on working meanwhile.
  const from = callsOf(client).length;
  await tailOf(client, from, 5, (c) => c.ok);
});

step('a DENY on the method path applies live, and removing it restores OK; no process restarts', async () => {
  const pids = [meshlite.process, server, client, agents.server.process, agents.client.process].map((p) => p.pid);
  const deny = [
    'apiVersion: security.istio.io/v1',
    'kind: AuthorizationPolicy',
    'metadata: {name: deny-say-hello, namespace: bar}',
    'spec:',
    '  selector: {matchLabels: {app: greeter}}',
    '  action: DENY',
    '  rules:',
    '  - to:',
    '    - operation: {paths: [/meshlite.examples.greeter.v1.Greeter/SayHello]}',
    '',
  ].join('\n');
  let from = callsOf(client).length;
  writeConfigFile({ ...cfg, block: 0 }, 'deny.yaml', deny);
  await tailOf(client, from, 5, (c) => c.code === 'PERMISSION_DENIED');
  from = callsOf(client).length;
  removeConfigFile({ ...cfg, block: 0 }, 'deny.yaml');
  const restored = await tailOf(client, from, 5, (c) => c.ok);
  assert.equal([...new Set(restored.filter((c) => c.ok).map((c) => c.caller))], [CLIENT_SPIFFE]);
  const now = [meshlite.process, server, client, agents.server.process, agents.client.process];
  assert.equal(
    now.map((p) => p.pid),
    pids,
  );
  assert.ok(
    now.every((p) => p.running),
    'all still running',
  );
});

// The long-lived client's connection would outlive any certificate: every
// few seconds a Listener change (a DENY on a path nobody calls, added then
// removed) makes the server drain its connections, so the client handshakes
// anew with whatever its files hold. The window outlasts the certificates
// both held at its start (20 s), so a side still using an old one would fail.
step('certificates rotate under calls (20 s lifetimes, > 25 s of calls, reconnecting): no call fails', async () => {
  const started = Date.now();
  const from = callsOf(client).length;
  const servingBefore = (server.log().match(/serving: OK/g) ?? []).length;
  const serials = { server: new Set<string>(), client: new Set<string>() };
  const churn = [
    'apiVersion: security.istio.io/v1',
    'kind: AuthorizationPolicy',
    'metadata: {name: deny-nothing, namespace: bar}',
    'spec:',
    '  selector: {matchLabels: {app: greeter}}',
    '  action: DENY',
    '  rules:',
    '  - to:',
    '    - operation: {paths: [/meshlite.examples.greeter.v1.Greeter/Nothing]}',
    '',
  ].join('\n');
  let churned = false;
  let toggles = 0;
  let nextToggle = 0;
  const probeErrors: string[] = [];
  await eventually(
    async () => {
      serials.server.add(await agents.server.serial());
      serials.client.add(await agents.client.serial());
      if (Date.now() >= nextToggle) {
        if (churned) removeConfigFile({ ...cfg, block: 0 }, 'churn.yaml');
        else writeConfigFile({ ...cfg, block: 0 }, 'churn.yaml', churn);
        churned = !churned;
        toggles++;
        nextToggle = Date.now() + 4000;
        // A fresh handshake of our own with the client's files of the moment (read twice if caught between the key and the certificate file).
        const probe = await tlsProbe(address(1), SERVER_PORT, agents.client.certsDir, true);
        const retry = probe.error ? await tlsProbe(address(1), SERVER_PORT, agents.client.certsDir, true) : probe;
        if (retry.error) probeErrors.push(retry.error);
      }
      const long = Date.now() - started > 26_000;
      return long && serials.server.size >= 3 && serials.client.size >= 3 ? true : undefined;
    },
    60_000,
    () => `serials: server ${serials.server.size}, client ${serials.client.size}`,
  );
  if (churned) removeConfigFile({ ...cfg, block: 0 }, 'churn.yaml');
  const during = callsOf(client).slice(from);
  assert.ok(during.length >= 100, `the client kept calling (${during.length} calls)`);
  assert.equal(describeCalls(during.filter((c) => !c.ok)), '', 'no failed call');
  assert.equal([...new Set(during.map((c) => c.caller))], [CLIENT_SPIFFE]);
  assert.equal(probeErrors, [], 'every fresh TLS handshake with the current files succeeded');
  const listenerSwitches = (server.log().match(/serving: OK/g) ?? []).length - servingBefore;
  assert.ok(listenerSwitches >= toggles - 1, `the server took ${listenerSwitches} of ${toggles} Listener changes`);
  // The server presents the certificate its agent holds now: it picked up the rewritten files.
  await eventually(
    async () => {
      const probe = await tlsProbe(address(1), SERVER_PORT, agents.client.certsDir, true);
      const held = await agents.server.serial();
      return probe.serial?.replace(/^0+/, '') === held.replace(/^0+/, '') ? true : undefined;
    },
    10_000,
    () => 'the server does not present the certificate its agent holds',
  );
});

step('/debug/syncz: the proxyless proxies are synced, nothing was NACKed', async () => {
  type Syncz = { proxy: string; synced: boolean; types: { type: string; state: string; nacked?: unknown }[] }[];
  const read = () => adminJson<Syncz>(meshlite.adminUrl, '/debug/syncz');
  const bothSynced = (all: Syncz) => [PROXIES.server, PROXIES.client].every((p) => all.find((s) => s.proxy === p)?.synced);
  // The last step's push may still be on its way to an ACK: wait for it, then look at the answer.
  const syncz = await until(
    'both proxyless proxies to ACK what they were sent',
    async () => {
      const all = await read();
      return bothSynced(all) ? all : undefined;
    },
    15_000,
  ).catch(read);
  for (const proxy of [PROXIES.server, PROXIES.client]) {
    const s = syncz.find((p) => p.proxy === proxy);
    assert.ok(s, `${proxy} is connected: ${JSON.stringify(syncz.map((p) => p.proxy))}`);
    assert.equal(
      s!.types.filter((t) => t.state === 'NACKED' || t.nacked),
      [],
      proxy,
    );
    assert.ok(s!.synced, `${proxy}: ${JSON.stringify(s!.types)}`);
  }
  const metrics = await adminText(meshlite.adminUrl, '/metrics');
  const nacks = metrics.split('\n').filter((l) => l.startsWith('meshlite_xds_nacks_total') && !/ 0$/.test(l));
  assert.equal(nacks, [], 'no NACK over the whole run (the intruder included)');
});

step(
  'mixed mesh under STRICT: a sidecar Envoy calls the proxyless server with mTLS, a proxyless client calls a sidecar server',
  async () => {
    const envoyClient = await startAgentProxy(pm, 'greeter-envoy.foo', {
      configDir: cfg.dir,
      stateDir: join(pm.dir, 'state'),
      adsAddress: meshlite.adsAddress,
    });
    const app = pm.start('greeter-2', process.execPath, [
      join(APPS, 'greeter-server.js'),
      address(31),
      String(SIDECAR_SERVER_PORT),
      'greeter-2',
    ]);
    await app.waitForLog(/listening on /, 10_000);
    const envoyServer = await startAgentProxy(pm, 'greeter-2.bar', {
      configDir: cfg.dir,
      stateDir: join(pm.dir, 'state'),
      adsAddress: meshlite.adsAddress,
    });
    assert.ok(envoyServer.agent.running);

    // Through the sidecar's outbound HTTP listener (h2c, routed by authority): Envoy originates mTLS to the STRICT proxyless server.
    const viaEnvoy = new grpc.Client(`${address(20)}:15001`, grpc.credentials.createInsecure(), {
      'grpc.default_authority': 'greeter.bar.svc.cluster.local:50051',
    });
    let lastError: string | undefined;
    try {
      const reply = await eventually(
        async () => {
          const r = await sayHello(viaEnvoy);
          lastError = r.error;
          return r.ok ? r : undefined;
        },
        20_000,
        () => `the sidecar client never got an answer from the proxyless server: ${lastError}`,
      );
      assert.is(reply.server, 'greeter-1');
      assert.is(reply.caller, 'spiffe://cluster.local/ns/foo/sa/greeter-envoy', "the proxyless server saw the sidecar's identity");
    } finally {
      viaEnvoy.close();
    }

    // The agent relays one app process at a time: the long-lived client makes way for this one.

    await client.stop();

    // The proxyless client resolves the sidecar'd service and speaks mTLS to its Envoy (STRICT takes nothing else).
    const toSidecar = startGreeterClient(pm, 'client-to-sidecar', agents.client, 'xds:///greeter2.bar:50052', ['100', '3000', '5']);
    await eventually(
      async () => (callsOf(toSidecar).some((c) => c.ok && c.server === 'greeter-2') ? true : undefined),
      20_000,
      () => `no call reached greeter-2: ${describeCalls(callsOf(toSidecar))}`,
    );
    assert.ok(envoyClient.agent.running);
    const handshakes = await envoyServer.stat(`listener.${address(30)}_${SIDECAR_SERVER_PORT}.ssl.handshake`);
    assert.ok((handshakes ?? 0) > 0, `greeter-2's Envoy accepted mTLS handshakes on its inbound listener: ${handshakes}`);
  },
);

step(
  'PERMISSIVE for bar, live: the server takes plaintext (the ALLOW policy then judges it: no principal, PERMISSION_DENIED)',
  async () => {
    const permissive =
      'apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: default, namespace: bar}\nspec: {mtls: {mode: PERMISSIVE}}\n';
    writeConfigFile({ ...cfg, block: 0 }, 'bar-permissive.yaml', permissive);
    let last: unknown;
    await eventually(
      async () => {
        const plain = startGreeterClient(pm, `client-plaintext-${Date.now()}`, undefined, SERVER, ['100', '2000', '1']);
        await plain.exited;
        const [c] = callsOf(plain);
        last = c;
        // Under STRICT the handshake fails (UNAVAILABLE); PERMISSIVE serves plaintext, so the call reaches RBAC.
        return c?.code === 'PERMISSION_DENIED' ? c : undefined;
      },
      30_000,
      () => `a plaintext call never reached the server after PERMISSIVE was applied: ${JSON.stringify(last)}`,
    );
  },
);

function sayHello(client: grpc.Client): Promise<{ ok: boolean; server?: string; caller?: string; error?: string }> {
  const method = GREETER_DEFINITION.SayHello;
  return new Promise((resolve) =>
    client.makeUnaryRequest(
      method.path,
      method.requestSerialize,
      method.responseDeserialize,
      { name: 'mixed' },
      { deadline: Date.now() + 3000 },
      (err: grpc.ServiceError | null, reply?: HelloReply) =>
        resolve(
          err
            ? { ok: false, error: `${grpc.status[err.code]}: ${err.details}` }
            : { ok: true, server: reply?.server, caller: reply?.caller },
        ),
    ),
  );
}

test.run();
