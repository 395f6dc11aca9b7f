// The hand-written DiscoveryResponse writer against the proto type's own
// encoder: byte for byte equal on any strings (multi-byte UTF-8 included) and
// any resources, so it changes the speed of a push and nothing else.
import * as fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { discoveryMessageTypes } from '../../src/server/discovery-codec.js';
import { writeSotwResponse } from '../../src/server/sotw-response-writer.js';

function protoEncoded(typeUrl: string, versionInfo: string, nonce: string, values: Uint8Array[]): Uint8Array {
  return discoveryMessageTypes()
    .response!.encode({
      version_info: versionInfo,
      type_url: typeUrl,
      nonce,
      resources: values.map((value) => ({ type_url: typeUrl, value })),
      control_plane: { identifier: 'meshlite' },
    })
    .finish();
}

test('equal to the proto encoding for any fields and resources', () => {
  fc.assert(
    fc.property(
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.string({ maxLength: 40 }),
      fc.string({ unit: 'grapheme', maxLength: 30 }),
      fc.array(fc.uint8Array({ maxLength: 400 }), { maxLength: 20 }),
      (typeUrl, versionInfo, nonce, values) => {
        const written = writeSotwResponse(
          typeUrl,
          versionInfo,
          nonce,
          values.map((value) => ({ value })),
        );
        assert.equal(Buffer.from(written).toString('hex'), Buffer.from(protoEncoded(typeUrl, versionInfo, nonce, values)).toString('hex'));
      },
    ),
    { numRuns: 500 },
  );
});

test('lengths that need multi-byte varints: a 70 KB resource and 300 resources', () => {
  const big = new Uint8Array(70_000).map((_, i) => i % 251);
  const many = Array.from({ length: 300 }, (_, i) => new Uint8Array(i % 7).fill(i));
  const typeUrl = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';
  for (const values of [[big], many, [big, ...many]]) {
    const written = writeSotwResponse(
      typeUrl,
      'v1',
      '42',
      values.map((value) => ({ value })),
    );
    assert.ok(Buffer.from(written).equals(Buffer.from(protoEncoded(typeUrl, 'v1', '42', values))));
    const decoded = discoveryMessageTypes().response!.decode(written) as unknown as { resources: { value: Uint8Array }[] };
    assert.is(decoded.resources.length, values.length);
  }
});

test.run();
