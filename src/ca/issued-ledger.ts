// What the CA issued that may still be in use: per certificate its serial,
// subject, holder, root and expiry. A root rotation may drop the old root only
// when no certificate chaining to it is live, and "live" is decided here: not
// expired, and not superseded (its holder got a newer certificate since).
//
// Holders: a token caller is its workload id; the direct-mode cache is the
// identity; a renewal authenticated by a certificate inherits that
// certificate's holder. A certificate issued before the ledger knew of the CA
// cannot be listed: `blindUntil` is when every such certificate has expired.
import type { IssuedRecord } from './certificate-authority.js';

export interface LedgerEntry {
  serial: string;
  subject: string;
  holder: string;
  /** SHA-256 fingerprint of the root it chains to. */
  root: string;
  issuedAt: number;
  notAfter: number;
  superseded: boolean;
}

export interface LedgerSnapshot {
  entries: LedgerEntry[];
  blindUntil: number;
}

/** Expired entries are dropped after this many new ones (and on every query). */
const PRUNE_EVERY = 1000;

export class IssuedLedger {
  readonly #bySerial = new Map<string, LedgerEntry>();
  /** The newest entry of each holder. */
  readonly #latest = new Map<string, LedgerEntry>();
  #sincePrune = 0;
  blindUntil: number;

  constructor(snapshot: LedgerSnapshot = { entries: [], blindUntil: 0 }) {
    this.blindUntil = snapshot.blindUntil;
    const ordered = [...snapshot.entries].sort((a, b) => a.issuedAt - b.issuedAt);
    for (const e of ordered) this.#add({ ...e });
  }

  /** Records an issued certificate; returns its entry (with the holder resolved). */
  record(r: IssuedRecord): LedgerEntry {
    const holder =
      r.holder ?? (r.renewalOf !== undefined ? (this.holderOf(r.renewalOf) ?? `certificate ${r.renewalOf}`) : `serial ${r.serialNumber}`);
    const entry: LedgerEntry = {
      serial: r.serialNumber,
      subject: r.subject,
      holder,
      root: r.rootFingerprintSha256,
      issuedAt: r.issuedAt.getTime(),
      notAfter: r.notAfter.getTime(),
      superseded: false,
    };
    this.#add(entry);
    if (++this.#sincePrune >= PRUNE_EVERY) this.prune(r.issuedAt.getTime());
    return entry;
  }

  holderOf(serial: string): string | undefined {
    return this.#bySerial.get(serial.toLowerCase())?.holder;
  }

  entry(serial: string): Readonly<LedgerEntry> | undefined {
    return this.#bySerial.get(serial.toLowerCase());
  }

  /** Certificates chaining to `root` that are valid at `now` and the newest of their holder. */
  liveUnder(root: string, now: number): LedgerEntry[] {
    this.prune(now);
    return [...this.#latest.values()].filter((e) => e.root === root && !e.superseded && e.notAfter > now);
  }

  /** Drops expired certificates. */
  prune(now: number): void {
    this.#sincePrune = 0;
    for (const [serial, e] of this.#bySerial) {
      if (e.notAfter > now) continue;
      this.#bySerial.delete(serial);
      if (this.#latest.get(e.holder) === e) this.#latest.delete(e.holder);
    }
  }

  get size(): number {
    return this.#bySerial.size;
  }

  snapshot(now: number): LedgerSnapshot {
    this.prune(now);
    return { entries: [...this.#bySerial.values()].map((e) => ({ ...e })), blindUntil: this.blindUntil };
  }

  #add(entry: LedgerEntry): void {
    entry.serial = entry.serial.toLowerCase();
    const before = this.#latest.get(entry.holder);
    if (before && before.issuedAt > entry.issuedAt) entry.superseded = true;
    else {
      if (before) before.superseded = true;
      if (!entry.superseded) this.#latest.set(entry.holder, entry);
    }
    this.#bySerial.set(entry.serial, entry);
  }
}
