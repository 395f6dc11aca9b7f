// The probe kinds of a WorkloadGroup as the agent runs them on its host.
import { createServer } from 'node:http';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { probeOnce } from '../../src/agent/workload-probe.js';
import type { WorkloadProbe } from '../../src/config/types.js';

const timing = { periodSeconds: 1, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 1, initialDelaySeconds: 0 };

test('httpGet: 2xx/3xx pass, other statuses fail; path and headers are sent', async () => {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    seen.push(`${req.url} ${req.headers['x-probe']}`);
    res.statusCode = req.url === '/ready' ? 204 : 503;
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const probe = (path: string): WorkloadProbe => ({
    ...timing,
    httpGet: { path, port, scheme: 'HTTP', httpHeaders: [{ name: 'X-Probe', value: 'yes' }] },
  });
  try {
    assert.equal(await probeOnce(probe('/ready'), '127.0.0.1'), { healthy: true });
    const down = await probeOnce(probe('/down'), '127.0.0.1');
    assert.is(down.healthy, false);
    assert.match(down.message ?? '', /answered 503/);
    assert.equal(seen, ['/ready yes', '/down yes']);
  } finally {
    server.close();
  }
});

test('exec: exit status 0 passes, anything else fails', async () => {
  assert.equal(await probeOnce({ ...timing, exec: { command: ['/bin/true'] } }, '127.0.0.1'), { healthy: true });
  const failed = await probeOnce({ ...timing, exec: { command: ['/bin/false'] } }, '127.0.0.1');
  assert.is(failed.healthy, false);
  const missing = await probeOnce({ ...timing, exec: { command: ['/nonexistent/probe'] } }, '127.0.0.1');
  assert.is(missing.healthy, false);
});

test.run();
