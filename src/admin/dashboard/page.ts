// The dashboard page: one self-contained HTML document (inline style and
// script, nothing fetched from elsewhere), served at the admin `/`.
import { createHash } from 'node:crypto';
import { CLIENT_SCRIPT } from './client-script.js';

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d2330}
header{display:flex;gap:1em;align-items:center;padding:.6em 1em;background:#1d2330;color:#fff}
header h1{font-size:1.1em;margin:0}header a{color:#9cc3ff}
#status{margin-left:auto;padding:.1em .6em;border-radius:1em}
#status.ok{background:#1f7a3a;color:#fff}#status.bad{background:#b3261e;color:#fff}
main{padding:0 1em 2em}section{background:#fff;border:1px solid #dde1e8;border-radius:6px;margin:1em 0;padding:.2em 1em .8em}
h2{font-size:1.05em}h3{font-size:.95em;color:#555}
table{border-collapse:collapse}th,td{border:1px solid #dde1e8;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#eef1f5}.muted{color:#777}.ok{color:#1f7a3a}.warn{color:#a15c00}.bad{color:#b3261e}
.badge{padding:.1em .5em;border-radius:.4em;color:#fff}.state-ok{background:#1f7a3a}.state-rejected{background:#b3261e}.state-not-loaded{background:#777}
.errors{color:#b3261e;font-family:monospace}.nack{color:#b3261e;font-size:.85em}
.sync{font-size:.8em;font-weight:600;text-align:center}
.s-SYNCED{background:#d5f0dc}.s-STALE{background:#fff0c2}.s-NACKED{background:#f8d0cd}
.s-NOT-SENT,.s-NOT-SUBSCRIBED,.s-NOT-CONNECTED{background:#eceff3;color:#666}
.cell{text-align:center;font-weight:600;padding:.1em .5em}.code-200{background:#d5f0dc}.code-403{background:#f8d0cd}
.code-503{background:#ffd9b3}.code-000{background:#d9d9e8}.code-unknown,.code-none{background:#eceff3}
.legend .cell{display:inline-block;min-width:2em}.lock{margin-left:.25em;vertical-align:-1px}
#token-form{margin:1em 0}
`;

/** For the Content-Security-Policy: only this exact script may run on the page. */
export const SCRIPT_HASH = createHash('sha256').update(CLIENT_SCRIPT).digest('base64');

export const DASHBOARD_CSP = `default-src 'none'; script-src 'sha256-${SCRIPT_HASH}'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'`;

/**
 * `panels` is the rendered fragment with its ETag, or undefined when the page
 * must hold no data (an admin token is required: the script fetches it).
 */
export function renderPage(panels: { html: string; etag: string } | undefined): string {
  const body = panels ? panels.html : '<p class="muted">loading…</p>';
  const etag = panels ? ` data-etag="${panels.etag.replace(/"/g, '&quot;')}"` : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>meshlite</title><style>${STYLE}</style></head>
<body><header><h1>meshlite</h1><a href="/debug">/debug endpoints</a><span id="status" class="ok">${panels ? 'live' : 'connecting'}</span></header>
<main><form id="token-form" hidden><label>Admin token (serve --admin-token-file): <input name="token" type="password" autocomplete="off"></label> <button>Use</button>
<span class="muted">kept in this tab's session storage only</span></form>
<div id="panels"${etag}>${body}</div></main>
<script>${CLIENT_SCRIPT}</script></body></html>
`;
}
