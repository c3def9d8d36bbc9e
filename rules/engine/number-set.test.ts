import { describe, expect, it } from 'vitest';
import { NumberSet } from './number-set.ts';

/** A deterministic pseudo-random sequence (the test must fail the same way every run). */
function lcg(seed: number): () => number {
  let x = seed;
  return () => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return x / 2 ** 32;
  };
}

describe('NumberSet behaves like a Map<number, time> in first-sighting order', () => {
  it('find / add / findOrAdd / drop stale / drop first / clear, through growth and compaction', () => {
    for (const seed of [1, 2, 3]) {
      const rnd = lcg(seed);
      const set = new NumberSet();
      const model = new Map<number, number>();
      for (let step = 0; step < 20_000; step++) {
        const t = step;
        const r = rnd();
        if (r < 0.8) {
          // Values: small integers, large integers, negative and fractional numbers, and -0 (equal to 0).
          const pick = rnd();
          const v =
            pick < 0.6
              ? Math.floor(rnd() * 300)
              : pick < 0.8
                ? 2 ** 40 + Math.floor(rnd() * 5)
                : pick < 0.95
                  ? -Math.floor(rnd() * 50) / 4
                  : -0;
          let at: number;
          if (rnd() < 0.5) {
            const pos = set.find(v);
            expect(pos >= 0).toBe(model.has(v));
            // add() may compact into new arrays: read `times` after it.
            at = pos >= 0 ? pos : set.add(v);
          } else {
            // The one-walk form: the same position for a member, a new one (the set grows by one) otherwise.
            const before = set.size;
            const known = set.find(v);
            at = set.findOrAdd(v);
            if (known >= 0) expect(at).toBe(known);
            expect(set.size - before).toBe(model.has(v) ? 0 : 1);
            expect(set.find(v)).toBe(at);
          }
          set.times[at] = t;
          model.set(v, t);
        } else if (r < 0.9) {
          const span = Math.floor(rnd() * 400);
          set.dropOlderThan(t, span);
          for (const [k, at] of model) if (t - at > span) model.delete(k);
        } else if (r < 0.99) {
          set.dropFirst();
          const first = model.keys().next();
          if (first.done !== true) model.delete(first.value);
        } else {
          set.clear();
          model.clear();
        }
        expect(set.size).toBe(model.size);
      }
      // Same members, same times.
      for (const [k, at] of model) expect(set.times[set.find(k)]).toBe(at);
    }
  });

  it('keeps first-sighting order across deletes and re-adds', () => {
    const set = new NumberSet();
    for (const v of [5, 6, 7]) {
      const at = set.add(v);
      set.times[at] = v;
    }
    set.dropOlderThan(10, 4); // drops 5 (seen at 5): 6 and 7 stay
    expect(set.find(5)).toBe(-1);
    const back = set.add(5); // back, now the newest sighting
    set.times[back] = 11;
    set.dropFirst(); // the oldest is 6
    expect(set.find(6)).toBe(-1);
    expect(set.find(7) >= 0 && set.find(5) >= 0).toBe(true);
    set.dropFirst();
    expect(set.find(7)).toBe(-1);
    expect(set.size).toBe(1);
  });
});
