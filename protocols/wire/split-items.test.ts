import { describe, expect, it } from 'vitest';
import { splitItems } from './split-items.ts';
import { parseByItems } from './validate.ts';

const enc = new TextEncoder();
const fatal = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** What the whole-message path makes of the bytes: the parsed value, or 'error'. */
function wholeParse(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(fatal.decode(bytes));
  } catch {
    return 'error';
  }
}

const header = '"v":1,"kind":"alert","province":"gd","enterprise":"e-1","sensor":"s_1","seq":3';
const tricky = [
  { id: 'a', text: 'brackets ] } [ { in a string', nested: { items: [1, 2], deep: [[{}], []] } },
  { id: 'b', text: 'quote \\" and backslash \\\\ and \\u00e9', list: ['x', 'y]'] },
  { id: 'c', text: '中文告警 — ünïcödé', n: -1.5e3, t: true, f: false, z: null },
];

describe('splitItems', () => {
  it('finds each item of the top-level array, wherever the key sits', () => {
    const items = tricky.map((t) => JSON.stringify(t));
    for (const text of [
      `{${header},"items":[${items.join(',')}]}`,
      `{"items":[${items.join(',')}],${header}}`,
      ` \n{ ${header} , "items" : [ ${items.join(' ,\n ')} ] , "x" : { "items": [9] } }\t`,
    ]) {
      const bytes = enc.encode(text);
      const split = splitItems(bytes);
      expect(split).not.toBeNull();
      const spans = split?.items ?? [];
      expect(spans.length / 2).toBe(tricky.length);
      for (let k = 0; k < tricky.length; k++) {
        const item = fatal.decode(bytes.subarray(spans[2 * k], spans[2 * k + 1]));
        expect(JSON.parse(item)).toEqual(tricky[k]);
      }
    }
  });

  it('gives up (null) on what it does not fully follow', () => {
    const bad = [
      `{${header}}`, // no items
      `{"items":[],"items":[{}]}`, // twice
      `{"it\\u0065ms":[{}],"items":[{}]}`, // an escaped key could be `items`
      `{"items":{"a":1}}`, // not an array
      `{"items":[{} {}]}`, // missing comma
      `{"items":[{}],}`, // trailing comma
      `{"items":[{}]} x`, // trailing garbage
      `[{"items":[{}]}]`, // not an object
      `{"items":[{"a":"unterminated}]}`,
      '',
    ];
    for (const text of bad) expect(splitItems(enc.encode(text)), text).toBeNull();
  });

  it('parses item by item to exactly what JSON.parse of the whole gives, on valid messages', () => {
    const message = { v: 1, kind: 'alert', items: tricky, after: { items: 'not top level' } };
    const bytes = enc.encode(JSON.stringify(message));
    const parsed = parseByItems(bytes);
    expect(parsed).not.toBeNull();
    expect(parsed?.parsed).toEqual(wholeParse(bytes));
    expect(parsed?.spans.map((s) => fatal.decode(s))).toEqual(tricky.map((t) => JSON.stringify(t)));
  });

  it('never accepts what JSON.parse of the whole rejects, nor parses it differently (fuzzed)', () => {
    const base = enc.encode(JSON.stringify({ v: 1, kind: 'alert', items: tricky, seq: 3 }));
    const structural = [0x22, 0x5c, 0x7b, 0x7d, 0x5b, 0x5d, 0x2c, 0x3a, 0x20, 0xef, 0xbb, 0xbf, 0x80];
    let seed = 12345;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    let fastAccepted = 0;
    let wholeAccepted = 0;
    for (let round = 0; round < 20_000; round++) {
      const bytes = Array.from(base);
      const edits = 1 + random(3);
      for (let e = 0; e < edits; e++) {
        const at = random(bytes.length);
        const op = random(3);
        const byte = random(2) === 0 ? (structural[random(structural.length)] ?? 0) : random(256);
        if (op === 0) bytes[at] = byte;
        else if (op === 1) bytes.splice(at, 1);
        else bytes.splice(at, 0, byte);
      }
      const input = Uint8Array.from(bytes);
      const whole = wholeParse(input);
      if (whole !== 'error') wholeAccepted++;
      const fast = parseByItems(input);
      if (fast === null) continue;
      fastAccepted++;
      expect(whole).not.toBe('error');
      expect(fast.parsed).toEqual(whole);
    }
    // The fuzz must exercise both outcomes to mean anything.
    expect(fastAccepted).toBeGreaterThan(1000);
    expect(wholeAccepted - fastAccepted).toBeGreaterThanOrEqual(0);
    expect(20_000 - wholeAccepted).toBeGreaterThan(1000);
  });
});
