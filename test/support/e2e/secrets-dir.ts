// A `meshlite serve --secrets-dir` directory laid out the way Kubernetes
// mounts a Secret, so every change is atomic:
//
//   <dir>/<name>/..<stamp>/tls.crt, tls.key, ca.crt   the real files of one version
//   <dir>/<name>/..data -> ..<stamp>                   swapped with a rename
//   <dir>/<name>/tls.crt -> ..data/tls.crt             stable names
//
// A new secret is built in a staging directory and renamed into place; a
// rotation writes a new version beside the old one and swaps `..data`.
import { existsSync, lstatSync, mkdirSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface SecretFiles {
  /** Certificate chain (PEM) -> `tls.crt`. */
  cert?: string;
  /** Private key (PEM) -> `tls.key`. */
  key?: string;
  /** Trusted CA (PEM) -> `ca.crt`. */
  ca?: string;
}

const KEYS: readonly [keyof SecretFiles, string][] = [
  ['cert', 'tls.crt'],
  ['key', 'tls.key'],
  ['ca', 'ca.crt'],
];

export class SecretsDir {
  private version = 0;

  /** `dir` is what meshlite watches; `staging` must be on the same filesystem, outside `dir`. */
  constructor(
    readonly dir: string,
    private readonly staging: string,
  ) {
    mkdirSync(dir, { recursive: true });
    mkdirSync(staging, { recursive: true });
  }

  /** Creates secret `name`, or atomically replaces every file of it. */
  write(name: string, files: SecretFiles): void {
    const folder = join(this.dir, name);
    if (!existsSync(folder)) {
      const staged = join(this.staging, `${name}.${process.pid}.${++this.version}`);
      mkdirSync(staged);
      this.writeVersion(staged, files);
      renameSync(staged, folder);
      return;
    }
    const old = readlinkSync(join(folder, '..data'));
    this.writeVersion(folder, files);
    rmSync(join(folder, old), { recursive: true, force: true });
  }

  /** Removes secret `name` (one rename out of the watched directory, then delete). */
  remove(name: string): void {
    const gone = join(this.staging, `${name}.removed.${process.pid}.${++this.version}`);
    renameSync(join(this.dir, name), gone);
    rmSync(gone, { recursive: true, force: true });
  }

  /** Writes `..<stamp>/` in `folder`, points `..data` at it (rename), and makes sure the stable links exist. */
  private writeVersion(folder: string, files: SecretFiles): void {
    const stamp = `..v${process.pid}_${++this.version}`;
    mkdirSync(join(folder, stamp));
    for (const [field, file] of KEYS) {
      const text = files[field];
      if (text !== undefined) writeFileSync(join(folder, stamp, file), text, { mode: field === 'key' ? 0o600 : 0o644 });
    }
    const tmpLink = join(folder, '..data_tmp');
    rmSync(tmpLink, { force: true });
    symlinkSync(stamp, tmpLink);
    renameSync(tmpLink, join(folder, '..data'));
    for (const [field, file] of KEYS) {
      const link = join(folder, file);
      if (files[field] !== undefined && !lstatSync(link, { throwIfNoEntry: false })) symlinkSync(join('..data', file), link);
    }
  }
}
