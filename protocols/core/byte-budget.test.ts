import { describe, expect, it } from 'vitest';
import { ByteBudget, chargeOf, FREE_BYTES } from './byte-budget.ts';

describe('ByteBudget', () => {
  it('takes what fits, refuses and counts what does not, and tracks the peak', () => {
    const b = new ByteBudget(10_000);
    expect(b.take(6000)).toBe(true);
    expect(b.take(5000)).toBe(false);
    expect(b.refused).toBe(1);
    expect(b.used).toBe(6000);
    b.give(6000);
    expect(b.take(10_000)).toBe(true);
    expect(b.peak).toBe(10_000);
    b.give(20_000);
    expect(b.used).toBe(0);
  });

  it('grows a buffer with its bytes, charging the difference, and refuses what does not fit', () => {
    const b = new ByteBudget(5000);
    const small = new Uint8Array([1, 2, 3, 0]);
    const big = b.grow(small, 3, 4096) ?? small;
    expect(big.length).toBe(4096);
    expect([...big.subarray(0, 4)]).toEqual([1, 2, 3, 0]);
    expect(b.used).toBe(4096);
    expect(b.grow(big, 3, 8192)).toBeNull();
    expect(b.refused).toBe(1);
    const forced = b.growAnyway(big, 3, 8192);
    expect(b.used).toBe(8192);
    b.release(forced);
    expect(b.snapshot()).toEqual({ limit: 5000, used: 0, peak: 8192, refused: 1 });
    expect(new ByteBudget(Number.POSITIVE_INFINITY).snapshot().limit).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('charges only buffers above the free size', () => {
    expect(chargeOf(FREE_BYTES)).toBe(0);
    expect(chargeOf(FREE_BYTES + 1)).toBe(FREE_BYTES + 1);
    expect(() => new ByteBudget(-1)).toThrow(RangeError);
  });
});
