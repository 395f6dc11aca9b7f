// The generated Envoy types (scripts/gen-envoy-types.ts) against the codec
// they describe: what they accept encodes, what they refuse the codec refuses
// too (where they are stricter, it is on purpose and shown here), and the file
// on disk is what the generator makes of the protos now.
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { emitEnvoyTypes } from '../../scripts/envoy-type-emitter.js';
import { ENVOY_TYPE_SELECTION, ENVOY_TYPES_FILE } from '../../scripts/gen-envoy-types.js';
import { envoyRoot } from '../../src/proto/envoy-root.js';
import { jsonToBinary } from '../../src/proto/proto-json.js';
import { asJson, typed } from '../../src/xds/common.js';
import type { Any, Cluster, Listener } from '../../src/xds/envoy-types/index.js';
import { TYPE } from '../../src/xds/type-urls.js';

const CLUSTER = 'envoy.config.cluster.v3.Cluster';
const LISTENER = 'envoy.config.listener.v3.Listener';
const encode = (type: string, message: object) => jsonToBinary(type, asJson(message));
const withFilterConfig = (typedConfig: Any): Listener => ({ filter_chains: [{ filters: [{ name: 'f', typed_config: typedConfig }] }] });

test('the types on disk are what the generator makes of the protos, and it makes the same every time', () => {
  const text = emitEnvoyTypes(envoyRoot(), ENVOY_TYPE_SELECTION);
  assert.ok(readFileSync(ENVOY_TYPES_FILE, 'utf8') === text, `${ENVOY_TYPES_FILE} is stale: run npm run build`);
  assert.ok(emitEnvoyTypes(envoyRoot(), ENVOY_TYPE_SELECTION) === text);
});

test('what the types accept, the codec encodes: durations, 64-bit integers, wrappers, Struct, maps and Any', () => {
  const cluster: Cluster = {
    name: 'c',
    type: 'EDS',
    connect_timeout: '0.250s',
    eds_cluster_config: { service_name: 'c', eds_config: { ads: {}, resource_api_version: 'V3' } },
    per_connection_buffer_limit_bytes: 32768,
    ring_hash_lb_config: { minimum_ring_size: '1024', maximum_ring_size: 8388608 },
    metadata: { filter_metadata: { 'envoy.lb': { canary: true, weight: 2, tags: ['a', null] } } },
    typed_extension_protocol_options: {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': typed(TYPE.httpProtocolOptions, {
        explicit_http_config: { http2_protocol_options: {} },
      }),
    },
    transport_socket: {
      name: 'envoy.transport_sockets.tls',
      typed_config: typed(TYPE.upstreamTlsContext, { sni: 'x', common_tls_context: { alpn_protocols: ['h2'] } }),
    },
  };
  assert.ok(encode(CLUSTER, cluster).length > 0);
  const listener: Listener = {
    name: 'l',
    listener_filters: [{ name: 'envoy.filters.listener.original_dst', typed_config: typed(TYPE.originalDst) }],
    filter_chains: [{ filters: [{ name: 'tcp', typed_config: typed(TYPE.tcpProxy, { stat_prefix: 's', cluster: 'c' }) }] }],
  };
  assert.ok(encode(LISTENER, listener).length > 0);
});

test('what the types refuse, the codec refuses too', () => {
  // @ts-expect-error a misspelt field
  const misspelt: Cluster = { conect_timeout: '1s' };
  assert.throws(() => encode(CLUSTER, misspelt), /unknown field "conect_timeout"/);
  // @ts-expect-error a Duration is a string
  const numberDuration: Cluster = { connect_timeout: 10 };
  assert.throws(() => encode(CLUSTER, numberDuration), /invalid Duration/);
  // @ts-expect-error ... with its unit
  const bareDuration: Cluster = { connect_timeout: '10' };
  assert.throws(() => encode(CLUSTER, bareDuration), /invalid Duration/);
  // @ts-expect-error an enum value that does not exist
  const badEnum: Cluster = { type: 'EDSS' };
  assert.throws(() => encode(CLUSTER, badEnum), /unknown value "EDSS"/);
  // @ts-expect-error a repeated field takes an array
  const scalarForList: Listener = { listener_filters: { name: 'x' } };
  assert.throws(() => encode(LISTENER, scalarForList), /expected an array/);
  // @ts-expect-error a field the Any's message does not have
  const badPayload: Any = { '@type': TYPE.tcpProxy, clustr: 'c' };
  assert.throws(() => encode(LISTENER, withFilterConfig(badPayload)), /unknown field "clustr"/);
  // @ts-expect-error a type URL that names no message
  const unknownUrl: Any = { '@type': 'type.googleapis.com/foo.Bar' };
  assert.throws(() => encode(LISTENER, withFilterConfig(unknownUrl)), /unknown Any type URL/);
});

test('where the types are stricter than the codec: 32-bit integers as numbers, enums by name, Any of the listed messages only', () => {
  // @ts-expect-error the codec also takes decimal strings for 32-bit integers; the builders write numbers
  const stringInt: Cluster = { per_connection_buffer_limit_bytes: '5' };
  assert.ok(encode(CLUSTER, stringInt).length > 0);
  // @ts-expect-error the codec also takes enum numbers; the builders write names
  const numericEnum: Cluster = { type: 3 };
  assert.ok(encode(CLUSTER, numericEnum).length > 0);
  // @ts-expect-error CORS is in the Envoy schema but not among the payloads meshlite writes (scripts/gen-envoy-types.ts)
  const unlisted: Any = { '@type': 'type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors' };
  assert.ok(encode(LISTENER, withFilterConfig(unlisted)).length > 0);
});

test.run();
