// The dashboard's panels as one HTML fragment: the page embeds it, and the
// page's script swaps in a fresh one when it changes. It holds no clock
// reading, so an unchanged mesh renders the same bytes.
import { RESOURCE_TYPES } from '../../xds/type-urls.js';
import type { DashboardData } from './dashboard-data.js';
import { escapeHtml as e, expiry, table } from './html.js';
import type { PredictedMatrix } from '../../inspect/matrix-types.js';

const TYPE_LABEL: Readonly<Record<string, string>> = { clusters: 'CDS', endpoints: 'EDS', listeners: 'LDS', routes: 'RDS', secrets: 'SDS' };

// Drawn, not a font glyph: headless and minimal systems often have no emoji font.
const LOCK =
  '<svg class="lock" role="img" aria-label="mutual TLS" viewBox="0 0 10 12" width="9" height="11"><rect x="1" y="5" width="8" height="7" rx="1" fill="currentColor"/><path d="M3 5V3.5a2 2 0 0 1 4 0V5" fill="none" stroke="currentColor" stroke-width="1.4"/></svg>';

const section = (id: string, title: string, body: string) => `<section id="${id}"><h2>${e(title)}</h2>${body}</section>`;

export function renderPanels(d: DashboardData): string {
  return [configPanel(d), proxiesPanel(d), certificatesPanel(d), matrixPanel(d.matrix), policiesPanel(d)].join('\n');
}

function configPanel({ config: c }: DashboardData): string {
  const facts = [
    `<span class="badge state-${e(c.state.replace(' ', '-'))}" id="config-state">${e(c.state)}</span>`,
    `generation <b id="config-generation">${c.generation}</b>`,
    `${c.files} file(s)`,
    c.loadedAt ? `loaded ${e(c.loadedAt)}` : '',
    c.rejectedAt ? `rejected ${e(c.rejectedAt)} (still serving generation ${c.generation})` : '',
  ].filter(Boolean);
  const errors = c.errors.length ? `<ul class="errors">${c.errors.map((x) => `<li>${e(x)}</li>`).join('')}</ul>` : '';
  const store = c.store === undefined ? '' : `<p>store: <code>${e(JSON.stringify(c.store))}</code></p>`;
  return section('config', 'Config', `<p>${facts.join(' · ')}</p>${errors}${store}`);
}

function proxiesPanel({ proxies }: DashboardData): string {
  if (proxies.length === 0) return section('proxies', 'Proxies', '<p class="muted">no proxies in the config and none connected</p>');
  const rows = proxies.map((p) => {
    const byType = new Map(p.types.map((t) => [t.type, t]));
    const cells = RESOURCE_TYPES.map((type) => {
      const t = byType.get(type);
      const state = t?.state ?? (p.connected ? 'STALE' : 'NOT CONNECTED');
      return `<td class="sync s-${e(state.replace(' ', '-'))}" data-type="${TYPE_LABEL[type]}">${e(state)}</td>`;
    });
    const nacks = p.types
      .filter((t) => t.nack !== undefined)
      .map((t) => `<div class="nack">${TYPE_LABEL[t.type] ?? e(t.type)} NACK: ${e(t.nack)}</div>`)
      .join('');
    const link = `/debug/syncz?proxy=${encodeURIComponent(p.id)}`;
    const conn = p.connected ? `<span class="ok">● connected</span>` : `<span class="muted">○ not connected</span>`;
    return `<tr data-proxy="${e(p.id)}"><td><a href="${e(link)}">${e(p.id)}</a>${nacks}</td><td>${e(p.kind)}</td><td>${conn}</td>${cells.join('')}</tr>`;
  });
  const head = ['proxy', 'kind', 'connection', ...RESOURCE_TYPES.map((t) => TYPE_LABEL[t]!)];
  return section('proxies', 'Proxies', table(head, rows));
}

function certificatesPanel({ certificates, credentials }: DashboardData): string {
  const certRows = certificates.map(
    (c) =>
      `<tr data-proxy="${e(c.proxy)}"><td>${e(c.proxy)}</td><td>${e(c.use)}</td><td><code>${e(c.serial)}</code></td><td>${expiry(c.notAfter)}</td></tr>`,
  );
  const workload = certRows.length
    ? table(['proxy', 'used for', 'serial', 'expires'], certRows, ' id="workload-certificates"')
    : '<p class="muted">no connected proxy holds a certificate from meshlite</p>';
  const credRows = credentials.map(
    (c) =>
      `<tr data-credential="${e(c.name)}"><td>${e(c.name)}</td><td>${expiry(c.notAfter)}</td><td>${e(c.referencedBy.join(', ') || '-')}</td><td>${c.problems.map((p) => `<div class="bad">${e(p)}</div>`).join('')}</td></tr>`,
  );
  const secrets = credRows.length
    ? table(['credential', 'expires', 'used by', 'problems'], credRows, ' id="credentials"')
    : '<p class="muted">no credentials (serve --secrets-dir)</p>';
  return section('certificates', 'Certificates', `<h3>Workload certificates</h3>${workload}<h3>Secrets directory</h3>${secrets}`);
}

function matrixPanel(m: PredictedMatrix | undefined): string {
  if (!m) return section('matrix', 'Predicted reachability', '<p class="muted">no prediction available</p>');
  if (m.note !== undefined) return section('matrix', 'Predicted reachability', `<p class="muted">${e(m.note)}</p>`);
  const cells = new Map(m.cells.map((c) => [`${c.from}\u0000${c.to}`, c]));
  const rows = m.clients.map((from) => {
    const tds = m.services.map((to) => {
      const c = cells.get(`${from}\u0000${to}`);
      if (!c) return '<td class="cell code-none">-</td>';
      const title = [c.reason, c.identity ? `identity ${c.identity}` : '', c.mtls ? 'mutual TLS' : 'plaintext'].filter(Boolean).join('\n');
      const lock = c.mtls ? LOCK : '';
      return `<td class="cell code-${c.code === '?' ? 'unknown' : e(c.code)}" data-from="${e(from)}" data-to="${e(to)}" data-mtls="${c.mtls}" title="${e(title)}">${e(c.code)}${lock}</td>`;
    });
    return `<tr><th>${e(from)}</th>${tds.join('')}</tr>`;
  });
  const legend =
    '<p class="legend"><span class="cell code-200">200</span> allowed <span class="cell code-403">403</span> denied by policy ' +
    '<span class="cell code-503">503</span> upstream failure <span class="cell code-000">000</span> no response ' +
    '<span class="cell code-unknown">?</span> cannot tell · ' +
    `${LOCK} mutual TLS · hover a cell for the reason</p>`;
  return section('matrix', 'Predicted reachability', `${table(['client \\ service', ...m.services], rows, ' id="matrix-table"')}${legend}`);
}

function policiesPanel({ policies }: DashboardData): string {
  if (policies.length === 0) return section('policies', 'Policies', '<p class="muted">no security policies</p>');
  const rows = policies.map(
    (p) =>
      `<tr data-policy="${e(`${p.kind}/${p.policy}`)}"><td>${e(p.kind)}</td><td>${e(p.policy)}</td><td>${e(p.detail)}</td><td><code>${e(p.source)}</code></td><td>${e(p.proxies.join(', ') || 'none')}</td></tr>`,
  );
  return section('policies', 'Policies', table(['kind', 'policy', 'effect', 'source', 'selects proxies'], rows));
}
