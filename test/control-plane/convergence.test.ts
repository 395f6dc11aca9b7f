import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConvergenceTracker } from '../../src/control-plane/convergence.js';

test('convergence is observed once every proxy pending at the change has synced', () => {
  const synced = new Set<string>();
  const observed: number[] = [];
  const asked: string[] = [];
  const tracker = new ConvergenceTracker(
    (p) => {
      asked.push(p);
      return synced.has(p);
    },
    (s) => observed.push(s),
  );
  tracker.begin(['a', 'b', 'c'], Date.now() - 1500);
  assert.equal(observed, []);
  asked.length = 0;
  synced.add('a');
  tracker.check('a');
  assert.equal(asked, ['a'], 'an ACK re-checks only the proxy that ACKed');
  tracker.check('zzz');
  assert.equal(asked, ['a'], 'proxies not pending cost nothing');
  synced.add('b');
  tracker.check('b');
  tracker.forget('c');
  assert.is(observed.length, 1);
  assert.ok(observed[0]! >= 1.5 && observed[0]! < 10, `seconds since the change: ${observed[0]}`);
  tracker.check('b');
  assert.is(observed.length, 1, 'observed once');
});

test('a change that needs nothing new converges immediately', () => {
  const observed: number[] = [];
  const tracker = new ConvergenceTracker(
    () => true,
    (s) => observed.push(s),
  );
  tracker.begin(['a', 'b'], Date.now());
  assert.is(observed.length, 1);
});

test.run();
