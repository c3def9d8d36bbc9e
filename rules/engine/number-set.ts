/**
 * The distinct numbers of a value_count group with the time each was last seen, in first-sighting order: what a
 * `Map<number, time>` gives, without the Map's costs on the packet path (hashing a heap number, one allocation per
 * stored double, and a table rebuilt from scratch by every growth after each `clear()` — an address sweep clears
 * its group every time it fires).
 *
 * Layout: a log of (value, time) in first-sighting order, positions [head, tail); an open-addressing index
 * (linear probing) from value to log position + 1. Deleting a value only marks its log entry dead; its index cell
 * stays and is reused if the value comes back (a value has at most one cell). The log is compacted and the index
 * rebuilt when either fills up, so every operation is O(1) amortized.
 *
 * Values must not be NaN (NaN is never equal to itself: callers keep it in their Map).
 */
export class NumberSet {
  private keys: Float64Array;
  /**
   * Last time each log entry's value was seen; NaN marks a deleted entry (packet times are never NaN). No separate
   * liveness array: the engine runs between packets, whose own work evicts what it touched before, so every array an
   * insert writes is one more cache miss (docs/benchmarks.md, "cache pressure").
   */
  times: Float64Array;
  private index: Int32Array;
  private mask: number;
  /** Index cells in use (live or pointing at dead entries). */
  private used = 0;
  private head = 0;
  private tail = 0;
  size = 0;

  constructor(capacity = 16) {
    const cap = Math.max(16, capacity);
    this.keys = new Float64Array(cap);
    this.times = new Float64Array(cap);
    this.index = new Int32Array(cap * 2);
    this.mask = cap * 2 - 1;
  }

  private static hash(v: number): number {
    // Integers (the usual values) spread by a multiplicative hash; other doubles also mix their fraction in.
    const i = v | 0;
    const h = i === v ? i : i ^ ((v - i) * 0x3fffffff);
    return Math.imul(h ^ (h >>> 16), 0x45d9f3b);
  }

  /** The log position of `v`, or -1 when it is not (or no longer) in the set. */
  find(v: number): number {
    const index = this.index;
    const mask = this.mask;
    for (let c = NumberSet.hash(v) & mask; ; c = (c + 1) & mask) {
      const cell = index[c] as number;
      if (cell === 0) return -1;
      const pos = cell - 1;
      if (this.keys[pos] === v) {
        return Number.isNaN(this.times[pos]) ? -1 : pos;
      }
    }
  }

  /**
   * The log position of `v`, added at the end of the first-sighting order when it is not (or no longer) in the set,
   * in one walk of the index (an address sweep adds a new value on almost every event). The caller sets the time.
   */
  findOrAdd(v: number): number {
    if (this.tail === this.keys.length) {
      // Full: a member keeps its position; for a new value, compact first (it rebuilds the index) to make room.
      const pos = this.find(v);
      if (pos >= 0) return pos;
      this.compact(this.size + 1);
    }
    const index = this.index;
    const keys = this.keys;
    const mask = this.mask;
    for (let c = NumberSet.hash(v) & mask; ; c = (c + 1) & mask) {
      const cell = index[c] as number;
      if (cell !== 0 && keys[cell - 1] !== v) continue;
      // A live entry: found. Else the value is new: an empty cell takes it, or its deleted entry's cell is pointed at
      // the new entry (a value has at most one cell). The index has twice the log's capacity and at most one cell per
      // log position: it is never over half full.
      if (cell !== 0 && !Number.isNaN(this.times[cell - 1])) return cell - 1;
      const pos = this.tail++;
      keys[pos] = v;
      // Live (not NaN) until the caller sets the time.
      this.times[pos] = 0;
      this.size++;
      index[c] = pos + 1;
      if (cell === 0) this.used++;
      return pos;
    }
  }

  /**
   * Adds `v` (not in the set) at the end of the first-sighting order; returns its log position, whose time the caller
   * sets (`times[pos]`: a time passed to a call that is not inlined would be boxed, one allocation per value).
   */
  add(v: number): number {
    return this.findOrAdd(v);
  }

  /** Deletes the values last seen more than `timespanMs` before `t`; returns how many. */
  dropOlderThan(t: number, timespanMs: number): number {
    let dropped = 0;
    const times = this.times;
    for (let p = this.head; p < this.tail; p++) {
      // A deleted entry's NaN never compares greater.
      if (t - (times[p] as number) > timespanMs) {
        times[p] = Number.NaN;
        dropped++;
      }
    }
    this.size -= dropped;
    this.advanceHead();
    return dropped;
  }

  /** Deletes the value seen first (the oldest sighting still in the set). */
  dropFirst(): void {
    this.advanceHead();
    if (this.head === this.tail) return;
    this.times[this.head] = Number.NaN;
    this.size--;
    this.advanceHead();
  }

  clear(): void {
    if (this.used > 0) this.index.fill(0);
    this.used = 0;
    this.head = 0;
    this.tail = 0;
    this.size = 0;
  }

  private advanceHead(): void {
    const times = this.times;
    while (this.head < this.tail && Number.isNaN(times[this.head])) this.head++;
    if (this.head === this.tail) this.clear();
  }

  /** Moves the live entries to the front (order kept), grown to hold `need` with room, and rebuilds the index. */
  private compact(need: number): void {
    let cap = this.keys.length;
    while (need * 2 > cap) cap *= 2;
    const keys = cap === this.keys.length ? this.keys : new Float64Array(cap);
    const times = cap === this.keys.length ? this.times : new Float64Array(cap);
    let n = 0;
    for (let p = this.head; p < this.tail; p++) {
      const t = this.times[p] as number;
      if (Number.isNaN(t)) continue;
      keys[n] = this.keys[p] as number;
      times[n] = t;
      n++;
    }
    this.keys = keys;
    this.times = times;
    this.head = 0;
    this.tail = n;
    if (this.index.length !== cap * 2) this.index = new Int32Array(cap * 2);
    else this.index.fill(0);
    this.mask = cap * 2 - 1;
    this.used = 0;
    const index = this.index;
    const mask = this.mask;
    for (let p = 0; p < n; p++) {
      let c = NumberSet.hash(keys[p] as number) & mask;
      while (index[c] !== 0) c = (c + 1) & mask;
      index[c] = p + 1;
      this.used++;
    }
  }
}
