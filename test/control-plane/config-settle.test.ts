// The watcher holds back changes that shrink, empty or delete a file until
// the files were quiet for the settle period, so an in-place save (truncate,
// then write) never reaches a proxy half-done; growing edits apply at once.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { InlineConfigLoader } from '../../src/control-plane/config-loader.js';
import type { LoadResult } from '../../src/config/load-config.js';
import { ConfigWatcher, shrunkFiles } from '../../src/control-plane/config-watcher.js';
import { EXAMPLES_DIR } from '../support/paths.js';

const SERVICES = readFileSync(join(EXAMPLES_DIR, 's1-auto-mtls', 'services.yaml'), 'utf8');
const WORKLOADS = readFileSync(join(EXAMPLES_DIR, 's1-auto-mtls', 'workloads.yaml'), 'utf8');
const SETTLE_MS = 700;

interface Seen {
  at: number;
  reason: string;
  ok: boolean;
  services: number;
  workloads: number;
}

async function withWatcher(
  run: (ctx: { dir: string; seen: Seen[]; logs: string[]; watcher: ConfigWatcher }) => Promise<void>,
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'meshlite-settle-'));
  writeFileSync(join(dir, 'services.yaml'), SERVICES);
  writeFileSync(join(dir, 'workloads.yaml'), WORKLOADS);
  const seen: Seen[] = [];
  const logs: string[] = [];
  const logger = { info: (_o: object, m?: string) => logs.push(m ?? ''), warn: () => {}, debug: () => {} };
  const onLoad = (r: LoadResult, reason: string) =>
    seen.push({
      at: Date.now(),
      reason,
      ok: r.ok,
      services: r.ok ? r.config.serviceEntries.length : -1,
      workloads: r.ok ? r.config.workloadEntries.length : -1,
    });
  const watcher = new ConfigWatcher({
    paths: [dir],
    loader: new InlineConfigLoader(),
    logger,
    debounceMs: 50,
    settleMs: SETTLE_MS,
    onLoad,
  });
  try {
    await watcher.start();
    await run({ dir, seen, logs, watcher });
  } finally {
    watcher.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function waitFor(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

test('truncate, then rewrite within the settle period: no load without the file is ever passed on', async () => {
  await withWatcher(async ({ dir, seen, logs, watcher }) => {
    const full = seen[0]!;
    assert.ok(full.ok && full.services > 0 && full.workloads > 0);
    writeFileSync(join(dir, 'services.yaml'), '');
    await waitFor(() => watcher.pendingSettle() !== undefined, 'the truncated file to be held back');
    const held = watcher.pendingSettle()!.files;
    assert.equal(
      held.map((f) => f.change),
      ['emptied'],
    );
    assert.ok(held[0]!.file.endsWith('services.yaml'), held[0]!.file);
    assert.ok(
      logs.some((l) => l.startsWith('a config file shrank, emptied or vanished: waiting')),
      logs.join('\n'),
    );
    // The writer comes back with the whole file (here after 200 ms, inside the settle period).
    await sleep(200);
    writeFileSync(join(dir, 'services.yaml'), SERVICES);
    await waitFor(() => seen.length >= 2, 'the rewrite to be applied');
    assert.ok(Date.now() - full.at < SETTLE_MS + 2000);
    assert.equal(watcher.pendingSettle(), undefined, 'the held-back change was dropped, not applied later');
    for (const s of seen) assert.equal([s.ok, s.services, s.workloads], [true, full.services, full.workloads], JSON.stringify(seen));
  });
});

test('a file cut short mid-write (a prefix of itself) is held back too', async () => {
  await withWatcher(async ({ dir, seen, watcher }) => {
    const cut = WORKLOADS.slice(0, WORKLOADS.lastIndexOf('---'));
    writeFileSync(join(dir, 'workloads.yaml'), cut);
    await waitFor(() => watcher.pendingSettle() !== undefined, 'the shortened file to be held back');
    assert.equal(
      watcher.pendingSettle()!.files.map((f) => f.change),
      ['fewer documents'],
    );
    writeFileSync(join(dir, 'workloads.yaml'), WORKLOADS);
    await waitFor(() => seen.length >= 2, 'the rewrite');
    assert.ok(
      seen.every((s) => s.workloads === seen[0]!.workloads),
      JSON.stringify(seen),
    );
  });
});

test('a deleted or emptied file that stays so is applied once the files were quiet for the settle period', async () => {
  await withWatcher(async ({ dir, seen }) => {
    const deletedAt = Date.now();
    unlinkSync(join(dir, 'services.yaml'));
    await waitFor(() => seen.length >= 2, 'the deletion to be applied');
    const applied = seen[1]!;
    assert.ok(applied.at - deletedAt >= SETTLE_MS, `applied after ${applied.at - deletedAt} ms`);
    assert.equal([applied.ok, applied.services], [true, 0]);
    assert.match(applied.reason, `settled for ${SETTLE_MS} ms`);
  });
});

test('edits that do not shrink a file apply after the debounce, without waiting to settle', async () => {
  await withWatcher(async ({ dir, seen, watcher }) => {
    const editedAt = Date.now();
    writeFileSync(join(dir, 'services.yaml'), `${SERVICES}\n# a comment makes it longer\n`);
    await waitFor(() => seen.length >= 2, 'the edit');
    assert.ok(seen[1]!.at - editedAt < SETTLE_MS, `took ${seen[1]!.at - editedAt} ms`);
    assert.equal(watcher.pendingSettle(), undefined);
    // An explicit reload (SIGHUP) is the operator saying the files are ready: it never waits.
    writeFileSync(join(dir, 'services.yaml'), '');
    const reloaded = await watcher.reload('reload requested');
    assert.is(reloaded.ok, true);
    assert.is(seen.at(-1)!.reason, 'reload requested');
    assert.is(seen.at(-1)!.services, 0);
  });
});

/** The shorter workloads file: the same text without its last document. */
const FEWER_WORKLOADS = WORKLOADS.slice(0, WORKLOADS.lastIndexOf('---'));

test('a smaller file renamed into place (an atomic save) is applied without waiting to settle', async () => {
  await withWatcher(async ({ dir, seen, logs, watcher }) => {
    let heldBack = false;
    const watch = setInterval(() => (heldBack ||= watcher.pendingSettle() !== undefined), 5);
    try {
      writeFileSync(join(dir, '.workloads.yaml.tmp'), FEWER_WORKLOADS);
      renameSync(join(dir, '.workloads.yaml.tmp'), join(dir, 'workloads.yaml'));
      await waitFor(() => seen.length >= 2, 'the renamed file to be applied');
    } finally {
      clearInterval(watch);
    }
    assert.is(heldBack, false, 'the replaced file was never held back');
    assert.not.match(seen[1]!.reason, 'settled for');
    assert.ok(seen[1]!.ok && seen[1]!.workloads === seen[0]!.workloads - 1, JSON.stringify(seen));
    assert.ok(
      logs.some((l) => l.startsWith('a config file shrank but was replaced whole by a rename')),
      logs.join('\n'),
    );
  });
});

test('a smaller file written under its own name after the old one was moved away still waits', async () => {
  await withWatcher(async ({ dir, seen, watcher }) => {
    // An editor that keeps a backup by renaming the original, then writes a new file in its place.
    renameSync(join(dir, 'workloads.yaml'), join(dir, '.workloads.yaml~'));
    writeFileSync(join(dir, 'workloads.yaml'), FEWER_WORKLOADS);
    await waitFor(() => watcher.pendingSettle() !== undefined, 'the new smaller file to be held back');
    assert.equal(
      watcher.pendingSettle()!.files.map((f) => f.change),
      ['fewer documents'],
    );
    await waitFor(() => seen.length >= 2, 'the settled file');
    assert.match(seen[1]!.reason, `settled for ${SETTLE_MS} ms`);
  });
});

test('an empty file renamed into place still waits: only a file with content is taken as saved whole', async () => {
  await withWatcher(async ({ dir, watcher }) => {
    writeFileSync(join(dir, '.services.yaml.tmp'), '');
    renameSync(join(dir, '.services.yaml.tmp'), join(dir, 'services.yaml'));
    await waitFor(() => watcher.pendingSettle() !== undefined, 'the emptied file to be held back');
    assert.equal(
      watcher.pendingSettle()!.files.map((f) => f.change),
      ['emptied'],
    );
  });
});

test('shrunkFiles compares against the last applied files', () => {
  const before = new Map([
    ['a.yaml', { file: 'a.yaml', bytes: 100, documents: 2 }],
    ['b.yaml', { file: 'b.yaml', bytes: 100, documents: 2 }],
    ['c.yaml', { file: 'c.yaml', bytes: 100, documents: 2 }],
    ['d.yaml', { file: 'd.yaml', bytes: 100, documents: 2 }],
    ['e.yaml', { file: 'e.yaml', bytes: 100, documents: 2 }],
  ]);
  const now = [
    { file: 'b.yaml', bytes: 0, documents: 0 },
    { file: 'c.yaml', bytes: 90, documents: 1 },
    { file: 'd.yaml', bytes: 99, documents: 2 },
    { file: 'e.yaml', bytes: 120, documents: 3 },
    { file: 'new.yaml', bytes: 5, documents: 1 },
  ];
  assert.equal(shrunkFiles(before, now), [
    { file: 'a.yaml', change: 'deleted' },
    { file: 'b.yaml', change: 'emptied' },
    { file: 'c.yaml', change: 'fewer documents' },
    { file: 'd.yaml', change: 'smaller' },
  ]);
});

test.run();
