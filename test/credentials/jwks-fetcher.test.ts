import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkJwks, fetchJwks, JwksFetcher, parseJwksUri } from '../../src/credentials/jwks-fetcher.js';
import { after, before } from '../support/hooks.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
let handler: Handler = (_req, res) => res.end('{}');
let hits = 0;
let server: Server;
let base = '';

async function jwks(kid: string): Promise<string> {
  const { publicKey } = await generateKeyPair('RS256');
  return JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' }] });
}

function serve(body: string, status = 200): Handler {
  return (_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
}

async function rejects(p: Promise<unknown>, pattern: RegExp, what = ''): Promise<void> {
  try {
    await p;
  } catch (err) {
    assert.match((err as Error).message, pattern, what);
    return;
  }
  assert.unreachable(`expected a rejection matching ${pattern} ${what}`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

before(test, async () => {
  server = createServer((req, res) => {
    hits++;
    handler(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(test, async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

test.before.each(() => {
  hits = 0;
});

test('fetches and validates a JWKS generated with jose', async () => {
  const doc = await jwks('k1');
  handler = serve(doc);
  assert.is(await fetchJwks(`${base}/jwks.json`), doc);
});

test('watch caches: current() serves the document without refetching', async () => {
  const doc = await jwks('k1');
  handler = serve(doc);
  const changes: string[] = [];
  const f = new JwksFetcher({ onChange: (uri) => changes.push(uri) });
  try {
    const uri = `${base}/a`;
    assert.is(f.current(uri), undefined);
    const entry = await f.watch(uri);
    assert.is(entry.jwks, doc);
    assert.is(entry.lastError, undefined);
    assert.is(f.current(uri), doc);
    await f.watch(uri);
    assert.is(f.current(uri), doc);
    assert.is(hits, 1);
    assert.equal(changes, [uri]);
    assert.equal(f.uris(), [uri]);
  } finally {
    f.close();
  }
});

test('refresh interval refetches; onChange fires only when the document changes', async () => {
  let doc = await jwks('k1');
  handler = (req, res) => serve(doc)(req, res);
  const changes: string[] = [];
  const f = new JwksFetcher({ refreshMillis: 40, onChange: (_uri, text) => changes.push(text) });
  try {
    const uri = `${base}/b`;
    await f.watch(uri);
    await sleep(130);
    assert.ok(hits >= 2, `expected refreshes, got ${hits} fetches`);
    assert.equal(changes, [doc], 'unchanged document must not notify');
    const rotated = await jwks('k2');
    doc = rotated;
    await sleep(100);
    assert.is(f.current(uri), rotated);
    assert.is(changes.length, 2);
    assert.is(changes[1], rotated);
  } finally {
    f.close();
  }
});

test('a failed refresh keeps the last good document and reports the error', async () => {
  const doc = await jwks('k1');
  handler = serve(doc);
  const errors: string[] = [];
  const changes: string[] = [];
  const f = new JwksFetcher({ onError: (_u, e) => errors.push(e.message), onChange: (_u, t) => changes.push(t) });
  try {
    const uri = `${base}/c`;
    await f.watch(uri);
    handler = serve('oops', 503);
    const entry = await f.refresh(uri);
    assert.is(entry.jwks, doc);
    assert.match(entry.lastError ?? '', /HTTP 503/);
    assert.is(f.current(uri), doc);
    handler = serve('{"keys": ');
    await f.refresh(uri);
    assert.is(f.current(uri), doc);
    assert.match(f.entry(uri)!.lastError ?? '', /invalid JSON/);
    assert.is(errors.length, 2);
    assert.is(changes.length, 1);
    handler = serve(doc);
    assert.is((await f.refresh(uri)).lastError, undefined);
  } finally {
    f.close();
  }
});

test('a first fetch that fails leaves nothing current', async () => {
  handler = serve('{"not_keys": []}');
  const f = new JwksFetcher();
  try {
    const entry = await f.watch(`${base}/d`);
    assert.is(entry.jwks, undefined);
    assert.match(entry.lastError ?? '', /no "keys" array/);
    assert.is(f.current(`${base}/d`), undefined);
  } finally {
    f.close();
  }
});

test('bad JSON and non-JWKS shapes are rejected', async () => {
  for (const [body, pattern] of [
    ['not json', /invalid JSON/],
    ['[]', /not a JSON object/],
    ['null', /not a JSON object/],
    ['{"keys": {}}', /no "keys" array/],
  ] as const) {
    handler = serve(body);
    await rejects(fetchJwks(`${base}/e`), pattern, body);
  }
  assert.is(checkJwks('{"keys": []}'), undefined);
});

test('oversize documents are rejected, declared or streamed', async () => {
  const big = JSON.stringify({ keys: [], pad: 'x'.repeat(2000) });
  handler = serve(big);
  await rejects(fetchJwks(`${base}/f`, 1000, 1000), /larger than 1000 bytes \(content-length/);
  handler = (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }); // chunked: no content-length
    res.write(big.slice(0, 900));
    res.end(big.slice(900));
  };
  await rejects(fetchJwks(`${base}/f`, 1000, 1000), /larger than 1000 bytes$/);
  assert.is(await fetchJwks(`${base}/f`, 1000, 4000), big);
});

test('a slow server times out', async () => {
  handler = (_req, res) => {
    setTimeout(() => {
      if (!res.destroyed) res.end('{"keys":[]}');
    }, 500).unref();
  };
  const started = Date.now();
  await rejects(fetchJwks(`${base}/g`, 100), /timed out after 100ms/);
  assert.ok(Date.now() - started < 450);
});

test('only absolute http and https URIs', async () => {
  assert.throws(() => parseJwksUri('file:///etc/passwd'), /unsupported scheme file/);
  assert.throws(() => parseJwksUri('/jwks.json'), /not an absolute URL/);
  await rejects(fetchJwks('ftp://127.0.0.1/jwks'), /unsupported scheme ftp/);
  const f = new JwksFetcher();
  try {
    const entry = await f.watch('data:application/json,{"keys":[]}');
    assert.is(entry.jwks, undefined);
    assert.match(entry.lastError ?? '', /unsupported scheme data/);
  } finally {
    f.close();
  }
});

test('connection refused is an error, not a crash', async () => {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  await rejects(fetchJwks(`http://127.0.0.1:${port}/jwks`), /JWKS http:\/\/127\.0\.0\.1/);
});

test('setUris drops URIs no longer referenced', async () => {
  handler = serve(await jwks('k1'));
  const f = new JwksFetcher();
  try {
    await f.setUris([`${base}/h1`, `${base}/h2`]);
    assert.equal(f.uris(), [`${base}/h1`, `${base}/h2`]);
    await f.setUris([`${base}/h2`]);
    assert.equal(f.uris(), [`${base}/h2`]);
    assert.is(f.current(`${base}/h1`), undefined);
    assert.ok(f.current(`${base}/h2`));
  } finally {
    f.close();
  }
});

test('setUris applies a per-URI timeout (a RequestAuthentication timeout) and updates it on the next call', async () => {
  const doc = await jwks('k1');
  // Answers after 300ms: too slow for a 50ms timeout, fine for the default 5s.
  handler = (req, res) => setTimeout(() => serve(doc)(req, res), 300);
  const f = new JwksFetcher({ refreshMillis: 60_000 });
  const slow = `${base}/slow`;
  try {
    await f.setUris([slow], new Map([[slow, 50]]));
    assert.is(f.current(slow), undefined);
    assert.match(f.entry(slow)!.lastError!, 'timed out after 50ms');
    await f.setUris([slow], new Map([[slow, 5_000]]));
    await f.refresh(slow);
    assert.is(f.current(slow), doc, 'the longer timeout now applies');
  } finally {
    f.close();
  }
});

test.run();
