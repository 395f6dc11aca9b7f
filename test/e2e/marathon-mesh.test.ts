// Marathon pods with a proxy container become sidecar workloads: meshlite
// serve --registry marathon=<stand-in> gives real Envoys their config, sleep
// reaches httpbin over mTLS under its own SPIFFE identity, and a second
// httpbin instance added in Marathon reaches sleep's Envoy within one poll.
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { REPO_ROOT } from '../support/paths.js';
import { call, xfccOf } from '../support/e2e/client.js';
import type { WorkloadInfo } from '../support/e2e/config-dir.js';
import { startEnvoy } from '../support/e2e/envoy.js';
import { loopbackAddress } from '../support/e2e/loopback-blocks.js';
import { meshliteCli, startMeshlite } from '../support/e2e/meshlite.js';
import { withProcesses } from '../support/e2e/process-manager.js';
import { waitForSync } from '../support/e2e/wait-for-sync.js';
import { until } from '../support/poll.js';
import { MarathonStandIn } from '../support/marathon-stand-in.js';

const HTTPBIN_APP = join(REPO_ROOT, 'dist/test/support/apps/httpbin.js');
const at = (host: number) => loopbackAddress('e2e/marathon-mesh.test.ts', host);
const INTERVAL_MS = 2000;
const CLUSTER = 'outbound|8000||httpbin.mesh.svc.cluster.local';

const MESH_STRICT = `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: istio-system}
spec:
  mtls: {mode: STRICT}
`;
// Marathon workloads carry no sidecar address annotations, so every sidecar's
// outbound proxy would take 127.0.0.1:15001; httpbin needs no egress, which
// leaves that listener to sleep alone.
const HTTPBIN_NO_EGRESS = `apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: httpbin-no-egress, namespace: mesh}
spec:
  workloadSelector: {labels: {app: httpbin}}
  egress:
    - hosts: ["./sleep.mesh.svc.cluster.local"]
`;

type Json = Record<string, unknown>;

function instance(service: string, n: number, agent: string, port?: number): Json {
  const endpoints = port === undefined ? [] : [{ name: 'http', allocatedHostPort: port, healthy: true }];
  return {
    id: `mesh_${service}.instance-${n}`,
    status: 'STABLE',
    agentHostname: agent,
    networks: [],
    containers: [
      { name: 'app', status: 'TASK_RUNNING', endpoints },
      { name: 'istio-proxy', status: 'TASK_RUNNING', endpoints: [] },
    ],
  };
}

/** A pod of an app container and an istio-proxy container; httpbin's app serves HTTP on 8000 behind a VIP. */
function pod(service: string, instances: Json[]): Json {
  const endpoints = service === 'httpbin' ? [{ name: 'http', hostPort: 0, protocol: ['http'], labels: { VIP_0: '/httpbin:8000' } }] : [];
  return {
    id: `/mesh/${service}`,
    spec: {
      id: `/mesh/${service}`,
      labels: {},
      environment: {},
      networks: [{ mode: 'host' }],
      containers: [
        { name: 'app', resources: { cpus: 0.1, mem: 32 }, endpoints },
        { name: 'istio-proxy', resources: { cpus: 0.1, mem: 64 }, endpoints: [] },
      ],
    },
    status: 'STABLE',
    instances,
  };
}

/** A port the kernel hands out on 127.0.0.1 (where the sidecar forwards to the app), for Marathon to "allocate". */
async function freeLocalPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Proxy ids (`<WorkloadEntry name>.<namespace>`) of `meshlite import marathon` output, by service. */
function workloadNames(yaml: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const m of yaml.matchAll(/kind: WorkloadEntry\nmetadata:\n {2}name: ((\w+)-[0-9a-f]+)\n/g)) {
    out.set(m[2]!, [...(out.get(m[2]!) ?? []), `${m[1]!}.mesh`]);
  }
  return out;
}

test('Marathon pods: sleep reaches httpbin over mTLS between real Envoys; a new instance is an endpoint within one poll', async () => {
  const marathon = new MarathonStandIn();
  try {
    await withProcesses('marathon-mesh', async (pm) => {
      const appPort = await freeLocalPort();
      const secondPort = appPort === 65535 ? appPort - 1 : appPort + 1;
      marathon.pods = [pod('httpbin', [instance('httpbin', 1, at(1), appPort)]), pod('sleep', [instance('sleep', 1, at(2))])];
      const url = await marathon.start(at(100));

      const cfg = join(pm.dir, 'config');
      mkdirSync(cfg);
      writeFileSync(join(cfg, 'mesh-strict.yaml'), MESH_STRICT);
      writeFileSync(join(cfg, 'httpbin-sidecar.yaml'), HTTPBIN_NO_EGRESS);
      const stateDir = join(pm.dir, 'state');
      const meshlite = await startMeshlite(pm, {
        configDir: cfg,
        stateDir,
        extraArgs: ['--registry', `marathon=${url}`, '--registry-interval', `${INTERVAL_MS / 1000}s`],
      });

      // The proxy ids are the WorkloadEntry names the registry makes; bootstrap reads them from -c, so the
      // bootstrap config is the served config plus what `import marathon` makes of the same answer.
      const podsFile = join(pm.dir, 'pods.json');
      writeFileSync(podsFile, JSON.stringify(marathon.pods));
      const imported = await meshliteCli(['import', 'marathon', podsFile]);
      const names = workloadNames(imported);
      const httpbin = names.get('httpbin')?.[0];
      const sleep = names.get('sleep')?.[0];
      assert.ok(httpbin && sleep, `a WorkloadEntry for httpbin and sleep in:\n${imported}`);
      const bootstrapCfg = join(pm.dir, 'bootstrap-config');
      mkdirSync(bootstrapCfg);
      writeFileSync(join(bootstrapCfg, 'mesh-strict.yaml'), MESH_STRICT);
      writeFileSync(join(bootstrapCfg, 'httpbin-sidecar.yaml'), HTTPBIN_NO_EGRESS);
      writeFileSync(join(bootstrapCfg, 'marathon.yaml'), imported);

      pm.start('httpbin-app', process.execPath, [HTTPBIN_APP, '127.0.0.1', String(appPort)]);
      const [, sleepEnvoy] = await Promise.all(
        [httpbin!, sleep!].map((id) => startEnvoy(pm, id, { configDir: bootstrapCfg, stateDir, adsAddress: meshlite.adsAddress })),
      );
      await waitForSync(meshlite.adminUrl, { proxies: [httpbin!, sleep!], generation: 1, timeoutMs: 45_000 });

      const from: WorkloadInfo = {
        id: sleep!,
        name: sleep!.split('.')[0]!,
        namespace: 'mesh',
        address: at(2),
        sidecar: true,
        applicationAddress: '127.0.0.1',
        outboundAddress: '127.0.0.1',
        outboundPort: 15001,
      };
      const to: WorkloadInfo = { ...from, id: httpbin!, name: httpbin!.split('.')[0]!, address: at(1) };
      const answer = await until('sleep -> httpbin answers 200', async () => {
        const r = await call({ from, to }, '/headers');
        return r.code === '200' ? r : undefined;
      });
      const xfcc = xfccOf(answer.body);
      assert.ok(xfcc?.includes('URI=spiffe://cluster.local/ns/mesh/sa/sleep'), `XFCC names sleep: ${xfcc}`);
      assert.ok(xfcc?.includes('By=spiffe://cluster.local/ns/mesh/sa/httpbin'), `XFCC By names httpbin: ${xfcc}`);

      // STRICT: a plaintext client straight at httpbin's inbound listener gets no answer.
      const plain = await call({ from: { ...from, sidecar: false, address: at(3) }, to, targetPort: appPort }, '/headers');
      assert.is(plain.code, '000', `plaintext to httpbin's sidecar is refused under STRICT, got ${plain.code}`);

      const endpoints = async () => {
        const text = await sleepEnvoy!.get('/clusters');
        return new Set([...text.matchAll(new RegExp(`^${CLUSTER.replace(/[|.]/g, '\\$&')}::([\\d.]+:\\d+)::`, 'gm'))].map((m) => m[1]));
      };
      assert.equal([...(await endpoints())], [`${at(1)}:${appPort}`], 'one httpbin endpoint at first');

      marathon.pods = [
        pod('httpbin', [instance('httpbin', 1, at(1), appPort), instance('httpbin', 2, at(4), secondPort)]),
        pod('sleep', [instance('sleep', 1, at(2))]),
      ];
      const added = Date.now();
      // One poll interval, plus the debounce and the push to Envoy.
      await until('sleep has two httpbin endpoints', async () => ((await endpoints()).size === 2 ? true : undefined), INTERVAL_MS + 1500);
      const seen = await endpoints();
      assert.ok(seen.has(`${at(4)}:${secondPort}`), `the new instance is an endpoint: ${[...seen]}`);
      console.log(`[marathon-mesh] second endpoint in sleep's Envoy after ${Date.now() - added} ms (interval ${INTERVAL_MS} ms)`);
    });
  } finally {
    await marathon.stop();
  }
});

test.run();
