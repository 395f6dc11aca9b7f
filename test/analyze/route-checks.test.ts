// ML05xx: http routes after a route that matches every request.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { analyze, BASE, codes, virtualService } from './analyze-fixtures.js';

const to = { route: [{ destination: { host: 'httpbin.bar' } }] };
const vs = (http: Record<string, unknown>[]) => virtualService('vs', 'foo', { hosts: ['httpbin.bar'], http });

test('ML0501: every route after a route with no match is reported at that route', () => {
  const findings = analyze(
    ...BASE,
    vs([to, { name: 'api', match: [{ uri: { prefix: '/api' } }], ...to }, { match: [{ uri: { exact: '/x' } }], ...to }]),
  );
  assert.equal(codes(findings), ['ML0501', 'ML0501']);
  assert.equal(
    findings.map((f) => f.field),
    ['spec.http[1]', 'spec.http[2]'],
  );
  assert.match(findings[0]!.message, /route "api" 1 comes after route 0/);
});

test('ML0501: a match of prefix "/" alone catches everything too', () => {
  assert.equal(
    codes(
      analyze(
        ...BASE,
        vs([
          { match: [{ uri: { prefix: '/' } }], ...to },
          { match: [{ uri: { prefix: '/api' } }], ...to },
        ]),
      ),
    ),
    ['ML0501'],
  );
});

test('ML0501 negatives: a catch-all last, or a "/" prefix narrowed by a header or a port', () => {
  assert.equal(codes(analyze(...BASE, vs([{ match: [{ uri: { prefix: '/api' } }], ...to }, to]))), []);
  const narrowed = [{ match: [{ uri: { prefix: '/' }, headers: { 'x-canary': { exact: '1' } } }], ...to }, to];
  assert.equal(codes(analyze(...BASE, vs(narrowed))), []);
  assert.equal(codes(analyze(...BASE, vs([{ match: [{ port: 8000 }], ...to }, to]))), []);
});

test.run();
