import { describe, expect, it } from 'vitest';
import { SECURITY_POLICY_NONE } from './constants.ts';
import { decodeServiceBody, hasBodyDecoder } from './decode.ts';
import { BINARY_ENCODING_NAMES } from './generated/object-ids.ts';
import { encodingId } from './names.ts';
import { OpcuaParser } from './parser.ts';
import { ack, concat, hello, msg, opn, W } from './test-support.ts';

/** Deterministic PRNG (mulberry32) so a failure is reproducible. */
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

const base = concat(
  hello('opc.tcp://plc:4840'),
  ack(),
  opn(
    SECURITY_POLICY_NONE,
    1,
    1,
    new W()
      .nodeId(encodingId('OpenSecureChannelRequest'))
      .requestHeader()
      .u32(0)
      .u32(0)
      .u32(1)
      .bytes_(null)
      .u32(1)
      .done(),
  ),
  msg(
    2,
    2,
    new W()
      .nodeId(encodingId('ReadRequest'))
      .requestHeader()
      .f64(0)
      .u32(0)
      .u32(1)
      .nodeId(2258)
      .u32(13)
      .str(null)
      .u16(0)
      .str(null)
      .done(),
  ),
  msg(3, 2, new W().nodeId(encodingId('ReadResponse')).responseHeader().u32(1).u8(1).u8(6).u32(5).u32(0).done(), 'C'),
  msg(4, 2, new W().u32(0).done(), 'F'),
);

describe('OPC UA fuzz', () => {
  it('100k random and mutated streams: no exception, bounded buffers', () => {
    const rand = rng(4840);
    const listener = { chunk() {}, transaction() {}, anomaly() {} };
    let chunks = 0;
    let maxBuffered = 0;
    const options = { maxBufferedChunk: 4096, maxMessageSize: 8192, maxOpenRequests: 16 };
    for (let n = 0; n < 100_000; n++) {
      let stream: Uint8Array;
      if (n % 4 === 0) {
        stream = Uint8Array.from({ length: 1 + Math.floor(rand() * 200) }, () => Math.floor(rand() * 256));
      } else {
        stream = base.slice();
        const flips = 1 + Math.floor(rand() * 8);
        for (let f = 0; f < flips; f++) stream[Math.floor(rand() * stream.length)] = Math.floor(rand() * 256);
      }
      const parser = new OpcuaParser({ ...listener, chunk: () => void chunks++ }, null, {
        ...options,
        decode: n % 2 === 0,
      });
      let o = 0;
      while (o < stream.length) {
        const len = 1 + Math.floor(rand() * 64);
        parser.data((n + o) % 3 === 0 ? 1 : 0, stream, o, len, 0, 0);
        if (rand() < 0.02) parser.gap(0, Math.floor(rand() * 100));
        o += len;
      }
      maxBuffered = Math.max(maxBuffered, parser.bufferedBytes());
      parser.end(1);
    }
    expect(chunks).toBeGreaterThan(50_000);
    expect(maxBuffered).toBeLessThanOrEqual(2 * (4096 + 8) + 2 * 8192);
  });

  it('every service decoder survives random bodies', () => {
    const rand = rng(631);
    const ids = Object.keys(BINARY_ENCODING_NAMES).map(Number).filter(hasBodyDecoder);
    expect(ids.length).toBeGreaterThanOrEqual(50);
    for (let n = 0; n < 20_000; n++) {
      const id = ids[n % ids.length] as number;
      const body = Uint8Array.from({ length: Math.floor(rand() * 300) }, () =>
        rand() < 0.3 ? 0 : rand() < 0.1 ? 0xff : Math.floor(rand() * 256),
      );
      const d = decodeServiceBody(id, body, 0, body.length);
      expect(d).not.toBeNull();
    }
  });
});
