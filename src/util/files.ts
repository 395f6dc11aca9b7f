// Small filesystem helpers for key material and state files (CA roots, revocation lists).
import { randomBytes } from 'node:crypto';
import { renameSync } from 'node:fs';
import { chmod, open, readFile, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Contents of a file, or undefined when it does not exist. */
export async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Writes a file so that readers see either the old contents or the complete
 * new ones: a temp file in the same directory, flushed, given its final mode,
 * then renamed over the target.
 */
export async function writeFileAtomic(path: string, data: string, mode: number): Promise<void> {
  await replaceFilesTogether([{ path, data }], mode);
}

// The rename itself is durable only once the directory entry is flushed.
async function syncDirectory(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Some platforms cannot fsync a directory; the write itself succeeded.
  }
}

/** Permission bits of a file (e.g. 0o600). */
export async function fileMode(path: string): Promise<number> {
  return (await stat(path)).mode & 0o777;
}

/**
 * Replaces several files, in the order given, as close to at once as the
 * filesystem allows: every new file is written and flushed first, and only
 * then are they renamed over their targets one right after the other. A
 * reader that opens them one by one sees a mix of old and new only if it
 * falls into the few microseconds between two renames (each file alone is
 * always whole). All files must be in one directory.
 */
export async function replaceFilesTogether(files: readonly { path: string; data: string }[], mode: number): Promise<void> {
  const staged: { temp: string; path: string }[] = [];
  try {
    for (const f of files) {
      const temp = `${f.path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
      staged.push({ temp, path: f.path });
      const handle = await open(temp, 'wx', mode);
      try {
        await handle.writeFile(f.data);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await chmod(temp, mode);
    }
    // Synchronous on purpose: no other work may run between the renames.
    for (const s of staged) renameSync(s.temp, s.path);
  } catch (err) {
    for (const s of staged) await unlink(s.temp).catch(() => undefined);
    throw err;
  }
  if (files.length > 0) await syncDirectory(dirname(files[0]!.path));
}
