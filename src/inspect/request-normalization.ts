// The path and host the HTTP filters of an HCM see, after the request hygiene
// that HCM is configured with (Envoy applies it before any filter runs):
// escaped slashes decoded, the path normalized (RFC 3986: percent-decoded
// unreserved characters, backslashes as slashes, dot segments removed),
// repeated slashes merged, a trailing dot dropped from the host.
import type { Obj } from './string-matcher.js';

const UNRESERVED = /[A-Za-z0-9\-._~]/;

function decodeUnreserved(path: string): string {
  return path.replace(/%([0-9a-fA-F]{2})/g, (whole, hex: string) => {
    const c = String.fromCharCode(Number.parseInt(hex, 16));
    return UNRESERVED.test(c) ? c : whole.toUpperCase();
  });
}

/** RFC 3986 section 5.2.4: `.` and `..` segments removed (never above the root). */
export function removeDotSegments(path: string): string {
  const out: string[] = [];
  const segments = path.split('/').slice(1);
  segments.forEach((segment, i) => {
    const last = i === segments.length - 1;
    if (segment === '.' || segment === '..') {
      if (segment === '..' && out.length > 0) out.pop();
      if (last) out.push('');
      return;
    }
    out.push(segment);
  });
  return `/${out.join('/')}`;
}

/** Envoy's normalize_path: the canonical form of the path part. */
export function canonicalPath(path: string): string {
  return removeDotSegments(decodeUnreserved(path.replaceAll('\\', '/')));
}

/** The request's path (with its query) and host as the HCM's filters see them. */
export function normalizeRequest(hcm: Obj, request: { path: string; host?: string }): { path: string; host?: string } {
  const cut = request.path.search(/[?#]/);
  let path = cut < 0 ? request.path : request.path.slice(0, cut);
  const query = cut < 0 ? '' : request.path.slice(cut);
  const escaped = hcm.path_with_escaped_slashes_action;
  if (escaped === 'UNESCAPE_AND_FORWARD' || escaped === 'UNESCAPE_AND_REDIRECT') path = path.replace(/%2f/gi, '/').replace(/%5c/gi, '\\');
  if (hcm.normalize_path === true) path = canonicalPath(path);
  if (hcm.merge_slashes === true) path = path.replace(/\/{2,}/g, '/');
  let host = request.host;
  if (host !== undefined && hcm.strip_trailing_host_dot === true) host = host.replace(/\.(:\d+)?$/, '$1');
  return { path: path + query, ...(host !== undefined ? { host } : {}) };
}
