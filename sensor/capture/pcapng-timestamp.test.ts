import { describe, expect, it } from 'vitest';
import { resolutionFromTsresol, TimestampSplitter, TS_BIGINT, TS_FAST } from './pcapng-timestamp.ts';

/** Small deterministic PRNG (mulberry32) so failures reproduce. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

function reference(high: number, low: number, tsresol: number): { sec: number; nsec: number } {
  const exp = BigInt(tsresol & 0x7f);
  const units = (tsresol & 0x80) !== 0 ? 1n << exp : 10n ** exp;
  const count = (BigInt(high) << 32n) | BigInt(low);
  return { sec: Number(count / units), nsec: Number(((count % units) * 1_000_000_000n) / units) };
}

const DECIMAL = Array.from({ length: 10 }, (_, e) => e);
const BINARY = Array.from({ length: 33 }, (_, n) => 0x80 | n);
const EXOTIC = [10, 12, 15, 19, 0x80 | 33, 0x80 | 40, 0x80 | 63];

describe('pcapng timestamp split', () => {
  it('picks the exact fast path for every decimal resolution up to ns and binary up to 2^-32', () => {
    for (const r of [...DECIMAL, ...BINARY]) expect(resolutionFromTsresol(r).kind).toBe(TS_FAST);
    for (const r of EXOTIC) expect(resolutionFromTsresol(r).kind).toBe(TS_BIGINT);
  });

  it('matches BigInt arithmetic exactly on edge and random 64-bit counts', () => {
    const next = rng(42);
    const edges: Array<[number, number]> = [
      [0, 0],
      [0, 1],
      [0, 0xffffffff],
      [1, 0],
      [0xffffffff, 0xffffffff],
      [0x178b_c6e2, 0x1234_5678], // ~1.7e18 ns: today's time in nanoseconds
      [0x0006_0a24, 0x181e_4fff], // ~1.7e15 µs
    ];
    const split = new TimestampSplitter();
    for (const tsresol of [...DECIMAL, ...BINARY, ...EXOTIC]) {
      const res = resolutionFromTsresol(tsresol);
      const cases = [...edges];
      for (let i = 0; i < 300; i++) cases.push([next() >>> (next() & 31), next()]);
      for (const [high, low] of cases) {
        split.split(high, low, res);
        const want = reference(high, low, tsresol);
        if (split.sec !== want.sec || split.nsec !== want.nsec) {
          throw new Error(`tsresol 0x${tsresol.toString(16)} count ${high}:${low}: got ${split.sec}.${split.nsec}`);
        }
        expect(split.nsec).toBeGreaterThanOrEqual(0);
        expect(split.nsec).toBeLessThan(1_000_000_000);
      }
    }
  });

  it('splits a nanosecond timestamp beyond 2^53 without losing the last digit', () => {
    const count = 1_700_000_000_123_456_789n;
    const split = new TimestampSplitter();
    split.split(Number(count >> 32n), Number(count & 0xffffffffn), resolutionFromTsresol(9));
    expect(split.sec).toBe(1_700_000_000);
    expect(split.nsec).toBe(123_456_789);
  });
});
