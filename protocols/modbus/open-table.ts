/**
 * Open-addressing hash table from a small integer key ((unit id << 16) | transaction id) to a value, for pairing.
 *
 * Why not `Map`: a request/response pair is one insert and one delete, and V8's Map rebuilds its backing store as
 * deleted entries pile up, which showed up as steady garbage on the per-ADU path (one scavenge per ~150k pairs).
 * This table uses linear probing with backward-shift deletion (no tombstones), so steady-state pairing allocates
 * nothing; it only grows (doubling, load ≤ 1/2) while the open count rises, and starts small so idle flows stay cheap.
 */
export class OpenTable<V> {
  private keys: Int32Array;
  private vals: (V | undefined)[];
  private mask: number;
  size = 0;

  constructor(initialCapacity = 8) {
    let cap = 8;
    while (cap < initialCapacity) cap <<= 1;
    this.keys = new Int32Array(cap).fill(-1);
    this.vals = new Array<V | undefined>(cap).fill(undefined);
    this.mask = cap - 1;
  }

  private static hash(key: number): number {
    // Multiplicative hash: transaction ids are often sequential, spread them over the table.
    return Math.imul(key, 0x9e3779b1) >>> 0;
  }

  get(key: number): V | undefined {
    const keys = this.keys;
    const mask = this.mask;
    for (let i = OpenTable.hash(key) & mask; ; i = (i + 1) & mask) {
      const k = keys[i] ?? -1;
      if (k === key) return this.vals[i];
      if (k === -1) return undefined;
    }
  }

  /** Insert or replace. `key` must be ≥ 0. */
  set(key: number, value: V): void {
    if ((this.size + 1) * 2 > this.keys.length) this.grow();
    const keys = this.keys;
    const mask = this.mask;
    for (let i = OpenTable.hash(key) & mask; ; i = (i + 1) & mask) {
      const k = keys[i] ?? -1;
      if (k === key) {
        this.vals[i] = value;
        return;
      }
      if (k === -1) {
        keys[i] = key;
        this.vals[i] = value;
        this.size++;
        return;
      }
    }
  }

  delete(key: number): boolean {
    return this.deleteMatching(key, undefined);
  }

  /**
   * Deletes `key` only while it maps to `value` (undefined: whatever it maps to). One probe where get-then-delete
   * would take two (releasing a paired request's slot, once per transaction).
   */
  deleteMatching(key: number, value: V | undefined): boolean {
    const keys = this.keys;
    const vals = this.vals;
    const mask = this.mask;
    let i = OpenTable.hash(key) & mask;
    for (;;) {
      const k = keys[i] ?? -1;
      if (k === -1) return false;
      if (k === key) break;
      i = (i + 1) & mask;
    }
    if (value !== undefined && vals[i] !== value) return false;
    // Backward-shift: move later members of the probe run into the hole so lookups never need tombstones.
    let hole = i;
    for (let j = (i + 1) & mask; ; j = (j + 1) & mask) {
      const k = keys[j] ?? -1;
      if (k === -1) break;
      const home = OpenTable.hash(k) & mask;
      // Move k if its home is not cyclically within (hole, j].
      if (hole <= j ? home <= hole || home > j : home <= hole && home > j) {
        keys[hole] = k;
        vals[hole] = vals[j];
        hole = j;
      }
    }
    keys[hole] = -1;
    vals[hole] = undefined;
    this.size--;
    return true;
  }

  private grow(): void {
    const oldKeys = this.keys;
    const oldVals = this.vals;
    const cap = oldKeys.length * 2;
    this.keys = new Int32Array(cap).fill(-1);
    this.vals = new Array<V | undefined>(cap).fill(undefined);
    this.mask = cap - 1;
    this.size = 0;
    for (let i = 0; i < oldKeys.length; i++) {
      const k = oldKeys[i] ?? -1;
      const v = oldVals[i];
      if (k !== -1 && v !== undefined) this.set(k, v);
    }
  }
}
