// runner: long
// `meshlite ca rotate-root` under continuous traffic between two sidecars and
// through an ingress gateway, every proxy run by `meshlite agent`, the mesh
// STRICT: all three phases show in /debug/ca, not one call fails, no Envoy or
// agent is restarted, and at the end every proxy holds a certificate of the
// new root and trusts only it.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type AgentProxy, startAgentProxy } from '../support/e2e/agent.js';
import type { CallResult } from '../support/e2e/client.js';
import { exampleFile, prepareConfigDir, writeConfigFile } from '../support/e2e/config-dir.js';
import { servedCerts } from '../support/e2e/envoy.js';
import { adminJson, CLI } from '../support/e2e/meshlite.js';
import { withProcesses } from '../support/e2e/process-manager.js';
import { describeFailures, startTraffic } from '../support/e2e/traffic.js';
import { startWorld } from '../support/e2e/world.js';
import { REPO_ROOT } from '../support/paths.js';

const GATEWAY = 'ingressgateway.istio-system';
const GATEWAY_PORT = 8080;

/** An ingress gateway on 127.<block>.9.1 routing every host to httpbin.foo. */
const gatewayYaml = (block: number) => `apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: ingressgateway, namespace: istio-system}
spec:
  address: 127.${block}.9.1
  serviceAccount: istio-ingressgateway
  labels: {istio: ingressgateway}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: web, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: ${GATEWAY_PORT}, name: http, protocol: HTTP}
    hosts: ['*']
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: web, namespace: istio-system}
spec:
  hosts: ['*']
  gateways: [web]
  http:
  - route:
    - destination: {host: httpbin.foo.svc.cluster.local, port: {number: 8000}}
`;

async function viaGateway(block: number): Promise<CallResult> {
  try {
    const res = await fetch(`http://127.${block}.9.1:${GATEWAY_PORT}/headers`, { signal: AbortSignal.timeout(3000) });
    return { code: String(res.status), body: await res.text() };
  } catch (err) {
    return { code: '000', body: '', error: String(err) };
  }
}

test('root rotation under traffic (two sidecars and a gateway, all under agents): three phases, zero failed calls, nothing restarted', async () => {
  await withProcesses('root-rotation', async (pm) => {
    const cfg = await prepareConfigDir(pm.dir);
    writeConfigFile(cfg, 'mesh-peer-authentication.yaml', exampleFile('s2-mesh-strict/peer-authentication.yaml'));
    writeConfigFile(cfg, 'gateway.yaml', gatewayYaml(cfg.block));
    const world = await startWorld(pm, { cfg, agents: {} });
    const gateway = await startAgentProxy(pm, GATEWAY, {
      configDir: cfg.dir,
      stateDir: world.stateDir,
      adsAddress: world.meshlite.adsAddress,
    });
    const deadline = Date.now() + 20_000;
    while ((await viaGateway(cfg.block)).code !== '200') {
      if (Date.now() > deadline) throw new Error(`the gateway does not route: ${JSON.stringify(await viaGateway(cfg.block))}`);
      await sleep(100);
    }
    const proxies: AgentProxy[] = [...world.sidecarProxies.map((id) => world.envoy(id) as AgentProxy), gateway];
    const before = await Promise.all(proxies.map((p) => p.status()));
    const oldRoot = (await adminJson(world.meshlite.adminUrl, '/debug/ca')).rootFingerprintSha256 as string;

    const traffic = startTraffic({
      calls: [
        { label: 'sleep.foo->httpbin.bar', run: () => world.call('foo', 'bar') },
        { label: 'sleep.bar->httpbin.foo', run: () => world.call('bar', 'foo') },
        { label: 'gateway->httpbin.foo', run: () => viaGateway(cfg.block) },
      ],
    });
    await traffic.waitForMore(10);
    const phases = new Set<string>();
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const ca = await adminJson(world.meshlite.adminUrl, '/debug/ca').catch(() => undefined);
        if (ca?.rotation?.phase) phases.add(ca.rotation.phase);
        await sleep(100);
      }
    })();
    const callsBefore = traffic.records.length;
    const adminAddress = world.meshlite.adminUrl.replace('http://', '');
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [CLI, 'ca', 'rotate-root', '--admin-address', adminAddress, '--wait', '--poll-interval', '200ms'],
      {
        cwd: REPO_ROOT,
        encoding: 'utf8',
        timeout: 90_000,
      },
    );
    const callsDuring = traffic.records.length - callsBefore;
    assert.ok(callsDuring >= 30, `traffic ran through the rotation: ${callsDuring} calls`);
    process.stdout.write(`rotation: ${callsDuring} calls while rotate-root --wait ran\n${stdout}`);
    await sleep(300);
    watching = false;
    await watcher;
    await traffic.waitForMore(10);
    const records = await traffic.stop();
    const failures = traffic.failures();
    assert.is(failures.length, 0, `${failures.length} of ${records.length} calls failed:\n${describeFailures(failures)}`);
    for (const phase of ['trust-both', 'signing-new', 'done']) {
      assert.ok(stdout.includes(phase), `rotate-root --wait printed ${phase}:\n${stdout}`);
      assert.ok(phases.has(phase), `/debug/ca showed ${phase}: ${[...phases].join(', ')}`);
    }

    const ca = await adminJson(world.meshlite.adminUrl, '/debug/ca');
    const newRoot = ca.rootFingerprintSha256 as string;
    assert.is.not(newRoot, oldRoot, 'meshlite signs with a new root');
    const after = await Promise.all(proxies.map((p) => p.status()));
    for (const [i, p] of proxies.entries()) {
      assert.is(after[i]!.envoy.pid, before[i]!.envoy.pid, `${p.name}: same Envoy process`);
      assert.is(after[i]!.envoy.restarts, 0, `${p.name}: Envoy never restarted`);
      assert.ok(p.agent.running, `${p.name}: agent still running`);
      assert.is(after[i]!.certificate.rootFingerprint, newRoot, `${p.name}: its certificate chains to the new root`);
      assert.equal(after[i]!.trustBundle, [newRoot], `${p.name}: trusts only the new root`);
      const served = await servedCerts(p);
      assert.ok(
        served.chains.some(
          (c) => c.serial.toLowerCase().replace(/^0+/, '') === String(after[i]!.certificate.serialNumber).toLowerCase().replace(/^0+/, ''),
        ),
        `${p.name}: Envoy serves the agent's new certificate`,
      );
    }
  });
});

test.run();
