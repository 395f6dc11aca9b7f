// The agent's status port over real HTTP: readiness is 200 only when every
// check passes (a failing, throwing or silent check makes it 503 and says
// which), metrics are served from the registry given, nothing else is.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Counter, Registry } from 'prom-client';
import { parseHostPort, type StatusCheck, startStatusServer } from '../../src/agent/status-server.js';

const pass =
  (name: string): StatusCheck =>
  async () => ({ name, ok: true, detail: `${name} fine` });
const fail =
  (name: string): StatusCheck =>
  async () => ({ name, ok: false, detail: `${name} broken` });

async function get(url: string, init?: RequestInit) {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(5000) });
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.text() };
}

test('readiness: 200 with every check when all pass, 503 naming the failing one otherwise', async () => {
  let certificate = false;
  const server = await startStatusServer({
    address: '127.0.0.1:0',
    checks: [pass('envoy'), async () => ({ name: 'certificate', ok: certificate, detail: certificate ? 'held' : 'none yet' })],
  });
  try {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.is.not(server.url, 'http://127.0.0.1:0');
    const before = await get(`${server.url}/healthz/ready`);
    assert.is(before.status, 503);
    assert.is(before.type, 'application/json');
    assert.equal(JSON.parse(before.body), {
      ready: false,
      checks: [
        { name: 'envoy', ok: true, detail: 'envoy fine' },
        { name: 'certificate', ok: false, detail: 'none yet' },
      ],
    });
    certificate = true;
    const after = await get(`${server.url}/healthz/ready?verbose=1`);
    assert.is(after.status, 200);
    assert.equal(JSON.parse(after.body).checks[1], { name: 'certificate', ok: true, detail: 'held' });
    assert.is((await get(`${server.url}/healthz/ready`, { method: 'HEAD' })).status, 200);
  } finally {
    await server.close();
  }
});

test('a check that throws or does not answer in time fails readiness instead of hanging or crashing it', async () => {
  const silent: StatusCheck = function meshlite() {
    return new Promise(() => undefined);
  };
  const server = await startStatusServer({
    address: '127.0.0.1:0',
    checks: [
      pass('envoy'),
      async () => {
        throw new Error('socket gone');
      },
      silent,
    ],
    checkTimeoutMs: 300,
  });
  try {
    const t0 = Date.now();
    const r = await get(`${server.url}/healthz/ready`);
    assert.ok(Date.now() - t0 < 3000, 'answered after the check timeout');
    assert.is(r.status, 503);
    const checks = JSON.parse(r.body).checks;
    assert.is(checks[1].ok, false);
    assert.match(checks[1].detail, /socket gone/);
    assert.equal(checks[2], { name: 'meshlite', ok: false, detail: 'no answer within 300 ms' });
    // Still serving after all that.
    assert.is((await get(`${server.url}/healthz/ready`)).status, 503);
  } finally {
    await server.close();
  }
});

test('metrics and the debug view: served when given (404 without); unknown paths 404, other methods 405', async () => {
  const registry = new Registry();
  const counter = new Counter({ name: 'meshlite_agent_test_total', help: 'a test counter', registers: [registry] });
  counter.inc(3);
  let restarts = 0;
  const withMetrics = await startStatusServer({
    address: '127.0.0.1:0',
    checks: [fail('envoy')],
    metrics: registry,
    debug: async () => ({ envoy: { restarts } }),
  });
  const without = await startStatusServer({ address: '127.0.0.1:0', checks: [] });
  try {
    const m = await get(`${withMetrics.url}/stats/prometheus`);
    assert.is(m.status, 200);
    assert.is(m.type, registry.contentType);
    assert.match(m.body, /^meshlite_agent_test_total 3$/m);
    assert.is((await get(`${without.url}/stats/prometheus`)).status, 404);
    restarts = 2;
    const debug = await get(`${withMetrics.url}/debug/agent`);
    assert.is(debug.status, 200);
    assert.equal(JSON.parse(debug.body), { envoy: { restarts: 2 } }, 'asked afresh on each request');
    assert.is((await get(`${without.url}/debug/agent`)).status, 404);
    assert.is((await get(`${without.url}/healthz/ready`)).status, 200, 'no checks: nothing is missing');
    assert.is((await get(`${withMetrics.url}/quitquitquit`)).status, 404);
    assert.is((await get(`${withMetrics.url}/healthz/ready`, { method: 'POST' })).status, 405);
  } finally {
    await withMetrics.close();
    await without.close();
  }
});

test('addresses: host:port and [v6]:port; bad ones and taken ports reject', async () => {
  assert.equal(parseHostPort('127.0.0.1:15020'), { host: '127.0.0.1', port: 15020 });
  assert.equal(parseHostPort('[::1]:0'), { host: '::1', port: 0 });
  assert.equal(parseHostPort('localhost:8080'), { host: 'localhost', port: 8080 });
  for (const bad of ['127.0.0.1', ':80', '127.0.0.1:99999', '::1:80', '[nope]:80', '127.0.0.1:8o', '']) {
    assert.throws(
      () => parseHostPort(bad),
      (e: Error) => e instanceof RangeError,
      bad,
    );
  }
  await startStatusServer({ address: 'nonsense', checks: [] }).then(
    () => assert.unreachable('accepted a bad address'),
    (e: Error) => assert.instance(e, RangeError),
  );
  const first = await startStatusServer({ address: '127.0.0.1:0', checks: [] });
  try {
    const port = new URL(first.url).port;
    await startStatusServer({ address: `127.0.0.1:${port}`, checks: [] }).then(
      () => assert.unreachable('bound a taken port'),
      (e: NodeJS.ErrnoException) => assert.is(e.code, 'EADDRINUSE'),
    );
  } finally {
    await first.close();
  }
});

test.run();
