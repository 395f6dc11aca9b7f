// The flags a command outside the replicas gives to use the identity they
// share in the store: the store key that opens it and, when the replicas run
// a plugged-in CA, the root to check against the one they published.
import { readFileSync } from 'node:fs';
import type { GivenRoot } from '../store/store-identity-read.js';
import { exitWith } from './state.js';
import { storeKeyFromFlags } from './store-key-flag.js';

/** The key of --store-key-file, or one line and exit 1. */
export function storeKeyOrExit(storeKeyFile: string | undefined, command: string): Buffer {
  try {
    return storeKeyFromFlags({ store: true, storeKeyFile }).key!;
  } catch (err) {
    return exitWith(`meshlite ${command}: ${(err as Error).message}`);
  }
}

/** The root given by --root-cert or --ca-dir (a plugged-in CA), if any; one line and exit 1 when it cannot be read. */
export async function givenRootOrExit(
  opts: { rootCert?: string; caDir?: string },
  trustDomain: string,
  command: string,
): Promise<GivenRoot | undefined> {
  if (opts.rootCert !== undefined && opts.caDir !== undefined) exitWith(`meshlite ${command}: give --root-cert or --ca-dir, not both`);
  if (opts.rootCert !== undefined) {
    try {
      return { pem: readFileSync(opts.rootCert, 'utf8'), source: `--root-cert ${opts.rootCert}` };
    } catch (err) {
      return exitWith(
        `meshlite ${command}: --root-cert ${opts.rootCert}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      );
    }
  }
  if (opts.caDir === undefined) return undefined;
  try {
    const { CertificateAuthority } = await import('../ca/certificate-authority.js');
    const ca = await CertificateAuthority.loadOrCreate({ pluggedInDir: opts.caDir, trustDomain });
    return { pem: ca.rootCertPem, source: `--ca-dir ${opts.caDir}` };
  } catch (err) {
    return exitWith(`meshlite ${command}: ${(err as Error).message}`);
  }
}
