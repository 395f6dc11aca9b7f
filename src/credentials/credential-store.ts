// The credentials being served: the last read of the secrets directory, and
// what each `kubernetes://` SDS name resolves to. Resolution of the CA follows
// Istio: a separate `<name>-cacert` secret first, else the CA inside `<name>`.
import { parseSecretName, SECRET_NAMES } from '../model/secret-refs.js';
import type { Credential, CredentialLookup, CredentialSet, TlsCredentialSource } from './credential.js';
import { readCredentialDirectory } from './read-credentials.js';

const CA_SUFFIX = '-cacert';

export class CredentialStore implements TlsCredentialSource {
  private current: CredentialSet;

  constructor(
    readonly directory: string,
    private readonly clock: () => Date = () => new Date(),
  ) {
    this.current = emptySet(directory, clock());
  }

  get set(): CredentialSet {
    return this.current;
  }

  /** Reads the directory again; returns the names of the secrets that were added, removed or changed. */
  reload(): string[] {
    return this.replace(readCredentialDirectory(this.directory, this.clock()));
  }

  /** Swaps in a new read; returns the names of the secrets that were added, removed or changed. */
  replace(next: CredentialSet): string[] {
    const before = this.current.credentials;
    this.current = next;
    const names = new Set([...before.keys(), ...next.credentials.keys()]);
    return [...names].filter((n) => before.get(n)?.fingerprint !== next.credentials.get(n)?.fingerprint).sort();
  }

  lookup(secretName: string): CredentialLookup {
    const parsed = parseSecretName(secretName);
    if (parsed?.kind !== 'credential') return { ok: false, reason: `"${secretName}" is not a kubernetes:// credential name` };
    return parsed.ca ? this.lookupCa(parsed.credential) : this.lookupCertificate(parsed.credential);
  }

  private lookupCertificate(name: string): CredentialLookup {
    const c = this.current.credentials.get(name);
    if (!c) return { ok: false, reason: `no secret "${name}" in ${this.directory}${this.directoryProblem()}` };
    if (c.errors.length > 0) return invalid(c);
    if (c.certChainPem === undefined || c.privateKeyPem === undefined) {
      return { ok: false, reason: `secret "${name}" (${c.origin.path}) holds no certificate and key (only a CA)` };
    }
    return { ok: true, kind: 'certificate', certChainPem: c.certChainPem, privateKeyPem: c.privateKeyPem, from: c.origin.path };
  }

  private lookupCa(name: string): CredentialLookup {
    const separate = this.current.credentials.get(`${name}${CA_SUFFIX}`);
    if (separate) {
      if (separate.errors.length > 0) return invalid(separate);
      if (separate.caPem === undefined)
        return { ok: false, reason: `secret "${separate.name}" (${separate.origin.path}) holds no cacert or ca.crt` };
      return { ok: true, kind: 'ca', caPem: separate.caPem, from: separate.origin.path };
    }
    const own = this.current.credentials.get(name);
    if (!own) return { ok: false, reason: `no secret "${name}" or "${name}${CA_SUFFIX}" in ${this.directory}${this.directoryProblem()}` };
    if (own.errors.length > 0) return invalid(own);
    if (own.caPem === undefined) {
      return {
        ok: false,
        reason: `secret "${name}" (${own.origin.path}) has no ca.crt or cacert, and there is no "${name}${CA_SUFFIX}" secret`,
      };
    }
    return { ok: true, kind: 'ca', caPem: own.caPem, from: own.origin.path };
  }

  private directoryProblem(): string {
    return this.current.directoryErrors.length > 0 ? ` (${this.current.directoryErrors.join('; ')})` : '';
  }
}

function invalid(c: Credential): CredentialLookup {
  return { ok: false, reason: `secret "${c.name}" is invalid: ${c.errors.join('; ')}` };
}

function emptySet(directory: string, now: Date): CredentialSet {
  return { directory, readAt: now, credentials: new Map(), directoryErrors: [], ignored: [], watchDirectories: [] };
}

/** The SDS names a change to secret `name` can affect. */
export function affectedSecretNames(name: string): string[] {
  return [SECRET_NAMES.credential(name), SECRET_NAMES.credentialCa(name)];
}

/** What is served when no secrets directory was configured: nothing, with the reason. */
export const NO_SECRETS_DIRECTORY: TlsCredentialSource = {
  lookup: (secretName) => ({
    ok: false,
    reason: `${secretName} needs a secrets directory (meshlite serve --secrets-dir <dir>), and none is configured`,
  }),
};
