// Finds and reads the YAML files under the config paths without ever
// throwing: a symlink loop, a dangling link, a file that vanishes or cannot be
// read, a FIFO, bytes that are not UTF-8 or a file over its size limit each
// become a config error naming the path. A `.meshlite-namespace` file in a
// directory gives the namespace of the documents under it that name none.
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  openSync,
  readdirSync,
  readlinkSync,
  readSync,
  realpathSync,
  statSync,
  type Stats,
} from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import type { ConfigIssue } from './diagnostics.js';
import { type LoadLimits, overLimit } from './limits.js';

export interface ConfigFile {
  /** The path as found (through links). */
  path: string;
  /** How errors name it: relative to the working directory when under it. */
  display: string;
  text: string;
  bytes: number;
  /** From the nearest `.meshlite-namespace` (its directory or one above, within what was walked). */
  defaultNamespace?: string;
}

export interface ConfigFilesRead {
  files: ConfigFile[];
  issues: ConfigIssue[];
}

const YAML_FILE = /\.ya?ml$/i;
/** The per-directory default namespace: one DNS label. */
export const NAMESPACE_FILE = '.meshlite-namespace';
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** A namespace name (of a namespace file or `-n`): a lower-case DNS label. */
export function isNamespaceName(text: string): boolean {
  return DNS_LABEL.test(text);
}
const utf8 = new TextDecoder('utf-8', { fatal: true });

export function readConfigFiles(paths: readonly string[], cwd: string, limits: LoadLimits): ConfigFilesRead {
  const files: ConfigFile[] = [];
  const issues: ConfigIssue[] = [];
  const problem = (path: string, message: string) => issues.push({ file: displayPath(path, cwd), line: 0, column: 0, path: '', message });
  /** Real directory -> the path it was first read through. */
  const directories = new Map<string, string>();
  let totalBytes = 0;
  let overTotal = false;

  const readFile = (path: string, defaultNamespace: string | undefined) => {
    const read = readBounded(path, limits.maxFileBytes);
    if (!read.ok) return problem(path, read.message);
    totalBytes += read.bytes.length;
    if (totalBytes > limits.maxTotalBytes) {
      if (!overTotal) problem(path, `the config grows past ${totalBytes} bytes here, ${overLimit('maxTotalBytes', limits.maxTotalBytes)}`);
      overTotal = true;
      return;
    }
    let text: string;
    try {
      text = utf8.decode(read.bytes);
    } catch {
      return problem(path, `not UTF-8 text (byte ${firstInvalidUtf8(read.bytes)} starts an invalid sequence)`);
    }
    files.push({
      path,
      display: displayPath(path, cwd),
      text: text.charCodeAt(0) === 0xfeff ? text.slice(1) : text,
      bytes: read.bytes.length,
      ...(defaultNamespace === undefined ? {} : { defaultNamespace }),
    });
  };

  /** The directory's own namespace file, else `inherited`; a bad one is reported (and the load fails). */
  const namespaceOf = (dir: string, inherited: string | undefined): string | undefined => {
    const found = readNamespaceFile(join(dir, NAMESPACE_FILE));
    if (found === undefined) return inherited;
    if (!found.ok) {
      problem(join(dir, NAMESPACE_FILE), found.message);
      return inherited;
    }
    return found.namespace;
  };

  const walk = (path: string, explicit: boolean, inherited: string | undefined) => {
    const stat = statOrExplain(path);
    if (!stat.ok) return problem(path, stat.message);
    if (!stat.stat.isDirectory()) {
      if (!stat.stat.isFile()) return problem(path, 'not a regular file (a FIFO, socket or device is never read)');
      // A file named on its own takes the namespace file beside it.
      if (explicit) readFile(path, namespaceOf(dirname(path), inherited));
      else if (YAML_FILE.test(path)) readFile(path, inherited);
      return;
    }
    let real: string;
    try {
      real = realpathSync(path);
    } catch (err) {
      return problem(path, describeError(err));
    }
    const first = directories.get(real);
    if (first !== undefined)
      return problem(
        path,
        `leads to ${real}, already read as ${displayPath(first, cwd)} (a symlink loop or a second link to one directory)`,
      );
    directories.set(real, path);
    const namespace = namespaceOf(path, inherited);
    let entries: string[];
    try {
      entries = readdirSync(path).sort();
    } catch (err) {
      return problem(path, `cannot list the directory: ${describeError(err)}`);
    }
    for (const entry of entries) {
      if (entry.startsWith('.')) continue;
      const child = join(path, entry);
      // Only YAML files and directories count; anything else (README, backups) is not config.
      if (YAML_FILE.test(entry) || isDirectoryOrLink(child)) walk(child, false, namespace);
    }
  };

  for (const path of paths) walk(path, true, undefined);
  return { files, issues };
}

/** Paths under `cwd` print relative to it; anything else prints absolute. */
export function displayPath(path: string, cwd: string): string {
  const rel = relative(cwd, path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : resolve(path);
}

type NamespaceFile = { ok: true; namespace: string } | { ok: false; message: string };

/** undefined when there is no such file. */
function readNamespaceFile(path: string): NamespaceFile | undefined {
  const stat = statOrExplain(path);
  if (!stat.ok) return stat.message === 'no such file or directory' ? undefined : stat;
  if (!stat.stat.isFile()) return { ok: false, message: 'not a regular file (it must hold one namespace name)' };
  const read = readBounded(path, 1024);
  if (!read.ok) return read;
  const text = read.bytes.toString('utf8').trim();
  if (!isNamespaceName(text))
    return {
      ok: false,
      message: `holds ${JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}...` : text)}; expected one namespace name (a lower-case DNS label of at most 63 characters)`,
    };
  return { ok: true, namespace: text };
}

type StatResult = { ok: true; stat: Stats } | { ok: false; message: string };

function statOrExplain(path: string): StatResult {
  try {
    return { ok: true, stat: statSync(path) };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      const link = linkTarget(path);
      return {
        ok: false,
        message: link === undefined ? 'no such file or directory' : `dangling symlink: it points to ${link}, which does not exist`,
      };
    }
    if (code === 'ELOOP') return { ok: false, message: 'symlink loop: the link never reaches a file' };
    return { ok: false, message: describeError(err) };
  }
}

function linkTarget(path: string): string | undefined {
  try {
    return lstatSync(path).isSymbolicLink() ? readlinkSync(path) : undefined;
  } catch {
    return undefined;
  }
}

/** A directory, or a link (followed by walk, which reports it if it dangles or loops). */
function isDirectoryOrLink(path: string): boolean {
  try {
    const l = lstatSync(path);
    return l.isDirectory() || (l.isSymbolicLink() && !YAML_FILE.test(path) && statSync(path).isDirectory());
  } catch {
    return false;
  }
}

type BoundedRead = { ok: true; bytes: Buffer } | { ok: false; message: string };

/** Reads a regular file, never more than `max` + 1 bytes (it may grow while read). */
function readBounded(path: string, max: number): BoundedRead {
  let fd: number | undefined;
  try {
    // O_NONBLOCK: opening a FIFO (swapped in after the listing) must not wait for a writer.
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    const stat = fstatSync(fd);
    if (!stat.isFile()) return { ok: false, message: 'not a regular file' };
    if (stat.size > max) return { ok: false, message: `file is ${stat.size} bytes, ${overLimit('maxFileBytes', max)}` };
    const buffer = Buffer.alloc(Math.min(stat.size, max) + 1);
    let length = 0;
    for (;;) {
      const n = readSync(fd, buffer, length, buffer.length - length, null);
      if (n === 0) break;
      length += n;
      if (length > max) return { ok: false, message: `file grew past ${max} bytes while being read, ${overLimit('maxFileBytes', max)}` };
      if (length === buffer.length) break;
    }
    return { ok: true, bytes: buffer.subarray(0, length) };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { ok: false, message: 'the file vanished while being read' };
    return { ok: false, message: describeError(err) };
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function describeError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  switch (e.code) {
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory where a file was expected';
    case 'ELOOP':
      return 'symlink loop';
    case 'ENAMETOOLONG':
      return 'path too long (a symlink loop?)';
    default:
      return e.code ? `cannot read (${e.code}: ${e.message.split(',')[0]})` : `cannot read: ${String(e.message ?? e)}`;
  }
}

/** Offset of the first byte of an invalid UTF-8 sequence. */
function firstInvalidUtf8(bytes: Uint8Array): number {
  let lo = 0;
  let hi = bytes.length;
  // The prefix up to the bad byte decodes (or ends mid-sequence): bisect on "does this prefix decode, allowing a cut sequence".
  const decodes = (end: number) => {
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, end), { stream: true });
      return true;
    } catch {
      return false;
    }
  };
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (decodes(mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
