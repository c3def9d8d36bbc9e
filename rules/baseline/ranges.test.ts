import { describe, expect, it } from 'vitest';
import { addRange, formatRange, parseRange, type Range, rangeCovered } from './ranges.ts';

describe('address ranges', () => {
  it('merges overlapping and adjacent ranges and keeps them sorted', () => {
    const rs: Range[] = [];
    addRange(rs, 10, 12, 64);
    addRange(rs, 0, 3, 64);
    addRange(rs, 4, 7, 64); // adjacent to 0-3
    addRange(rs, 20, 20, 64);
    addRange(rs, 11, 15, 64); // overlaps 10-12
    expect(rs).toEqual([
      [0, 7],
      [10, 15],
      [20, 20],
    ]);
    addRange(rs, 8, 9, 64); // bridges 0-7 and 10-15
    expect(rs).toEqual([
      [0, 15],
      [20, 20],
    ]);
  });

  it('past the cap merges the two closest ranges (coverage only grows) and says so', () => {
    const rs: Range[] = [];
    expect(addRange(rs, 0, 0, 2)).toBe(false);
    expect(addRange(rs, 100, 100, 2)).toBe(false);
    expect(addRange(rs, 10, 10, 2)).toBe(true);
    expect(rs).toEqual([
      [0, 10],
      [100, 100],
    ]);
  });

  it('covers a range only when inside one learned range, widened by the slack', () => {
    const rs: Range[] = [
      [0, 7],
      [20, 29],
    ];
    expect(rangeCovered(rs, 2, 5, 0)).toBe(true);
    expect(rangeCovered(rs, 6, 8, 0)).toBe(false);
    expect(rangeCovered(rs, 6, 8, 1)).toBe(true);
    expect(rangeCovered(rs, 5, 25, 0)).toBe(false);
    expect(rangeCovered(rs, 30, 30, 0)).toBe(false);
    expect(rangeCovered([], 0, 0, 5)).toBe(false);
  });

  it('formats and parses the file form', () => {
    expect(formatRange([3, 3])).toBe('3');
    expect(formatRange([0, 63])).toBe('0-63');
    expect(parseRange('0-63')).toEqual([0, 63]);
    expect(parseRange(' 7 ')).toEqual([7, 7]);
    expect(parseRange('5-2')).toBeNull();
    expect(parseRange('a-b')).toBeNull();
    expect(parseRange('-1')).toBeNull();
  });
});
