// A small httpbin for tests: `node httpbin.js <address> <port>`.
// /headers echoes request headers, /ip the peer address, /status/<code> answers that code,
// /anything[/...] echoes method, raw URL and headers. Every request is logged
// (`request <x-probe or -> <method> <raw url>`) so tests can prove which
// requests reached the app and which a proxy stopped.
import { createServer } from 'node:http';
import { outlastProxyIdleTimeout } from './keep-alive.js';

const [address = '127.0.0.1', port = '80'] = process.argv.slice(2);
const server = createServer((req, res) => {
  // Synchronous (a file): logged before any answer leaves, so a client that got one can read this line.
  process.stdout.write(`request ${String(req.headers['x-probe'] ?? '-')} ${req.method} ${req.url}\n`);
  const url = new URL(req.url ?? '/', 'http://x');
  const json = (code: number, body: unknown) => {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(`${JSON.stringify(body)}\n`);
  };
  if (url.pathname === '/headers') {
    const headers: Record<string, string> = {};
    for (let i = 0; i < req.rawHeaders.length; i += 2) headers[req.rawHeaders[i]!] = req.rawHeaders[i + 1]!;
    return json(200, { headers });
  }
  if (url.pathname === '/anything' || url.pathname.startsWith('/anything/'))
    return json(200, { method: req.method, url: req.url, headers: req.headers });
  if (url.pathname === '/ip') return json(200, { origin: req.socket.remoteAddress });
  const status = /^\/status\/(\d{3})$/.exec(url.pathname);
  if (status) {
    res.writeHead(Number(status[1]));
    return res.end();
  }
  if (url.pathname === '/healthz') return json(200, { status: 'healthy', hostName: `httpbin@${address}` });
  json(404, { error: 'not found' });
});
outlastProxyIdleTimeout(server);
server.listen(Number(port), address, () => process.stdout.write(`httpbin listening on ${address}:${port}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
