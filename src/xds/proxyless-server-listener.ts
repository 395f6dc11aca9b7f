// A proxyless gRPC server's Listener (as grpc-js-xds reads it):
// the address the app bound, one filter chain (grpc matches chains only on
// plaintext-transport fields: no SNI, ALPN or TLS sniffing), its TLS when the
// port is STRICT, and an HCM with an inline route table whose routes carry
// `non_forwarding_action` (a gRPC server rejects calls on any other route),
// the RBAC filters, then the router.
import type { ProxylessServerPort } from '../model/view-types.js';
import { socketAddress, typed } from './common.js';
import type { HttpFilter, Listener } from './envoy-types/index.js';
import { PROXYLESS_DOWNSTREAM_MTLS } from './proxyless-tls.js';
import { TYPE } from './type-urls.js';

const ROUTER_FILTER: HttpFilter = { name: 'envoy.filters.http.router', typed_config: typed(TYPE.router) };

export function proxylessServerListener(server: ProxylessServerPort, rbacFilters: readonly HttpFilter[]): Listener {
  // grpc-js-xds compares a new Listener with the one it serves by the filters' bytes and chain matches
  // only, not the transport socket: a chain's name (part of the HCM below) that says its TLS mode makes
  // a STRICT <-> plaintext change a different Listener, which it then applies.
  const name = `inbound|${server.port}|${server.mtls ? 'mtls' : 'plaintext'}`;
  return {
    name: server.listener,
    address: socketAddress(server.address, server.port),
    filter_chains: [
      {
        name,
        filters: [
          {
            name: 'envoy.filters.network.http_connection_manager',
            typed_config: typed(TYPE.httpConnectionManager, {
              stat_prefix: name,
              route_config: {
                name,
                virtual_hosts: [
                  {
                    name,
                    domains: ['*'],
                    routes: [{ name: 'default', match: { prefix: '/' }, non_forwarding_action: {} }],
                  },
                ],
              },
              http_filters: [...rbacFilters, ROUTER_FILTER],
            }),
          },
        ],
        ...(server.mtls ? { transport_socket: PROXYLESS_DOWNSTREAM_MTLS } : {}),
      },
    ],
  };
}
