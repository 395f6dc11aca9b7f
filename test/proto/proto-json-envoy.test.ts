import { createRequire } from 'node:module';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { lookupMessage } from '../../src/proto/envoy-root.js';
import { anyToBinary, binaryAnyToJson, binaryToJson, canonicalJson, jsonToBinary, type Json } from '../../src/proto/proto-json.js';
import { cluster, configDump, listener, loadAssignment } from './envoy-fixtures.js';

const CLUSTER = 'envoy.config.cluster.v3.Cluster';
const LISTENER = 'envoy.config.listener.v3.Listener';
const CLA = 'envoy.config.endpoint.v3.ClusterLoadAssignment';
const CONFIG_DUMP = 'envoy.admin.v3.ConfigDump';

function roundTrip(typeName: string, input: Json): void {
  const bytes = jsonToBinary(typeName, input);
  const output = binaryToJson(typeName, bytes);
  assert.is(JSON.stringify(output, null, 1), JSON.stringify(input, null, 1));
  // And the canonical JSON re-encodes to the very same bytes.
  assert.equal(Buffer.from(jsonToBinary(typeName, output)).toString('hex'), Buffer.from(bytes).toString('hex'));
}

test('Cluster (EDS, TLS in Any, transport_socket_matches, wrappers, Struct metadata) round-trips', () => {
  roundTrip(CLUSTER, cluster);
});

test('Listener with HttpConnectionManager in Any round-trips', () => {
  roundTrip(LISTENER, listener);
});

test('ClusterLoadAssignment with endpoint filter_metadata round-trips', () => {
  roundTrip(CLA, loadAssignment);
});

test('admin ConfigDump with ClustersConfigDump and SecretsConfigDump round-trips', () => {
  roundTrip(CONFIG_DUMP, configDump);
});

test('Any values are encoded as nested message bytes', () => {
  const bytes = jsonToBinary(CLUSTER, cluster);
  const decoded = lookupMessage(CLUSTER).decode(bytes) as unknown as {
    transport_socket: { typed_config: { type_url: string; value: Uint8Array } };
    connect_timeout: { seconds: { low: number; high: number } };
  };
  const any = decoded.transport_socket.typed_config;
  assert.is(any.type_url, 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext');
  const tls = lookupMessage('envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext').decode(any.value) as unknown as { sni: string };
  assert.is(tls.sni, 'reviews.default.svc.cluster.local');
  // protobufjs 8 decodes int64 as a Long (from the "long" package).
  assert.is(decoded.connect_timeout.seconds.low, 10);
  assert.is(decoded.connect_timeout.seconds.high, 0);
});

test("binary agrees with protobufjs's own ProtoJSON parser", () => {
  const protojson = createRequire(import.meta.url)('protobufjs/ext/protojson.js') as {
    fromJson(type: unknown, json: unknown): object;
  };
  for (const [typeName, input] of [
    [CLUSTER, cluster],
    [LISTENER, listener],
    [CLA, loadAssignment],
  ] as const) {
    const type = lookupMessage(typeName);
    const theirs = type.encode(protojson.fromJson(type, input)).finish();
    assert.is(Buffer.from(jsonToBinary(typeName, input)).toString('hex'), Buffer.from(theirs).toString('hex'), typeName);
  }
});

test('accepts lowerCamel json names and normalizes to canonical form', () => {
  const input: Json = {
    ignoreHealthOnHostRemoval: false,
    metadata: { filterMetadata: { m: { z: 1, a: [true] } } },
    connectTimeout: '1.5s',
    name: 'c',
    type: 3,
    eds_cluster_config: { service_name: '' },
    dns_refresh_rate: '-0.000000001s',
    per_connection_buffer_limit_bytes: '1024',
    typed_extension_protocol_options: {},
    dns_resolvers: [],
  };
  const expected = {
    name: 'c',
    type: 'EDS',
    eds_cluster_config: {},
    connect_timeout: '1.500s',
    per_connection_buffer_limit_bytes: 1024,
    dns_refresh_rate: '-0.000000001s',
    metadata: { filter_metadata: { m: { a: [true], z: 1 } } },
  };
  assert.is(JSON.stringify(canonicalJson(CLUSTER, input)), JSON.stringify(expected));
});

test('implicit-presence defaults are not serialized; oneof members always are', () => {
  assert.is(jsonToBinary(CLUSTER, { name: '', respect_dns_ttl: false, lb_policy: 'ROUND_ROBIN', dns_resolvers: [] }).length, 0);
  // type (field 2) = STATIC (0) is a oneof member, so it has presence.
  assert.is(Buffer.from(jsonToBinary(CLUSTER, { type: 'STATIC' })).toString('hex'), '1000');
  assert.equal(binaryToJson(CLUSTER, jsonToBinary(CLUSTER, { type: 'STATIC' })), { type: 'STATIC' });
});

test('null means "not set", except for google.protobuf.Value', () => {
  const out = canonicalJson(CLUSTER, { name: 'x', connect_timeout: null, metadata: { filter_metadata: { a: { k: null } } } });
  assert.equal(out, { name: 'x', metadata: { filter_metadata: { a: { k: null } } } });
});

test('well-known types use their special JSON forms', () => {
  const cases: Array<[string, Json, Json?]> = [
    ['google.protobuf.Duration', '5s'],
    ['google.protobuf.Duration', '0.100s'],
    ['google.protobuf.Duration', '-1.5s', '-1.500s'],
    ['google.protobuf.Duration', '1.000500s'],
    ['google.protobuf.Duration', '0.000000001s'],
    ['google.protobuf.Duration', '315576000000s'],
    ['google.protobuf.Duration', '0s'],
    ['google.protobuf.Timestamp', '2024-05-01T12:00:00Z'],
    ['google.protobuf.Timestamp', '2024-05-01T12:00:00.5+02:00', '2024-05-01T10:00:00.500Z'],
    ['google.protobuf.Timestamp', '0001-01-01T00:00:00Z'],
    ['google.protobuf.Timestamp', '9999-12-31T23:59:59.999999999Z'],
    ['google.protobuf.Timestamp', '1969-12-31T23:59:59.000001Z'],
    ['google.protobuf.DoubleValue', 2.5],
    ['google.protobuf.DoubleValue', 'Infinity'],
    ['google.protobuf.FloatValue', 0.1],
    ['google.protobuf.Int64Value', '-9223372036854775808'],
    ['google.protobuf.Int64Value', 42, '42'],
    ['google.protobuf.UInt64Value', '18446744073709551615'],
    ['google.protobuf.Int32Value', -5],
    ['google.protobuf.UInt32Value', 4294967295],
    ['google.protobuf.BoolValue', false],
    ['google.protobuf.StringValue', 'héllo 😀'],
    ['google.protobuf.BytesValue', 'AAEC/w=='],
    ['google.protobuf.BytesValue', 'AAEC_w', 'AAEC/w=='],
    ['google.protobuf.Struct', { b: { c: [1, 'two', null, false, {}] }, a: 1 }, { a: 1, b: { c: [1, 'two', null, false, {}] } }],
    ['google.protobuf.Value', null],
    ['google.protobuf.Value', 'str'],
    ['google.protobuf.ListValue', [[], {}, 0]],
    ['google.protobuf.FieldMask', 'name,edsClusterConfig.serviceName'],
    ['google.protobuf.FieldMask', ''],
    ['google.protobuf.Empty', {}],
    ['google.protobuf.Any', {}],
    ['google.protobuf.Any', { '@type': 'type.googleapis.com/google.protobuf.Duration', value: '3s' }],
    ['google.protobuf.Any', { '@type': 'type.googleapis.com/google.protobuf.Struct', value: { k: 'v' } }],
    ['google.protobuf.Any', { '@type': 'type.googleapis.com/google.protobuf.Empty' }],
    [
      'google.protobuf.Any',
      {
        '@type': 'type.googleapis.com/google.protobuf.Any',
        value: { '@type': 'type.googleapis.com/google.protobuf.BoolValue', value: true },
      },
    ],
    [
      'google.protobuf.Any',
      { value: 'bmFtZQ==', '@type': 'type.googleapis.com/google.protobuf.BytesValue' },
      { '@type': 'type.googleapis.com/google.protobuf.BytesValue', value: 'bmFtZQ==' },
    ],
  ];
  for (const [typeName, input, expected = input] of cases) {
    assert.is(JSON.stringify(canonicalJson(typeName, input)), JSON.stringify(expected), `${typeName} ${JSON.stringify(input)}`);
  }
});

test('wrappers at their default value are still present (unlike plain scalars)', () => {
  const out = canonicalJson(CLUSTER, { circuit_breakers: { thresholds: [{ max_retries: 0, track_remaining: false }] } });
  assert.equal(out, { circuit_breakers: { thresholds: [{ max_retries: 0 }] } });
});

test('anyToBinary / binaryAnyToJson carry DiscoveryResponse resources', () => {
  const resource = { '@type': 'type.googleapis.com/envoy.config.cluster.v3.Cluster', ...(cluster as object) } as Json;
  const any = anyToBinary(resource);
  assert.is(any.type_url, 'type.googleapis.com/envoy.config.cluster.v3.Cluster');
  assert.is(Buffer.from(any.value).toString('hex'), Buffer.from(jsonToBinary(CLUSTER, cluster)).toString('hex'));
  assert.is(JSON.stringify(binaryAnyToJson(any.type_url, any.value)), JSON.stringify(resource));

  const response = {
    version_info: '17',
    resources: [resource],
    type_url: any.type_url,
    nonce: 'n-1',
  };
  const bytes = jsonToBinary('envoy.service.discovery.v3.DiscoveryResponse', response);
  const decoded = lookupMessage('envoy.service.discovery.v3.DiscoveryResponse').decode(bytes) as unknown as {
    resources: Array<{ type_url: string; value: Uint8Array }>;
  };
  assert.is(decoded.resources[0]?.type_url, any.type_url);
  assert.is(Buffer.from(decoded.resources[0]?.value ?? []).toString('hex'), Buffer.from(any.value).toString('hex'));
  assert.is(JSON.stringify(binaryToJson('envoy.service.discovery.v3.DiscoveryResponse', bytes)), JSON.stringify(response));
});

test('binaryAnyToJson prints a well-known type under "value"', () => {
  const any = anyToBinary({ '@type': 'type.googleapis.com/google.protobuf.UInt32Value', value: 7 });
  assert.equal(binaryAnyToJson(any.type_url, any.value), { '@type': 'type.googleapis.com/google.protobuf.UInt32Value', value: 7 });
});

test('delta discovery and SDS types are available', () => {
  const req = {
    node: { id: 'sidecar~10.0.0.1~a.ns~ns.svc.cluster.local', cluster: 'a' },
    type_url: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret',
    resource_names_subscribe: ['default', 'ROOTCA'],
    initial_resource_versions: { ROOTCA: '6', default: '7' },
  };
  assert.is(JSON.stringify(canonicalJson('envoy.service.discovery.v3.DeltaDiscoveryRequest', req)), JSON.stringify(req));
  const resp = {
    system_version_info: 'v1',
    resources: [
      {
        name: 'default',
        version: '7',
        resource: { '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret', name: 'default' },
      },
    ],
    type_url: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret',
    removed_resources: ['old'],
    nonce: '1',
  };
  assert.is(JSON.stringify(canonicalJson('envoy.service.discovery.v3.DeltaDiscoveryResponse', resp)), JSON.stringify(resp));
});

test.run();
