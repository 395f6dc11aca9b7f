// The admin routes for people rather than scripts: the dashboard at `/`, the
// data it polls, the /debug index; and `?pretty` for every JSON answer.
import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { renderDebugIndex } from '../debug-index.js';
import { type DashboardSources, dashboardData, newDashboardMemo } from './dashboard-data.js';
import { DASHBOARD_CSP, renderPage } from './page.js';
import { renderPanels } from './panels.js';

export interface DashboardRouteDeps extends DashboardSources {
  /** With a token the page is served as an empty shell: its data comes from /debug routes that check the token. */
  debugToken?: string;
}

const etagOf = (html: string) => `"${createHash('sha256').update(html).digest('base64url').slice(0, 27)}"`;

export function registerDashboardRoutes(app: FastifyInstance, deps: DashboardRouteDeps): void {
  const memo = newDashboardMemo();
  const data = () => dashboardData(deps, memo);
  const panels = () => {
    const html = renderPanels(data());
    return { html, etag: etagOf(html) };
  };

  app.get('/', async (_req, reply) =>
    reply
      .type('text/html; charset=utf-8')
      .header('content-security-policy', DASHBOARD_CSP)
      .header('cache-control', 'no-store')
      .send(renderPage(deps.debugToken === undefined ? panels() : undefined)),
  );

  app.get('/debug', async (_req, reply) => reply.type('text/html; charset=utf-8').send(renderDebugIndex()));

  app.get('/debug/dashboardz', async () => data());

  app.get('/debug/dashboard/panels', async (req, reply) => {
    const { html, etag } = panels();
    reply.header('etag', etag).header('cache-control', 'no-store');
    if (req.headers['if-none-match'] === etag) return reply.code(304).send();
    return reply.type('text/html; charset=utf-8').send(html);
  });
}

/** `?pretty` on any JSON answer: re-indented on the way out, whatever route produced it. Register before the routes. */
export function registerPrettyJson(app: FastifyInstance): void {
  app.addHook('onSend', async (req, reply, payload) => {
    if (typeof payload !== 'string' || !Object.hasOwn((req.query as object | undefined) ?? {}, 'pretty')) return payload;
    if (!String(reply.getHeader('content-type') ?? '').startsWith('application/json')) return payload;
    try {
      return `${JSON.stringify(JSON.parse(payload), null, 2)}\n`;
    } catch {
      return payload;
    }
  });
}
