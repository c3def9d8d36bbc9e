import type { ByteBudget } from '../core/byte-budget.ts';
import type { TransactionReason } from '../core/transaction.ts';
import type { S7AnomalyKind } from './constants.ts';

export type { S7AnomalyKind } from './constants.ts';

/** 0 = client→server (the side that sent the COTP CR / talks to port 102), 1 = server→client. */
export type S7Dir = 0 | 1;

/**
 * One COTP TPDU as framed from a TPKT (every type: CR, CC, DT fragments, DR, ...). Reused per parser: copy what you
 * keep. `buf[off .. off+len)` is the TPDU (length indicator first); valid only during the callback.
 */
export interface CotpTpdu {
  dir: S7Dir;
  /** Upper nibble of the type byte (0xf0 DT, 0xe0 CR, ...). */
  type: number;
  /** DT only: end of transmission (last fragment). */
  eot: boolean;
  buf: Uint8Array;
  off: number;
  len: number;
  tsSec: number;
  tsNsec: number;
}

/**
 * The cheap header fields of one S7comm PDU (a complete, reassembled COTP DT payload starting 0x32). One instance per
 * parser, refilled for every PDU. Fields a PDU does not carry are -1. `buf[off .. off+len)` is the PDU.
 */
export interface S7Pdu {
  dir: S7Dir;
  rosctr: number;
  pduRef: number;
  paramLen: number;
  dataLen: number;
  /** Ack / Ack_Data only. */
  errorClass: number;
  errorCode: number;
  /** Job / Ack_Data: first parameter byte (function code). */
  func: number;
  /** Job / Ack_Data: item count for Read/Write Var. */
  itemCount: number;
  /** Userdata only: type nibble (0 push, 4 request, 8 response), function group, subfunction, sequence number. */
  udType: number;
  udGroup: number;
  udSub: number;
  udSeq: number;
  /** Userdata: data-unit reference and last-data-unit byte (8-byte parameter head only). */
  udLastUnit: number;
  udError: number;
  /** Userdata: return code of the data part. */
  udReturnCode: number;
  /** Read SZL (request or first response part): SZL id and index. */
  szlId: number;
  szlIndex: number;
  /**
   * Userdata: the complete data payload (after return code, transport size and length). For a response sent in
   * several parts ("last data unit" = more follows) it is the reassembled payload, given with the last part; earlier
   * parts have `udPayloadLen` -1 and `udFragment` true (their SZL id is not counted: it belongs to the whole).
   */
  udPayloadBuf: Uint8Array;
  udPayloadOff: number;
  udPayloadLen: number;
  udFragment: boolean;
  /** True when the header is consistent with the PDU length (param + data fit). */
  complete: boolean;
  buf: Uint8Array;
  off: number;
  len: number;
  tsSec: number;
  tsNsec: number;
}

/** One S7comm-plus frame (COTP DT payload starting 0x72). Reused per parser. */
export interface S7PlusFrame {
  dir: S7Dir;
  version: number;
  /** Header length field (bytes after the 4-byte header, before the trailer). */
  dataLen: number;
  /**
   * Byte at offset 4, which is what the truth files' heuristic calls "opcode": the real opcode for V1/V2 (0x31
   * request, 0x32 response, 0x33 notification), the integrity digest length (0x20) for V3 with integrity part.
   */
  byte4: number;
  /** Decoded opcode (after the integrity part when one is present), -1 if not readable. */
  opcode: number;
  /** Function code (request/response), -1 if not present or not readable. */
  function: number;
  /** Sequence number, -1 if not readable. */
  seq: number;
  /** Session id (request/response header), -1 if not readable. */
  sessionId: number;
  /** V3 (and some V2) frames start their data with an integrity part (digest length 0x20 + 32-byte digest). */
  hasIntegrity: boolean;
  /** Payload could not be decoded (encrypted/TLS-wrapped, or a version we do not know). */
  opaque: boolean;
  buf: Uint8Array;
  off: number;
  len: number;
  tsSec: number;
  tsNsec: number;
}

/** COTP connection parameters from a CR or CC. */
export interface CotpConnect {
  dir: S7Dir;
  type: number;
  srcRef: number;
  dstRef: number;
  /** TSAPs as raw bytes views (valid during the callback); empty when absent. */
  srcTsap: Uint8Array;
  dstTsap: Uint8Array;
  /** TPDU size code (0x0a = 1024, ...) or -1. */
  tpduSizeCode: number;
  tsSec: number;
  tsNsec: number;
}

export type S7TransactionKind = 'paired' | 'unanswered' | 'unsolicited' | 'push';
/** Why the transaction was emitted (protocols/core/transaction.ts), or `push`: a CPU-initiated userdata PDU. */
export type S7TransactionReason = TransactionReason | 'push';

/**
 * One request/response pair (or a lone half). `reqBuf[0..reqLen)` is a copy of the request PDU (capped), and
 * `respBuf[respOff..)` the response PDU, both valid only during the callback.
 */
export interface S7Transaction {
  kind: S7TransactionKind;
  reason: S7TransactionReason;
  pduRef: number;
  /** Request ROSCTR (1 Job or 7 Userdata). */
  rosctr: number;
  func: number;
  udGroup: number;
  udSub: number;
  requestTsSec: number;
  requestTsNsec: number;
  responseTsSec: number;
  responseTsNsec: number;
  rttNs: number;
  errorClass: number;
  errorCode: number;
  reqBuf: Uint8Array;
  reqLen: number;
  respBuf: Uint8Array;
  respOff: number;
  respLen: number;
}

export interface S7Anomaly {
  kind: S7AnomalyKind;
  dir: S7Dir | null;
  tsSec: number;
  tsNsec: number;
  /** Protocol-specific number (a length, a code), -1 when none. */
  value: number;
  pduRef: number;
  detail: string;
}

export interface S7ParserOptions {
  /** Cap on a reassembled COTP DT payload (multi-fragment), bytes. Default 65536; larger PDUs are dropped and counted. */
  maxPduBytes?: number;
  /** Open requests kept for pairing; the oldest is evicted beyond. Default 256. */
  maxOpenRequests?: number;
  /** Seconds after which an open request is reported unanswered. Default 30. */
  requestTimeoutSec?: number;
  /** Bytes of a request kept for the transaction (for detail decoding at pairing time). Default 512. */
  maxRequestCopy?: number;
  /**
   * Budget shared with other flows' parsers for the TPKT, COTP and userdata buffers (core/byte-budget.ts; default:
   * this parser's own, unlimited). A TPKT whose buffer would not fit is skipped; a payload is dropped.
   */
  budget?: ByteBudget;
}

export interface S7ParserStats {
  bytes: number;
  tpkts: number;
  cotpTpdus: number;
  cotpFragments: number;
  cotpReassembled: number;
  /** Reassembled COTP payloads dropped because they exceeded maxPduBytes. */
  oversizePdus: number;
  s7Pdus: number;
  s7PlusFrames: number;
  otherPayloads: number;
  transactions: number;
  paired: number;
  unanswered: number;
  unsolicited: number;
  evicted: number;
  superseded: number;
  openRequests: number;
  maxOpenRequests: number;
  anomalies: number;
  desyncs: number;
  resyncs: number;
  skippedBytes: number;
  gaps: number;
  gapBytes: number;
  /** Frames (data calls) that completed at least one TPKT / S7 PDU / S7comm-plus frame. */
  cotpFrames: number;
  s7Frames: number;
  s7PlusFrameCalls: number;
}
