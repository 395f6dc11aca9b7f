// The S7 "nginx-https": HTTPS on its own, requiring a client certificate from
// its own CA (what a gateway in PASSTHROUGH mode must hand through untouched).
// `node tls-backend.js <address> <port> <server.pem> <server-key.pem> <client-ca.pem>`
// Every request answers 200 {"server":"nginx-https","sni":...,"clientCN":...,"path":...}.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { outlastProxyIdleTimeout } from './keep-alive.js';

const [address = '127.0.0.1', port = '443', certFile, keyFile, caFile] = process.argv.slice(2);
if (!certFile || !keyFile || !caFile) {
  process.stderr.write('usage: tls-backend.js <address> <port> <server.pem> <server-key.pem> <client-ca.pem>\n');
  process.exit(2);
}
const server = createServer(
  { cert: readFileSync(certFile), key: readFileSync(keyFile), ca: readFileSync(caFile), requestCert: true, rejectUnauthorized: true },
  (req, res) => {
    const socket = req.socket as TLSSocket;
    const clientCN = socket.getPeerCertificate().subject?.CN ?? null;
    const sni = socket.servername || null;
    process.stdout.write(`${req.method} ${req.url} sni=${sni} client-cn=${clientCN} from=${socket.remoteAddress}\n`);
    res.writeHead(200, { 'content-type': 'application/json', server: 'nginx-https' });
    res.end(`${JSON.stringify({ server: 'nginx-https', sni, clientCN, path: req.url ?? '/' })}\n`);
  },
);
server.on('tlsClientError', (err) => process.stdout.write(`tls handshake failed: ${err.message}\n`));
outlastProxyIdleTimeout(server);
server.listen(Number(port), address, () => process.stdout.write(`tls-backend listening on ${address}:${port}\n`));
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
