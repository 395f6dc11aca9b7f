// The root rotation's rules as pure functions: the bundle of each phase (and
// its order), when a phase gives way, and the ledger that decides whether a
// certificate under the old root is still live.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { IssuedRecord } from '../../src/ca/certificate-authority.js';
import { IssuedLedger } from '../../src/ca/issued-ledger.js';
import {
  type AdvanceInputs,
  beginRefusal,
  isRotating,
  nextPhase,
  phaseGaugeValue,
  signingRootOf,
  trustBundleOf,
} from '../../src/ca/root-rotation-phase.js';

const OLD = ['old-1\n', 'old-2\n'];
const NEW = ['new-1\n'];

test('trust bundle: old first while the old root signs, new first once the new one signs, new alone when done', () => {
  assert.is(trustBundleOf('idle', OLD, NEW), 'old-1\nold-2\n');
  assert.is(trustBundleOf('trust-both', OLD, NEW), 'old-1\nold-2\nnew-1\n');
  assert.is(trustBundleOf('signing-new', OLD, NEW), 'new-1\nold-1\nold-2\n');
  assert.is(trustBundleOf('done', OLD, NEW), 'new-1\n');
  // A root in both bundles (a plugged-in CA keeping one root) appears once, where it first comes.
  assert.is(trustBundleOf('signing-new', ['a\n', 'shared\n'], ['shared\n', 'b\n']), 'shared\nb\na\n');
});

test('which root signs, the gauge value, and whether a rotation is running', () => {
  assert.equal(
    (['idle', 'trust-both', 'signing-new', 'done'] as const).map((p) => [signingRootOf(p), phaseGaugeValue(p), isRotating(p)]),
    [
      ['old', 0, false],
      ['old', 1, true],
      ['new', 2, true],
      ['new', 0, false],
    ],
  );
});

test('a second rotation is refused while one runs, with the phase named', () => {
  assert.is(beginRefusal('idle', undefined), undefined);
  assert.is(beginRefusal('done', new Date(0)), undefined);
  const refusal = beginRefusal('signing-new', new Date(Date.UTC(2030, 0, 1)));
  assert.match(refusal ?? '', 'already in progress (phase signing-new since 2030-01-01T00:00:00.000Z)');
  assert.ok(beginRefusal('trust-both', undefined));
});

const inputs = (over: Partial<AdvanceInputs>): AdvanceInputs => ({
  now: 1000,
  proxiesWithoutNewRoot: [],
  trustDeadline: 5000,
  liveOldCertificates: 0,
  blindUntil: 0,
  ...over,
});

test('trust-both -> signing-new once every connected proxy holds the new root, or at the deadline naming the laggards', () => {
  assert.is(nextPhase('trust-both', inputs({ proxiesWithoutNewRoot: ['a.foo'] })), undefined);
  assert.equal(nextPhase('trust-both', inputs({}))?.to, 'signing-new');
  assert.is(nextPhase('trust-both', inputs({}))?.lagging, undefined);
  const timedOut = nextPhase('trust-both', inputs({ now: 5000, proxiesWithoutNewRoot: ['a.foo', 'b.bar'] }));
  assert.is(timedOut?.to, 'signing-new');
  assert.equal(timedOut?.lagging, ['a.foo', 'b.bar']);
  assert.match(timedOut!.reason, 'phase timeout: 2 connected proxies');
  // Live old certificates do not hold trust-both back: they are what signing-new is for.
  assert.is(nextPhase('trust-both', inputs({ liveOldCertificates: 3 }))?.to, 'signing-new');
});

test('signing-new -> done only when no old-root certificate is live and no unknown one can be', () => {
  assert.is(nextPhase('signing-new', inputs({ liveOldCertificates: 1 })), undefined);
  assert.is(nextPhase('signing-new', inputs({ blindUntil: 1001 })), undefined);
  assert.is(nextPhase('signing-new', inputs({ blindUntil: 1000 }))?.to, 'done');
  // Lagging proxies no longer matter once the new root signs.
  assert.is(nextPhase('signing-new', inputs({ proxiesWithoutNewRoot: ['a.foo'] }))?.to, 'done');
  assert.is(nextPhase('idle', inputs({})), undefined);
  assert.is(nextPhase('done', inputs({})), undefined);
});

const T0 = Date.UTC(2030, 0, 1);
let serial = 0;
function issued(root: string, over: Partial<IssuedRecord> & { at: number; ttl: number }): IssuedRecord {
  return {
    serialNumber: (over.serialNumber ?? `${(++serial).toString(16).padStart(4, '0')}`).toLowerCase(),
    subject: over.subject ?? 'spiffe://cluster.local/ns/foo/sa/sleep',
    holder: over.holder,
    renewalOf: over.renewalOf,
    rootFingerprintSha256: root,
    issuedAt: new Date(over.at),
    notAfter: new Date(over.at + over.ttl),
  };
}

test('ledger: a holder is superseded by its newer certificate; others stay live until they expire', () => {
  const ledger = new IssuedLedger();
  ledger.record(issued('OLD', { holder: 'sleep.foo', at: T0, ttl: 10_000 }));
  ledger.record(issued('OLD', { holder: 'httpbin.bar', at: T0, ttl: 10_000 }));
  ledger.record(issued('OLD', { holder: 'spiffe://cluster.local/ns/foo/sa/sleep', at: T0, ttl: 10_000 }));
  assert.equal(
    ledger
      .liveUnder('OLD', T0 + 1)
      .map((e) => e.holder)
      .sort(),
    ['httpbin.bar', 'sleep.foo', 'spiffe://cluster.local/ns/foo/sa/sleep'],
  );
  ledger.record(issued('NEW', { holder: 'sleep.foo', at: T0 + 2000, ttl: 10_000 }));
  ledger.record(issued('NEW', { holder: 'spiffe://cluster.local/ns/foo/sa/sleep', at: T0 + 2000, ttl: 10_000 }));
  assert.equal(
    ledger.liveUnder('OLD', T0 + 2001).map((e) => e.holder),
    ['httpbin.bar'],
  );
  assert.equal(ledger.liveUnder('OLD', T0 + 10_000), [], 'httpbin.bar expired');
  assert.is(ledger.liveUnder('NEW', T0 + 10_000).length, 2);
});

test('ledger: a newer old-root certificate of a holder is itself live (superseding is per holder, not per root)', () => {
  const ledger = new IssuedLedger();
  ledger.record(issued('NEW', { holder: 'sleep.foo', at: T0, ttl: 10_000 }));
  ledger.record(issued('OLD', { holder: 'sleep.foo', at: T0 + 1, ttl: 10_000 }));
  assert.equal(
    ledger.liveUnder('OLD', T0 + 2).map((e) => e.holder),
    ['sleep.foo'],
  );
});

test('ledger: a renewal by certificate inherits the holder of the certificate it renews; an unknown one gets a holder of its own', () => {
  const ledger = new IssuedLedger();
  const first = ledger.record(issued('OLD', { holder: 'sleep.foo', serialNumber: 'AA01', at: T0, ttl: 10_000 }));
  assert.is(first.serial, 'aa01');
  const renewed = ledger.record(issued('NEW', { renewalOf: 'aa01', at: T0 + 1, ttl: 10_000 }));
  assert.is(renewed.holder, 'sleep.foo');
  assert.equal(ledger.liveUnder('OLD', T0 + 2), [], 'the renewal superseded it');
  const stranger = ledger.record(issued('OLD', { renewalOf: 'ffff', at: T0 + 3, ttl: 10_000 }));
  assert.is(stranger.holder, 'certificate ffff');
  const anonymous = ledger.record(issued('OLD', { serialNumber: 'bb02', at: T0 + 4, ttl: 10_000 }));
  assert.is(anonymous.holder, 'serial bb02', 'never superseded: live until it expires');
  assert.is(ledger.liveUnder('OLD', T0 + 5).length, 2);
});

test('ledger: a snapshot restores the same answers (superseded stays superseded), expired entries are dropped', () => {
  const ledger = new IssuedLedger({ entries: [], blindUntil: T0 + 99 });
  ledger.record(issued('OLD', { holder: 'a', at: T0, ttl: 50_000 }));
  ledger.record(issued('NEW', { holder: 'a', at: T0 + 1, ttl: 1000 }));
  ledger.record(issued('OLD', { holder: 'b', at: T0, ttl: 500 }));
  const snapshot = ledger.snapshot(T0 + 600);
  assert.is(snapshot.entries.length, 2, "b's certificate expired and is gone");
  assert.is(snapshot.blindUntil, T0 + 99);
  // a's newer certificate expires; its older one (still valid) must not come back to life.
  const restored = new IssuedLedger(JSON.parse(JSON.stringify(ledger.snapshot(T0 + 1500))));
  assert.equal(restored.liveUnder('OLD', T0 + 1500), []);
  assert.is(restored.holderOf('AA'), undefined);
  assert.is(restored.size, 1);
});

test.run();
