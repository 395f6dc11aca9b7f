// GET /debug: every admin endpoint with one line on what it shows. The one
// table below is the list; a test checks that every GET route under /debug
// is in it, so the index cannot drift from what the server answers.
import { escapeHtml as e } from './dashboard/html.js';

export interface EndpointDoc {
  path: string;
  /** A query that makes a useful example link, e.g. `?proxy=<id>`; shown, not linked. */
  query?: string;
  what: string;
}

export const ADMIN_ENDPOINTS: readonly EndpointDoc[] = [
  { path: '/', what: 'the dashboard: proxies and their sync, certificates, predicted reachability, policies, config state' },
  { path: '/healthz', what: 'liveness: answers while the process runs (no token needed)' },
  { path: '/ready', what: 'readiness: 200 once a config is served, with generation and error count (no token needed)' },
  { path: '/metrics', what: 'Prometheus metrics (no token needed)' },
  { path: '/debug', what: 'this index' },
  { path: '/debug/configz', what: 'the config generation served, or why the files were rejected (file:line)' },
  { path: '/debug/syncz', query: '?proxy=<name>.<namespace>', what: 'per proxy and xDS type: synced, stale, NACKed or not sent' },
  { path: '/debug/adsz', what: 'every ADS stream: node, peer, credential, per-type versions, warnings' },
  { path: '/debug/config_dump', query: '?proxy=<name>.<namespace>', what: "a proxy's resources in Envoy config_dump shape" },
  {
    path: '/debug/authenticationz',
    query: '?proxy=<name>.<namespace>',
    what: 'per destination: client TLS against the servers’ peer mTLS mode',
  },
  {
    path: '/debug/authorizationz',
    query: '?proxy=<name>.<namespace>',
    what: 'the authorization policies and JWT rules each proxy enforces, with file:line',
  },
  { path: '/debug/credentialz', what: 'the secrets directory: each credential, its expiry, who uses it, what is missing' },
  { path: '/debug/registrationz', what: 'workloads registered by agents from WorkloadGroups' },
  { path: '/debug/ca', what: 'the signing CA, its roots and any root rotation' },
  { path: '/debug/dashboardz', what: "the dashboard's data as JSON" },
  { path: '/debug/dashboard/panels', what: "the dashboard's panels as an HTML fragment (what the page polls)" },
];

export function renderDebugIndex(): string {
  const rows = ADMIN_ENDPOINTS.map(
    (x) =>
      `<tr><td><a href="${e(x.path)}">${e(x.path)}</a>${x.query ? `<span class="q">${e(x.query)}</span>` : ''}</td><td>${e(x.what)}</td></tr>`,
  ).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>meshlite admin endpoints</title>
<style>body{font:14px/1.4 system-ui,sans-serif;margin:1em 2em}table{border-collapse:collapse}td{border-bottom:1px solid #ddd;padding:.3em .8em}.q{color:#777}</style></head>
<body><h1>meshlite admin endpoints</h1><p>Add <code>?pretty</code> to any JSON endpoint for indented output.</p>
<table>${rows}</table></body></html>
`;
}
