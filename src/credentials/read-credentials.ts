// Reads a secrets directory: one secret per top-level entry, either a folder
// `<dir>/<name>/` (tls.crt/tls.key/ca.crt or cert/key/cacert, as Kubernetes
// mounts a Secret) or a manifest file `<dir>/<name>.yaml` (also .yml, .json).
// Symlinks are followed, so Kubernetes-style `..data` swaps read consistently.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import type { Credential, CredentialLayout, CredentialOrigin, CredentialSet } from './credential.js';
import { interpretSecret, type RawSecret, type RawSecretFile } from './interpret-secret.js';
import { parseSecretManifest } from './secret-manifest.js';

/** The keys meshlite reads from a secret; anything else in a folder is ignored. */
export const SECRET_KEYS = ['tls.crt', 'tls.key', 'ca.crt', 'cert', 'key', 'cacert'] as const;
const MANIFEST = /\.(ya?ml|json)$/i;
const MAX_FILE_BYTES = 1024 * 1024;

export function readCredentialDirectory(directory: string, now: Date = new Date()): CredentialSet {
  const base: CredentialSet = { directory, readAt: now, credentials: new Map(), directoryErrors: [], ignored: [], watchDirectories: [] };
  let real: string;
  try {
    real = realpathSync(directory);
    if (!statSync(real).isDirectory()) return { ...base, directoryErrors: [`secrets directory ${directory}: is not a directory`] };
  } catch {
    return { ...base, directoryErrors: [`secrets directory ${directory}: does not exist or cannot be read`] };
  }
  const watch = new Set<string>([real]);
  const ignored: string[] = [];
  const raws = new Map<string, RawSecret[]>();
  let entries: string[];
  try {
    entries = readdirSync(real).sort();
  } catch {
    return { ...base, directoryErrors: [`secrets directory ${directory}: cannot be listed`] };
  }
  for (const entry of entries) {
    if (entry.startsWith('.')) continue; // `..data`, `..2024_...`: Kubernetes' own bookkeeping
    const path = join(directory, entry);
    let isDir: boolean;
    try {
      isDir = statSync(path).isDirectory();
    } catch {
      ignored.push(`${entry} (dangling link or vanished)`);
      continue;
    }
    let raw: RawSecret;
    if (isDir) raw = readFolder(entry, path, watch);
    else if (MANIFEST.test(entry)) raw = readManifest(entry.replace(MANIFEST, ''), path, watch);
    else {
      ignored.push(entry);
      continue;
    }
    raws.set(raw.name, [...(raws.get(raw.name) ?? []), raw]);
  }
  const credentials = new Map<string, Credential>();
  for (const [name, list] of raws) {
    if (list.length > 1) {
      credentials.set(
        name,
        duplicate(
          name,
          list.map((r) => r.origin),
        ),
      );
      continue;
    }
    credentials.set(name, interpretSecret(list[0]!, now));
  }
  return { ...base, credentials, ignored, watchDirectories: [...watch].sort() };
}

function readFolder(name: string, path: string, watch: Set<string>): RawSecret {
  const origin: CredentialOrigin = { form: 'directory', path };
  try {
    watch.add(realpathSync(path));
  } catch {
    // Vanished: reading below reports it.
  }
  // A `..data` swap between reading two files would pair an old cert with a
  // new key: read again until every file resolves to the same place twice.
  let files = new Map<string, RawSecretFile>();
  for (let attempt = 0; attempt < 3; attempt++) {
    const before = resolveAll(path);
    files = new Map();
    for (const [key, realFile] of before) files.set(key, readOne(join(path, key), realFile));
    if (sameResolution(before, resolveAll(path))) {
      for (const realFile of before.values()) watch.add(dirname(realFile));
      break;
    }
  }
  return { name, origin, files, errors: [] };
}

function resolveAll(folder: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const key of SECRET_KEYS) {
    try {
      const real = realpathSync(join(folder, key));
      if (statSync(real).isFile()) out.set(key, real);
    } catch {
      // Absent key.
    }
  }
  return out;
}

function sameResolution(a: Map<string, string>, b: Map<string, string>): boolean {
  return a.size === b.size && [...a].every(([k, v]) => b.get(k) === v);
}

function readOne(display: string, realFile: string): RawSecretFile {
  try {
    if (statSync(realFile).size > MAX_FILE_BYTES) return { display, error: `is larger than ${MAX_FILE_BYTES} bytes` };
    return { display, text: readFileSync(realFile, 'utf8') };
  } catch {
    return { display, error: 'cannot be read' };
  }
}

function readManifest(name: string, path: string, watch: Set<string>): RawSecret {
  const origin: CredentialOrigin = { form: 'manifest', path };
  let real: string;
  try {
    real = realpathSync(path);
    watch.add(dirname(real));
  } catch {
    return { name, origin, files: new Map(), errors: [`secret "${name}": ${path}: cannot be read`] };
  }
  const read = readOne(path, real);
  if (read.text === undefined) return { name, origin, files: new Map(), errors: [`secret "${name}": ${path}: ${read.error}`] };
  const parsed = parseSecretManifest(read.text);
  if (!parsed.ok) return { name, origin, files: new Map(), errors: [`secret "${name}": ${path}: ${parsed.error}`] };
  const files = new Map<string, RawSecretFile>();
  for (const key of SECRET_KEYS) {
    const entry = parsed.value.entries.get(key);
    if (entry) files.set(key, { display: `${path} (${entry.field})`, text: entry.text });
  }
  const warnings: string[] = [];
  const metaName = parsed.value.metadataName;
  if (metaName !== undefined && metaName !== name) {
    warnings.push(`secret "${name}": ${path}: metadata.name is "${metaName}"; the secret is named after its file, "${name}"`);
  }
  const unknown = [...parsed.value.entries.keys()].filter((k) => !(SECRET_KEYS as readonly string[]).includes(k));
  if (unknown.length > 0) warnings.push(`secret "${name}": ${path}: ignoring keys ${unknown.map((k) => `"${k}"`).join(', ')}`);
  return { name, origin, files, errors: [], warnings };
}

function duplicate(name: string, origins: CredentialOrigin[]): Credential {
  const paths = origins.map((o) => o.path);
  const errors = [`secret "${name}": ${paths.join(', ')}: defined more than once; none of them is served`];
  const layout: CredentialLayout = 'none';
  return {
    name,
    origin: origins[0]!,
    layout,
    caCertificates: [],
    errors,
    warnings: [],
    fingerprint: createHash('sha256').update(errors.join('\n')).digest('hex').slice(0, 16),
  };
}

/**
 * The config path that contains (or is inside) the secrets directory, if any:
 * the config loader would then read Secret manifests as config and reject them.
 */
export function configPathOverlapping(secretsDir: string, configPaths: readonly string[]): string | undefined {
  const real = (p: string): string => {
    try {
      return realpathSync(p);
    } catch {
      return resolve(p);
    }
  };
  const secrets = real(secretsDir);
  const inside = (child: string, parent: string) => child === parent || child.startsWith(parent.endsWith(sep) ? parent : parent + sep);
  return configPaths.find((p) => {
    const config = real(p);
    return inside(secrets, config) || inside(config, secrets);
  });
}
