// The documentation stands on its own: README.md, deploy/README.md and
// docs/*.md restate what they need instead of linking to outside documents.
// A URL may only be an example the reader runs against their own machine or
// network: a loopback address, localhost, a single-label host name
// (`http://marathon:8080`) or a <placeholder>; any host with a dot in it
// could be somebody's website. Links to files of the repo must resolve.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { REPO_ROOT } from './support/paths.js';

function documents(): string[] {
  const docs = join(REPO_ROOT, 'docs');
  const extra = existsSync(docs)
    ? readdirSync(docs)
        .filter((f) => f.endsWith('.md'))
        .map((f) => join(docs, f))
    : [];
  return [join(REPO_ROOT, 'README.md'), join(REPO_ROOT, 'deploy/README.md'), ...extra];
}

/** Whether a URL's host is one the reader's own setup supplies. */
function localExampleHost(host: string): boolean {
  const name = host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return (
    name === 'localhost' ||
    /^127\./.test(name) || // a loopback address (in a script, perhaps with a shell expansion in it)
    name === '::1' ||
    /^<[^>]+>$/.test(name) ||
    /^[a-z0-9-]+$/i.test(name) ||
    /\.svc\.cluster\.local$/.test(name) // a mesh service's own name
  );
}

function outsideUrls(text: string): string[] {
  return [...text.matchAll(/\bhttps?:\/\/(\[[^\]]*\]|<[^>]*>|[^\s/:`'")\]>]+)(:\d+)?/g)]
    .filter((m) => !localExampleHost(m[1]!))
    .map((m) => m[0]);
}

test('the URL rule tells a reference from an example', () => {
  assert.equal(outsideUrls('see https://istio.io/latest/docs and http://github.com/x/y/issues/1'), [
    'https://istio.io',
    'http://github.com',
  ]);
  assert.equal(outsideUrls('curl http://127.0.0.1:15014/metrics, http://localhost:8080, http://[::1]:80, http://marathon:8080'), []);
  assert.equal(outsideUrls('http_proxy=http://<outboundAddress>:15001 and `https://idp/patron-*`'), []);
  assert.equal(outsideUrls('[docs](https://www.envoyproxy.io/docs/envoy/latest/)'), ['https://www.envoyproxy.io']);
});

test('no document links to anything outside the repo', () => {
  const found = documents().flatMap((file) => outsideUrls(readFileSync(file, 'utf8')).map((u) => `${relative(REPO_ROOT, file)}: ${u}`));
  assert.equal(found, [], `restate the fact instead of linking:\n${found.join('\n')}`);
});

test('links to files of the repo resolve', () => {
  const broken: string[] = [];
  for (const file of documents()) {
    for (const m of readFileSync(file, 'utf8').matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
      const target = m[1]!;
      if (/^[a-z]+:/i.test(target)) continue;
      if (!existsSync(join(dirname(file), target))) broken.push(`${relative(REPO_ROOT, file)}: ${target}`);
    }
  }
  assert.equal(broken, []);
});

test.run();
