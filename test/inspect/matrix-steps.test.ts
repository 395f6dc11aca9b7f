// The steps of the matrix walk on hand-made config: filter chain choice (with
// and without a TLS inspector, the default chain), the TLS handshake checks,
// and virtual host / route choice.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chooseFilterChain } from '../../src/inspect/filter-chain-choice.js';
import { chooseRoute } from '../../src/inspect/route-match.js';
import { handshake, type TlsSide } from '../../src/inspect/tls-handshake.js';

const TLS_INSPECTOR = { name: 'envoy.filters.listener.tls_inspector' };
const chain = (name: string, match: Record<string, unknown>) => ({ name, filter_chain_match: match, filters: [] });
const PERMISSIVE = [
  chain('mtls', { destination_port: 80, transport_protocol: 'tls', application_protocols: ['istio'] }),
  chain('plaintext', { destination_port: 80, transport_protocol: 'raw_buffer' }),
  chain('passthrough', { destination_port: 80, transport_protocol: 'tls' }),
];
const conn = (tls: boolean, alpn: string[] = []) => ({ destinationIp: '127.0.0.1', destinationPort: 80, tls, alpn });
const picked = (listener: Record<string, unknown>, c: ReturnType<typeof conn>) => {
  const r = chooseFilterChain(listener, c);
  return r.kind === 'chain' ? r.name : r.kind;
};

test('filter chains: ALPN istio picks the mTLS chain, other TLS the passthrough, plaintext the plaintext chain', () => {
  const listener = { filter_chains: PERMISSIVE, listener_filters: [TLS_INSPECTOR] };
  assert.is(picked(listener, conn(true, ['istio'])), 'mtls');
  assert.is(picked(listener, conn(true, ['h2'])), 'passthrough');
  assert.is(picked(listener, conn(false)), 'plaintext');
  assert.is(picked(listener, { ...conn(false), destinationPort: 81 }), 'none');
});

test('filter chains: without a TLS inspector every connection reads as raw_buffer; a default chain catches the rest', () => {
  const noInspector = { filter_chains: PERMISSIVE };
  assert.is(picked(noInspector, conn(true, ['istio'])), 'plaintext');
  const strict = {
    filter_chains: [PERMISSIVE[0]],
    listener_filters: [TLS_INSPECTOR],
    default_filter_chain: { name: 'fallback', filters: [] },
  };
  assert.is(picked(strict, conn(false)), 'fallback');
  assert.is(picked({ filter_chains: [PERMISSIVE[0]], listener_filters: [TLS_INSPECTOR] }, conn(false)), 'none');
});

const mesh = (over: Partial<TlsSide> = {}): TlsSide => ({
  certificate: 'mesh',
  trust: 'mesh',
  sans: [],
  alpn: [],
  requireClientCertificate: false,
  ...over,
});
const SLEEP = 'spiffe://cluster.local/ns/foo/sa/sleep';
const HTTPBIN = 'spiffe://cluster.local/ns/bar/sa/httpbin';
const exactSan = (v: string) => ({ san_type: 'URI', matcher: { exact: v } });

test('handshake: mesh certificates both ways pass; SANs, a missing client certificate and a foreign CA fail', () => {
  assert.equal(handshake(mesh({ sans: [exactSan(HTTPBIN)] }), SLEEP, mesh({ requireClientCertificate: true }), HTTPBIN), { ok: true });
  const wrongSan = handshake(mesh({ sans: [exactSan('spiffe://cluster.local/ns/bar/sa/other')] }), SLEEP, mesh(), HTTPBIN);
  assert.ok(wrongSan.ok === false && /not among the accepted names/.test(wrongSan.why));
  const serverPrefix = mesh({ requireClientCertificate: true, sans: [{ san_type: 'URI', matcher: { prefix: 'spiffe://other.domain/' } }] });
  assert.equal(handshake(mesh(), SLEEP, serverPrefix, HTTPBIN).ok, false);
  const noCert = handshake(mesh({ certificate: 'none' }), undefined, mesh({ requireClientCertificate: true }), HTTPBIN);
  assert.ok(noCert.ok === false && /requires a client certificate/.test(noCert.why));
  const foreign = handshake(mesh({ trust: 'other', certificate: 'none' }), undefined, mesh(), HTTPBIN);
  assert.ok(foreign.ok === false && /from the mesh CA, its verifier trusts another CA/.test(foreign.why));
  assert.equal(handshake(mesh({ trust: 'other' }), SLEEP, mesh({ certificate: 'other' }), undefined).ok, 'unknown');
});

const request = (authority: string, path = '/', headers: Record<string, string> = {}) => ({ authority, path, method: 'GET', headers });

test('routes: exact domain before suffix wildcard before *, the first matching route, header matches', () => {
  const config = {
    name: 'r',
    virtual_hosts: [
      { name: 'any', domains: ['*'], routes: [{ name: 'all', match: { prefix: '/' } }] },
      { name: 'suffix', domains: ['*.bar.svc'], routes: [{ name: 's', match: { prefix: '/' } }] },
      {
        name: 'exact',
        domains: ['httpbin.bar.svc:8000'],
        routes: [
          { name: 'jason', match: { prefix: '/', headers: [{ name: 'end-user', string_match: { exact: 'jason' } }] } },
          { name: 'status', match: { path_separated_prefix: '/status' } },
          { name: 'rest', match: { prefix: '/' } },
        ],
      },
    ],
  };
  const name = (r: ReturnType<typeof chooseRoute>) => (r.kind === 'route' ? `${r.virtualHost}/${r.route.name}` : r.kind);
  assert.is(name(chooseRoute(config, request('httpbin.bar.svc:8000', '/status/418'))), 'exact/status');
  assert.is(name(chooseRoute(config, request('httpbin.bar.svc:8000', '/statusx'))), 'exact/rest');
  assert.is(name(chooseRoute(config, request('httpbin.bar.svc:8000', '/', { 'end-user': 'jason' }))), 'exact/jason');
  assert.is(name(chooseRoute(config, request('echo.bar.svc'))), 'suffix/s');
  assert.is(name(chooseRoute(config, request('example.com'))), 'any/all');
  assert.is(chooseRoute({ name: 'r', virtual_hosts: [config.virtual_hosts[2]] }, request('example.com')).kind, 'none');
});

test.run();
