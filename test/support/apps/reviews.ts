// A versioned service for routing tests: `node reviews.js <address> <port> <version>`.
// Every GET answers 200 {"version":<version>,"address":<address>,"path":<path>}.
import { createServer } from 'node:http';
import { outlastProxyIdleTimeout } from './keep-alive.js';

const [address = '127.0.0.1', port = '9080', version = 'v1'] = process.argv.slice(2);
const server = createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'application/json', 'x-reviews-version': version });
  res.end(`${JSON.stringify({ version, address, path: req.url ?? '/' })}\n`);
});
outlastProxyIdleTimeout(server);
server.listen(Number(port), address, () => process.stdout.write(`reviews ${version} listening on ${address}:${port}\n`));
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
