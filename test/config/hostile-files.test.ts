// Files that used to crash the loader, and the limits: each is a config error
// naming the file (and line where there is one); loading never throws.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatIssue, formatIssues } from '../../src/config/diagnostics.js';
import { loadConfig, type LoadResult } from '../../src/config/load-config.js';
import { EXAMPLES_DIR } from '../support/paths.js';

const GOOD = readFileSync(join(EXAMPLES_DIR, 's1-auto-mtls', 'workloads.yaml'), 'utf8');

/** A config dir holding one good file plus `extra` files; returns the formatted issues of loading it. */
function issuesWith(extra: (dir: string) => void, limits = {}): string[] {
  const root = mkdtempSync(join(tmpdir(), 'meshlite-hostile-'));
  try {
    const dir = join(root, 'cfg');
    mkdirSync(dir);
    writeFileSync(join(dir, 'good.yaml'), GOOD);
    extra(dir);
    const result = loadConfig([dir], { cwd: root, limits });
    return result.ok ? [] : formatIssues(result.issues, result.totalIssues);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

function serviceEntry(hosts: number): string {
  const list = Array.from({ length: hosts }, (_, i) => `  - h${i}.example.com`).join('\n');
  return `apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: big, namespace: foo}\nspec:\n  hosts:\n${list}\n  ports: [{number: 80, name: http, protocol: HTTP}]\n  resolution: NONE\n`;
}

test('a YAML alias bomb is refused by alias count, with its line', () => {
  const bomb = `a: &a [x, x, x, x, x, x, x, x, x, x]\nb: [${Array(101).fill('*a').join(', ')}]\n`;
  assert.equal(
    issuesWith((d) => writeFileSync(join(d, 'bomb.yaml'), bomb)),
    [
      'cfg/bomb.yaml:1:1: too many alias (*name) expansions: Excessive alias count indicates a resource exhaustion attack, over the limit of 100 (--max-yaml-aliases)',
    ],
  );
});

test('symlink loops, links to a directory read twice, and dangling links are errors, not crashes', () => {
  const loop = issuesWith((d) => symlinkSync('.', join(d, 'loop')));
  assert.is(loop.length, 1);
  assert.match(loop[0]!, /^cfg\/loop: leads to \/.*\/cfg, already read as cfg \(a symlink loop or a second link to one directory\)$/);
  assert.equal(
    issuesWith((d) => symlinkSync('/nonexistent/x.yaml', join(d, 'x.yaml'))),
    ['cfg/x.yaml: dangling symlink: it points to /nonexistent/x.yaml, which does not exist'],
  );
  assert.equal(
    issuesWith((d) => {
      symlinkSync(join(d, 'b.yaml'), join(d, 'a.yaml'));
      symlinkSync(join(d, 'a.yaml'), join(d, 'b.yaml'));
    }),
    ['cfg/a.yaml: symlink loop: the link never reaches a file', 'cfg/b.yaml: symlink loop: the link never reaches a file'],
  );
});

test('a FIFO, a directory named like a file, and bytes that are not UTF-8', () => {
  assert.equal(
    issuesWith((d) => execFileSync('mkfifo', [join(d, 'pipe.yaml')])),
    ['cfg/pipe.yaml: not a regular file (a FIFO, socket or device is never read)'],
  );
  // A directory with a YAML name is walked like any directory: its YAML files count.
  assert.equal(
    issuesWith((d) => mkdirSync(join(d, 'dir.yaml'))),
    [],
  );
  assert.equal(
    issuesWith((d) => writeFileSync(join(d, 'bin.yaml'), Buffer.from([0x61, 0x3a, 0x20, 0xff, 0xfe, 0x0a]))),
    ['cfg/bin.yaml: not UTF-8 text (byte 3 starts an invalid sequence)'],
  );
  // A byte-order mark is not an error.
  assert.equal(
    issuesWith((d) => writeFileSync(join(d, 'bom.yaml'), `\ufeff${GOOD.replace(/name: (\w+)/g, 'name: $1-bom')}`)),
    [],
  );
});

test('a list over --max-list-items (a ServiceEntry with 130,000 hosts) is one error at the list', () => {
  assert.equal(
    issuesWith((d) => writeFileSync(join(d, 'se.yaml'), serviceEntry(130_000))),
    ['cfg/se.yaml:6:3: a list of 130000 items, over the limit of 10000 (--max-list-items)'],
  );
  assert.equal(
    issuesWith((d) => writeFileSync(join(d, 'se.yaml'), serviceEntry(20)), { maxListItems: 10 }),
    ['cfg/se.yaml:6:3: a list of 20 items, over the limit of 10 (--max-list-items)'],
  );
  // Under the limit, a large list loads (and nothing recurses or spreads per host).
  const root = mkdtempSync(join(tmpdir(), 'meshlite-hostile-'));
  try {
    writeFileSync(join(root, 'se.yaml'), serviceEntry(9_000));
    const result = loadConfig([root], { cwd: root });
    assert.ok(result.ok, JSON.stringify(!result.ok && result.issues));
    if (result.ok) assert.is(result.config.serviceEntries[0]!.spec.hosts.length, 9_000);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('file size, total size, documents per file and nesting depth limits', () => {
  assert.equal(
    issuesWith((d) => writeFileSync(join(d, 'big.yaml'), `# ${'x'.repeat(3000)}\n`), { maxFileBytes: 2500 }),
    ['cfg/big.yaml: file is 3003 bytes, over the limit of 2500 (--max-file-bytes)'],
  );
  const total = issuesWith((d) => writeFileSync(join(d, 'more.yaml'), `# ${'x'.repeat(GOOD.length)}\n`), {
    maxTotalBytes: GOOD.length + 10,
  });
  assert.is(total.length, 1);
  assert.match(total[0]!, /^cfg\/more\.yaml: the config grows past \d+ bytes here, over the limit of \d+ \(--max-config-bytes\)$/);
  assert.equal(
    issuesWith((d) => writeFileSync(join(d, 'docs.yaml'), Array(7).fill('a: 1').join('\n---\n')), { maxDocumentsPerFile: 6 }),
    ['cfg/docs.yaml:12:1: 7 YAML documents in one file, over the limit of 6 (--max-documents-per-file)'],
  );
  const deep = `a: ${'['.repeat(70)}${']'.repeat(70)}\n`;
  assert.equal(
    issuesWith((d) => writeFileSync(join(d, 'deep.yaml'), deep)),
    ['cfg/deep.yaml:1:67: maps and lists nested 65 deep, over the limit of 64 (--max-yaml-depth)'],
  );
  // Nesting past what the YAML parser itself can take is its error, reported like any other.
  const deeper = issuesWith((d) => writeFileSync(join(d, 'deeper.yaml'), `a: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`));
  assert.ok(deeper.length >= 1 && deeper.every((l) => l.startsWith('cfg/deeper.yaml:1:')), deeper.join('\n'));
});

test('thousands of errors: every one is counted, the first --max-errors are listed', () => {
  const bad = Array.from(
    { length: 5000 },
    (_, i) => `apiVersion: networking.istio.io/v1\nkind: Nope\nmetadata: {name: n${i}, namespace: foo}`,
  ).join('\n---\n');
  const lines = issuesWith((d) => writeFileSync(join(d, 'bad.yaml'), bad));
  assert.is(lines.length, 101);
  assert.is(lines[100], '... and 4900 more error(s) not listed (--max-errors)');
  assert.ok(issuesWith((d) => writeFileSync(join(d, 'bad.yaml'), bad), { maxReportedErrors: 3 }).length === 4);
});

test('a missing config path is an error that names it', () => {
  const result: LoadResult = loadConfig(['/nonexistent/meshlite/cfg']);
  assert.equal(result.ok ? [] : result.issues.map(formatIssue), ['/nonexistent/meshlite/cfg: no such file or directory']);
});

test.run();
