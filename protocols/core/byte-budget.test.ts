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

  it('charges only buffers above the free size', () => {
    expect(chargeOf(FREE_BYTES)).toBe(0);
    expect(chargeOf(FREE_BYTES + 1)).toBe(FREE_BYTES + 1);
    expect(() => new ByteBudget(-1)).toThrow(RangeError);
  });
});
