// The phases of a live root rotation, as a pure state machine: which root
// signs, what the trust bundle holds (and in which order), and when a phase
// may give way to the next. Everything that watches proxies or clocks feeds
// its findings in; nothing here does I/O.
//
//   idle/done --begin--> trust-both --every proxy holds the new root (or timeout)--> signing-new
//   signing-new --no live certificate chains to the old root--> done
export type RotationPhase = 'idle' | 'trust-both' | 'signing-new' | 'done';

/** Phases during which a rotation is under way (a second one is refused). */
export function isRotating(phase: RotationPhase): phase is 'trust-both' | 'signing-new' {
  return phase === 'trust-both' || phase === 'signing-new';
}

/** The value of the phase gauge: 0 when no rotation runs, 1 trust-both, 2 signing-new. */
export function phaseGaugeValue(phase: RotationPhase): number {
  return phase === 'trust-both' ? 1 : phase === 'signing-new' ? 2 : 0;
}

/** Which root signs new certificates in a phase of a rotation. */
export function signingRootOf(phase: RotationPhase): 'old' | 'new' {
  return phase === 'signing-new' || phase === 'done' ? 'new' : 'old';
}

/**
 * The trust bundle of a phase, one PEM block per root, no root twice. While
 * the old root signs it comes first; once the new root signs the new one
 * comes first (agents read "the first root is not the one my certificate
 * chains to" as the sign to renew at once); when done only the new roots stay.
 */
export function trustBundleOf(phase: RotationPhase, oldRoots: readonly string[], newRoots: readonly string[]): string {
  const ordered =
    phase === 'idle'
      ? oldRoots
      : phase === 'trust-both'
        ? [...oldRoots, ...newRoots]
        : phase === 'signing-new'
          ? [...newRoots, ...oldRoots]
          : newRoots;
  return [...new Set(ordered)].join('');
}

/** Why a rotation may not begin now, or undefined when it may. */
export function beginRefusal(phase: RotationPhase, phaseSince: Date | undefined): string | undefined {
  if (!isRotating(phase)) return undefined;
  const since = phaseSince ? ` since ${phaseSince.toISOString()}` : '';
  return `a root rotation is already in progress (phase ${phase}${since}); wait for it to finish (meshlite ca status)`;
}

export interface AdvanceInputs {
  now: number;
  /** Connected proxies that have not yet accepted a ROOTCA holding the new root. */
  proxiesWithoutNewRoot: readonly string[];
  /** When trust-both gives way even if some proxies did not accept the new bundle. */
  trustDeadline: number;
  /** Certificates signed under the old root that are still valid and not superseded. */
  liveOldCertificates: number;
  /** Until then, certificates issued before the ledger knew of them may still be valid. */
  blindUntil: number;
}

export interface Advance {
  to: 'signing-new' | 'done';
  reason: string;
  /** Proxies that had not accepted the new bundle when trust-both timed out. */
  lagging?: readonly string[];
}

/** The next phase, or undefined while the current one must go on. */
export function nextPhase(phase: RotationPhase, inputs: AdvanceInputs): Advance | undefined {
  if (phase === 'trust-both') {
    if (inputs.proxiesWithoutNewRoot.length === 0)
      return { to: 'signing-new', reason: 'every connected proxy accepted the trust bundle with the new root' };
    if (inputs.now >= inputs.trustDeadline)
      return {
        to: 'signing-new',
        reason: `phase timeout: ${inputs.proxiesWithoutNewRoot.length} connected proxies did not accept the new trust bundle`,
        lagging: inputs.proxiesWithoutNewRoot,
      };
    return undefined;
  }
  if (phase === 'signing-new' && inputs.liveOldCertificates === 0 && inputs.now >= inputs.blindUntil)
    return { to: 'done', reason: 'no certificate signed under the old root is valid and current any more' };
  return undefined;
}
