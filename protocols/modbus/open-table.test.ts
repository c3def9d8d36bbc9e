import { describe, expect, it } from 'vitest';
import { OpenTable } from './open-table.ts';

describe('OpenTable', () => {
  it('behaves like a Map under random inserts, replaces and deletes', () => {
    let seed = 12345;
    const rand = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 4294967296;
    };
    const t = new OpenTable<number>();
    const m = new Map<number, number>();
    for (let i = 0; i < 200_000; i++) {
      // Small key space (collisions, long probe runs) mixed with the full 24-bit unit/tid space.
      const key = rand() < 0.5 ? Math.floor(rand() * 64) : Math.floor(rand() * 0x1000000);
      const op = rand();
      if (op < 0.45) {
        t.set(key, i);
        m.set(key, i);
      } else if (op < 0.9) {
        expect(t.delete(key)).toBe(m.delete(key));
      } else {
        expect(t.get(key)).toBe(m.get(key));
      }
      expect(t.size).toBe(m.size);
    }
    for (const [k, v] of m) expect(t.get(k)).toBe(v);
    expect(t.get(0xffffff + 1)).toBeUndefined();
  });
});

describe('OpenTable.deleteMatching', () => {
  it('deletes a key only while it maps to the given value', () => {
    const t = new OpenTable<{ id: number }>();
    const a = { id: 1 };
    const b = { id: 2 };
    t.set(7, a);
    expect(t.deleteMatching(7, b)).toBe(false);
    expect(t.get(7)).toBe(a);
    expect(t.deleteMatching(7, a)).toBe(true);
    expect(t.get(7)).toBeUndefined();
    expect(t.size).toBe(0);
    expect(t.deleteMatching(7, a)).toBe(false);
  });
});
