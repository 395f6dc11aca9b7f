// The S9 "database": a TLS server that requires a client certificate from its
// own CA (like MongoDB with requireTLS + CAFile), speaking a line protocol:
// every line is answered with `<client cert CN>: <line>`.
// `node mtls-echo.js <address> <port> <server.pem> <server-key.pem> <ca.pem>`
import { readFileSync } from 'node:fs';
import { createServer, type TLSSocket } from 'node:tls';
import { onLines } from './lines.js';

const [address = '127.0.0.1', port = '27017', certFile, keyFile, caFile] = process.argv.slice(2);
if (!certFile || !keyFile || !caFile) {
  process.stderr.write('usage: mtls-echo.js <address> <port> <server.pem> <server-key.pem> <ca.pem>\n');
  process.exit(2);
}
const sockets = new Set<TLSSocket>();
const server = createServer(
  { cert: readFileSync(certFile), key: readFileSync(keyFile), ca: readFileSync(caFile), requestCert: true, rejectUnauthorized: true },
  (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    const peer = socket.getPeerCertificate();
    const cn = peer.subject?.CN ?? '?';
    process.stdout.write(
      `session from ${socket.remoteAddress} client-cn=${cn} issuer-cn=${peer.issuer?.CN} sni=${socket.servername || null} protocol=${socket.getProtocol()}\n`,
    );
    onLines(socket, (line) => socket.write(`${cn}: ${line}\n`));
    socket.on('error', (err) => process.stdout.write(`session error: ${err.message}\n`));
  },
);
server.on('tlsClientError', (err, socket) => process.stdout.write(`tls handshake failed from ${socket.remoteAddress}: ${err.message}\n`));
server.listen(Number(port), address, () => process.stdout.write(`mtls-echo listening on ${address}:${port}\n`));
process.on('SIGTERM', () => {
  for (const s of sockets) s.destroy();
  server.close(() => process.exit(0));
});
