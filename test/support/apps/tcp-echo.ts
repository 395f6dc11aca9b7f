// A plain TCP line echo for tests: `node tcp-echo.js <address> <port>`.
// Every line is answered with `echo: <line>`. Connections and every line
// received are logged (`connection <n> from <peer>`, `line <n> <text>`,
// `closed <n>`), synchronously, so a test can prove whether data ever reached it.
import { createServer, type Socket } from 'node:net';
import { onLines } from './lines.js';

const [address = '127.0.0.1', port = '9000'] = process.argv.slice(2);
const sockets = new Set<Socket>();
let next = 0;
const server = createServer((socket) => {
  const id = ++next;
  sockets.add(socket);
  process.stdout.write(`connection ${id} from ${socket.remoteAddress}\n`);
  const pending = onLines(socket, (line) => {
    process.stdout.write(`line ${id} ${line}\n`);
    socket.write(`echo: ${line}\n`);
  });
  socket.on('error', (err) => process.stdout.write(`error ${id} ${err.message}\n`));
  socket.once('close', () => {
    sockets.delete(socket);
    if (pending()) process.stdout.write(`partial ${id} ${pending()}\n`);
    process.stdout.write(`closed ${id}\n`);
  });
});
server.listen(Number(port), address, () => process.stdout.write(`tcp-echo listening on ${address}:${port}\n`));
process.on('SIGTERM', () => {
  for (const s of sockets) s.destroy();
  server.close(() => process.exit(0));
});
