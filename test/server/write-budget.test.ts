// The bound on unflushed response bytes across streams: what goes out at once,
// what waits (unencoded) and in which order, and how room comes back.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { budgetedWriter, WriteBudget } from '../../src/server/write-budget.js';

/** A fake stream: records what it was handed, flushes only when told. */
function fakeStream(name: string, log: string[]) {
  const pending: (() => void)[] = [];
  let closed = false;
  return {
    send: (bytes: Uint8Array, done: () => void) => {
      log.push(`${name}:${bytes.byteLength}`);
      pending.push(done);
    },
    flushOne: () => pending.shift()!(),
    close: () => {
      closed = true;
    },
    isClosed: () => closed,
  };
}

const bytes = (n: number) => () => new Uint8Array(n);

test('writes go out at once until the bound is reached; the rest wait unencoded, in order, until room comes back', () => {
  const budget = new WriteBudget(100);
  const log: string[] = [];
  const a = fakeStream('a', log);
  const b = fakeStream('b', log);
  const wa = budgetedWriter(budget, a.send, a.isClosed);
  const wb = budgetedWriter(budget, b.send, b.isClosed);
  let encoded = 0;
  const counted = (n: number) => () => {
    encoded++;
    return new Uint8Array(n);
  };
  wa.write(counted(60));
  wb.write(counted(60)); // 60 < 100: there is room, it goes out (the bound is on what is already pending)
  wa.write(counted(10));
  wb.write(counted(20));
  assert.equal(log, ['a:60', 'b:60']);
  assert.is(encoded, 2, 'waiting responses are not encoded yet');
  assert.is(budget.pendingBytes, 120);
  assert.is(budget.queued, 2);
  a.flushOne(); // 60 pending: room for the next ones in arrival order
  assert.equal(log, ['a:60', 'b:60', 'a:10', 'b:20']);
  assert.is(encoded, 4);
  assert.is(budget.queued, 0);
  assert.is(budget.pendingBytes, 90);
});

test('a new write waits behind queued ones even when there is room, so one stream never overtakes its own earlier response', () => {
  const budget = new WriteBudget(50);
  const log: string[] = [];
  const a = fakeStream('a', log);
  const wa = budgetedWriter(budget, a.send, a.isClosed);
  wa.write(bytes(80)); // larger than the bound: goes out alone
  wa.write(bytes(1));
  assert.equal(log, ['a:80']);
  a.flushOne();
  wa.write(bytes(2));
  assert.equal(log, ['a:80', 'a:1', 'a:2']);
});

test('a stream that closed gets no more writes, and its unflushed bytes give their room back when it closes', () => {
  const budget = new WriteBudget(10);
  const log: string[] = [];
  const a = fakeStream('a', log);
  const b = fakeStream('b', log);
  const wa = budgetedWriter(budget, a.send, a.isClosed);
  const wb = budgetedWriter(budget, b.send, b.isClosed);
  wa.write(bytes(10));
  wa.write(bytes(5));
  wb.write(bytes(5));
  assert.equal(log, ['a:10']);
  a.close();
  wa.close(); // its 10 bytes never flush (the transport dropped them): the room comes back anyway
  assert.equal(log, ['a:10', 'b:5'], "a's queued write is dropped, b's goes out");
  assert.is(budget.pendingBytes, 5);
  a.flushOne(); // a late callback changes nothing
  assert.is(budget.pendingBytes, 5);
});

test('without a bound every write goes out at once', () => {
  const budget = new WriteBudget(0);
  const log: string[] = [];
  const a = fakeStream('a', log);
  const wa = budgetedWriter(budget, a.send, a.isClosed);
  for (let i = 1; i <= 3; i++) wa.write(bytes(1_000_000 * i));
  assert.equal(log, ['a:1000000', 'a:2000000', 'a:3000000']);
  assert.is(budget.queued, 0);
});

test('a write the peer does not read stops holding room after stallMs, and its stream is reported dead once after deadMs', () => {
  let now = 0;
  const budget = new WriteBudget(10, { stallMs: 5_000, deadMs: 60_000, now: () => now, sweepEveryMs: 0 });
  const log: string[] = [];
  const stuck = fakeStream('stuck', log);
  const live = fakeStream('live', log);
  const dead: string[] = [];
  const ws = budgetedWriter(budget, stuck.send, stuck.isClosed, () => dead.push('stuck'));
  const wl = budgetedWriter(budget, live.send, live.isClosed, () => dead.push('live'));
  ws.write(bytes(10));
  wl.write(bytes(4));
  assert.equal(log, ['stuck:10'], 'the stuck write holds the whole bound');
  now = 4_999;
  budget.sweep();
  assert.equal(log, ['stuck:10']);
  now = 5_000;
  budget.sweep();
  assert.equal(log, ['stuck:10', 'live:4'], 'once stalled, its room goes to the others');
  assert.is(budget.pendingBytes, 4);
  live.flushOne();
  now = 60_000;
  budget.sweep();
  budget.sweep();
  assert.equal(dead, ['stuck'], 'only the stream with an unread write, and once');
  stuck.flushOne(); // read at last: a stalled write gives back nothing twice
  assert.is(budget.pendingBytes, 0);
});

test('the sweeping timer runs only while writes are unflushed', () => {
  const budget = new WriteBudget(10, { sweepEveryMs: 1_000 });
  const log: string[] = [];
  const a = fakeStream('a', log);
  const wa = budgetedWriter(budget, a.send, a.isClosed);
  assert.not.ok(budget.sweeping);
  wa.write(bytes(3));
  assert.ok(budget.sweeping);
  a.flushOne();
  assert.not.ok(budget.sweeping);
  wa.write(bytes(3));
  wa.close(); // a closed stream's unflushed writes end too
  assert.not.ok(budget.sweeping);
});

test.run();
