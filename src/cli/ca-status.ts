// `meshlite ca status`: the phase of the CA root rotation, the roots of the
// trust bundle (which one signs), and the connected proxies that still hold
// certificates of the old root, read from a running serve's /debug/ca.
import { Command } from 'commander';
import { ADMIN_ADDRESS_OPTION, ADMIN_TOKEN_OPTION, type AdminTargetOptions, adminClient } from './admin-client.js';
import { exitWith } from './state.js';

/** What /debug/ca says of the rotation (src/ca/root-rotation.ts RotationStatus and the driver's additions). */
export interface RotationView {
  phase: string;
  startedAt?: string;
  phaseSince?: string;
  trustDeadline?: string;
  completedAt?: string;
  roots: { fingerprintSha256: string; notAfter: string; signing: boolean; role?: string; subject: string }[];
  crossSigned?: { notAfter: string; served: boolean };
  oldSigned?: { count: number; certificates: { holder: string; serial: string; notAfter: string }[] };
  unknownCertificatesUntil?: string;
  proxiesWithoutNewRoot?: string[];
  proxiesWithOldCertificates?: string[];
}

export function caStatusCommand(): Command {
  return new Command('status')
    .description(
      'print the CA root rotation phase, the trusted roots (which one signs), and the proxies still holding old-root certificates',
    )
    .option(...ADMIN_ADDRESS_OPTION)
    .option(...ADMIN_TOKEN_OPTION)
    .option('--json', 'print /debug/ca as JSON')
    .action(async (opts: AdminTargetOptions & { json?: boolean }) => {
      const view = await fetchRotation('ca status', opts);
      if (opts.json) process.stdout.write(`${JSON.stringify(view.ca, null, 2)}\n`);
      else process.stdout.write(formatRotation(view.rotation));
    });
}

/** GET /debug/ca; exits with one line when meshlite does not answer it. */
export async function fetchRotation(command: string, opts: AdminTargetOptions): Promise<{ ca: object; rotation: RotationView }> {
  const res = await adminClient(command, opts).request('GET', '/debug/ca');
  if (res.status !== 200) exitWith(`meshlite ${command}: /debug/ca answered ${res.status}: ${String(res.body.error ?? '')}`);
  const rotation = res.body.rotation as RotationView | undefined;
  if (!rotation) exitWith(`meshlite ${command}: this meshlite serve reports no root rotation (an older version?)`);
  return { ca: res.body, rotation };
}

const PHASE_MEANING: Record<string, string> = {
  idle: 'no root rotation has run',
  'trust-both': 'proxies are given the old and the new root; the old root signs',
  'signing-new': 'the new root signs; the old one is still trusted until no certificate of it is live',
  done: 'only the new root is trusted',
};

export function formatRotation(r: RotationView): string {
  const lines = [`phase: ${r.phase}${r.phaseSince ? ` since ${r.phaseSince}` : ''} (${PHASE_MEANING[r.phase] ?? r.phase})`];
  if (r.trustDeadline) lines.push(`trust-both ends at the latest at ${r.trustDeadline}`);
  lines.push('roots (trust bundle order):');
  for (const root of r.roots)
    lines.push(
      `  ${root.fingerprintSha256}  notAfter ${root.notAfter}${root.role ? `  ${root.role}` : ''}${root.signing ? '  signing' : ''}  ${root.subject}`,
    );
  if (r.proxiesWithoutNewRoot)
    lines.push(`connected proxies that have not accepted the new root: ${r.proxiesWithoutNewRoot.length}${list(r.proxiesWithoutNewRoot)}`);
  if (r.oldSigned) {
    // Until signing-new every certificate is of the old root: who holds one says nothing yet.
    const proxies = r.proxiesWithOldCertificates;
    lines.push(
      `live certificates of the old root: ${r.oldSigned.count}${proxies ? `; connected proxies holding one: ${proxies.length}${list(proxies)}` : ''}`,
    );
    for (const c of r.oldSigned.certificates.slice(0, 20)) lines.push(`  ${c.holder}  serial ${c.serial}  notAfter ${c.notAfter}`);
  }
  if (r.unknownCertificatesUntil)
    lines.push(`certificates issued before meshlite's ledger began may be valid until ${r.unknownCertificatesUntil}`);
  if (r.crossSigned?.served)
    lines.push(
      `meshlite's ADS certificate is served with the cross-signed certificate until ${r.crossSigned.notAfter}: re-bootstrap direct-mode Envoys (meshlite bootstrap) before then`,
    );
  return `${lines.join('\n')}\n`;
}

const list = (names: readonly string[]) => (names.length > 0 ? ` (${names.join(', ')})` : '');
