// Whether a new config may take over the last Translator's outbound side:
// only when every kind but the peer and access policies reads the very same
// documents (the loader's per-kind digests say so) and the auto-registered
// workloads are the same. Anything unknown means no.
const POLICY_KINDS: ReadonlySet<string> = new Set(['PeerAuthentication', 'AuthorizationPolicy', 'RequestAuthentication']);

/** What a Translator's model was built from, as far as reuse cares. */
export interface TranslationInputs {
  kindDigests: Readonly<Record<string, string>>;
  /** The auto-registered WorkloadEntries added to the config, as JSON. */
  registered: string;
}

export function policiesOnlyChanged(before: TranslationInputs | undefined, after: TranslationInputs | undefined): boolean {
  if (!before || !after || before.registered !== after.registered) return false;
  const kinds = new Set([...Object.keys(before.kindDigests), ...Object.keys(after.kindDigests)]);
  for (const kind of kinds) if (before.kindDigests[kind] !== after.kindDigests[kind] && !POLICY_KINDS.has(kind)) return false;
  return true;
}
