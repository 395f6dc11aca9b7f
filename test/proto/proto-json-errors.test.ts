import { test } from 'uvu';
import * as assert from 'uvu/assert';
import protobuf from 'protobufjs';
import { lookupMessage } from '../../src/proto/envoy-root.js';
import { anyToBinary, binaryAnyToJson, binaryToJson, jsonToBinary, ProtoJsonError, type Json } from '../../src/proto/proto-json.js';

const CLUSTER = 'envoy.config.cluster.v3.Cluster';
const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

function failure(run: () => unknown): ProtoJsonError {
  let caught: unknown;
  try {
    run();
  } catch (err) {
    caught = err;
  }
  if (!(caught instanceof ProtoJsonError)) {
    assert.unreachable(
      caught === undefined ? 'expected a ProtoJsonError, nothing was thrown' : `expected a ProtoJsonError, got ${String(caught)}`,
    );
  }
  return caught as ProtoJsonError;
}

function rejects(typeName: string, json: Json, path: string, problem: RegExp): void {
  const err = failure(() => jsonToBinary(typeName, json));
  assert.is(err.path, path);
  assert.ok(err.message.startsWith(`${path || '(top level)'}: `), err.message);
  assert.match(err.message, problem);
}

function bootstrapWithHcm(hcm: Record<string, Json>): Json {
  const filterChain = (config: Json): Json => ({
    filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: config }],
  });
  return {
    static_resources: {
      listeners: [
        {
          name: 'l',
          filter_chains: [
            filterChain({ '@type': HCM, stat_prefix: 'ok', rds: { route_config_name: 'r' } }),
            filterChain({ '@type': HCM, ...hcm }),
          ],
        },
      ],
    },
  };
}

test('unknown field: error names the exact path through Any', () => {
  rejects(
    'envoy.config.bootstrap.v3.Bootstrap',
    bootstrapWithHcm({ stat_prefx: 'x' }),
    'static_resources.listeners[0].filter_chains[1].filters[0].typed_config.stat_prefx',
    /unknown field "stat_prefx" in envoy\.extensions\.filters\.network\.http_connection_manager\.v3\.HttpConnectionManager \(did you mean "stat_prefix"\?\)/,
  );
});

test('unknown field at top level and in nested messages', () => {
  rejects(
    CLUSTER,
    { name: 'c', conect_timeout: '1s' },
    'conect_timeout',
    /unknown field "conect_timeout" in envoy\.config\.cluster\.v3\.Cluster/,
  );
  rejects(CLUSTER, { eds_cluster_config: { eds_config: { adss: {} } } }, 'eds_cluster_config.eds_config.adss', /unknown field "adss"/);
  rejects(
    CLUSTER,
    { transport_socket_matches: [{}, { name: 'm', bogus: 1 }] },
    'transport_socket_matches[1].bogus',
    /unknown field "bogus"/,
  );
});

test('unknown field inside an Any-packed message', () => {
  rejects(
    CLUSTER,
    {
      transport_socket: {
        name: 'tls',
        typed_config: {
          '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
          common_tls_context: { alpn_protocol: ['h2'] },
        },
      },
    },
    'transport_socket.typed_config.common_tls_context.alpn_protocol',
    /unknown field "alpn_protocol" .*did you mean "alpn_protocols"/,
  );
});

test('wrong JSON type for a field', () => {
  rejects(CLUSTER, { name: 5 }, 'name', /expected a string, got the number 5/);
  rejects(CLUSTER, { respect_dns_ttl: 'true' }, 'respect_dns_ttl', /expected true or false, got the string "true"/);
  rejects(
    CLUSTER,
    { load_assignment: { endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { port_value: '80x' } } } }] }] } },
    'load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value',
    /expected an integer \(uint32\)/,
  );
  rejects(CLUSTER, { dns_resolvers: {} }, 'dns_resolvers', /expected an array, got an object/);
  rejects(
    CLUSTER,
    { eds_cluster_config: 'eds' },
    'eds_cluster_config',
    /expected an object for envoy\.config\.cluster\.v3\.Cluster\.EdsClusterConfig/,
  );
  rejects(
    CLUSTER,
    { metadata: { filter_metadata: { a: 'not a struct' } } },
    'metadata.filter_metadata["a"]',
    /expected an object for google\.protobuf\.Struct/,
  );
  rejects(
    CLUSTER,
    { per_connection_buffer_limit_bytes: { value: 5 } },
    'per_connection_buffer_limit_bytes',
    /expected an integer \(uint32\).*got an object/,
  );
  rejects(
    CLUSTER,
    { circuit_breakers: { thresholds: [{ max_connections: -1 }] } },
    'circuit_breakers.thresholds[0].max_connections',
    /-1 is out of range for uint32/,
  );
  rejects(CLUSTER, { lrs_report_endpoint_metrics: ['a', null] }, 'lrs_report_endpoint_metrics[1]', /expected a string, got null/);
});

test('64-bit integers must not lose precision', () => {
  rejects('google.protobuf.Int64Value', 2 ** 60, '', /beyond 2\^53 .*write int64 values as strings/);
  rejects('google.protobuf.UInt64Value', '18446744073709551616', '', /out of range for uint64/);
  rejects('google.protobuf.Int32Value', 1.5, '', /expected an integer \(int32\), got 1\.5/);
});

test('unknown enum name', () => {
  rejects(
    CLUSTER,
    { type: 'EDSS' },
    'type',
    /unknown value "EDSS" for enum envoy\.config\.cluster\.v3\.Cluster\.DiscoveryType \(expected one of STATIC, STRICT_DNS, LOGICAL_DNS, EDS, ORIGINAL_DST\)/,
  );
  rejects(CLUSTER, { lb_policy: true }, 'lb_policy', /expected an enum name/);
});

test('bad duration', () => {
  rejects(CLUSTER, { connect_timeout: '5' }, 'connect_timeout', /invalid Duration "5"/);
  rejects(CLUSTER, { connect_timeout: '5ms' }, 'connect_timeout', /invalid Duration "5ms"/);
  rejects(CLUSTER, { connect_timeout: 5 }, 'connect_timeout', /invalid Duration 5/);
  rejects(CLUSTER, { connect_timeout: '1.0000000001s' }, 'connect_timeout', /invalid Duration/);
  rejects(CLUSTER, { connect_timeout: '315576000001s' }, 'connect_timeout', /out of range/);
});

test('bad timestamp, bytes and field mask', () => {
  rejects('google.protobuf.Timestamp', '2024-02-30T00:00:00Z', '', /invalid Timestamp/);
  rejects('google.protobuf.Timestamp', '2024-05-01 00:00:00Z', '', /invalid Timestamp/);
  rejects('google.protobuf.Timestamp', '0000-12-31T23:59:59Z', '', /out of range/);
  rejects('google.protobuf.BytesValue', 'not base64!', '', /invalid base64/);
  rejects('google.protobuf.FieldMask', 'snake_case', '', /invalid FieldMask path/);
});

test('two members of one oneof', () => {
  rejects(
    CLUSTER,
    { type: 'EDS', cluster_type: { name: 'envoy.clusters.aggregate' } },
    'cluster_type',
    /"type" and "cluster_type" are both set, but they belong to oneof "cluster_discovery_type"/,
  );
  rejects(
    CLUSTER,
    { eds_cluster_config: { eds_config: { ads: {}, path: '/etc/eds.yaml' } } },
    'eds_cluster_config.eds_config.path',
    /oneof "config_source_specifier"/,
  );
});

test('the same field under both of its names', () => {
  rejects(CLUSTER, { connect_timeout: '1s', connectTimeout: '2s' }, 'connectTimeout', /field "connect_timeout" is given twice/);
});

test('unknown or malformed Any type URL', () => {
  rejects(
    CLUSTER,
    {
      transport_socket: {
        name: 't',
        typed_config: { '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.NoSuchContext' },
      },
    },
    'transport_socket.typed_config.@type',
    /unknown Any type URL "type\.googleapis\.com\/envoy\.extensions\.transport_sockets\.tls\.v3\.NoSuchContext"/,
  );
  rejects(
    CLUSTER,
    { transport_socket: { typed_config: { '@type': 'envoy.Foo' } } },
    'transport_socket.typed_config.@type',
    /invalid Any type URL/,
  );
  rejects(CLUSTER, { transport_socket: { typed_config: { sni: 'x' } } }, 'transport_socket.typed_config', /needs an "@type"/);
  rejects(
    'google.protobuf.Any',
    { '@type': 'type.googleapis.com/google.protobuf.Duration', value: '1s', seconds: 1 },
    'seconds',
    /takes only "@type" and "value"/,
  );
  const err = failure(() => anyToBinary({ '@type': 'type.googleapis.com/nope.Nope' }));
  assert.is(err.path, '@type');
  assert.throws(() => anyToBinary({}), /expected an Any with an "@type"/);
});

test('unknown type name is a clear error', () => {
  assert.throws(
    () => jsonToBinary('envoy.config.cluster.v3.Clustr', {}),
    /"envoy\.config\.cluster\.v3\.Clustr" is not a known message type/,
  );
});

// A valid Cluster followed by field 9999 (varint 1), which Cluster does not have.
function withUnknownField(bytes: Uint8Array): Uint8Array {
  const tail = protobuf.Writer.create()
    .uint32((9999 << 3) | 0)
    .uint32(1)
    .finish();
  return Buffer.concat([Buffer.from(bytes), Buffer.from(tail)]);
}

test('binary with unknown fields is rejected', () => {
  const good = jsonToBinary(CLUSTER, { name: 'c' });
  const err = failure(() => binaryToJson(CLUSTER, withUnknownField(good)));
  assert.is(err.path, '');
  assert.match(err.message, /unknown field number 9999 \(wire type 0\) in envoy\.config\.cluster\.v3\.Cluster/);
});

test('binary with unknown fields inside an Any is rejected with the path through it', () => {
  const tls = withUnknownField(jsonToBinary('envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext', { sni: 'a' }));
  const socket = protobuf.Writer.create();
  socket.uint32((1 << 3) | 2).string('tls');
  const any = protobuf.Writer.create();
  any.uint32((1 << 3) | 2).string('type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext');
  any.uint32((2 << 3) | 2).bytes(tls);
  socket.uint32((3 << 3) | 2).bytes(any.finish());
  const cluster = protobuf.Writer.create()
    .uint32((24 << 3) | 2)
    .bytes(socket.finish())
    .finish();
  assert.equal(lookupMessage(CLUSTER).fieldsById[24]?.name, 'transport_socket');
  const err = failure(() => binaryToJson(CLUSTER, cluster));
  assert.is(err.path, 'transport_socket.typed_config');
  assert.match(err.message, /unknown field number 9999 .*UpstreamTlsContext/);
});

test('binary with a known field number but the wrong wire type is rejected', () => {
  const bytes = protobuf.Writer.create()
    .uint32((1 << 3) | 0)
    .uint32(7)
    .finish(); // name as a varint
  assert.match(failure(() => binaryToJson(CLUSTER, bytes)).message, /field "name" \(1\) .* unexpected wire type 0/);
});

test('truncated binary is a ProtoJsonError', () => {
  const bytes = jsonToBinary(CLUSTER, { name: 'cluster-name' });
  assert.match(failure(() => binaryToJson(CLUSTER, bytes.subarray(0, 5))).message, /cannot decode envoy\.config\.cluster\.v3\.Cluster/);
});

test('binaryAnyToJson rejects unknown type URLs', () => {
  const err = failure(() => binaryAnyToJson('type.googleapis.com/envoy.config.cluster.v3.Nope', new Uint8Array()));
  assert.is(err.path, '@type');
  assert.match(err.message, /unknown Any type URL/);
});

test.run();
