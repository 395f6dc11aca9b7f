import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { viewToJson } from '../../src/model/view-json.js';
import type { ProxyView } from '../../src/model/view-types.js';

const view = (extra: Record<string, unknown>) => ({ kind: 'proxyless', proxy: { id: 'a.b' }, ...extra }) as unknown as ProxyView;

test('plain data passes through; absent optional fields stay absent', () => {
  assert.equal(viewToJson(view({ warnings: ['w'], n: 1, maybe: undefined })), {
    kind: 'proxyless',
    proxy: { id: 'a.b' },
    warnings: ['w'],
    n: 1,
  });
});

test('anything that is not plain data is refused, naming where it is', () => {
  assert.throws(
    () => viewToJson(view({ outbound: { clusterFor: () => 'x' } })),
    /view\.outbound\.clusterFor: a function is not plain data/,
  );
  assert.throws(() => viewToJson(view({ routes: [new Map()] })), /view\.routes\[0\]: a Map instance is not plain data/);
  assert.throws(() => viewToJson(view({ weight: Number.NaN })), /view\.weight: NaN is not a JSON number/);
});

test.run();
