// A state directory as `meshlite serve` leaves it (CA root and token key),
// made in-process, for tests that run `bootstrap` or `token` without a serve.
import { CertificateAuthority } from '../../src/ca/certificate-authority.js';
import { TokenAuthority } from '../../src/identity/proxy-token.js';

export async function createMeshliteState(
  stateDir: string,
  trustDomain = 'cluster.local',
): Promise<{ ca: CertificateAuthority; tokens: TokenAuthority }> {
  const ca = await CertificateAuthority.loadOrCreate({ stateDir, trustDomain });
  return { ca, tokens: await TokenAuthority.loadOrCreate(stateDir) };
}
