// The rebuild queue: one rebuild at a time in request order, repeats of a
// proxy not yet started coalesced, failures reported, and the event loop
// served between slices of work.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RefreshQueue } from '../../src/control-plane/refresh-queue.js';

function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

test('rebuilds run one at a time, in order, and a repeat of a queued proxy is merged into its entry', async () => {
  const ran: string[] = [];
  let running = 0;
  const queue = new RefreshQueue(
    async (id, reason) => {
      running += 1;
      assert.is(running, 1, 'rebuilds overlap');
      await Promise.resolve();
      ran.push(`${id}:${reason}`);
      running -= 1;
    },
    () => assert.unreachable('no rebuild fails'),
  );
  const done = [queue.enqueue('a', 'config'), queue.enqueue('b', 'config'), queue.enqueue('a', 'rotation'), queue.enqueue('c', 'config')];
  assert.is(queue.size, 3);
  await Promise.all(done);
  assert.equal(ran, ['a:config; rotation', 'b:config', 'c:config']);
  // A request made while its proxy is being rebuilt gets a rebuild of its own, after.
  const again: Promise<void>[] = [];
  const queue2 = new RefreshQueue(
    async (id, reason) => {
      ran.push(`${id}:${reason}`);
      if (reason === 'first') again.push(queue2.enqueue(id, 'second'));
    },
    () => {},
  );
  await queue2.enqueue('x', 'first');
  await Promise.all(again);
  assert.equal(ran.slice(3), ['x:first', 'x:second']);
});

test('a failed rebuild goes to onError and the queue goes on', async () => {
  const errors: string[] = [];
  const ran: string[] = [];
  const queue = new RefreshQueue(
    async (id) => {
      if (id === 'bad') throw new Error('boom');
      ran.push(id);
    },
    (id, err) => errors.push(`${id}: ${(err as Error).message}`),
  );
  await Promise.all([queue.enqueue('bad', 'r'), queue.enqueue('good', 'r')]);
  assert.equal(errors, ['bad: boom']);
  assert.equal(ran, ['good']);
  await queue.idle();
});

test('between slices of work the event loop runs: a timer due during 200 ms of rebuilds fires within a slice or two', async () => {
  const sliceMs = 20;
  const queue = new RefreshQueue(
    async () => busy(5),
    () => {},
    sliceMs,
  );
  const gaps: number[] = [];
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    gaps.push(now - last);
    last = now;
  }, 1);
  const all = Array.from({ length: 40 }, (_, i) => queue.enqueue(`p${i}`, 'config'));
  await Promise.all(all);
  clearInterval(timer);
  await queue.idle();
  // Without slicing the loop is blocked for the whole 200 ms and the timer runs once at most afterwards;
  // with 20 ms slices it runs between them. (The count, not a latency bound, so a busy machine cannot fail it.)
  assert.ok(gaps.length >= 5, `the timer ran ${gaps.length} times during 200 ms of rebuilds`);
});

test('a burst of rebuilds yields after its first short slice, so the first result leaves before a whole slice is spent', async () => {
  const sliceMs = 20;
  const order: string[] = [];
  const queue = new RefreshQueue(
    async (id) => {
      busy(2);
      order.push(id);
    },
    () => {},
    sliceMs,
  );
  // Something that waits for the event loop's next turn, as a response waits to be flushed.
  setImmediate(() => order.push('loop turn'));
  await Promise.all(Array.from({ length: 5 }, (_, i) => queue.enqueue(`p${i}`, 'config')));
  // The first slice (at most 0.25 ms) ends after p0; later slices hold several 2 ms rebuilds.
  assert.equal(order.slice(0, 2), ['p0', 'loop turn'], order.join(', '));
  assert.is(order.length, 6);
});

test.run();
