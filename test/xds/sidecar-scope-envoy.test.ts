// A Sidecar's egress scoping against real Envoy: the HTTP proxy route
// configuration and clusters meshlite builds for an EXPLICIT-mode client, in a
// static bootstrap whose clusters point at one local server. A host the
// Sidecar imports is answered; one it leaves out has no virtual host (404 from
// Envoy) and no cluster, while the same client without the Sidecar reaches it.
import { writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { translate } from '../../src/translate/translator.js';
import { type Envoy, startEnvoyFromFile, waitEnvoyReady } from '../support/e2e/envoy.js';
import { loopbackAddress } from '../support/e2e/loopback-blocks.js';
import { withProcesses } from '../support/e2e/process-manager.js';
import { type Document, meshOf, serviceEntry, workloadEntry } from '../support/fixtures/index.js';

type Obj = Record<string, any>;
const LOOPBACK = loopbackAddress('xds/sidecar-scope-envoy.test.ts');
const [UPSTREAM_PORT, LISTENER_PORT] = [8000, 10000];

const mesh: Document[] = [
  ...['foo', 'bar', 'baz'].flatMap((ns, i) => [serviceEntry(`${ns}/web`), workloadEntry(`${ns}/web`, { address: `127.0.2.${i + 1}` })]),
  workloadEntry('foo/sleep', { address: LOOPBACK }, { annotations: { 'sidecar.meshlite.io/outboundAddress': LOOPBACK } }),
];
const SIDECAR: Document = {
  apiVersion: 'networking.istio.io/v1',
  kind: 'Sidecar',
  metadata: { name: 'default', namespace: 'foo' },
  spec: { egress: [{ hosts: ['./*', 'bar/*'] }], outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' } },
};

/** The client's HTTP proxy routes and the names of its outbound clusters, as meshlite translates them. */
function outbound(docs: Document[]): { route: Obj; clusters: string[] } {
  const r = translate(meshOf(docs), 'sleep.foo');
  if (!r.ok) throw new Error(r.error);
  const route = (r.resources.routes as Obj[]).find((c) => c.name === 'http_proxy')!;
  const clusters = (r.resources.clusters as Obj[]).map((c) => c.name as string).filter((n) => n.startsWith('outbound|'));
  return { route, clusters };
}

/** meshlite's route config as is; its clusters made static, all on the local server. */
function bootstrap({ route, clusters }: { route: Obj; clusters: string[] }): Obj {
  return {
    admin: { address: { socket_address: { address: LOOPBACK, port_value: 0 } } },
    static_resources: {
      clusters: clusters.map((name) => ({
        name,
        type: 'STATIC',
        connect_timeout: '1s',
        load_assignment: {
          cluster_name: name,
          endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: LOOPBACK, port_value: UPSTREAM_PORT } } } }] }],
        },
      })),
      listeners: [
        {
          name: 'http_proxy',
          address: { socket_address: { address: LOOPBACK, port_value: LISTENER_PORT } },
          filter_chains: [
            {
              filters: [
                {
                  name: 'envoy.filters.network.http_connection_manager',
                  typed_config: {
                    '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
                    stat_prefix: 'outbound',
                    route_config: route,
                    http_filters: [
                      {
                        name: 'envoy.filters.http.router',
                        typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' },
                      },
                    ],
                  },
                },
              ],
            },
          ],
        },
      ],
    },
  };
}

/** Status and body of one GET through the proxy for this Host (fetch cannot set Host). */
function get(host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: LOOPBACK, port: LISTENER_PORT, path: '/', headers: { host }, timeout: 10_000 }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer for ${host}`)));
    req.on('error', reject);
    req.end();
  });
}

async function withEnvoy(name: string, docs: Document[], check: (envoy: Envoy) => Promise<void>): Promise<void> {
  await withProcesses(name, async (pm) => {
    const file = join(pm.dir, `${name}.bootstrap.json`);
    writeFileSync(file, JSON.stringify(bootstrap(outbound(docs)), null, 2));
    const envoy = await startEnvoyFromFile(pm, name, file);
    await waitEnvoyReady(envoy);
    await check(envoy);
  });
}

const web = (ns: string) => `web.${ns}.svc.cluster.local:8000`;
let upstream: Server;

test.before(async () => {
  upstream = createServer((req, res) => res.end(`upstream saw ${req.headers.host}`));
  await new Promise<void>((resolve) => upstream.listen(UPSTREAM_PORT, LOOPBACK, resolve));
});
test.after(async () => {
  await new Promise<void>((resolve) => upstream.close(() => resolve()));
});

test('real Envoy: without a Sidecar the client reaches every namespace', async () => {
  await withEnvoy('sidecar-none', mesh, async () => {
    for (const ns of ['foo', 'bar', 'baz']) assert.equal(await get(web(ns)), { status: 200, body: `upstream saw ${web(ns)}` });
  });
});

test('real Envoy: a Sidecar importing "./*" and "bar/*" leaves baz unreachable (404, no cluster)', async () => {
  await withEnvoy('sidecar-scoped', [...mesh, SIDECAR], async (envoy) => {
    assert.is((await get(web('foo'))).status, 200);
    assert.is((await get(web('bar'))).status, 200);
    const refused = await get(web('baz'));
    assert.is(refused.status, 404, 'no virtual host for the unlisted host');
    assert.not.match(refused.body, 'upstream saw');
    assert.is((await get('example.com')).status, 404, 'REGISTRY_ONLY: an unknown host is not passed through');
    const clusters = await envoy.get('/clusters?format=json');
    assert.match(clusters, 'outbound|8000||web.bar.svc.cluster.local');
    assert.not.match(clusters, 'web.baz.svc.cluster.local');
  });
});

test.run();
