// An HTTP listener for the static-bootstrap Envoy tests: the access-control
// filters meshlite built, then the router to cluster `app`.
import type { AuthzFilters } from '../../src/xds/authz-filters.js';

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
