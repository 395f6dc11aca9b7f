// `--store etcd://h1:2379,h2:2379/prefix`: which etcd members to dial and
// under which key prefix meshlite keeps everything. `etcds://` dials TLS.
export interface StoreLocation {
  /** `http://h:p` or `https://h:p`, one per member, in the order given. */
  endpoints: string[];
  /** Always starts and ends with `/`; `/meshlite/` when the URL names none. */
  prefix: string;
  tls: boolean;
}

export const DEFAULT_STORE_PREFIX = '/meshlite/';

/** Throws one clear line naming what is wrong with the URL. */
export function parseStoreUrl(url: string): StoreLocation {
  const m = /^(etcds?):\/\/([^/]*)(\/.*)?$/.exec(url.trim());
  if (!m) throw new Error(`--store ${JSON.stringify(url)}: expected etcd://host:port[,host:port...][/prefix] (or etcds:// for TLS)`);
  const tls = m[1] === 'etcds';
  const hosts = m[2]!.split(',').map((h) => h.trim());
  if (hosts.length === 0 || hosts.some((h) => h === ''))
    throw new Error(`--store ${JSON.stringify(url)}: list at least one etcd member as host:port`);
  const endpoints = hosts.map((h) => {
    const hp = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$/.exec(h);
    if (!hp) throw new Error(`--store ${JSON.stringify(url)}: ${JSON.stringify(h)} is not a host:port`);
    const port = hp[2] === undefined ? 2379 : Number(hp[2]);
    if (port < 1 || port > 65535) throw new Error(`--store ${JSON.stringify(url)}: port ${hp[2]} is out of range`);
    return `${tls ? 'https' : 'http'}://${hp[1]}:${port}`;
  });
  const rawPrefix = m[3] ?? '';
  const trimmed = rawPrefix.replace(/^\/+|\/+$/g, '');
  if (/[\s\\]/.test(trimmed) || trimmed.split('/').some((s) => s === '.' || s === '..'))
    throw new Error(`--store ${JSON.stringify(url)}: the prefix may not hold spaces, backslashes, '.' or '..'`);
  const prefix = trimmed === '' ? DEFAULT_STORE_PREFIX : `/${trimmed}/`;
  return { endpoints: [...new Set(endpoints)], prefix, tls };
}

/** The URL again, as logs and /debug show it. */
export function describeStore(location: StoreLocation): string {
  const hosts = location.endpoints.map((e) => e.replace(/^https?:\/\//, '')).join(',');
  return `${location.tls ? 'etcds' : 'etcd'}://${hosts}${location.prefix.replace(/\/$/, '')}`;
}
