/**
 * Big-endian reads from a Uint8Array by index. Callers bounds-check first, so the `as number` casts only tell the
 * type checker what the check already guarantees (noUncheckedIndexedAccess cannot see it). Plain index arithmetic
 * avoids building a DataView per buffer, and V8 inlines these small functions.
 */
export function u8(b: Uint8Array, i: number): number {
  return b[i] as number;
}

export function u16be(b: Uint8Array, i: number): number {
  return ((b[i] as number) << 8) | (b[i + 1] as number);
}

/** Unsigned: `>>> 0` keeps values >= 2^31 positive. */
export function u32be(b: Uint8Array, i: number): number {
  return (
    (((b[i] as number) << 24) | ((b[i + 1] as number) << 16) | ((b[i + 2] as number) << 8) | (b[i + 3] as number)) >>> 0
  );
}
