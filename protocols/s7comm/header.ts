/**
 * Allocation-free readers for the fixed parts of TPKT, COTP, S7comm and S7comm-plus headers. They fill reused
 * records and never throw: every read is bounds-checked against the PDU length, and a field the PDU is too short
 * for stays -1.
 *
 * S7comm header (10 bytes; 12 for Ack / Ack_Data):
 *   0 protocol id 0x32 | 1 ROSCTR | 2-3 redundancy id | 4-5 PDU reference | 6-7 parameter length | 8-9 data length
 *   [10 error class | 11 error code]
 * Userdata parameter (after the header): 00 01 12 | length (4 or 8) | method (0x11 req / 0x12 resp) |
 *   type<<4 | group | subfunction | sequence [| data unit ref | last data unit | error code (2)]
 * Userdata data: return code | transport size | length (2) | payload (SZL request: id (2), index (2)).
 */
import {
  COTP_CC,
  COTP_CR,
  COTP_DT,
  isCotpType,
  ROSCTR_ACK,
  ROSCTR_ACK_DATA,
  ROSCTR_JOB,
  ROSCTR_USERDATA,
  s7HeaderLength,
  TPKT_MIN_LEN,
  TPKT_VERSION,
  UD_GROUP_CPU,
  UD_SUB_READ_SZL,
} from './constants.ts';
import type { S7Pdu, S7PlusFrame } from './types.ts';

export function readU16(b: Uint8Array, i: number): number {
  return ((b[i] ?? 0) << 8) | (b[i + 1] ?? 0);
}

export function readU32(b: Uint8Array, i: number): number {
  return (((b[i] ?? 0) << 24) | ((b[i + 1] ?? 0) << 16) | ((b[i + 2] ?? 0) << 8) | (b[i + 3] ?? 0)) >>> 0;
}

/**
 * Is there a plausible TPKT + COTP header at `b[i]` (at least 6 bytes readable)? Version 3, reserved 0, length
 * ≥ 7, COTP length indicator that fits the TPKT, and a known TPDU type. Returns the TPKT length or 0.
 */
export function plausibleTpkt(b: Uint8Array, i: number): number {
  if (b[i] !== TPKT_VERSION || b[i + 1] !== 0) return 0;
  const len = readU16(b, i + 2);
  if (len < TPKT_MIN_LEN) return 0;
  const li = b[i + 4] ?? 0;
  if (li < 1 || li + 5 > len) return 0;
  const type = (b[i + 5] ?? 0) & 0xf0;
  if (!isCotpType(type)) return 0;
  // DT's header is exactly 2 bytes after the LI in class 0 (type, EOT|number); CR/CC carry ≥ 6.
  if (type === COTP_DT && li !== 2) return 0;
  if ((type === COTP_CR || type === COTP_CC) && li < 6) return 0;
  return len;
}

/** Clears `p` to "nothing known" before a fill. */
function resetPdu(p: S7Pdu): void {
  p.rosctr = -1;
  p.pduRef = -1;
  p.paramLen = 0;
  p.dataLen = 0;
  p.errorClass = -1;
  p.errorCode = -1;
  p.func = -1;
  p.itemCount = -1;
  p.udType = -1;
  p.udGroup = -1;
  p.udSub = -1;
  p.udSeq = -1;
  p.udLastUnit = -1;
  p.udError = -1;
  p.udReturnCode = -1;
  p.szlId = -1;
  p.szlIndex = -1;
  p.udPayloadBuf = EMPTY;
  p.udPayloadOff = 0;
  p.udPayloadLen = -1;
  p.udFragment = false;
  p.complete = false;
}

const EMPTY = new Uint8Array(0);

/**
 * Fills the cheap header fields of the S7comm PDU at `b[off .. off+len)` (first byte 0x32). Returns false when not
 * even the header fits (the caller reports `s7comm.invalid_header`); `p.complete` tells whether parameter and data
 * fit the PDU.
 */
export function readS7Header(b: Uint8Array, off: number, len: number, p: S7Pdu): boolean {
  resetPdu(p);
  if (len < 10) return false;
  const rosctr = b[off + 1] ?? 0;
  const hlen = s7HeaderLength(rosctr);
  if (len < hlen) return false;
  p.rosctr = rosctr;
  p.pduRef = readU16(b, off + 4);
  p.paramLen = readU16(b, off + 6);
  p.dataLen = readU16(b, off + 8);
  if (rosctr === ROSCTR_ACK || rosctr === ROSCTR_ACK_DATA) {
    p.errorClass = b[off + 10] ?? 0;
    p.errorCode = b[off + 11] ?? 0;
  }
  p.complete = hlen + p.paramLen + p.dataLen <= len;
  const par = off + hlen;
  const parEnd = Math.min(par + p.paramLen, off + len);
  if (rosctr === ROSCTR_JOB || rosctr === ROSCTR_ACK_DATA) {
    if (par < parEnd) p.func = b[par] ?? 0;
    if (par + 1 < parEnd) p.itemCount = b[par + 1] ?? 0;
  } else if (rosctr === ROSCTR_USERDATA) {
    if (par + 8 <= parEnd) {
      const tg = b[par + 5] ?? 0;
      p.udType = tg >> 4;
      p.udGroup = tg & 0x0f;
      p.udSub = b[par + 6] ?? 0;
      p.udSeq = b[par + 7] ?? 0;
      if ((b[par + 3] ?? 0) >= 8 && par + 12 <= parEnd) {
        p.udLastUnit = b[par + 9] ?? 0;
        p.udError = readU16(b, par + 10);
      }
      const dat = parEnd;
      const datEnd = Math.min(dat + p.dataLen, off + len);
      if (dat + 4 <= datEnd) {
        p.udReturnCode = b[dat] ?? 0;
        p.udPayloadBuf = b;
        p.udPayloadOff = dat + 4;
        p.udPayloadLen = Math.max(0, Math.min(readU16(b, dat + 2), datEnd - dat - 4));
        // SZL id and index sit at the start of the payload of a request and of the first (or only) response part;
        // follow-on parts (sequence continued, no SZL header) are recognised by tshark only via reassembly, which we
        // mirror by reading the id only when the payload is long enough to hold it and the return code is success.
        if (p.udGroup === UD_GROUP_CPU && p.udSub === UD_SUB_READ_SZL && p.udReturnCode === 0xff && dat + 8 <= datEnd) {
          p.szlId = readU16(b, dat + 4);
          p.szlIndex = readU16(b, dat + 6);
        }
      }
    }
  }
  return true;
}

/** Blank S7Pdu record (one per parser). */
export function newS7Pdu(): S7Pdu {
  const p: S7Pdu = {
    dir: 0,
    rosctr: -1,
    pduRef: -1,
    paramLen: 0,
    dataLen: 0,
    errorClass: -1,
    errorCode: -1,
    func: -1,
    itemCount: -1,
    udType: -1,
    udGroup: -1,
    udSub: -1,
    udSeq: -1,
    udLastUnit: -1,
    udError: -1,
    udReturnCode: -1,
    szlId: -1,
    szlIndex: -1,
    udPayloadBuf: EMPTY,
    udPayloadOff: 0,
    udPayloadLen: -1,
    udFragment: false,
    complete: false,
    buf: new Uint8Array(0),
    off: 0,
    len: 0,
    tsSec: 0,
    tsNsec: 0,
  };
  return p;
}

// --- S7comm-plus ------------------------------------------------------------------------------------------------------

export const S7PLUS_OP_REQUEST = 0x31;
export const S7PLUS_OP_RESPONSE = 0x32;
export const S7PLUS_OP_NOTIFICATION = 0x33;
export const S7PLUS_OP_RESPONSE2 = 0x02;
const S7PLUS_DIGEST_LEN = 0x20;

/**
 * S7comm-plus frame at `b[off .. off+len)` (first byte 0x72): 0x72 | version | data length (2) | data | trailer
 * (0x72 version 00 00). Data of V1/V2: opcode | reserved (2) | function (2) | reserved (2) | sequence (2) |
 * session id (4) | ... ; V3 (and V2 with integrity, seen on S7-1500) first carry an integrity part: digest length 0x20
 * + 32-byte digest. Anything we cannot place (version ≥ 0xfe "system events" or unknown versions, TLS-wrapped
 * payloads, truncated data) is marked `opaque` and never decoded further: recognition must not desynchronise.
 */
export function readS7PlusHeader(b: Uint8Array, off: number, len: number, f: S7PlusFrame): void {
  f.version = len > 1 ? (b[off + 1] ?? 0) : -1;
  f.dataLen = len >= 4 ? readU16(b, off + 2) : -1;
  f.byte4 = len > 4 ? (b[off + 4] ?? 0) : -1;
  f.opcode = -1;
  f.function = -1;
  f.seq = -1;
  f.sessionId = -1;
  f.hasIntegrity = false;
  f.opaque = true;
  if (len < 5) return;
  let p = off + 4;
  const end = off + len;
  const v = f.version;
  if (v !== 1 && v !== 2 && v !== 3) return;
  if (b[p] === S7PLUS_DIGEST_LEN && (v === 3 || !isPlusOpcode(b[p] ?? 0))) {
    f.hasIntegrity = true;
    p += 1 + S7PLUS_DIGEST_LEN;
    if (p >= end) return;
  }
  const op = b[p] ?? 0;
  if (!isPlusOpcode(op)) return;
  f.opcode = op;
  f.opaque = false;
  if (op === S7PLUS_OP_REQUEST || op === S7PLUS_OP_RESPONSE || op === S7PLUS_OP_RESPONSE2) {
    if (p + 9 <= end) {
      f.function = readU16(b, p + 3);
      f.seq = readU16(b, p + 7);
    }
    if (op === S7PLUS_OP_REQUEST && p + 13 <= end) f.sessionId = readU32(b, p + 9);
  } else if (op === S7PLUS_OP_NOTIFICATION && p + 5 <= end) {
    f.sessionId = readU32(b, p + 1);
  }
}

function isPlusOpcode(op: number): boolean {
  return (
    op === S7PLUS_OP_REQUEST || op === S7PLUS_OP_RESPONSE || op === S7PLUS_OP_NOTIFICATION || op === S7PLUS_OP_RESPONSE2
  );
}

export function newS7PlusFrame(): S7PlusFrame {
  return {
    dir: 0,
    version: -1,
    dataLen: -1,
    byte4: -1,
    opcode: -1,
    function: -1,
    seq: -1,
    sessionId: -1,
    hasIntegrity: false,
    opaque: true,
    buf: new Uint8Array(0),
    off: 0,
    len: 0,
    tsSec: 0,
    tsNsec: 0,
  };
}
