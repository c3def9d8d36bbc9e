/**
 * Fuzz: ≥ 100k random and mutated streams through the parser (split at random points, random gaps). No exception
 * may escape, every buffer stays within its cap, and the same bytes split differently give the same PDU count.
 */
import { describe, expect, it } from 'vitest';
import { S7Parser } from './parser.ts';
import { probeS7 } from './probe.ts';
import { concat, dt, hex, s7 } from './test-support.ts';

/** Small deterministic PRNG (xorshift32) so failures reproduce. */
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}

const SEEDS = [
  hex('0300001611e00000000100c0010ac1020100c2020102'),
  dt(s7(1, 1, hex('f0000001000101e0'))),
  dt(s7(1, 2, hex('0401120a10080001000083000080'))),
  dt(s7(3, 2, hex('0401'), hex('ff07000400000000'))),
  dt(s7(7, 3, hex('0001120411440100'), hex('ff09000400110000'))),
  dt(s7(7, 4, hex('000112081284010201010000'), hex('ff0900080011000000010002'))),
  dt(s7(2, 5, new Uint8Array(0), new Uint8Array(0), [0xd2, 0x0c])),
  dt(hex('7202000a3100000586000000117202')),
  concat(dt(hex('3203'), false), dt(hex('000002000200000401'), true)),
];

const noop = {
  tpdu() {},
  connect() {},
  pdu() {},
  plus() {},
  transaction() {},
  anomaly() {},
  frame() {},
};

function mutate(r: () => number, base: Uint8Array): Uint8Array {
  const out = Uint8Array.from(base);
  const n = 1 + Math.floor(r() * 4);
  for (let k = 0; k < n; k++) out[Math.floor(r() * out.length)] = Math.floor(r() * 256);
  return out;
}

describe('S7 parser fuzz', () => {
  it('100k random and mutated streams: no exception, bounded buffers', () => {
    const r = rng(0x5eed7);
    let pdus = 0;
    let maxCarry = 0;
    let maxFrag = 0;
    const maxPduBytes = 4096;
    for (let i = 0; i < 100_000; i++) {
      let counted = 0;
      const listener = { ...noop, pdu: () => void counted++ };
      const p = new S7Parser(listener, null, { maxPduBytes, maxOpenRequests: 8 });
      const parts: Uint8Array[] = [];
      const k = 1 + Math.floor(r() * 6);
      for (let j = 0; j < k; j++) {
        const mode = r();
        const seed = SEEDS[Math.floor(r() * SEEDS.length)] ?? SEEDS[0] ?? new Uint8Array(0);
        if (mode < 0.45) parts.push(seed);
        else if (mode < 0.85) parts.push(mutate(r, seed));
        else parts.push(Uint8Array.from({ length: Math.floor(r() * 64) }, () => Math.floor(r() * 256)));
      }
      const stream = concat(...parts);
      expect(() => probeS7(stream, 0, stream.length, r() < 0.5)).not.toThrow();
      let o = 0;
      const dir = (r() < 0.5 ? 0 : 1) as 0 | 1;
      while (o < stream.length) {
        const n = 1 + Math.floor(r() * 40);
        p.data(dir, stream, o, Math.min(n, stream.length - o), i, 0);
        if (r() < 0.01) p.gap(dir, Math.floor(r() * 20));
        o += n;
        maxCarry = Math.max(maxCarry, p.carried(dir));
        maxFrag = Math.max(maxFrag, p.fragmented(dir));
      }
      p.expire(i + 100);
      p.end(i + 200);
      expect(p.stats.openRequests).toBe(0);
      pdus += counted;
    }
    expect(pdus).toBeGreaterThan(50_000);
    expect(maxCarry).toBeLessThanOrEqual(65535);
    expect(maxFrag).toBeLessThanOrEqual(maxPduBytes);
  }, 120_000);

  it('same bytes, different splits, same PDUs (no gaps)', () => {
    const r = rng(42);
    for (let i = 0; i < 2000; i++) {
      const stream = concat(
        ...Array.from({ length: 5 }, () => mutate(r, SEEDS[Math.floor(r() * SEEDS.length)] ?? new Uint8Array(1))),
      );
      const count = (step: () => number) => {
        let n = 0;
        const p = new S7Parser({ ...noop, pdu: () => void n++ }, null);
        for (let o = 0; o < stream.length; ) {
          const s = step();
          p.data(0, stream, o, Math.min(s, stream.length - o), 1, 0);
          o += s;
        }
        return n;
      };
      expect(count(() => 1 + Math.floor(r() * 9))).toBe(count(() => stream.length));
    }
  });
});
