// The one reading of a config dump that `authz check` and `matrix` share:
// the filter-chain chooser's "cannot tell" reaches authz check as a deny, and
// the per-filter config follows the chosen virtual host and route.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkAuthz } from '../../src/inspect/authz-check.js';
import { chooseRoute, perFilterConfigFor, perFilterConfigOf } from '../../src/inspect/route-match.js';

const dumpWith = (chainMatch: Record<string, unknown>) => ({
  configs: [
    {
      '@type': 'type.googleapis.com/envoy.admin.v3.ListenersConfigDump',
      dynamic_listeners: [
        {
          name: 'in',
          active_state: {
            listener: {
              name: 'in',
              traffic_direction: 'INBOUND',
              address: { socket_address: { address: '10.0.0.5', port_value: 15006 } },
              filter_chains: [{ name: 'c', filter_chain_match: { destination_port: 80, ...chainMatch }, filters: [] }],
            },
          },
        },
      ],
    },
  ],
});

test('authz check denies, without a verdict of its own, when the chain depends on the source of the connection', () => {
  const r = checkAuthz(dumpWith({ source_prefix_ranges: [{ address_prefix: '10.0.0.0', prefix_len: 8 }] }), 'p', { kind: 'none' }, {});
  assert.ok(r.ok);
  if (!r.ok) return;
  assert.is(r.value.verdict, 'deny');
  assert.is(r.value.reason, 'cannot evaluate: the remaining filter chains match on the source of the connection; denying');
  assert.is(r.value.refused, undefined);
  // The same listener without the source criterion takes the connection (a TCP chain without RBAC: allowed).
  const plain = checkAuthz(dumpWith({}), 'p', { kind: 'none' }, {});
  assert.ok(plain.ok && plain.value.verdict === 'allow' && plain.value.chain === 'c' && plain.value.protocol === 'tcp');
});

test('per-filter config: route over virtual host over route configuration; the virtual host alone when no route is chosen', () => {
  const at = (v: string) => ({ typed_per_filter_config: { f: v } });
  const routes = {
    name: 'r',
    ...at('config'),
    virtual_hosts: [
      {
        name: 'api',
        domains: ['api.example.com', 'api.example.com:*'],
        ...at('vhost-api'),
        routes: [
          { name: 'admin', match: { prefix: '/admin' }, ...at('route-admin') },
          { name: 'v2', match: { prefix: '/v2', headers: [{ name: 'x-v', present_match: true }] } },
        ],
      },
      { name: 'any', domains: ['*'], routes: [{ name: 'all', match: { prefix: '/' } }] },
    ],
  };
  assert.equal(perFilterConfigFor(routes, 'api.example.com:443', '/admin/x'), { f: 'route-admin' });
  assert.equal(perFilterConfigFor(routes, 'api.example.com', '/v2', { headers: { 'x-v': '1' } }), { f: 'vhost-api' });
  const none = chooseRoute(routes, { authority: 'api.example.com', path: '/other', method: 'GET', headers: {} });
  assert.is(none.kind, 'none');
  assert.equal(perFilterConfigOf(routes, none), { f: 'vhost-api' });
  assert.equal(perFilterConfigFor(routes, 'other.example.com', '/'), { f: 'config' });
});

test.run();
