// Line framing for the test apps that speak a line protocol over TCP or TLS.
import type { Socket } from 'node:net';

/** Calls `onLine` for every complete line (`\r\n` or `\n`); returns what is still buffered. */
export function onLines(socket: Socket, onLine: (line: string) => void): () => string {
  let buffered = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    for (let i = buffered.indexOf('\n'); i >= 0; i = buffered.indexOf('\n')) {
      const line = buffered.slice(0, i).replace(/\r$/, '');
      buffered = buffered.slice(i + 1);
      onLine(line);
    }
  });
  return () => buffered;
}
