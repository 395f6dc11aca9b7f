// The meshlite replicas an agent may use (`--control-plane a:p,b:p`), tried in
// turn: a failed connection or a broken stream moves on to the next replica at
// once, and only when every replica failed since the last success does the
// caller back off.
export class ReplicaRotation {
  readonly addresses: readonly string[];
  #index = 0;
  #failuresInRound = 0;

  /** Throws a RangeError for an empty list. */
  constructor(addresses: readonly string[]) {
    if (addresses.length === 0) throw new RangeError('list at least one control plane address');
    this.addresses = [...addresses];
  }

  /** `a:1, b:2` -> ['a:1', 'b:2']. */
  static parse(list: string): ReplicaRotation {
    return new ReplicaRotation(
      list
        .split(',')
        .map((a) => a.trim())
        .filter((a) => a !== ''),
    );
  }

  get current(): string {
    return this.addresses[this.#index]!;
  }

  /** The current replica failed: moves to the next. True while some replica is still untried since the last success. */
  failed(): boolean {
    this.#index = (this.#index + 1) % this.addresses.length;
    this.#failuresInRound++;
    if (this.#failuresInRound < this.addresses.length) return true;
    this.#failuresInRound = 0;
    return false;
  }

  succeeded(): void {
    this.#failuresInRound = 0;
  }
}
