// A stand-in for Marathon's REST API: serves whatever apps and pods a test
// sets, in Marathon's answer shapes, and can be made to fail or answer junk.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type StandInMode = 'ok' | 'error' | 'junk';

export class MarathonStandIn {
  apps: unknown[] = [];
  pods: unknown[] = [];
  mode: StandInMode = 'ok';
  /** Requests served, by path (query included). */
  readonly requests: string[] = [];
  private server: Server | undefined;

  async start(host: string): Promise<string> {
    this.server = createServer((req, res) => {
      this.requests.push(req.url ?? '');
      if (this.mode === 'error') {
        res.writeHead(503, { 'content-type': 'text/plain' }).end('leader election in progress');
        return;
      }
      const send = (body: unknown) =>
        res.writeHead(200, { 'content-type': 'application/json' }).end(this.mode === 'junk' ? '{"apps": [' : JSON.stringify(body));
      if (req.url === '/v2/apps?embed=apps.tasks') send({ apps: this.apps });
      else if (req.url === '/v2/pods/::status') send(this.pods);
      else res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"not found"}');
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(0, host, () => resolve());
    });
    const { port } = this.server.address() as AddressInfo;
    return `http://${host}:${port}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
