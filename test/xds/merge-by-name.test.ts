// mergeByName (a proxy's few own resources merged into its namespace's sorted
// shared ones) orders exactly as sorting the concatenation does.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fc from 'fast-check';
import { byName, mergeByName } from '../../src/xds/common.js';

const named = fc.record({
  name: fc.oneof(fc.constantFrom('a', 'b', 'outbound|80||x', 'inbound|80||', 'B', 'é'), fc.string()),
  id: fc.nat(),
});

test('property: mergeByName(sorted shared, own) equals [...shared, ...own].sort(byName)', () => {
  fc.assert(
    fc.property(fc.array(named, { maxLength: 30 }), fc.array(named, { maxLength: 8 }), (shared, own) => {
      const sorted = [...shared].sort(byName);
      assert.equal(mergeByName(sorted, own), [...sorted, ...own].sort(byName));
    }),
    { numRuns: 300 },
  );
});

test.run();
