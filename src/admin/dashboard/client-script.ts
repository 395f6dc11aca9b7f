// The dashboard page's only script: polls the panels fragment once a second
// (a 304 when nothing changed), keeps expiry countdowns current, says
// "disconnected" and keeps retrying while the admin server is away, and with
// an admin token asks for it once, keeping it in sessionStorage.
export const CLIENT_SCRIPT = `(() => {
  const KEY = 'meshlite-admin-token';
  const status = document.getElementById('status');
  const panels = document.getElementById('panels');
  const form = document.getElementById('token-form');
  let etag = panels.dataset.etag || '';
  const show = (text, cls) => { status.textContent = text; status.className = cls; };
  const left = (ms) => {
    if (ms <= 0) return 'EXPIRED';
    const s = Math.floor(ms / 1000), d = Math.floor(s / 86400), h = Math.floor(s / 3600) % 24, m = Math.floor(s / 60) % 60;
    return (d ? d + 'd ' : '') + (d || h ? h + 'h ' : '') + m + 'm ' + (s % 60) + 's';
  };
  const tick = () => {
    for (const el of document.querySelectorAll('[data-expires]')) {
      const ms = Date.parse(el.dataset.expires) - Date.now();
      el.textContent = 'in ' + left(ms);
      el.className = 'countdown ' + (ms <= 0 ? 'bad' : ms < 3600e3 ? 'warn' : 'ok');
    }
  };
  const poll = async () => {
    const headers = {};
    const token = sessionStorage.getItem(KEY);
    if (token) headers.authorization = 'Bearer ' + token;
    if (etag) headers['if-none-match'] = etag;
    try {
      const res = await fetch('/debug/dashboard/panels', { headers, cache: 'no-store' });
      if (res.status === 401) {
        form.hidden = false;
        show(token ? 'token rejected' : 'admin token required', 'bad');
      } else if (res.status === 304) {
        show('live', 'ok');
      } else if (res.ok) {
        panels.innerHTML = await res.text();
        etag = res.headers.get('etag') || '';
        form.hidden = true;
        show('live', 'ok');
      } else {
        show('admin answered ' + res.status + ', retrying', 'bad');
      }
    } catch {
      show('disconnected, retrying', 'bad');
    }
    tick();
    setTimeout(poll, 1000);
  };
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    sessionStorage.setItem(KEY, form.elements.token.value.trim());
    form.elements.token.value = '';
    etag = '';
  });
  tick();
  setInterval(tick, 1000);
  poll();
})();`;
