// How `meshlite status` words time left and NACKs: the countdown's units,
// an expired certificate, a NACK that a later accepted version superseded.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatStatusTable, lastNack, type StatusRow, untilText } from '../../src/cli/status-rows.js';

const NOW = Date.parse('2026-01-01T00:00:00Z');
const at = (ms: number) => new Date(NOW + ms).toISOString();
const MIN = 60_000;
const HOUR = 60 * MIN;

test('untilText: seconds, minutes, hours with minutes up to two days, then days with hours; past is expired', () => {
  assert.is(untilText(at(42_000), NOW), '42s');
  assert.is(untilText(at(5 * MIN + 3000), NOW), '5m3s');
  assert.is(untilText(at(24 * HOUR - MIN), NOW), '23h59m');
  assert.is(untilText(at(47 * HOUR + 30 * MIN), NOW), '47h30m');
  assert.is(untilText(at(76 * HOUR), NOW), '3d4h');
  assert.is(untilText(at(-5 * MIN), NOW), 'expired 5m0s ago');
  assert.is(untilText('not a date', NOW), '-');
});

const row = (types: StatusRow['types']): StatusRow => ({ proxy: 'sleep.foo', replica: '-', types });

test('lastNack: only a NACK that is still the verdict; one superseded by an accepted version is not shown', () => {
  const nacked = { version: 'v2', message: 'bad listener' };
  assert.equal(lastNack(row([{ type: 'listeners', state: 'NACKED', nacked }])), { type: 'listeners', ...nacked });
  assert.is(lastNack(row([{ type: 'listeners', state: 'SYNCED', nacked }])), undefined);
});

test('the table shortens a long NACK and shows - for what is unknown; wide keeps the whole message', () => {
  const message = `cannot bind 10.0.0.1:80: ${'x'.repeat(60)}`;
  const r = row([
    { type: 'clusters', state: 'SYNCED' },
    { type: 'listeners', state: 'NACKED', nacked: { version: 'v2', message } },
  ]);
  const [header, line] = formatStatusTable([r], NOW, false).trimEnd().split('\n');
  assert.equal(header!.split(/ {2,}/), ['NAME', 'KIND', 'REPLICA', 'CDS', 'LDS', 'EDS', 'RDS', 'SDS', 'LAST NACK', 'CERT EXPIRES']);
  assert.equal(line!.split(/ {2,}/), [
    'sleep.foo',
    '-',
    '-',
    'SYNCED',
    'NACKED',
    'UNKNOWN',
    'UNKNOWN',
    'UNKNOWN',
    'listeners: cannot bind 10.0.0.1:80: x...',
    '-',
  ]);
  assert.ok(formatStatusTable([r], NOW, true).includes(`listeners: ${message}`));
});

test.run();
