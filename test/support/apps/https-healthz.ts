// The S8 "goserver": HTTPS only (one-way TLS, its own CA), for tests.
// `node https-healthz.js <address> <port> <cert.pem> <key.pem>`
// GET /healthz -> 200 {"status":"healthy","hostName":...,"sni":...,"host":...}: the SNI
// the TLS client sent and the Host it asked for, so a test can see what the sidecar did.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { outlastProxyIdleTimeout } from './keep-alive.js';

const [address = '127.0.0.1', port = '9090', certFile, keyFile] = process.argv.slice(2);
if (!certFile || !keyFile) {
  process.stderr.write('usage: https-healthz.js <address> <port> <cert.pem> <key.pem>\n');
  process.exit(2);
}
const server = createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) }, (req, res) => {
  const sni = (req.socket as TLSSocket).servername || null;
  process.stdout.write(`${req.method} ${req.url} host=${req.headers.host} sni=${sni}\n`);
  // Envoy overwrites this with its own `server: envoy` on the way back.
  res.setHeader('server', 'goserver');
  if (req.url === '/healthz') {
    res.writeHead(200, { 'content-type': 'application/json' });
    return res.end(`${JSON.stringify({ status: 'healthy', hostName: `goserver@${address}`, sni, host: req.headers.host ?? null })}\n`);
  }
  res.writeHead(404, { 'content-type': 'application/json' });
  res.end('{"error":"not found"}\n');
});
server.on('tlsClientError', (err) => process.stdout.write(`tls handshake failed: ${err.message}\n`));
outlastProxyIdleTimeout(server);
server.listen(Number(port), address, () => process.stdout.write(`https listening on ${address}:${port}\n`));
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
