import { describe, expect, it } from 'vitest';
import { MAX_ADU_LEN } from './constants.ts';
import { decodePdu } from './decode.ts';
import { type ModbusListener, ModbusParser } from './parser.ts';
import { probeModbus } from './probe.ts';
import { adu, concat, hex, newParser } from './test-support.ts';

/** Deterministic PRNG (mulberry32) so a failure reproduces. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Valid PDUs of every decoded function code, requests and responses, to mutate.
const REQUEST_PDUS = [
  '01 0013 0013',
  '02 00C4 0016',
  '03 006B 0003',
  '04 0008 0001',
  '05 00AC FF00',
  '06 0001 0003',
  '07',
  '08 0000 A537',
  '0B',
  '0C',
  '0F 0013 000A 02 CD01',
  '10 0001 0002 04 000A 0102',
  '11',
  '14 0E 06 0004 0001 0002 06 0003 0009 0002',
  '15 0D 06 0004 0007 0003 06AF 04BE 100D',
  '16 0004 00F2 0025',
  '17 0003 0006 000E 0003 06 00FF 00FF 00FF',
  '18 04DE',
  '2B 0E 01 00',
  '2B 0D 010203',
  '5A 00 02',
  '41 0102',
].map(hex);
const RESPONSE_PDUS = [
  '01 03 CD6B05',
  '02 03 ACDB35',
  '03 06 022B 0000 0064',
  '04 02 000A',
  '05 00AC FF00',
  '07 6D',
  '08 0000 A537',
  '0B FFFF 0108',
  '0C 08 0000 0108 0121 20 00',
  '0F 0013 000A',
  '11 05 01 FF 414243',
  '14 0C 05 06 0DFE 0020 05 06 33CD 0040',
  '16 0004 00F2 0025',
  '17 0C 00FE 0ACD 0001 0003 000D 00FF',
  '18 0006 0002 01B8 1284',
  '2B 0E 01 01 00 00 03 0004 41434D45 0103 503432 0205 56312E3032',
  '83 02',
  '5A 00 FE 0102',
].map(hex);

function pick<T>(r: () => number, xs: readonly T[]): T {
  const x = xs[Math.floor(r() * xs.length)];
  if (x === undefined) throw new Error('empty');
  return x;
}

/** A stream of 1–6 ADUs (tids from a small range so pairing happens), then mutated. */
function makeStream(r: () => number, pdus: readonly Uint8Array[]): Uint8Array {
  const mode = r();
  if (mode < 0.1) {
    const out = new Uint8Array(Math.floor(r() * 300));
    for (let i = 0; i < out.length; i++) out[i] = Math.floor(r() * 256);
    return out;
  }
  const parts: Uint8Array[] = [];
  const n = 1 + Math.floor(r() * 6);
  for (let i = 0; i < n; i++) parts.push(adu(Math.floor(r() * 8), Math.floor(r() * 3), pick(r, pdus)));
  const s = concat(...parts);
  if (mode < 0.3) return s; // clean
  // Mutations: byte flips, overwrites with edge values, truncation, random insertions.
  const flips = 1 + Math.floor(r() * 4);
  for (let i = 0; i < flips; i++) {
    const at = Math.floor(r() * s.length);
    const v = r();
    s[at] =
      v < 0.3 ? (s[at] ?? 0) ^ (1 << Math.floor(r() * 8)) : v < 0.6 ? pick(r, [0, 1, 0x7f, 0x80, 0xff]) : r() * 256;
  }
  if (r() < 0.2) return s.subarray(0, Math.floor(r() * s.length));
  if (r() < 0.2) {
    const at = Math.floor(r() * s.length);
    const junk = new Uint8Array(1 + Math.floor(r() * 10));
    for (let i = 0; i < junk.length; i++) junk[i] = Math.floor(r() * 256);
    return concat(s.subarray(0, at), junk, s.subarray(at));
  }
  return s;
}

/** Feed `s` in random splits; occasionally announce a gap. */
function feed(p: ModbusParser<null>, r: () => number, dir: 0 | 1, s: Uint8Array, ts: number, gaps: boolean): void {
  let o = 0;
  while (o < s.length) {
    const n = Math.min(s.length - o, 1 + Math.floor(r() * (r() < 0.5 ? 8 : 80)));
    p.data(dir, s, o, n, ts, 0);
    o += n;
    if (gaps && r() < 0.03) p.gap(dir, Math.floor(r() * 20));
  }
}

describe('fuzz', () => {
  it('200k random and mutated streams in random splits: no throw, bounded state', () => {
    const r = rng(0x5eed);
    const cap = 16;
    let maxOpen = 0;
    let maxCarry = 0;
    let pdus = 0;
    let anomalies = 0;
    let decoded = 0;
    let noProgress = 0;
    const listener: ModbusListener<null> = {
      pdu: () => {
        pdus++;
      },
      transaction: (_c, tx) => {
        // Touch the decoded details so decoding bugs surface as exceptions here.
        if (tx.request !== null) decoded++;
        if (tx.response !== null) decoded++;
      },
      anomaly: () => {
        anomalies++;
      },
    };
    const STREAMS = 200_000;
    let parser = new ModbusParser(listener, null, { maxOpenTransactions: cap, maxValues: 16 });
    for (let i = 0; i < STREAMS; i++) {
      // A fresh parser every 50 streams, so both fresh and long-lived states are exercised.
      if (i % 50 === 0) {
        parser.end(i);
        parser = new ModbusParser(listener, null, { maxOpenTransactions: cap, maxValues: 16 });
      }
      feed(parser, r, 0, makeStream(r, REQUEST_PDUS), i, true);
      feed(parser, r, 1, makeStream(r, RESPONSE_PDUS), i, true);
      if (parser.stats.openTx > maxOpen) maxOpen = parser.stats.openTx;
      const carry = Math.max(parser.carried(0), parser.carried(1));
      if (carry > maxCarry) maxCarry = carry;
      if (i % 97 === 0) parser.expire(i + 100);
      noProgress += parser.stats.noProgress;
    }
    parser.end(STREAMS);
    expect(noProgress).toBe(0);
    expect(maxOpen).toBeLessThanOrEqual(cap);
    expect(maxCarry).toBeLessThanOrEqual(MAX_ADU_LEN);
    // The fuzzer reached the interesting states.
    expect(maxOpen).toBe(cap);
    expect(pdus).toBeGreaterThan(300_000);
    expect(anomalies).toBeGreaterThan(50_000);
    expect(decoded).toBeGreaterThan(100_000);
  });

  it('random splits of mutated streams give the callbacks of feeding whole', () => {
    const r = rng(42);
    for (let i = 0; i < 3000; i++) {
      const req = makeStream(r, REQUEST_PDUS);
      const resp = makeStream(r, RESPONSE_PDUS);
      const whole = newParser({ maxOpenTransactions: 4 });
      whole.parser.data(0, req, 0, req.length, 1, 0);
      whole.parser.data(1, resp, 0, resp.length, 2, 0);
      whole.parser.end(3);
      const split = newParser({ maxOpenTransactions: 4 });
      const r2 = rng(i);
      let o = 0;
      while (o < req.length) {
        const n = Math.min(req.length - o, 1 + Math.floor(r2() * 12));
        split.parser.data(0, req, o, n, 1, 0);
        o += n;
      }
      o = 0;
      while (o < resp.length) {
        const n = Math.min(resp.length - o, 1 + Math.floor(r2() * 12));
        split.parser.data(1, resp, o, n, 2, 0);
        o += n;
      }
      split.parser.end(3);
      expect(split.events).toEqual(whole.events);
    }
  });

  it('probe and decoder never throw on random bytes', () => {
    const r = rng(7);
    const buf = new Uint8Array(300);
    let yes = 0;
    for (let i = 0; i < 50_000; i++) {
      const n = Math.floor(r() * 300);
      for (let j = 0; j < n; j++) buf[j] = Math.floor(r() * 256);
      if (r() < 0.5) {
        buf[2] = 0;
        buf[3] = 0;
        buf[4] = 0;
      }
      if (probeModbus(buf, 0, n) === 1) yes++;
      const d = decodePdu(r() < 0.5 ? 0 : 1, buf, 0, Math.min(n, 253), 8, { quantity: Math.floor(r() * 3000) });
      expect(d.func).toBeGreaterThanOrEqual(0);
    }
    // Random bytes with protocol id forced to 0 rarely pass the length + function code + consistency checks.
    expect(yes).toBeLessThan(2500);
  });
});
