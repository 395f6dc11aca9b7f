// HTML text from strings that may come from config files (names, messages):
// everything goes through `escapeHtml`, in text and in attribute values alike.

const ENTITIES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: unknown): string {
  return String(text).replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

/** A table: header cells and rows of ready HTML (callers escape what they put in). */
export function table(head: readonly string[], rows: readonly string[], attrs = ''): string {
  const th = head.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  return `<table${attrs}><thead><tr>${th}</tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

/** An expiry: the absolute time, and a countdown the page's script keeps current. */
export function expiry(iso: string | undefined): string {
  if (iso === undefined) return '<span class="muted">unknown</span>';
  const at = escapeHtml(iso);
  return `<span class="countdown" data-expires="${at}"></span> <time class="muted" datetime="${at}">${at}</time>`;
}
