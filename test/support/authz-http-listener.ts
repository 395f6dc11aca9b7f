// An HTTP listener for the static-bootstrap Envoy tests: the access-control
// filters meshlite built, then the router to cluster `app`; and the Envoy that
// runs such listeners in front of the test's app.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AuthzFilters } from '../../src/xds/authz-filters.js';
import { type Envoy, startEnvoyFromFile, waitEnvoyReady } from './e2e/envoy.js';
import type { ProcessManager } from './e2e/process-manager.js';

type Obj = Record<string, unknown>;

export function authzHttpListener(name: string, address: string, port: number, built: AuthzFilters): Obj {
  return {
    name,
    address: { socket_address: { address, port_value: port } },
    filter_chains: [
      {
        filters: [
          {
            name: 'envoy.filters.network.http_connection_manager',
            typed_config: {
              '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
              stat_prefix: name,
              route_config: {
                virtual_hosts: [
                  {
                    name: 'app',
                    domains: ['*'],
                    routes: [{ match: { prefix: '/' }, route: { cluster: 'app' } }],
                    typed_per_filter_config: built.httpPerRoute,
                  },
                ],
              },
              http_filters: [
                ...built.http,
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
  };
}

/** Starts Envoy from a static bootstrap: `listeners` and one STATIC cluster `app` (the test's upstream), admin on `address`. */
export async function startAppEnvoy(
  pm: ProcessManager,
  name: string,
  o: { address: string; app: { address: string; port: number }; listeners: readonly Obj[] },
): Promise<Envoy> {
  const bootstrap = {
    admin: { address: { socket_address: { address: o.address, port_value: 0 } } },
    static_resources: {
      clusters: [
        {
          name: 'app',
          type: 'STATIC',
          connect_timeout: '1s',
          load_assignment: {
            cluster_name: 'app',
            endpoints: [
              { lb_endpoints: [{ endpoint: { address: { socket_address: { address: o.app.address, port_value: o.app.port } } } }] },
            ],
          },
        },
      ],
      listeners: o.listeners,
    },
  };
  const file = join(pm.dir, `${name}.bootstrap.json`);
  writeFileSync(file, JSON.stringify(bootstrap, null, 2));
  const envoy = await startEnvoyFromFile(pm, name, file);
  await waitEnvoyReady(envoy);
  return envoy;
}
