// The S6 "goserver" behind its sidecar: plain HTTP, `node goserver.js <address> <port>`.
// GET /healthz -> 200 {"status":"healthy","hostName":"goserver@<address>","host":<Host>}; anything else 404.
import { createServer } from 'node:http';
import { outlastProxyIdleTimeout } from './keep-alive.js';

const [address = '127.0.0.1', port = '8081'] = process.argv.slice(2);
const server = createServer((req, res) => {
  process.stdout.write(`${req.method} ${req.url} host=${req.headers.host}\n`);
  if (req.method === 'GET' && new URL(req.url ?? '/', 'http://x').pathname === '/healthz') {
    res.writeHead(200, { 'content-type': 'application/json' });
    return res.end(`${JSON.stringify({ status: 'healthy', hostName: `goserver@${address}`, host: req.headers.host ?? null })}\n`);
  }
  res.writeHead(404, { 'content-type': 'application/json' });
  res.end('{"error":"not found"}\n');
});
outlastProxyIdleTimeout(server);
server.listen(Number(port), address, () => process.stdout.write(`goserver listening on ${address}:${port}\n`));
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
