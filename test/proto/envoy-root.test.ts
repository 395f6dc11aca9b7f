import { test } from 'uvu';
import * as assert from 'uvu/assert';
import protobuf from 'protobufjs';
import { envoyRoot, envoyRootStats, lookupMessage, typeUrl } from '../../src/proto/envoy-root.js';

test('the root is loaded once and cached', () => {
  assert.is(envoyRootStats(), undefined);
  const root = envoyRoot();
  const stats = envoyRootStats();
  assert.ok(stats && stats.loadMillis > 0 && stats.fileCount > 100, JSON.stringify(stats));
  assert.is(envoyRoot(), root);
  assert.is(envoyRootStats(), stats);
});

test('every required API package is loaded', () => {
  const names = [
    'envoy.config.cluster.v3.Cluster',
    'envoy.config.listener.v3.Listener',
    'envoy.config.route.v3.RouteConfiguration',
    'envoy.config.endpoint.v3.ClusterLoadAssignment',
    'envoy.config.core.v3.Node',
    'envoy.config.bootstrap.v3.Bootstrap',
    'envoy.service.discovery.v3.DiscoveryRequest',
    'envoy.service.discovery.v3.DiscoveryResponse',
    'envoy.service.discovery.v3.DeltaDiscoveryRequest',
    'envoy.service.discovery.v3.DeltaDiscoveryResponse',
    'envoy.service.secret.v3.SdsDummy',
    'envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
    'envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
    'envoy.extensions.transport_sockets.tls.v3.Secret',
    'envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer',
    'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
    'envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',
    'envoy.extensions.filters.network.rbac.v3.RBAC',
    'envoy.extensions.filters.http.router.v3.Router',
    'envoy.extensions.filters.http.rbac.v3.RBAC',
    'envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication',
    'envoy.extensions.filters.http.fault.v3.HTTPFault',
    'envoy.extensions.filters.http.ext_authz.v3.ExtAuthz',
    'envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector',
    'envoy.extensions.filters.listener.http_inspector.v3.HttpInspector',
    'envoy.extensions.filters.listener.original_dst.v3.OriginalDst',
    'envoy.admin.v3.ConfigDump',
    'envoy.admin.v3.ClustersConfigDump',
    'envoy.admin.v3.ListenersConfigDump',
    'envoy.admin.v3.SecretsConfigDump',
    'envoy.admin.v3.RoutesConfigDump',
    'envoy.admin.v3.EndpointsConfigDump',
    'envoy.admin.v3.BootstrapConfigDump',
    'envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
    'envoy.extensions.clusters.aggregate.v3.ClusterConfig',
    'envoy.extensions.clusters.dynamic_forward_proxy.v3.ClusterConfig',
    'envoy.type.matcher.v3.StringMatcher',
    'envoy.type.matcher.v3.MetadataMatcher',
    'google.protobuf.FieldMask',
    'google.protobuf.Empty',
  ];
  for (const name of names) assert.is(lookupMessage(name).fullName, `.${name}`, name);
});

test('field names keep their .proto snake_case', () => {
  const cluster = lookupMessage('envoy.config.cluster.v3.Cluster');
  assert.ok(cluster.fields.connect_timeout, 'connect_timeout');
  assert.is(cluster.fields.connectTimeout, undefined);
  assert.is(cluster.fields.connect_timeout?.resolvedType?.fullName, '.google.protobuf.Duration');
});

test('lookupMessage accepts a leading dot and rejects what is not a message', () => {
  assert.is(lookupMessage('.envoy.config.cluster.v3.Cluster'), lookupMessage('envoy.config.cluster.v3.Cluster'));
  assert.ok(lookupMessage('envoy.config.cluster.v3.Cluster') instanceof protobuf.Type);
  assert.throws(() => lookupMessage('envoy.config.cluster.v3.Clustr'), /"envoy\.config\.cluster\.v3\.Clustr" is not a known message type/);
  assert.throws(() => lookupMessage('envoy.config.cluster.v3.Cluster.LbPolicy'), /names an enum, not a message type/);
  assert.throws(() => lookupMessage('envoy.config.cluster.v3'), /names a namespace, not a message type/);
  assert.throws(() => lookupMessage('type.googleapis.com/envoy.config.cluster.v3.Cluster'), /is not a known message type/);
});

test('typeUrl', () => {
  assert.is(typeUrl('envoy.config.cluster.v3.Cluster'), 'type.googleapis.com/envoy.config.cluster.v3.Cluster');
  assert.is(typeUrl('.envoy.config.cluster.v3.Cluster'), 'type.googleapis.com/envoy.config.cluster.v3.Cluster');
});

test.run();
