/**
 * Exact conversion of pcapng 64-bit timestamps (two 32-bit halves, counted in units of 1/unitsPerSecond seconds)
 * into whole seconds plus nanoseconds.
 *
 * A 64-bit count does not fit a double (nanosecond timestamps of today are ~1.7e18 > 2^53), so the division by the
 * resolution is done as long division in 16-bit digits: every intermediate stays below 2^49, where float division
 * and multiplication are exact. This fast path covers every resolution up to 2^32 units per second (all powers of
 * ten up to nanoseconds, powers of two up to 2^-32 s), i.e. every capture tool in practice. Finer resolutions fall
 * back to BigInt, which allocates but is only ever hit by exotic files.
 */

export const TS_FAST = 0;
export const TS_BIGINT = 1;

/** How one interface's timestamps are converted; computed once per IDB. */
export interface TimestampResolution {
  kind: number;
  /** Units per second (exact as a double on the fast path). */
  unitsPerSecond: number;
  /** Fast path: nanoseconds = floor(remainder * nsecMul / nsecDiv), both chosen to keep the product exact. */
  nsecMul: number;
  nsecDiv: number;
  /** BigInt path only. */
  unitsPerSecondBig: bigint;
}

const TWO_POW_32 = 4294967296;
const FIVE_POW_9 = 1953125;

/**
 * Resolution from the `if_tsresol` option byte: high bit clear → 10^-v seconds, set → 2^-(v & 0x7f) seconds.
 * The default without the option is 6 (microseconds).
 */
export function resolutionFromTsresol(tsresol: number): TimestampResolution {
  const binary = (tsresol & 0x80) !== 0;
  const exp = tsresol & 0x7f;
  if (!binary && exp <= 9) {
    const units = 10 ** exp;
    return { kind: TS_FAST, unitsPerSecond: units, nsecMul: 10 ** (9 - exp), nsecDiv: 1, unitsPerSecondBig: 0n };
  }
  if (binary && exp <= 32) {
    // remainder < 2^exp; remainder * 1e9 / 2^exp = remainder * 5^9 * 2^9 / 2^exp, and remainder * 5^9 < 2^53.
    const nsecMul = exp < 9 ? FIVE_POW_9 * 2 ** (9 - exp) : FIVE_POW_9;
    const nsecDiv = exp < 9 ? 1 : 2 ** (exp - 9);
    return { kind: TS_FAST, unitsPerSecond: 2 ** exp, nsecMul, nsecDiv, unitsPerSecondBig: 0n };
  }
  const big = binary ? 1n << BigInt(exp) : 10n ** BigInt(exp);
  return { kind: TS_BIGINT, unitsPerSecond: Number(big), nsecMul: 0, nsecDiv: 1, unitsPerSecondBig: big };
}

export const MICROSECOND_RESOLUTION: TimestampResolution = resolutionFromTsresol(6);

/** Reused result holder: one instance per parser, so conversion allocates nothing. */
export class TimestampSplitter {
  sec = 0;
  nsec = 0;

  /** Converts the count `high * 2^32 + low` (both unsigned 32-bit) with resolution `res` into sec/nsec. */
  split(high: number, low: number, res: TimestampResolution): void {
    if (res.kind !== TS_FAST) {
      this.splitBig(high, low, res.unitsPerSecondBig);
      return;
    }
    const d = res.unitsPerSecond;
    // Long division of the 64-bit count by d in digits of 32, 16 and 16 bits; each partial value < d * 2^16 <= 2^48.
    const q1 = Math.floor(high / d);
    let r = high - q1 * d;
    let t = r * 65536 + (low >>> 16);
    const q2 = Math.floor(t / d);
    r = t - q2 * d;
    t = r * 65536 + (low & 0xffff);
    const q3 = Math.floor(t / d);
    r = t - q3 * d;
    this.sec = q1 * TWO_POW_32 + q2 * 65536 + q3;
    this.nsec = Math.floor((r * res.nsecMul) / res.nsecDiv);
  }

  private splitBig(high: number, low: number, d: bigint): void {
    const count = (BigInt(high) << 32n) | BigInt(low);
    this.sec = Number(count / d);
    this.nsec = Number(((count % d) * 1_000_000_000n) / d);
  }
}
