/**
 * Test helpers for the Modbus parser (imported by the *.test.ts files only): ADU builders and a listener that records
 * every callback as a plain copy, so sequences can be compared across different ways of feeding the same stream.
 */
import { toHex } from './decode.ts';
import { type ModbusListener, ModbusParser } from './parser.ts';
import type { ModbusAnomaly, ModbusParserOptions, ModbusPdu, ModbusTransaction } from './types.ts';

/** Bytes from a hex string; spaces and newlines are ignored. */
export function hex(s: string): Uint8Array {
  const clean = s.replace(/\s+/g, '');
  const out = new Uint8Array(clean.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** One ADU: MBAP (tid, protocol 0, length = 1 + pdu length, unit) + PDU. */
export function adu(tid: number, unit: number, pdu: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(7 + pdu.length);
  out[0] = tid >> 8;
  out[1] = tid & 0xff;
  out[4] = (pdu.length + 1) >> 8;
  out[5] = (pdu.length + 1) & 0xff;
  out[6] = unit;
  out.set(pdu, 7);
  return out;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export type Recorded =
  | ({ t: 'pdu'; hex: string } & Omit<ModbusPdu, 'buf' | 'off' | 'len'>)
  | ({ t: 'tx'; reqHex: string; respHex: string } & Omit<
      ModbusTransaction,
      'reqBuf' | 'reqOff' | 'reqLen' | 'respBuf' | 'respOff' | 'respLen'
    >)
  | ({ t: 'anomaly' } & ModbusAnomaly);

export interface Recorder {
  events: Recorded[];
  listener: ModbusListener<null>;
}

export function recorder(): Recorder {
  const events: Recorded[] = [];
  const listener: ModbusListener<null> = {
    pdu(_ctx, p) {
      const { buf, off, len, ...rest } = p;
      events.push({ t: 'pdu', ...rest, hex: toHex(buf, off, off + len) });
    },
    transaction(_ctx, tx) {
      const { reqBuf, reqOff, reqLen, respBuf, respOff, respLen, ...rest } = tx;
      events.push({
        t: 'tx',
        ...rest,
        reqHex: toHex(reqBuf, reqOff, reqOff + reqLen),
        respHex: toHex(respBuf, respOff, respOff + respLen),
      });
    },
    anomaly(_ctx, a) {
      events.push({ t: 'anomaly', ...a });
    },
  };
  return { events, listener };
}

export function newParser(options: ModbusParserOptions = {}): { parser: ModbusParser<null>; events: Recorded[] } {
  const r = recorder();
  return { parser: new ModbusParser(r.listener, null, options), events: r.events };
}

export interface Chunk {
  dir: 0 | 1;
  bytes: Uint8Array;
}

/** Feed chunks whole, each with its own timestamp (index), then end the flow. */
export function feedWhole(chunks: Chunk[], options: ModbusParserOptions = {}): Recorded[] {
  const { parser, events } = newParser(options);
  chunks.forEach((c, i) => {
    parser.data(c.dir, c.bytes, 0, c.bytes.length, i, 0);
  });
  parser.end(chunks.length);
  return events;
}

/** Feed chunks one byte per call (same timestamps as feedWhole), then end the flow. */
export function feedBytewise(chunks: Chunk[], options: ModbusParserOptions = {}): Recorded[] {
  const { parser, events } = newParser(options);
  chunks.forEach((c, i) => {
    for (let j = 0; j < c.bytes.length; j++) parser.data(c.dir, c.bytes, j, 1, i, 0);
  });
  parser.end(chunks.length);
  return events;
}

/** The events of one kind, narrowed. */
export function only<T extends Recorded['t']>(events: Recorded[], t: T): Extract<Recorded, { t: T }>[] {
  return events.filter((e): e is Extract<Recorded, { t: T }> => e.t === t);
}
