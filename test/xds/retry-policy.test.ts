// Retry policies outside VirtualService routes: a service's default route,
// inbound routes, and the premise behind Istio's consistent-hash exception.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canonicalJson } from '../../src/proto/proto-json.js';
import { asJson } from '../../src/xds/common.js';
import { inboundRouteConfiguration } from '../../src/xds/http-connection-manager.js';
import { defaultRetryPolicy } from '../../src/xds/retry-policy.js';
import { buildRouteConfiguration } from '../../src/xds/route-configuration.js';
import { documentText, issuesOf } from '../support/fixtures/index.js';

type Obj = Record<string, any>;
const CLUSTER = 'outbound|80||svc.foo.svc.cluster.local';

/** The route configuration, checked to be accepted and already canonical by the real proto. */
function canonical(config: Obj): Obj {
  assert.is(JSON.stringify(canonicalJson('envoy.config.route.v3.RouteConfiguration', asJson(config))), JSON.stringify(config));
  return config;
}

test("a service's default route: no timeout and Istio's default retries", () => {
  const { routeConfiguration } = buildRouteConfiguration('80', [{ name: 'svc:80', domains: ['svc'], cluster: CLUSTER }], false);
  const route = canonical(routeConfiguration).virtual_hosts[0].routes[0].route;
  assert.equal(route, {
    cluster: CLUSTER,
    timeout: '0s',
    retry_policy: {
      retry_on: 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes',
      num_retries: 2,
      retry_host_predicate: [
        {
          name: 'envoy.retry_host_predicates.previous_hosts',
          typed_config: { '@type': 'type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate' },
        },
      ],
      host_selection_retry_max_attempts: '5',
    },
  });
});

test('each default route gets its own policy object (no shared mutable state between routes)', () => {
  const a = defaultRetryPolicy();
  (a.retry_host_predicate as Obj[]).length = 0;
  assert.is(defaultRetryPolicy().retry_host_predicate?.length, 1);
});

test('inbound routes: reset-before-request, twice, on HTTP/1 ports; none on gRPC/HTTP2 ports', () => {
  const http = canonical(inboundRouteConfiguration('inbound|8080||', 8080, {})).virtual_hosts[0].routes[0].route;
  assert.equal(http, { cluster: 'inbound|8080||', timeout: '0s', retry_policy: { retry_on: 'reset-before-request', num_retries: 2 } });
  const grpc = canonical(inboundRouteConfiguration('inbound|9090||', 9090, {}, true)).virtual_hosts[0].routes[0].route;
  assert.equal(grpc, { cluster: 'inbound|9090||', timeout: '0s' });
});

test('consistent-hash load balancing is refused, so no destination needs the same-host retry exception', () => {
  const text = documentText(
    'DestinationRule',
    'foo/svc',
    '  host: svc.foo.svc.cluster.local\n  trafficPolicy:\n    loadBalancer:\n      consistentHash: {httpHeaderName: x-user}\n',
  );
  const issues = issuesOf(text);
  assert.ok(
    issues.some((i) => i.includes('consistentHash')),
    issues.join('\n'),
  );
});

test.run();
