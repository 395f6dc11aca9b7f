// Token ids, the revocation file (format, atomic 0600 writes, strict parsing)
// and its live watcher: a corrupt or vanished file never un-revokes.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { rejects } from 'node:assert/strict';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RevocationWatcher } from '../../src/control-plane/revocation-watcher.js';
import { DEFAULT_TOKEN_TTL_SECONDS, TokenAuthority } from '../../src/identity/proxy-token.js';
import { secureStateDir } from '../../src/identity/state-dir.js';
import {
  addRevocations,
  formatRevocations,
  parseRevocations,
  readRevocations,
  type Revocation,
  RevocationList,
  revocationsPath,
} from '../../src/identity/token-revocations.js';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'meshlite-revocations-'));
}

interface LogLine {
  level: 'info' | 'warn' | 'error';
  msg: string;
  fields: Record<string, unknown>;
}

function recordingLogger(lines: LogLine[]) {
  const at = (level: LogLine['level']) => (fields: object, msg?: string) =>
    void lines.push({ level, msg: msg ?? '', fields: fields as Record<string, unknown> });
  return { info: at('info'), warn: at('warn'), error: at('error') };
}

async function eventually(what: string, check: () => boolean, timeoutMs = 3000): Promise<number> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await sleep(10);
  }
  return Date.now() - started;
}

test('every token has its own id; verify returns id, issue time and expiry; the default lifetime is 30 days', async () => {
  const dir = tempDir();
  try {
    const tokens = await TokenAuthority.loadOrCreate(dir);
    const issued = await Promise.all(Array.from({ length: 50 }, () => tokens.issueToken('sleep.foo', 3600)));
    assert.is(new Set(issued.map((t) => t.tokenId)).size, 50, 'ids are unique');
    const check = await tokens.verify(issued[0]!.token);
    assert.ok(check.ok);
    assert.equal(
      check.ok && { workloadId: check.workloadId, tokenId: check.tokenId, issuedAt: check.issuedAt, expiresAt: check.expiresAt },
      { workloadId: 'sleep.foo', tokenId: issued[0]!.tokenId, issuedAt: issued[0]!.issuedAt, expiresAt: issued[0]!.issuedAt + 3600 },
    );
    const byDefault = await tokens.issueToken('sleep.foo');
    assert.is(byDefault.expiresAt - byDefault.issuedAt, DEFAULT_TOKEN_TTL_SECONDS);
    assert.is(DEFAULT_TOKEN_TTL_SECONDS, 30 * 86400);
    await rejects(() => tokens.issueToken('sleep.foo', 0), /positive/);
    assert.ok(TokenAuthority.existsIn(dir));
    assert.not.ok(TokenAuthority.existsIn(join(dir, 'nope')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('revocation file: round trip, atomic write with mode 0600, and a corrupt file is never overwritten', async () => {
  const dir = tempDir();
  try {
    assert.equal(await readRevocations(dir), { ok: true, value: [] }, 'no file: nothing revoked');
    const byProxy: Revocation = { proxy: 'sleep.foo', issuedUpTo: 1_700_000_000, revokedAt: '2023-11-14T22:13:20.000Z' };
    const byId: Revocation = { tokenId: 'f00', revokedAt: '2023-11-14T22:13:21.000Z' };
    await addRevocations(dir, [byProxy]);
    await addRevocations(dir, [byId]);
    assert.equal(await readRevocations(dir), { ok: true, value: [byProxy, byId] });
    assert.is(statSync(revocationsPath(dir)).mode & 0o777, 0o600);
    assert.equal(JSON.parse(readFileSync(revocationsPath(dir), 'utf8')), { version: 1, revocations: [byProxy, byId] });

    writeFileSync(revocationsPath(dir), '{"version": 1, "revocations": [');
    const corrupt = await readRevocations(dir);
    assert.not.ok(corrupt.ok);
    assert.match(!corrupt.ok ? corrupt.error : '', `${revocationsPath(dir)}: not valid JSON`);
    await rejects(() => addRevocations(dir, [byId]), /nothing was written/);
    assert.is(readFileSync(revocationsPath(dir), 'utf8'), '{"version": 1, "revocations": [', 'left as it was');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('revocation file parsing is strict: every malformed entry makes the file invalid', () => {
  const bad: [string, string][] = [
    ['[]', 'expected a JSON object'],
    ['{"version": 2, "revocations": []}', 'unsupported version 2'],
    ['{"version": 1}', '"revocations" must be an array'],
    ['{"version": 1, "revocations": [{"proxy": "a.b", "issuedUpTo": 1}]}', 'revocations[0]: "revokedAt" must be an ISO date'],
    [
      '{"version": 1, "revocations": [{"proxy": "a.b", "issuedUpTo": -1, "revokedAt": "2024-01-01T00:00:00Z"}]}',
      'revocations[0]: "issuedUpTo"',
    ],
    ['{"version": 1, "revocations": [{"tokenId": "", "revokedAt": "2024-01-01T00:00:00Z"}]}', '"tokenId" must be a non-empty string'],
    [
      '{"version": 1, "revocations": [{"tokenId": "x", "proxy": "a.b", "revokedAt": "2024-01-01T00:00:00Z"}]}',
      'found {proxy,revokedAt,tokenId}',
    ],
  ];
  for (const [text, error] of bad) {
    const parsed = parseRevocations(text);
    assert.not.ok(parsed.ok, text);
    assert.match(!parsed.ok ? parsed.error : '', error);
  }
  assert.ok(parseRevocations(formatRevocations([])).ok);
});

test('RevocationList: by proxy revokes tokens issued up to the moment (and tokens without iat), by id exactly one token', () => {
  const list = new RevocationList([
    { proxy: 'sleep.foo', issuedUpTo: 1000, revokedAt: '2024-01-01T00:00:00Z' },
    { tokenId: 'abc', revokedAt: '2024-01-01T00:00:00Z' },
  ]);
  assert.ok(list.revokedReason({ workloadId: 'sleep.foo', tokenId: 'x', issuedAt: 999 }));
  assert.ok(list.revokedReason({ workloadId: 'sleep.foo', tokenId: 'x', issuedAt: 1000 }), 'the same second counts as before');
  assert.is(list.revokedReason({ workloadId: 'sleep.foo', tokenId: 'x', issuedAt: 1001 }), undefined, 'issued later: valid');
  assert.ok(list.revokedReason({ workloadId: 'sleep.foo' }), 'no iat: revoked (fail closed)');
  assert.is(list.revokedReason({ workloadId: 'httpbin.bar', tokenId: 'x', issuedAt: 5 }), undefined);
  assert.match(list.revokedReason({ workloadId: 'httpbin.bar', tokenId: 'abc', issuedAt: 5 })!, 'token abc was revoked');
});

async function withWatcher(
  body: (dir: string, w: RevocationWatcher, lists: RevocationList[], log: LogLine[]) => Promise<void>,
  watchDirectory = true,
): Promise<void> {
  const dir = tempDir();
  const log: LogLine[] = [];
  const lists: RevocationList[] = [];
  await addRevocations(dir, [{ proxy: 'sleep.foo', issuedUpTo: 1000, revokedAt: '2024-01-01T00:00:00Z' }]);
  const w = await RevocationWatcher.open({
    stateDir: dir,
    logger: recordingLogger(log),
    pollMs: 100,
    watchDirectory,
    onChange: (l) => lists.push(l),
  });
  w.start();
  try {
    await body(dir, w, lists, log);
  } finally {
    w.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const SLEEP_FOO_OLD = { workloadId: 'sleep.foo', issuedAt: 500 };

test('watcher: a new revocation is in force within a second (directory events, and the poll alone)', async () => {
  for (const watchDirectory of [true, false]) {
    await withWatcher(async (dir, w, lists) => {
      const tookMs = await (async () => {
        await addRevocations(dir, [{ tokenId: 'abc', revokedAt: '2024-01-01T00:00:00Z' }]);
        return eventually(
          'the new entry is in force',
          () => w.current.revokedReason({ workloadId: 'x.y', tokenId: 'abc' }) !== undefined,
          1000,
        );
      })();
      assert.is(lists.length, 1, 'onChange once');
      assert.is(lists[0]!.size, 2);
      assert.ok(tookMs < 1000, `${watchDirectory ? 'fs.watch' : 'poll'}: ${tookMs} ms`);
    }, watchDirectory);
  }
});

test('watcher: a corrupt or vanished file keeps the last good list (logged once); a valid one replaces it', async () => {
  await withWatcher(async (dir, w, lists, log) => {
    const path = revocationsPath(dir);
    writeFileSync(path, '{"version": 1, "revoc');
    await eventually('the corrupt file is reported', () => log.some((l) => l.level === 'error' && /invalid/.test(l.msg)));
    assert.ok(w.current.revokedReason(SLEEP_FOO_OLD), 'still revoked');
    writeFileSync(path, '');
    await eventually('the emptied file is reported', () => log.filter((l) => l.level === 'error').length === 2);
    unlinkSync(path);
    await eventually('the vanished file is reported', () => log.some((l) => /vanished/.test(l.msg)));
    await w.check();
    assert.ok(w.current.revokedReason(SLEEP_FOO_OLD), 'still revoked after the file vanished');
    assert.is(lists.length, 0, 'no change was applied');
    assert.is(log.filter((l) => l.level === 'error').length, 3, 'each problem logged once');

    // A valid file (written atomically, as the CLI does) is the list again.
    const staged = join(dir, 'staged.json');
    writeFileSync(staged, formatRevocations([{ proxy: 'httpbin.bar', issuedUpTo: 1000, revokedAt: '2024-01-01T00:00:00Z' }]));
    renameSync(staged, path);
    await eventually('the valid file applies', () => lists.length === 1);
    assert.ok(w.current.revokedReason({ workloadId: 'httpbin.bar', issuedAt: 10 }));
    assert.is(w.current.revokedReason(SLEEP_FOO_OLD), undefined, 'the operator removed that entry');
  });
});

test('watcher: serve refuses to start on an invalid revocation file (it would not know what is revoked)', async () => {
  const dir = tempDir();
  try {
    writeFileSync(revocationsPath(dir), 'not json');
    await rejects(
      () => RevocationWatcher.open({ stateDir: dir, logger: recordingLogger([]), onChange() {} }),
      /token-revocations\.json: not valid JSON .*meshlite will not serve without knowing which tokens are revoked/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('state dir: created 0700; an existing one open to group/others is made private (CA subdir too) and that is logged', () => {
  const root = tempDir();
  try {
    const fresh = join(root, 'fresh', 'state');
    secureStateDir(fresh);
    assert.is(statSync(fresh).mode & 0o777, 0o700);
    const loose = join(root, 'loose');
    mkdirSync(join(loose, 'ca'), { recursive: true });
    chmodSync(loose, 0o755);
    chmodSync(join(loose, 'ca'), 0o777);
    const log: LogLine[] = [];
    secureStateDir(loose, recordingLogger(log));
    assert.is(statSync(loose).mode & 0o777, 0o700);
    assert.is(statSync(join(loose, 'ca')).mode & 0o777, 0o700);
    assert.equal(
      log.map((l) => [l.fields.dir, l.fields.from, l.fields.to]),
      [
        [loose, '0755', '0700'],
        [join(loose, 'ca'), '0777', '0700'],
      ],
    );
    secureStateDir(loose, recordingLogger(log));
    assert.is(log.length, 2, 'nothing to say the second time');
    writeFileSync(join(root, 'file'), '');
    assert.throws(() => secureStateDir(join(root, 'file')), /cannot create state directory .*file: EEXIST/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test.run();
