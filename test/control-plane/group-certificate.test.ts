// A host registered from a WorkloadGroup asks meshlite's CA for its workload
// certificate with the group token, as the agent's CA client does: it gets the
// group's identity for the workload it registered, and nothing before that,
// for another workload, or once the registration is gone.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CaClient, type CreateCertificateResult } from '../../src/agent/ca-client.js';
import { RegistrationAgent } from '../../src/agent/registration-agent.js';
import { generateWorkloadKey } from '../../src/agent/workload-key.js';
import { type RunningMeshlite, startMeshlite } from '../../src/control-plane/start-meshlite.js';
import { until } from '../support/poll.js';

const quiet = pino({ level: 'silent' });
const REGISTERED = 'api-vms-127-0-0-1.shop';

const CONFIG = `apiVersion: networking.istio.io/v1
kind: WorkloadGroup
metadata: {name: api-vms, namespace: shop}
spec:
  metadata:
    labels: {app: api}
  template:
    serviceAccount: api
    labels: {security.istio.io/tlsMode: istio}
---
apiVersion: networking.istio.io/v1
kind: WorkloadGroup
metadata: {name: batch-vms, namespace: shop}
spec:
  template:
    serviceAccount: batch
    labels: {security.istio.io/tlsMode: istio}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: client, namespace: shop}
spec:
  address: 127.0.0.2
  serviceAccount: client
  labels: {app: client, security.istio.io/tlsMode: istio}
`;

async function withMeshlite(body: (m: RunningMeshlite) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'meshlite-group-cert-'));
  writeFileSync(join(dir, 'mesh.yaml'), CONFIG);
  let m: RunningMeshlite | undefined;
  try {
    m = await startMeshlite({
      configPaths: [join(dir, 'mesh.yaml')],
      stateDir: join(dir, 'state'),
      adsAddress: '127.0.0.1:0',
      adminAddress: '127.0.0.1:0',
      insecure: false,
      autoRegisterGraceMs: 500,
      logger: quiet,
    });
    await body(m);
  } finally {
    await m?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function registration(m: RunningMeshlite, token: string, group: string): RegistrationAgent {
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

/** A CSR call as the agent makes it: the token, and the workload it says it is (if any). */
async function ask(m: RunningMeshlite, token: string, workloadId: string | undefined): Promise<CreateCertificateResult> {
  const client = new CaClient({ address: `127.0.0.1:${m.adsPort}`, trustBundlePem: () => m.ca.rootCertPem, workloadId });
  try {
    const { csrPem } = await generateWorkloadKey();
    return await client.createCertificate({ csrPem, credential: { token } });
  } finally {
    client.close();
  }
}

function spiffeIdOf(result: CreateCertificateResult): string {
  if (!result.ok) throw new Error(`expected a certificate, got ${grpc.status[result.code]}: ${result.message}`);
  return new X509Certificate(result.chain[0]!).subjectAltName ?? '';
}

function refusal(result: CreateCertificateResult): string {
  if (result.ok) throw new Error(`expected a refusal, got a certificate for ${spiffeIdOf(result)}`);
  return `${grpc.status[result.code]}: ${result.message}`;
}

test('a group token gets the group identity for its registered workload, and only then', () =>
  withMeshlite(async (m) => {
    const token = (await m.tokens!.issueGroupToken('api-vms.shop')).token;
    assert.match(refusal(await ask(m, token, REGISTERED)), /^PERMISSION_DENIED: .*not registered from WorkloadGroup api-vms.shop/);
    const agent = registration(m, token, 'api-vms.shop');
    try {
      agent.start();
      assert.is(await agent.registered(), REGISTERED);
      assert.is(spiffeIdOf(await ask(m, token, REGISTERED)), 'URI:spiffe://cluster.local/ns/shop/sa/api');
      assert.match(refusal(await ask(m, token, 'client.shop')), /^PERMISSION_DENIED: workload client.shop is not registered/);
      assert.match(refusal(await ask(m, token, undefined)), /^PERMISSION_DENIED: .*needs the registered workload's id/);
      const other = (await m.tokens!.issueGroupToken('batch-vms.shop')).token;
      assert.match(refusal(await ask(m, other, REGISTERED)), /not registered from WorkloadGroup batch-vms.shop/);
      const proxyToken = await m.tokens!.issue('client.shop');
      assert.match(refusal(await ask(m, proxyToken, REGISTERED)), /the token is for client.shop but the caller says it is/);
      assert.is(spiffeIdOf(await ask(m, proxyToken, 'client.shop')), 'URI:spiffe://cluster.local/ns/shop/sa/client');

      agent.stop();
      await until('the registration removed', () => (m.registrations.list().length === 0 ? true : undefined), 10_000);
      assert.match(refusal(await ask(m, token, REGISTERED)), /not registered from WorkloadGroup api-vms.shop/);
    } finally {
      agent.stop();
    }
  }));

test.run();
