/**
 * Modbus/TCP stream parser for one TCP connection: frames ADUs in both directions, pairs requests with responses by
 * (unit id, transaction id), and reports PDUs, transactions and anomalies to a listener.
 *
 * Framing is zero-copy for ADUs that lie whole inside a `data()` call; only a partial ADU at the end of a call is
 * copied into a per-direction carry buffer (≤ 260 bytes, allocated once). Every decision about where an ADU starts
 * depends only on the stream bytes and the parser state, never on how the stream was cut into calls, so feeding a
 * stream byte by byte yields exactly the callbacks of feeding it whole. Bad headers start a resynchronisation scan
 * (one anomaly per episode, skipped bytes counted) instead of giving up. Nothing here throws on any input.
 *
 * The per-PDU path (framing, `pdu()` callback, pairing) allocates nothing in steady state: the PDU, transaction and
 * anomaly records are reused, open requests live in pooled slots with a fixed 253-byte copy of the request PDU, and
 * the slots form an intrusive oldest-first list so eviction and expiry need no iterator, and they are keyed in an
 * open-addressing table (open-table.ts) because Map insert/delete churn produced garbage. Detailed field decoding
 * (which allocates) runs once per emitted transaction, and only when `options.decode` is on.
 */
import { checkPdu } from './check.ts';
import {
  exceptionName,
  FC_INVALID,
  FC_PUBLIC,
  FC_USER_DEFINED,
  FC_VENDOR,
  FUNCTION_CATEGORY_NAMES,
  functionCategory,
  functionName,
  MAX_ADU_LEN,
  MBAP_MAX_LENGTH,
  MBAP_MIN_LENGTH,
  MBAP_PROBE_LEN,
  MBAP_TOLERATED_MAX_LENGTH,
  type ModbusAnomalyKind,
} from './constants.ts';
import { DEFAULT_MAX_VALUES, decodePdu, type ResponseHint } from './decode.ts';
import { isPlausibleHeader, readU16 } from './mbap.ts';
import { OpenTable } from './open-table.ts';
import type {
  ModbusAnomaly,
  ModbusDir,
  ModbusParserOptions,
  ModbusParserStats,
  ModbusPdu,
  ModbusTransaction,
  ModbusTransactionKind,
  ModbusTransactionReason,
} from './types.ts';

export interface ModbusListener<C> {
  /** Every PDU, as soon as it is framed. `pdu` is reused: copy what you keep. */
  pdu(ctx: C, pdu: ModbusPdu): void;
  /**
   * One per transaction: request+response paired, request unanswered (timeout / flow end / evicted), or an
   * unsolicited response. `tx` may be reused/pooled after the call returns.
   */
  transaction(ctx: C, tx: ModbusTransaction): void;
  anomaly(ctx: C, anomaly: ModbusAnomaly): void;
}

export const DEFAULT_MAX_OPEN_TRANSACTIONS = 256;
export const DEFAULT_TRANSACTION_TIMEOUT_SEC = 15;
/** Largest PDU a request slot must hold. */
const MAX_PDU_LEN = MBAP_TOLERATED_MAX_LENGTH - 1;
const DETAIL_OVERLONG = 'MBAP length over the 254 the specification allows; decoded anyway';
const INVALID_REQUEST_NAME = 'Invalid (exception bit in request)';

const DETAIL_PROTOCOL_ID = 'MBAP protocol id is not 0; resynchronising';
const DETAIL_LENGTH = 'MBAP length outside 2..256; resynchronising';
const DETAIL_UNKNOWN_FUNCTION = 'function code is reserved, unassigned or invalid';
const DETAIL_UNSOLICITED = 'response without an open request for this unit and transaction id';
const DETAIL_TIMEOUT = 'request not answered within the transaction timeout';
const DETAIL_FLOW_END = 'request not answered before the connection ended';
const DETAIL_SUPERSEDED = 'request superseded by a new request with the same unit and transaction id';
const DETAIL_TOO_MANY = 'open transaction table full; evicting the oldest requests';
const DETAIL_MISMATCH = 'response function code differs from the request';

const EMPTY = new Uint8Array(0);
/** Open requests up to which pairing walks the open list instead of keeping the hash table (see `open`). */
const LIST_LOOKUP_MAX = 8;

/** Per-direction framing state. */
class DirState {
  /**
   * Partial ADU (or the first < 8 bytes of one) left over from the previous call. Allocated on first use: TCP
   * segments of Modbus traffic almost always hold whole ADUs, and a typed array of this size costs an off-heap
   * allocation per connection otherwise.
   */
  carry: Uint8Array = EMPTY;
  carryLen = 0;
  /** Full ADU length once the carried header was accepted, else 0. */
  need = 0;
  /** True while scanning for a plausible header (after a bad header or a gap). */
  syncing = false;
  /** Bytes still to drop: the unseen rest of an ADU cut by a gap. */
  skip = 0;
  /**
   * The next header position is known to be an ADU boundary (a gap that started between ADUs, or the end of a cut
   * ADU we skipped): its header gets the ordinary in-sync check rather than the strict scan, so an ADU with an
   * unusual function code right after lost segments is not thrown away.
   */
  boundary = false;

  reset(): void {
    this.carryLen = 0;
    this.need = 0;
    this.skip = 0;
    this.syncing = false;
    this.boundary = false;
  }
}

/** Slot buffers carved from one shared allocation at a time (see slotBuffer). */
const SLOTS_PER_SLAB = 64;
let slab: Uint8Array = EMPTY;
let slabUsed = 0;

/**
 * A request slot's PDU buffer: a view into a shared slab rather than an array of its own. Each connection needs at
 * least one slot, and a typed array of this size is an off-heap allocation that cost more than the connection's
 * first packets; a view into a slab is an ordinary small object. A slab lives while any of its views does.
 */
function slotBuffer(): Uint8Array {
  if (slabUsed + MAX_PDU_LEN > slab.length) {
    slab = new Uint8Array(MAX_PDU_LEN * SLOTS_PER_SLAB);
    slabUsed = 0;
  }
  const view = slab.subarray(slabUsed, slabUsed + MAX_PDU_LEN);
  slabUsed += MAX_PDU_LEN;
  return view;
}

/** One open request, pooled. */
class Slot {
  key = 0;
  tid = 0;
  unit = 0;
  fc = 0;
  tsSec = 0;
  tsNsec = 0;
  len = 0;
  readonly pdu = slotBuffer();
  prev: Slot | null = null;
  next: Slot | null = null;
}

function newStats(): ModbusParserStats {
  return {
    bytes: 0,
    pdus: 0,
    requests: 0,
    responses: 0,
    exceptions: 0,
    transactions: 0,
    paired: 0,
    unanswered: 0,
    unsolicited: 0,
    evicted: 0,
    superseded: 0,
    openTx: 0,
    maxOpenTx: 0,
    anomalies: 0,
    invalidLength: 0,
    invalidProtocolId: 0,
    unknownFunction: 0,
    malformed: 0,
    functionMismatch: 0,
    desyncs: 0,
    resyncs: 0,
    skippedBytes: 0,
    gaps: 0,
    gapBytes: 0,
    noProgress: 0,
  };
}

export class ModbusParser<C> {
  readonly stats: ModbusParserStats = newStats();
  private readonly maxOpen: number;
  private readonly timeoutSec: number;
  private readonly decode: boolean;
  private readonly maxValues: number;

  private readonly dirs: readonly [DirState, DirState] = [new DirState(), new DirState()];
  /**
   * Open requests by key, used only while more than LIST_LOOKUP_MAX are open: a connection usually has one or two
   * requests outstanding, and walking that short list from its oldest end (the likeliest to be answered) costs less
   * than the table's hashed insert and backward-shift delete on every transaction.
   */
  private open: OpenTable<Slot> | null = null;
  /** `open` is created on first need (most connections never have that many requests outstanding). */
  private indexed = false;
  private openCount = 0;
  /** Oldest-first list of open slots, and the free list (linked through `next`). */
  private head: Slot | null = null;
  private tail: Slot | null = null;
  private free: Slot | null = null;
  /** Set on the first eviction of a burst; cleared when the table drains below half the cap. */
  private overflowing = false;
  /**
   * The connection's start is in the capture (the owner sets it from the TCP handshake; reset by reuse()). Until then
   * or until the first request, a response without a request answers one sent before the capture began.
   */
  connectionStartSeen = false;

  private readonly pduRec: ModbusPdu = {
    dir: 0,
    tid: 0,
    unit: 0,
    fc: 0,
    func: 0,
    funcName: '',
    category: 'invalid',
    isException: false,
    exceptionCode: -1,
    exceptionName: '',
    buf: EMPTY,
    off: 0,
    len: 0,
    tsSec: 0,
    tsNsec: 0,
  };
  private readonly txRec: ModbusTransaction = {
    kind: 'paired',
    reason: 'response',
    tid: 0,
    unit: 0,
    func: 0,
    funcName: '',
    category: 'invalid',
    isException: false,
    exceptionCode: -1,
    exceptionName: '',
    requestTsSec: -1,
    requestTsNsec: -1,
    responseTsSec: -1,
    responseTsNsec: -1,
    rttNs: -1,
    reqBuf: EMPTY,
    reqOff: 0,
    reqLen: 0,
    respBuf: EMPTY,
    respOff: 0,
    respLen: 0,
    request: null,
    response: null,
  };
  private readonly anomalyRec: ModbusAnomaly = {
    kind: 'invalid_length',
    dir: 0,
    tsSec: 0,
    tsNsec: 0,
    tid: -1,
    unit: -1,
    func: -1,
    value: -1,
    detail: '',
  };
  private readonly hint: ResponseHint = { quantity: -1 };
  /** Direction and code (dir * 256 + fc) whose names pduRec holds, and the code whose names txRec holds. */
  private pduNameKey = -1;
  private txNameFc = -1;
  /** Time of the call being processed (anomalies are stamped with it). */
  private tsSec = 0;
  private tsNsec = 0;

  constructor(
    private readonly listener: ModbusListener<C>,
    private readonly ctx: C,
    options: ModbusParserOptions = {},
  ) {
    this.maxOpen = Math.max(1, Math.floor(options.maxOpenTransactions ?? DEFAULT_MAX_OPEN_TRANSACTIONS));
    this.timeoutSec = options.transactionTimeoutSec ?? DEFAULT_TRANSACTION_TIMEOUT_SEC;
    this.decode = options.decode ?? true;
    this.maxValues = Math.max(0, Math.floor(options.maxValues ?? DEFAULT_MAX_VALUES));
  }

  /** Bytes currently held in the carry buffer of `dir` (for tests and health metrics). */
  carried(dir: ModbusDir): number {
    return this.dirs[dir].carryLen;
  }

  /** dir 0 = client→server (requests), 1 = server→client (responses). Bytes are a view, valid only during the call. */
  data(dir: ModbusDir, buf: Uint8Array, off: number, len: number, tsSec: number, tsNsec: number): void {
    const start = Math.max(off, 0);
    const end = Math.min(start + Math.max(len, 0), buf.length);
    if (end <= start) return;
    this.stats.bytes += end - start;
    this.tsSec = tsSec;
    this.tsNsec = tsNsec;
    const st = this.dirs[dir];
    let p = start;
    // No-progress guard: each iteration consumes input or drops a carried byte, so this bound is never reached
    // unless a bug sneaks in; if it is, drop the state rather than spin.
    let budget = 2 * (end - start) + 2 * MAX_ADU_LEN + 8;
    while (p < end) {
      if (--budget < 0) {
        this.stats.noProgress++;
        st.reset();
        st.syncing = true;
        return;
      }
      if (st.skip > 0) {
        const n = Math.min(st.skip, end - p);
        st.skip -= n;
        p += n;
        this.stats.skippedBytes += n;
        continue;
      }
      if (st.carryLen === 0) {
        const avail = end - p;
        if (avail < MBAP_PROBE_LEN) {
          this.append(st, buf, p, avail);
          return;
        }
        const aduLen = this.acceptHeader(st, dir, buf, p);
        if (aduLen === 0) {
          p++;
          this.stats.skippedBytes++;
          continue;
        }
        if (avail < aduLen) {
          this.append(st, buf, p, avail);
          st.need = aduLen;
          return;
        }
        this.frame(dir, buf, p, aduLen);
        p += aduLen;
        continue;
      }
      // A partial ADU is carried: complete its header first, then its body.
      if (st.need === 0) {
        const n = Math.min(MBAP_PROBE_LEN - st.carryLen, end - p);
        this.append(st, buf, p, n);
        p += n;
        if (st.carryLen < MBAP_PROBE_LEN) return;
        const aduLen = this.acceptHeader(st, dir, st.carry, 0);
        if (aduLen === 0) {
          st.carry.copyWithin(0, 1, st.carryLen);
          st.carryLen--;
          this.stats.skippedBytes++;
          continue;
        }
        st.need = aduLen;
      }
      const n = Math.min(st.need - st.carryLen, end - p);
      this.append(st, buf, p, n);
      p += n;
      if (st.carryLen < st.need) return;
      const aduLen = st.need;
      st.carryLen = 0;
      st.need = 0;
      this.frame(dir, st.carry, 0, aduLen);
    }
  }

  /** `bytes` were lost in direction `dir` (TCP gap): drop any partial ADU and resynchronise on the next header. */
  gap(dir: ModbusDir, bytes: number): void {
    const st = this.dirs[dir];
    this.stats.gaps++;
    if (bytes > 0) this.stats.gapBytes += bytes;
    let skip = 0;
    let boundary = false;
    if (st.skip > 0) {
      skip = bytes > 0 && bytes < st.skip ? st.skip - bytes : 0;
      boundary = bytes > 0 && bytes <= st.skip;
    } else if (st.need > 0 && bytes > 0) {
      // We know where the cut ADU ends: jump there instead of scanning its remains for a look-alike header.
      const remaining = st.need - st.carryLen;
      skip = bytes < remaining ? remaining - bytes : 0;
      boundary = skip > 0;
    } else if (st.carryLen === 0 && !st.syncing && bytes > 0) {
      // The gap began between two ADUs; TCP segments of Modbus traffic almost always hold whole ADUs, so the data
      // after the gap most likely starts with a header.
      boundary = true;
    }
    this.stats.skippedBytes += st.carryLen;
    if (!st.syncing) this.stats.desyncs++;
    st.carryLen = 0;
    st.need = 0;
    st.skip = skip;
    st.syncing = true;
    st.boundary = boundary;
  }

  /** Expire requests older than options.transactionTimeoutSec (packet time). Called periodically by the pipeline. */
  expire(tsSec: number): void {
    this.tsSec = tsSec;
    this.tsNsec = 0;
    // Slots are in arrival order, which is packet-time order within a flow: stop at the first young one.
    let s = this.head;
    while (s !== null && tsSec - s.tsSec > this.timeoutSec) {
      const next = s.next;
      this.unanswered(s, 'timeout', DETAIL_TIMEOUT, true);
      s = next;
    }
  }

  /** Packet time (s) of the oldest open request, or +Infinity when none is open (lets callers skip `expire`). */
  oldestOpenSec(): number {
    return this.head === null ? Number.POSITIVE_INFINITY : this.head.tsSec;
  }

  /**
   * The flow ended: every open request becomes 'unanswered', as `flow_end`; or, when `captureEnded` (the input
   * ended, not the connection), as `capture_end` without an anomaly unless already past the timeout
   * (protocols/core/transaction.ts).
   */
  end(tsSec: number, captureEnded = false): void {
    this.tsSec = tsSec;
    this.tsNsec = 0;
    for (let s = this.head; s !== null; s = this.head) {
      if (!captureEnded) this.unanswered(s, 'flow_end', DETAIL_FLOW_END, true);
      else if (tsSec - s.tsSec > this.timeoutSec) this.unanswered(s, 'timeout', DETAIL_TIMEOUT, true);
      else this.unanswered(s, 'capture_end', '', false);
    }
    // Indexed, not for-of: once per connection, often before this is optimised, where for-of allocates.
    for (let d = 0; d < 2; d++) {
      const st = this.dirs[d] as DirState;
      this.stats.skippedBytes += st.carryLen;
      st.reset();
    }
  }

  /**
   * Makes an ended parser ready for another connection of the same owner: counters back to zero, framing state
   * cleared, while the records, slot pool, carry buffers and open table are kept (allocating them again for every
   * connection cost more than a short connection's packets). Call only after `end()`.
   */
  reuse(): void {
    while (this.head !== null) this.releaseSlot(this.head);
    this.dirs[0].reset();
    this.dirs[1].reset();
    // One copy from a fresh literal of the same shape (V8 copies it field by field) rather than a loop of keyed
    // stores, whose 25 different keys made every store a slow generic lookup.
    Object.assign(this.stats, newStats());
    this.overflowing = false;
    this.connectionStartSeen = false;
    this.tsSec = 0;
    this.tsNsec = 0;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Framing

  private append(st: DirState, buf: Uint8Array, p: number, n: number): void {
    // Byte loop rather than set(subarray): no view object per call; n ≤ 260.
    let carry = st.carry;
    if (carry.length === 0) {
      carry = new Uint8Array(MAX_ADU_LEN);
      st.carry = carry;
    }
    let c = st.carryLen;
    for (let i = 0; i < n; i++) carry[c++] = buf[p + i] ?? 0;
    st.carryLen = c;
  }

  /** Judge the 8 header bytes at `b[i]`: the ADU length to frame, or 0 to skip one byte. */
  private acceptHeader(st: DirState, dir: ModbusDir, b: Uint8Array, i: number): number {
    if (st.syncing) {
      const atBoundary = st.boundary;
      st.boundary = false;
      if (atBoundary && b[i + 2] === 0 && b[i + 3] === 0) {
        const length = readU16(b, i + 4);
        if (length >= MBAP_MIN_LENGTH && length <= MBAP_MAX_LENGTH) {
          st.syncing = false;
          this.stats.resyncs++;
          return 6 + length;
        }
      }
      if (!isPlausibleHeader(b, i, dir)) return 0;
      st.syncing = false;
      this.stats.resyncs++;
      return 6 + readU16(b, i + 4);
    }
    const protocolId = readU16(b, i + 2);
    if (protocolId !== 0) {
      this.desync(st, 'invalid_protocol_id', dir, b, i, protocolId, DETAIL_PROTOCOL_ID);
      return 0;
    }
    const length = readU16(b, i + 4);
    if (length < MBAP_MIN_LENGTH || length > MBAP_TOLERATED_MAX_LENGTH) {
      this.desync(st, 'invalid_length', dir, b, i, length, DETAIL_LENGTH);
      return 0;
    }
    // Slightly over the specification's 254 but sent by real devices: decode it, and say it is out of spec.
    if (length > MBAP_MAX_LENGTH)
      this.emitAnomaly('invalid_length', dir, readU16(b, i), b[i + 6] ?? 0, -1, length, DETAIL_OVERLONG);
    return 6 + length;
  }

  private desync(
    st: DirState,
    kind: ModbusAnomalyKind,
    dir: ModbusDir,
    b: Uint8Array,
    i: number,
    value: number,
    detail: string,
  ): void {
    st.syncing = true;
    this.stats.desyncs++;
    this.emitAnomaly(kind, dir, readU16(b, i), b[i + 6] ?? 0, -1, value, detail);
  }

  /** One complete ADU at `b[i, i+aduLen)`. */
  private frame(dir: ModbusDir, b: Uint8Array, i: number, aduLen: number): void {
    const stats = this.stats;
    const pdu = this.pduRec;
    const fc = b[i + 7] ?? 0;
    const isException = dir === 1 && (fc & 0x80) !== 0;
    const func = dir === 1 ? fc & 0x7f : fc;
    const cat = dir === 0 && fc >= 0x80 ? FC_INVALID : functionCategory(func);
    pdu.dir = dir;
    pdu.tid = readU16(b, i);
    pdu.unit = b[i + 6] ?? 0;
    pdu.fc = fc;
    pdu.func = func;
    // The names depend only on direction and code, which mostly repeat from one PDU to the next: refill on change.
    const nameKey = dir * 256 + fc;
    if (nameKey !== this.pduNameKey) {
      this.pduNameKey = nameKey;
      pdu.funcName = cat === FC_INVALID && fc !== 0 ? INVALID_REQUEST_NAME : functionName(func);
      pdu.category = FUNCTION_CATEGORY_NAMES[cat] ?? 'unknown';
    }
    pdu.isException = isException;
    pdu.exceptionCode = isException && aduLen > 8 ? (b[i + 8] ?? 0) : -1;
    pdu.exceptionName = isException ? exceptionName(pdu.exceptionCode) : '';
    pdu.buf = b;
    pdu.off = i + 7;
    pdu.len = aduLen - 7;
    pdu.tsSec = this.tsSec;
    pdu.tsNsec = this.tsNsec;
    stats.pdus++;
    if (dir === 0) stats.requests++;
    else stats.responses++;
    if (isException) stats.exceptions++;
    this.listener.pdu(this.ctx, pdu);

    if (cat !== FC_PUBLIC && cat !== FC_USER_DEFINED && cat !== FC_VENDOR) {
      stats.unknownFunction++;
      this.emitAnomaly('unknown_function', dir, pdu.tid, pdu.unit, func, fc, DETAIL_UNKNOWN_FUNCTION);
    }
    const malformed = checkPdu(dir, b, pdu.off, pdu.len);
    if (malformed !== null) {
      stats.malformed++;
      this.emitAnomaly('malformed_pdu', dir, pdu.tid, pdu.unit, func, pdu.len, malformed);
    }
    if (dir === 0) this.onRequest(pdu);
    else this.onResponse(pdu);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Pairing

  private onRequest(pdu: ModbusPdu): void {
    const key = pdu.unit * 65536 + pdu.tid;
    const prior = this.findOpen(key);
    if (prior !== null) {
      this.stats.superseded++;
      this.unanswered(prior, 'superseded', DETAIL_SUPERSEDED, true);
    }
    if (this.openCount >= this.maxOpen && this.head !== null) {
      if (!this.overflowing) {
        this.overflowing = true;
        this.emitAnomaly('too_many_open_transactions', 0, pdu.tid, pdu.unit, pdu.func, this.maxOpen, DETAIL_TOO_MANY);
      }
      this.stats.evicted++;
      this.unanswered(this.head, 'evicted', '', false);
    }
    const s = this.allocSlot();
    s.key = key;
    s.tid = pdu.tid;
    s.unit = pdu.unit;
    s.fc = pdu.fc;
    s.tsSec = pdu.tsSec;
    s.tsNsec = pdu.tsNsec;
    const n = Math.min(pdu.len, MAX_PDU_LEN);
    const src = pdu.buf;
    const dst = s.pdu;
    for (let i = 0; i < n; i++) dst[i] = src[pdu.off + i] ?? 0;
    s.len = n;
    s.prev = this.tail;
    s.next = null;
    if (this.tail !== null) this.tail.next = s;
    else this.head = s;
    this.tail = s;
    const size = ++this.openCount;
    if (this.indexed) this.table().set(key, s);
    else if (size > LIST_LOOKUP_MAX) {
      this.indexed = true;
      const table = this.table();
      for (let o: Slot | null = this.head; o !== null; o = o.next) table.set(o.key, o);
    }
    this.stats.openTx = size;
    if (size > this.stats.maxOpenTx) this.stats.maxOpenTx = size;
  }

  private onResponse(pdu: ModbusPdu): void {
    const s = this.findOpen(pdu.unit * 65536 + pdu.tid);
    const tx = this.txRec;
    if (s === null) {
      this.stats.unsolicited++;
      // Picked up mid-stream (no handshake) and before the first request, a response answers a request sent before
      // the capture began (a sensor start or restart on a polling connection): not an anomaly.
      if (this.connectionStartSeen || this.stats.requests > 0)
        this.emitAnomaly('unsolicited_response', 1, pdu.tid, pdu.unit, pdu.func, -1, DETAIL_UNSOLICITED);
      this.fillTx('unsolicited', 'unsolicited', pdu.tid, pdu.unit, pdu.func);
      this.setResponse(tx, pdu);
      tx.response = this.decode ? decodePdu(1, pdu.buf, pdu.off, pdu.len, this.maxValues, null) : null;
      this.emitTx();
      return;
    }
    if (s.fc !== pdu.func) {
      this.stats.functionMismatch++;
      this.emitAnomaly('function_mismatch', 1, pdu.tid, pdu.unit, s.fc, pdu.fc, DETAIL_MISMATCH);
    }
    this.stats.paired++;
    this.fillTx('paired', 'response', s.tid, s.unit, s.fc);
    this.setRequest(tx, s);
    this.setResponse(tx, pdu);
    tx.rttNs = (pdu.tsSec - s.tsSec) * 1e9 + (pdu.tsNsec - s.tsNsec);
    if (this.decode) {
      this.hint.quantity = (s.fc === 1 || s.fc === 2) && s.len >= 5 ? readU16(s.pdu, 3) : -1;
      tx.response = decodePdu(1, pdu.buf, pdu.off, pdu.len, this.maxValues, this.hint);
    }
    this.emitTx();
    this.releaseSlot(s);
  }

  /** Emit `s` as an unanswered transaction and free it (with a `request_unanswered` anomaly when `withAnomaly`). */
  private unanswered(s: Slot, reason: ModbusTransactionReason, detail: string, withAnomaly: boolean): void {
    this.stats.unanswered++;
    if (withAnomaly) this.emitAnomaly('request_unanswered', 0, s.tid, s.unit, s.fc, -1, detail);
    this.fillTx('unanswered', reason, s.tid, s.unit, s.fc);
    this.setRequest(this.txRec, s);
    this.emitTx();
    this.releaseSlot(s);
  }

  private fillTx(kind: ModbusTransactionKind, reason: ModbusTransactionReason, tid: number, unit: number, fc: number) {
    const tx = this.txRec;
    tx.kind = kind;
    tx.reason = reason;
    tx.tid = tid;
    tx.unit = unit;
    tx.func = fc;
    if (fc !== this.txNameFc) {
      this.txNameFc = fc;
      const cat = fc >= 0x80 ? FC_INVALID : functionCategory(fc);
      tx.funcName = cat === FC_INVALID && fc !== 0 ? INVALID_REQUEST_NAME : functionName(fc);
      tx.category = FUNCTION_CATEGORY_NAMES[cat] ?? 'unknown';
    }
    tx.isException = false;
    tx.exceptionCode = -1;
    tx.exceptionName = '';
    tx.requestTsSec = -1;
    tx.requestTsNsec = -1;
    tx.responseTsSec = -1;
    tx.responseTsNsec = -1;
    tx.rttNs = -1;
    tx.reqBuf = EMPTY;
    tx.reqOff = 0;
    tx.reqLen = 0;
    tx.respBuf = EMPTY;
    tx.respOff = 0;
    tx.respLen = 0;
    tx.request = null;
    tx.response = null;
  }

  private setRequest(tx: ModbusTransaction, s: Slot): void {
    tx.requestTsSec = s.tsSec;
    tx.requestTsNsec = s.tsNsec;
    tx.reqBuf = s.pdu;
    tx.reqLen = s.len;
    if (this.decode) tx.request = decodePdu(0, s.pdu, 0, s.len, this.maxValues, null);
  }

  private setResponse(tx: ModbusTransaction, pdu: ModbusPdu): void {
    tx.responseTsSec = pdu.tsSec;
    tx.responseTsNsec = pdu.tsNsec;
    tx.respBuf = pdu.buf;
    tx.respOff = pdu.off;
    tx.respLen = pdu.len;
    tx.isException = pdu.isException;
    tx.exceptionCode = pdu.exceptionCode;
    tx.exceptionName = pdu.exceptionName;
  }

  private emitTx(): void {
    this.stats.transactions++;
    this.listener.transaction(this.ctx, this.txRec);
  }

  private table(): OpenTable<Slot> {
    if (this.open === null) this.open = new OpenTable<Slot>();
    return this.open;
  }

  /** The open request with this key, or null. */
  private findOpen(key: number): Slot | null {
    if (this.indexed) return this.table().get(key) ?? null;
    for (let s = this.head; s !== null; s = s.next) if (s.key === key) return s;
    return null;
  }

  private allocSlot(): Slot {
    const s = this.free;
    if (s === null) return new Slot();
    this.free = s.next;
    return s;
  }

  private releaseSlot(s: Slot): void {
    if (this.indexed) this.table().deleteMatching(s.key, s);
    if (s.prev !== null) s.prev.next = s.next;
    else this.head = s.next;
    if (s.next !== null) s.next.prev = s.prev;
    else this.tail = s.prev;
    s.prev = null;
    s.next = this.free;
    this.free = s;
    const size = --this.openCount;
    // Empty again (so is the table): back to walking the list.
    if (size === 0) this.indexed = false;
    this.stats.openTx = size;
    if (this.overflowing && size < this.maxOpen >> 1) this.overflowing = false;
  }

  private emitAnomaly(
    kind: ModbusAnomalyKind,
    dir: ModbusDir,
    tid: number,
    unit: number,
    func: number,
    value: number,
    detail: string,
  ): void {
    const a = this.anomalyRec;
    a.kind = kind;
    a.dir = dir;
    a.tsSec = this.tsSec;
    a.tsNsec = this.tsNsec;
    a.tid = tid;
    a.unit = unit;
    a.func = func;
    a.value = value;
    a.detail = detail;
    this.stats.anomalies++;
    if (kind === 'invalid_length') this.stats.invalidLength++;
    else if (kind === 'invalid_protocol_id') this.stats.invalidProtocolId++;
    this.listener.anomaly(this.ctx, a);
  }
}
