/**
 * Test helpers (imported by *.test.ts only): a small OPC UA Binary writer to build chunks and bodies, and a listener
 * that records every parser callback as a plain copy so different ways of feeding a stream can be compared.
 */

import { OpcuaParser } from './parser.ts';
import { toHexString } from './test-hex.ts';
import type { OpcuaAnomaly, OpcuaChunk, OpcuaParserOptions, OpcuaTransaction } from './types.ts';

export function hex(s: string): Uint8Array {
  const clean = s.replace(/#[^\n]*/g, '').replace(/\s+/g, '');
  const out = new Uint8Array(clean.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Little-endian writer for building bodies. */
export class W {
  private bytes: number[] = [];
  u8(v: number): this {
    this.bytes.push(v & 0xff);
    return this;
  }
  u16(v: number): this {
    return this.u8(v).u8(v >> 8);
  }
  u32(v: number): this {
    return this.u16(v & 0xffff).u16(v >>> 16);
  }
  i64(v: number): this {
    return this.u32(v % 4294967296).u32(Math.floor(v / 4294967296));
  }
  f64(v: number): this {
    const b = new Uint8Array(new Float64Array([v]).buffer);
    for (const x of b) this.u8(x);
    return this;
  }
  raw(b: ArrayLike<number>): this {
    for (let i = 0; i < b.length; i++) this.u8(b[i] ?? 0);
    return this;
  }
  str(s: string | null): this {
    if (s === null) return this.u32(0xffffffff);
    const b = new TextEncoder().encode(s);
    return this.u32(b.length).raw(b);
  }
  bytes_(b: Uint8Array | null): this {
    if (b === null) return this.u32(0xffffffff);
    return this.u32(b.length).raw(b);
  }
  /** Four-byte NodeId ns=0 (or numeric when id > 0xffff). */
  nodeId(id: number, ns = 0): this {
    if (ns === 0 && id < 256) return this.u8(0).u8(id);
    if (ns < 256 && id <= 0xffff) return this.u8(1).u8(ns).u16(id);
    return this.u8(2).u16(ns).u32(id);
  }
  /** A minimal RequestHeader: null token, timestamp, handle, no diagnostics, null audit id, timeout, no header. */
  requestHeader(handle = 1): this {
    return this.nodeId(0).i64(0).u32(handle).u32(0).str(null).u32(10000).nodeId(0).u8(0);
  }
  /** A minimal ResponseHeader with `result`. */
  responseHeader(handle = 1, result = 0): this {
    return this.i64(0).u32(handle).u32(result).u8(0).u32(0).nodeId(0).u8(0);
  }
  done(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

export function uacp(type: string, chunk: string, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + body.length);
  for (let i = 0; i < 3; i++) out[i] = type.charCodeAt(i);
  out[3] = chunk.charCodeAt(0);
  new DataView(out.buffer).setUint32(4, out.length, true);
  out.set(body, 8);
  return out;
}

export function hello(url: string, receive = 65536, send = 65536): Uint8Array {
  return uacp('HEL', 'F', new W().u32(0).u32(receive).u32(send).u32(0).u32(0).str(url).done());
}

export function ack(receive = 65536, send = 65536): Uint8Array {
  return uacp('ACK', 'F', new W().u32(0).u32(receive).u32(send).u32(0).u32(0).done());
}

/** OPN chunk with policy `policy` and a clear body (service id + body) or opaque bytes when encrypted. */
export function opn(
  policy: string,
  seq: number,
  requestId: number,
  body: Uint8Array,
  cert: Uint8Array | null = null,
): Uint8Array {
  const w = new W().u32(0).str(policy).bytes_(cert).bytes_(null).u32(seq).u32(requestId).raw(body);
  return uacp('OPN', 'F', w.done());
}

export function msg(seq: number, requestId: number, body: Uint8Array, chunk = 'F', type = 'MSG'): Uint8Array {
  return uacp(type, chunk, new W().u32(1).u32(1).u32(seq).u32(requestId).raw(body).done());
}

export type Recorded =
  | ({ t: 'chunk'; hex: string; body: string } & Omit<
      OpcuaChunk,
      'buf' | 'off' | 'len' | 'bodyBuf' | 'bodyOff' | 'bodyLen'
    >)
  | ({ t: 'tx' } & OpcuaTransaction)
  | ({ t: 'anomaly' } & OpcuaAnomaly);

export function newParser(options: OpcuaParserOptions = {}): { parser: OpcuaParser<null>; events: Recorded[] } {
  const events: Recorded[] = [];
  const parser = new OpcuaParser<null>(
    {
      chunk(_c, ch) {
        const { buf, off, len, bodyBuf, bodyOff, bodyLen, ...rest } = ch;
        events.push({
          t: 'chunk',
          ...rest,
          hex: toHexString(buf, off, off + len),
          body: toHexString(bodyBuf, bodyOff, bodyOff + bodyLen),
        });
      },
      transaction(_c, tx) {
        events.push({ t: 'tx', ...structuredClone(tx) });
      },
      anomaly(_c, a) {
        events.push({ t: 'anomaly', ...a });
      },
    },
    null,
    options,
  );
  return { parser, events };
}

export interface Piece {
  dir: 0 | 1;
  bytes: Uint8Array;
}

/** Feeds pieces, each cut into calls of at most `step` bytes (Infinity = whole), then ends the flow. */
export function feed(pieces: Piece[], step = Number.POSITIVE_INFINITY, options: OpcuaParserOptions = {}): Recorded[] {
  const { parser, events } = newParser(options);
  pieces.forEach((p, i) => {
    for (let o = 0; o < p.bytes.length; o += Math.min(step, p.bytes.length)) {
      parser.data(p.dir, p.bytes, o, Math.min(step, p.bytes.length - o), i, 0);
    }
  });
  parser.end(pieces.length);
  return events;
}

export function only<T extends Recorded['t']>(events: Recorded[], t: T): Extract<Recorded, { t: T }>[] {
  return events.filter((e): e is Extract<Recorded, { t: T }> => e.t === t);
}
