import type { TransactionReason } from '../core/transaction.ts';
import type { FunctionCategory, ModbusAnomalyKind } from './constants.ts';

export type { FunctionCategory, ModbusAnomalyKind } from './constants.ts';

/** 0 = client→server (requests), 1 = server→client (responses). */
export type ModbusDir = 0 | 1;

/**
 * The cheap header fields of one framed PDU. One instance per parser, refilled for every PDU: copy what you keep.
 * `buf[off .. off+len)` is the PDU (function code byte first); `buf` is only valid during the callback.
 */
export interface ModbusPdu {
  dir: ModbusDir;
  /** MBAP transaction id. */
  tid: number;
  /** MBAP unit id. */
  unit: number;
  /** Raw function code byte as on the wire (exception bit included). */
  fc: number;
  /** Function code with the exception bit masked off. */
  func: number;
  funcName: string;
  category: FunctionCategory;
  isException: boolean;
  /** Exception code when `isException` (and present), else -1. */
  exceptionCode: number;
  /** Exception name when `isException`, else ''. */
  exceptionName: string;
  buf: Uint8Array;
  off: number;
  len: number;
  tsSec: number;
  tsNsec: number;
}

/** One file record sub-request / sub-response of FC 20 / 21 (§6.14, §6.15). */
export interface ModbusFileRecord {
  refType: number;
  fileNumber?: number;
  recordNumber?: number;
  /** Record length in registers. */
  recordLength: number;
  /** Register values (read response, write request/response). */
  values?: number[];
  valuesTruncated?: boolean;
}

/** One device identification object of FC 43 / MEI 14 (§6.21). */
export interface ModbusDeviceObject {
  id: number;
  name: string;
  /** Object value decoded as latin1. */
  value: string;
}

/**
 * The detailed, decoded content of one PDU (allocating: built once per transaction, or on demand with `decodePdu`).
 * Fields are present only when the function code carries them.
 */
export interface ModbusDecoded {
  dir: ModbusDir;
  func: number;
  funcName: string;
  category: FunctionCategory;
  isException: boolean;
  exceptionCode?: number;
  exceptionName?: string;
  /** Why the PDU is internally inconsistent (what was decoded before the fault is kept). */
  malformed?: string;

  address?: number;
  quantity?: number;
  byteCount?: number;
  /** Coils / discrete inputs as 0/1, registers as unsigned 16-bit numbers, capped at `maxValues`. */
  values?: number[];
  valuesTruncated?: boolean;
  /** FC 5 / 6 written value (FC 5: 0xFF00 on, 0x0000 off). */
  value?: number;

  /** FC 7 exception status byte / FC 12 status word. */
  status?: number;
  eventCount?: number;
  messageCount?: number;
  /** FC 12 event bytes. */
  events?: number[];

  /** FC 8 sub-function. */
  subFunction?: number;
  subFunctionName?: string;
  /** FC 8 data / FC 43-13 / vendor payload / server id, as lowercase hex (at most one PDU, so bounded). */
  dataHex?: string;

  /** FC 17 server id bytes (hex) and run indicator (0x00 off, 0xFF on). */
  serverIdHex?: string;
  runIndicator?: number;
  runIndicatorOn?: boolean;

  /** FC 20 / 21 sub-requests. */
  fileRecords?: ModbusFileRecord[];

  /** FC 22 masks. */
  andMask?: number;
  orMask?: number;

  /** FC 23 ranges. */
  readAddress?: number;
  readQuantity?: number;
  writeAddress?: number;
  writeQuantity?: number;

  /** FC 24. */
  fifoPointer?: number;
  fifoCount?: number;

  /** FC 43. */
  meiType?: number;
  meiName?: string;
  readDeviceIdCode?: number;
  readDeviceIdCodeName?: string;
  objectId?: number;
  conformityLevel?: number;
  conformityLevelName?: string;
  moreFollows?: boolean;
  nextObjectId?: number;
  objects?: ModbusDeviceObject[];

  /** FC 90 (Schneider UMAS). */
  umasSessionKey?: number;
  umasFunction?: number;
  umasFunctionName?: string;
}

export type ModbusTransactionKind = 'paired' | 'unanswered' | 'unsolicited';
/** Why the transaction was emitted (protocols/core/transaction.ts). */
export type ModbusTransactionReason = TransactionReason;

/**
 * One transaction. One instance per parser, refilled for every emission: copy what you keep.
 * Request bytes live in a pooled slot and response bytes in the caller's buffer: both only valid during the callback.
 */
export interface ModbusTransaction {
  kind: ModbusTransactionKind;
  reason: ModbusTransactionReason;
  tid: number;
  unit: number;
  /** Function code (exception bit masked) of the request, or of the response when unsolicited. */
  func: number;
  funcName: string;
  category: FunctionCategory;
  isException: boolean;
  exceptionCode: number;
  exceptionName: string;
  /** Request time; -1 when there is no request. */
  requestTsSec: number;
  requestTsNsec: number;
  /** Response time; -1 when there is no response. */
  responseTsSec: number;
  responseTsNsec: number;
  /** Response time minus request time in nanoseconds (may be negative on clock jumps), -1 when not paired. */
  rttNs: number;
  /** Request PDU bytes (`reqLen` 0 when absent). */
  reqBuf: Uint8Array;
  reqOff: number;
  reqLen: number;
  /** Response PDU bytes (`respLen` 0 when absent). */
  respBuf: Uint8Array;
  respOff: number;
  respLen: number;
  /** Decoded details (filled when options.decode is on; else null and `decodePdu` may be called by the listener). */
  request: ModbusDecoded | null;
  response: ModbusDecoded | null;
}

/** One anomaly. One instance per parser, refilled for every emission: copy what you keep. */
export interface ModbusAnomaly {
  kind: ModbusAnomalyKind;
  dir: ModbusDir;
  tsSec: number;
  tsNsec: number;
  /** -1 when unknown. */
  tid: number;
  unit: number;
  func: number;
  /** The offending number (length, protocol id, open count, response func...), -1 when none. */
  value: number;
  /** Short English explanation (a constant string). */
  detail: string;
}

export interface ModbusParserOptions {
  /** Open (unanswered) transactions kept per parser; the oldest is evicted beyond this. Default 256. */
  maxOpenTransactions?: number;
  /** A request older than this (packet time) is expired by `expire()`. Default 15 s (DEFAULT_TRANSACTION_TIMEOUT_SEC). */
  transactionTimeoutSec?: number;
  /** Decode request/response details into each emitted transaction. Default true. */
  decode?: boolean;
  /** Values kept per decoded array (coils, registers, FIFO, file records). Default 128. */
  maxValues?: number;
}

export interface ModbusParserStats {
  /** Bytes passed to `data()`. */
  bytes: number;
  pdus: number;
  requests: number;
  responses: number;
  exceptions: number;
  transactions: number;
  paired: number;
  unanswered: number;
  unsolicited: number;
  /** Requests dropped because the open table was full. */
  evicted: number;
  /** Requests replaced by a newer request with the same unit + transaction id. */
  superseded: number;
  openTx: number;
  /** High-water mark of `openTx`. */
  maxOpenTx: number;
  anomalies: number;
  invalidLength: number;
  invalidProtocolId: number;
  unknownFunction: number;
  malformed: number;
  functionMismatch: number;
  /** Times the framer lost sync (bad header or gap) and times it found a plausible header again. */
  desyncs: number;
  resyncs: number;
  /** Bytes thrown away while looking for a header (including partial ADUs dropped on a gap). */
  skippedBytes: number;
  /** `gap()` calls and bytes announced lost. */
  gaps: number;
  gapBytes: number;
  /** Loop iterations aborted by the no-progress guard (should stay 0: a bug detector). */
  noProgress: number;
}
