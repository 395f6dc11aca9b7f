// bench:compare's summary: warm-up changes are shown apart and kept out of
// every change figure, so a cold first push cannot hide in (or skew) a p50.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ChangeFigures } from '../../bench/compare/compare-run.js';
import { emptyFigures } from '../../bench/compare/compare-run.js';
import { summarize } from '../../bench/compare/compare-report.js';

const change = (allAcked: number, cpuMs: number, warmup: boolean): ChangeFigures => ({
  state: 1,
  warmup,
  firstAck: allAcked / 10,
  p50Ack: allAcked / 2,
  p99Ack: allAcked,
  allAcked,
  cpuMs,
});

test('warm-up changes are reported alone and left out of the change figures', () => {
  const figures = emptyFigures('meshlite serve-only', 1000);
  figures.changes = [change(900, 400, true), change(500, 300, true), change(60, 50, false), change(80, 70, false), change(70, 60, false)];
  const s = summarize(figures);
  assert.is(s.firstChangeAllAckedMs, 900);
  assert.is(s.changes, 3);
  assert.is(s.warmupChanges, 2);
  assert.is(s.changeAllAckedP50Ms, 70);
  assert.ok(s.changeAllAckedP99Ms <= 80 && s.changeAllAckedP99Ms >= 70, String(s.changeAllAckedP99Ms));
  assert.is(s.cpuPerChangeMs, 60);
  assert.is(s.firstAckMs, 7);
});

test('without warm-up every change counts, the first one included', () => {
  const figures = emptyFigures('go-control-plane 2 cores', 1000);
  figures.changes = [change(100, 40, false), change(60, 50, false)];
  const s = summarize(figures);
  assert.is(s.firstChangeAllAckedMs, 100);
  assert.is([s.changes, s.warmupChanges].join(), '2,0');
  assert.ok(s.changeAllAckedP99Ms > 60, String(s.changeAllAckedP99Ms));
});

test.run();
