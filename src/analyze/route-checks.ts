// ML05xx: VirtualService routes that can never be used.
import type { HttpMatchRequest, HttpRoute } from '../config/types.js';
import type { AnalysisContext } from './analysis-context.js';

const empty = (record: Readonly<Record<string, unknown>>) => Object.keys(record).length === 0;

/** A match condition every request meets: nothing set, or only a uri of prefix `/` (or regex `.*`). */
function matchesEverything(m: HttpMatchRequest): boolean {
  const uri = m.uri;
  const anyUri = uri === undefined || ('prefix' in uri && uri.prefix === '/') || ('regex' in uri && uri.regex === '.*');
  return (
    anyUri &&
    m.scheme === undefined &&
    m.method === undefined &&
    m.authority === undefined &&
    empty(m.headers) &&
    empty(m.withoutHeaders) &&
    empty(m.queryParams) &&
    m.port === undefined &&
    m.sourceLabels === undefined &&
    m.sourceNamespace === undefined &&
    m.gateways.length === 0
  );
}

export function isCatchAll(route: HttpRoute): boolean {
  return route.match.length === 0 || route.match.some(matchesEverything);
}

/** ML0501: http routes after a catch-all route (routes are tried in order; the first that matches wins). */
export function checkShadowedRoutes(ctx: AnalysisContext): void {
  for (const vs of ctx.config.virtualServices) {
    const catchAll = vs.spec.http.findIndex(isCatchAll);
    if (catchAll < 0) continue;
    for (let i = catchAll + 1; i < vs.spec.http.length; i++) {
      const name = vs.spec.http[i]!.name;
      ctx.report({
        code: 'ML0501',
        severity: 'Warning',
        resource: vs,
        path: ['spec', 'http', i],
        message: `route ${name ? `"${name}" ` : ''}${i} comes after route ${catchAll}, which matches every request; routes are tried in order, so this one is never used. Move it above route ${catchAll}, or narrow route ${catchAll}'s match.`,
      });
    }
  }
}
