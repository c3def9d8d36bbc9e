/**
 * Test-only helpers: build TPKT/COTP/S7 frames from hex and a recording listener that keeps copies of what the parser
 * reported (the parser reuses its records).
 */
import type { S7Listener } from './parser.ts';
import type { CotpConnect, CotpTpdu, S7Anomaly, S7Pdu, S7PlusFrame, S7Transaction } from './types.ts';

export function hex(s: string): Uint8Array {
  const clean = s.replace(/[^0-9a-fA-F]/g, '');
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(clean.slice(i * 2, i * 2 + 2), 16);
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

/** TPKT + COTP DT (EOT set unless `last` is false) around `payload`. */
export function dt(payload: Uint8Array, last = true): Uint8Array {
  const len = 7 + payload.length;
  return concat(new Uint8Array([3, 0, len >> 8, len & 0xff, 2, 0xf0, last ? 0x80 : 0x00]), payload);
}

/** S7 header + parameter + data. Ack/Ack_Data (rosctr 2/3) carry error class/code. */
export function s7(rosctr: number, ref: number, param: Uint8Array, data: Uint8Array = new Uint8Array(0), err = [0, 0]) {
  const h = [
    0x32,
    rosctr,
    0,
    0,
    ref >> 8,
    ref & 0xff,
    param.length >> 8,
    param.length & 0xff,
    data.length >> 8,
    data.length & 0xff,
  ];
  if (rosctr === 2 || rosctr === 3) h.push(err[0] ?? 0, err[1] ?? 0);
  return concat(new Uint8Array(h), param, data);
}

export interface Recorded {
  tpdus: { dir: number; type: number; eot: boolean; len: number }[];
  connects: { dir: number; type: number; srcTsap: string; dstTsap: string; tpduSizeCode: number }[];
  pdus: Omit<S7Pdu, 'buf' | 'udPayloadBuf' | 'off' | 'udPayloadOff'>[];
  /** Bytes of each S7 PDU as hex. */
  pduHex: string[];
  plus: Omit<S7PlusFrame, 'buf' | 'off'>[];
  txs: Omit<S7Transaction, 'reqBuf' | 'respBuf' | 'respOff'>[];
  anomalies: S7Anomaly[];
  frames: [number, number, number][];
}

function toHex(b: Uint8Array, off: number, len: number): string {
  return Buffer.from(b.subarray(off, off + len)).toString('hex');
}

export function recorder(): S7Listener<null> & { rec: Recorded } {
  const rec: Recorded = { tpdus: [], connects: [], pdus: [], pduHex: [], plus: [], txs: [], anomalies: [], frames: [] };
  return {
    rec,
    tpdu(_c, t: CotpTpdu) {
      rec.tpdus.push({ dir: t.dir, type: t.type, eot: t.eot, len: t.len });
    },
    connect(_c, c: CotpConnect) {
      rec.connects.push({
        dir: c.dir,
        type: c.type,
        srcTsap: Buffer.from(c.srcTsap).toString('hex'),
        dstTsap: Buffer.from(c.dstTsap).toString('hex'),
        tpduSizeCode: c.tpduSizeCode,
      });
    },
    pdu(_c, p: S7Pdu) {
      // Offsets depend on whether the PDU was framed in place or from a carry buffer: compare content, not place.
      const { buf: _b, udPayloadBuf: _u, off: _o, udPayloadOff: _uo, ...rest } = p;
      rec.pdus.push({ ...rest });
      rec.pduHex.push(toHex(p.buf, p.off, p.len));
    },
    plus(_c, f: S7PlusFrame) {
      const { buf: _b, off: _o, ...rest } = f;
      rec.plus.push({ ...rest });
    },
    transaction(_c, tx: S7Transaction) {
      const { reqBuf: _r, respBuf: _s, respOff: _o, ...rest } = tx;
      rec.txs.push({ ...rest });
    },
    anomaly(_c, a: S7Anomaly) {
      rec.anomalies.push({ ...a });
    },
    frame(_c, t, s, p) {
      rec.frames.push([t, s, p]);
    },
  };
}
