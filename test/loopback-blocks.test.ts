// The loopback blocks test files own (test/support/e2e/loopback-blocks.ts) are
// theirs alone: distinct, above the e2e blocks, named by no other file.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MAX_BLOCKS } from './support/e2e/config-dir.js';
import { BLOCK_EXAMPLES, type BlockOwner, LOOPBACK_BLOCKS, loopbackAddress } from './support/e2e/loopback-blocks.js';
import { REPO_ROOT } from './support/paths.js';

const REGISTRY = 'test/support/e2e/loopback-blocks.ts';
const owners = Object.keys(LOOPBACK_BLOCKS) as BlockOwner[];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.(ts|ya?ml)$/.test(entry) ? [path] : [];
  });
}

test('blocks are distinct and above the e2e address blocks', () => {
  const octets = Object.values(LOOPBACK_BLOCKS);
  assert.is(new Set(octets).size, octets.length, 'two files share a block');
  for (const owner of owners) assert.ok(LOOPBACK_BLOCKS[owner] >= MAX_BLOCKS, `${owner}: inside the e2e blocks 127.0-${MAX_BLOCKS - 1}`);
  assert.is(loopbackAddress('xds/jwt-authn.test.ts', 7), `127.${LOOPBACK_BLOCKS['xds/jwt-authn.test.ts']}.0.7`);
});

test('each owner exists and takes its own block; no other file names an address in one', () => {
  for (const owner of owners) {
    const path = join(REPO_ROOT, 'test', owner);
    assert.ok(existsSync(path), `${owner} does not exist`);
    assert.match(readFileSync(path, 'utf8'), `loopbackAddress('${owner}'`, `${owner} does not use its block`);
  }
  const literal = new RegExp(`\\b127\\.(${Object.values(LOOPBACK_BLOCKS).join('|')})\\.\\d+\\.\\d+\\b`);
  const examples = Object.values(BLOCK_EXAMPLES).flat();
  const offenders = ['src', 'test', 'examples', 'bench']
    .flatMap((dir) => sourceFiles(join(REPO_ROOT, dir)))
    .map((path) => relative(REPO_ROOT, path))
    .filter((path) => path !== REGISTRY && !examples.some((dir) => path.startsWith(dir)))
    .filter((path) => literal.test(readFileSync(join(REPO_ROOT, path), 'utf8')));
  assert.equal(offenders, [], 'addresses in an owned loopback block, outside its owner');
});

test.run();
