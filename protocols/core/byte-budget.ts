/**
 * A byte budget shared by the per-flow reassembly buffers of the protocol parsers (S7 TPKT / COTP / userdata, OPC UA
 * chunks and messages). Each flow's buffers have their own cap, but a cap per flow times the flow table is no bound
 * (65,536 flows of 10 MiB). Parsers take from the budget before they grow a buffer past `FREE_BYTES` and give
 * everything back when the flow ends. A refused growth makes the parser drop that chunk, TPKT or message as if it
 * were too large to buffer; the refusal is counted here (`refused`), not as a protocol anomaly.
 */

/** Buffers up to this capacity are not charged (every flow may hold a few small ones; bounded by the flow table). */
export const FREE_BYTES = 1024;

export class ByteBudget {
  /** Bytes taken now. */
  used = 0;
  /** Highest `used` so far. */
  peak = 0;
  /** Growths refused because they did not fit. */
  refused = 0;

  constructor(readonly limit: number) {
    if (!(limit >= 0)) throw new RangeError(`byte budget must be ≥ 0, got ${limit}`);
  }

  /** Takes `n` bytes if they fit (true), else counts a refusal (false). */
  take(n: number): boolean {
    if (n <= 0) return true;
    if (this.used + n > this.limit) {
      this.refused++;
      return false;
    }
    this.used += n;
    if (this.used > this.peak) this.peak = this.used;
    return true;
  }

  give(n: number): void {
    if (n > 0) this.used = Math.max(0, this.used - n);
  }

  /**
   * `buf[0, used)` copied into a new buffer of capacity `cap`, its charge taken and the old buffer's given back; null
   * (counted) when the budget refuses.
   */
  grow(buf: Uint8Array, used: number, cap: number): Uint8Array | null {
    return this.take(chargeOf(cap) - chargeOf(buf.length)) ? copyInto(buf, used, cap) : null;
  }

  /** `grow` that cannot fail: for growths a reservation already covers, or free ones (a header being collected). */
  growAnyway(buf: Uint8Array, used: number, cap: number): Uint8Array {
    this.used += chargeOf(cap) - chargeOf(buf.length);
    if (this.used > this.peak) this.peak = this.used;
    return copyInto(buf, used, cap);
  }

  /** Gives back the charge of a buffer the caller lets go. */
  release(buf: Uint8Array): void {
    this.give(chargeOf(buf.length));
  }

  /** The figures reports carry (`limit` kept a safe integer: an unlimited budget is not valid JSON). */
  snapshot(): { limit: number; used: number; peak: number; refused: number } {
    return {
      limit: Math.min(this.limit, Number.MAX_SAFE_INTEGER),
      used: this.used,
      peak: this.peak,
      refused: this.refused,
    };
  }
}

function copyInto(buf: Uint8Array, used: number, cap: number): Uint8Array {
  const next = new Uint8Array(cap);
  next.set(buf.subarray(0, used));
  return next;
}

/** The charge of a buffer of capacity `cap`. */
export function chargeOf(cap: number): number {
  return cap > FREE_BYTES ? cap : 0;
}
