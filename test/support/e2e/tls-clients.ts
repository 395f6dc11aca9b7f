// A curl-like HTTPS client for gateway tests: dial an address, send the SNI
// and Host of a name (`curl --resolve name:443:<address>`), trust a CA,
// optionally present a client certificate, and report what the server showed
// (its certificate) as well as the HTTP answer. One fresh connection per call.
import { X509Certificate } from 'node:crypto';
import { request } from 'node:https';
import type { TLSSocket } from 'node:tls';

export interface HttpsCall {
  /** Where to connect (the gateway's address). */
  address: string;
  port: number;
  /** SNI and, unless `host` is given, the Host header. */
  servername: string;
  host?: string;
  path: string;
  /** CA(s) the client trusts for the server certificate (PEM). */
  ca: string;
  /** Client certificate and key (PEM), for mutual TLS. */
  cert?: string;
  key?: string;
  timeoutMs?: number;
}

export interface PeerCertificate {
  /** Lower-case hex, no leading zeros (comparable with Envoy's /certs). */
  serial: string;
  fingerprint256: string;
  subjectCN?: string;
  issuerCN?: string;
}

export interface HttpsResult {
  /** HTTP status, or '000' when there was no HTTP answer. */
  code: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** The client finished its side of the TLS handshake (in TLS 1.3 the server may still refuse afterwards). */
  secureConnect: boolean;
  /** The certificate the server presented, when the handshake got that far. */
  peer?: PeerCertificate;
  /** Why there was no HTTP answer (an error code, or message). */
  error?: string;
}

export function normalizeSerial(serial: string): string {
  return serial
    .toLowerCase()
    .replace(/[^0-9a-f]/g, '')
    .replace(/^0+(?=.)/, '');
}

/** Serial and SHA-256 fingerprint of a PEM certificate, in the form `PeerCertificate` uses. */
export function certificateId(pem: string): { serial: string; fingerprint256: string } {
  const c = new X509Certificate(pem);
  return { serial: normalizeSerial(c.serialNumber), fingerprint256: c.fingerprint256 };
}

/** GET over TLS; resolves (never rejects) with the status, or '000' and the error. */
export function httpsGet(call: HttpsCall): Promise<HttpsResult> {
  const timeoutMs = call.timeoutMs ?? 5000;
  return new Promise((resolve) => {
    let settled = false;
    let secureConnect = false;
    let peer: PeerCertificate | undefined;
    const done = (r: Omit<HttpsResult, 'secureConnect' | 'peer'>) => {
      if (settled) return;
      settled = true;
      resolve({ ...r, secureConnect, ...(peer ? { peer } : {}) });
    };
    const req = request(
      {
        host: call.address,
        port: call.port,
        servername: call.servername,
        path: call.path,
        method: 'GET',
        headers: { host: call.host ?? call.servername, 'user-agent': 'curl/8 (meshlite e2e)', accept: '*/*' },
        ca: call.ca,
        ...(call.cert ? { cert: call.cert, key: call.key } : {}),
        agent: false,
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => done({ code: String(res.statusCode), headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', (err) => done({ code: '000', headers: {}, body: '', error: err.message }));
      },
    );
    req.on('socket', (socket) => {
      socket.once('secureConnect', () => {
        secureConnect = true;
        const c = (socket as TLSSocket).getPeerCertificate();
        if (c?.serialNumber) {
          peer = {
            serial: normalizeSerial(c.serialNumber),
            fingerprint256: c.fingerprint256,
            subjectCN: firstOf(c.subject?.CN),
            issuerCN: firstOf(c.issuer?.CN),
          };
        }
      });
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error(`timeout after ${timeoutMs} ms`), { code: 'TIMEOUT' })));
    req.on('error', (err: NodeJS.ErrnoException) => done({ code: '000', headers: {}, body: '', error: err.code ?? err.message }));
    req.end();
  });
}

const firstOf = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);

export function describeHttps(r: HttpsResult): string {
  return `${r.code}${r.error ? ` (${r.error})` : ''} tls=${r.secureConnect ? 'ok' : 'no'}${r.peer ? ` peer=${r.peer.subjectCN}#${r.peer.serial}` : ''} ${r.body.slice(0, 200)}`;
}
