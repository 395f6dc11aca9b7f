// Retry policies against real Envoy: the route configuration meshlite builds
// (a service's default route, and a VirtualService route with `attempts: 0`)
// in a static bootstrap, in front of a cluster of two endpoints where one
// refuses connections. The default policy retries the refused attempt on the
// other endpoint, so every client gets 200; with retries off, the attempts
// that hit the refusing endpoint reach the client as 503.
import { createServer, request, type Server } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { HttpRouteView, VirtualHostView } from '../../src/model/view-types.js';
import { buildHttpRoutes } from '../../src/xds/http-route.js';
import { buildRouteConfiguration } from '../../src/xds/route-configuration.js';
import { startEnvoyFromFile, waitEnvoyReady } from '../support/e2e/envoy.js';
import { loopbackAddress } from '../support/e2e/loopback-blocks.js';
import { withProcesses } from '../support/e2e/process-manager.js';

const LOOPBACK = loopbackAddress('xds/retry-policy-envoy.test.ts');
/** The serving endpoint; nothing listens on REFUSING_PORT (connections to it fail). */
const [UP_PORT, REFUSING_PORT, LISTENER_PORT] = [8000, 8001, 10000];
const CLUSTER = 'outbound|80||svc.foo.svc.cluster.local';

const vhost = (name: string): VirtualHostView => ({ name: `${name}:80`, domains: [name], cluster: CLUSTER });

/** A VirtualService route to the service with retries turned off. */
const NO_RETRIES: HttpRouteView = {
  match: [],
  route: [{ destination: { host: 'svc.foo.svc.cluster.local' }, cluster: CLUSTER }],
  retries: { attempts: 0 },
} as HttpRouteView;

function routeConfiguration() {
  const off = buildHttpRoutes([NO_RETRIES], { gateway: 'mesh', port: 80 }, 'foo.svc');
  assert.equal(off.warnings, []);
  const built = buildRouteConfiguration('80', [vhost('default.test'), vhost('off.test')], false, (v) =>
    v.name === 'off.test:80' ? off.routes : undefined,
  );
  return built.routeConfiguration;
}

function bootstrap() {
  const endpoint = (port: number) => ({ endpoint: { address: { socket_address: { address: LOOPBACK, port_value: port } } } });
  return {
    admin: { address: { socket_address: { address: LOOPBACK, port_value: 0 } } },
    static_resources: {
      clusters: [
        {
          name: CLUSTER,
          type: 'STATIC',
          connect_timeout: '1s',
          load_assignment: { cluster_name: CLUSTER, endpoints: [{ lb_endpoints: [endpoint(UP_PORT), endpoint(REFUSING_PORT)] }] },
        },
      ],
      listeners: [
        {
          name: 'http',
          address: { socket_address: { address: LOOPBACK, port_value: LISTENER_PORT } },
          filter_chains: [
            {
              filters: [
                {
                  name: 'envoy.filters.network.http_connection_manager',
                  typed_config: {
                    '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
                    stat_prefix: 'http',
                    route_config: routeConfiguration(),
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

/** Status of one GET through Envoy with this Host (fetch cannot set Host). */
function status(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: LOOPBACK, port: LISTENER_PORT, path: '/', headers: { host }, timeout: 10_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer for ${host}`)));
    req.on('error', reject);
    req.end();
  });
}

async function statuses(host: string, count: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < count; i++) out.push(await status(host));
  return out;
}

test('real Envoy: the default policy retries a refused connection on the other endpoint; attempts 0 returns the 503', async () => {
  await withProcesses('retry-policy', async (pm) => {
    const upstream: Server = createServer((_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => upstream.listen(UP_PORT, LOOPBACK, resolve));
    try {
      const file = join(pm.dir, 'retry-policy.bootstrap.json');
      writeFileSync(file, JSON.stringify(bootstrap(), null, 2));
      const envoy = await startEnvoyFromFile(pm, 'retry-policy', file);
      await waitEnvoyReady(envoy);
      // The cluster name holds `|`, which the stat filter (a regex) must see escaped.
      const stat = async (name: string) => {
        const full = `cluster.${CLUSTER}.${name}`;
        const text = await envoy.get(`/stats?filter=${encodeURIComponent(`^${full.replace(/[.|]/g, '\\$&')}$`)}`);
        const m = /:\s*(\d+)\s*$/m.exec(text);
        if (!m) throw new Error(`no stat ${full}`);
        return Number(m[1]);
      };

      // Round robin over two endpoints: half of the first attempts go to the refusing one.
      const withDefault = await statuses('default.test', 8);
      assert.equal(withDefault, Array(8).fill(200), 'every request answered after a retry');
      const retried = await stat('upstream_rq_retry');
      assert.ok(retried >= 1, `Envoy retried (upstream_rq_retry ${retried})`);
      assert.ok((await stat('upstream_cx_connect_fail')) >= retried, 'the retried attempts were refused connections');

      const withoutRetries = await statuses('off.test', 8);
      assert.ok(withoutRetries.includes(503), `a refused attempt reaches the client: ${withoutRetries.join(',')}`);
      assert.ok(withoutRetries.includes(200), 'the serving endpoint still answers');
      assert.is(await stat('upstream_rq_retry'), retried, 'no retry without a retry policy');
    } finally {
      await new Promise<void>((resolve) => upstream.close(() => resolve()));
    }
  });
});

test.run();
