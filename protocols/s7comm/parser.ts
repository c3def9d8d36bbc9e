/**
 * ISO-on-TCP (RFC 1006) stream parser for one connection: frames TPKTs in both directions, reassembles multi-fragment
 * COTP DT payloads up to end-of-transmission, tells S7comm (0x32) from S7comm-plus (0x72), pairs S7comm requests with
 * responses by PDU reference, and reports everything to a listener.
 *
 * Framing is zero-copy for TPKTs that lie whole inside a `data()` call; a partial TPKT is copied into a per-direction
 * carry buffer (grown on demand up to the 65535-byte TPKT maximum), and COTP fragments into a per-direction
 * reassembly buffer capped by `maxPduBytes` (a payload over the cap is dropped whole and counted). Where a TPKT
 * starts depends only on the stream bytes and the parser state, so any split of a stream yields the same callbacks.
 * A bad TPKT header raises one anomaly and starts a byte-by-byte scan for the next plausible TPKT + COTP header; a
 * TCP gap drops the partial TPKT and fragments and scans the same way. Nothing here throws on any input.
 *
 * Buffers beyond 1 KiB are taken from the optional shared byte budget (`options.budget`, core/byte-budget.ts). When it
 * refuses, a TPKT that needs the carry is skipped whole (its length is known, so framing goes on after it), and a
 * COTP payload or userdata answer whose buffer would not fit is dropped. Refusals are counted by the budget; they
 * raise no protocol anomaly.
 *
 * The per-PDU path allocates nothing in steady state: records are reused, open requests live in pooled slots with a
 * fixed-size copy of the request, kept oldest-first in an intrusive list and keyed in an open-addressing table.
 */
import { ByteBudget } from '../core/byte-budget.ts';
import { OpenTable } from '../modbus/open-table.ts';
import {
  COTP_CC,
  COTP_CR,
  COTP_DT,
  COTP_PARAM_DST_TSAP,
  COTP_PARAM_SRC_TSAP,
  COTP_PARAM_TPDU_SIZE,
  DEFAULT_MAX_OPEN_REQUESTS,
  DEFAULT_MAX_PDU_BYTES,
  DEFAULT_REQUEST_TIMEOUT_SEC,
  functionName,
  ROSCTR_ACK,
  ROSCTR_ACK_DATA,
  ROSCTR_JOB,
  ROSCTR_USERDATA,
  S7_PROTOCOL_ID,
  type S7AnomalyKind,
  S7PLUS_PROTOCOL_ID,
  s7HeaderLength,
  UD_GROUP_CPU,
  UD_SUB_READ_SZL,
  UD_TYPE_PUSH,
  UD_TYPE_REQUEST,
  UD_TYPE_RESPONSE,
} from './constants.ts';
import { newS7Pdu, newS7PlusFrame, plausibleTpkt, readS7Header, readS7PlusHeader, readU16 } from './header.ts';
import type {
  CotpConnect,
  CotpTpdu,
  S7Anomaly,
  S7Dir,
  S7ParserOptions,
  S7ParserStats,
  S7Pdu,
  S7PlusFrame,
  S7Transaction,
  S7TransactionKind,
  S7TransactionReason,
} from './types.ts';

export interface S7Listener<C> {
  /** Every COTP TPDU (DT fragments included), as framed. */
  tpdu(ctx: C, t: CotpTpdu): void;
  /** COTP CR / CC with their parameters. */
  connect(ctx: C, c: CotpConnect): void;
  /** Every complete S7comm PDU. `pdu` is reused: copy what you keep. */
  pdu(ctx: C, pdu: S7Pdu): void;
  /** Every complete S7comm-plus frame. */
  plus(ctx: C, f: S7PlusFrame): void;
  /** One per pairing outcome; `tx` is reused after the call. */
  transaction(ctx: C, tx: S7Transaction): void;
  anomaly(ctx: C, a: S7Anomaly): void;
  /** End of a `data()` call that completed TPKTs: how many TPDUs, S7comm PDUs and S7comm-plus frames (tshark's "frames"). */
  frame(ctx: C, tpdus: number, s7: number, plus: number): void;
}

const TPKT_PROBE_LEN = 6;
const TPKT_MAX = 65535;
const DEFAULT_REQUEST_COPY = 512;
const EMPTY = new Uint8Array(0);

const DETAIL_BAD_TPKT = 'TPKT/COTP header implausible (version, length or TPDU type); resynchronising';
const DETAIL_TOO_LARGE = 'reassembled COTP payload exceeds maxPduBytes; dropped';
const DETAIL_SHORT_HEADER = 'S7comm PDU shorter than its header';
const DETAIL_LENGTH = 'S7comm parameter + data length exceed the PDU';
const DETAIL_UNKNOWN_FUNCTION = 'Job function code not known';
const DETAIL_UNSOLICITED = 'response without an open request with this PDU reference';
const DETAIL_TIMEOUT = 'request not answered within the request timeout';
const DETAIL_FLOW_END = 'request not answered before the connection ended';
const DETAIL_TOO_MANY = 'open request table full; evicting the oldest requests';
const DETAIL_ERROR = 'response carries a non-zero error class';

class DirState {
  carry: Uint8Array = EMPTY;
  carryLen = 0;
  /** TPKT length once the carried header was accepted, else 0. */
  need = 0;
  /** Bytes left of a TPKT skipped because the shared budget refused its buffer. */
  skip = 0;
  /** The skipped TPKT is a COTP DT whose EOT flag (its 7th byte) is the next byte skipped. */
  skipDtPending = false;
  syncing = false;
  /** COTP fragments collected so far (payload bytes only). */
  frag: Uint8Array = EMPTY;
  fragLen = 0;
  /** Fragments of the current payload exceed the cap: drop until EOT. */
  fragOverflow = false;
  fragCount = 0;
  /** Userdata response parts collected so far (payload bytes), while "more data follows". */
  ud: Uint8Array = EMPTY;
  udLen = 0;
  udActive = false;
  udOverflow = false;

  reset(): void {
    this.udLen = 0;
    this.udActive = false;
    this.udOverflow = false;
    this.carryLen = 0;
    this.need = 0;
    this.skip = 0;
    this.skipDtPending = false;
    this.syncing = false;
    this.fragLen = 0;
    this.fragOverflow = false;
    this.fragCount = 0;
  }
}

class Slot {
  key = 0;
  pduRef = 0;
  rosctr = 0;
  func = 0;
  udGroup = 0;
  udSub = 0;
  tsSec = 0;
  tsNsec = 0;
  len = 0;
  readonly req: Uint8Array;
  prev: Slot | null = null;
  next: Slot | null = null;
  constructor(copy: number) {
    this.req = new Uint8Array(copy);
  }
}

function newStats(): S7ParserStats {
  return {
    bytes: 0,
    tpkts: 0,
    cotpTpdus: 0,
    cotpFragments: 0,
    cotpReassembled: 0,
    oversizePdus: 0,
    s7Pdus: 0,
    s7PlusFrames: 0,
    otherPayloads: 0,
    transactions: 0,
    paired: 0,
    unanswered: 0,
    unsolicited: 0,
    evicted: 0,
    superseded: 0,
    openRequests: 0,
    maxOpenRequests: 0,
    anomalies: 0,
    desyncs: 0,
    resyncs: 0,
    skippedBytes: 0,
    gaps: 0,
    gapBytes: 0,
    cotpFrames: 0,
    s7Frames: 0,
    s7PlusFrameCalls: 0,
  };
}

const STATS_KEYS = Object.keys(newStats()) as (keyof S7ParserStats)[];

export class S7Parser<C> {
  readonly stats: S7ParserStats = newStats();
  private readonly maxPdu: number;
  /** Shared with the other flows' parsers; this parser gives back everything it took at end(). */
  private readonly budget: ByteBudget;
  private readonly maxOpen: number;
  private readonly timeoutSec: number;
  private readonly copyLen: number;
  private readonly dirs: readonly [DirState, DirState] = [new DirState(), new DirState()];
  private readonly open = new OpenTable<Slot>();
  private head: Slot | null = null;
  private tail: Slot | null = null;
  private free: Slot | null = null;
  private overflowing = false;
  /**
   * The connection's start is in the capture: the owner sets it from the TCP handshake; a COTP connect or a request
   * sets it too (reset by reuse()). Until then, a response without a request answers one sent before the capture.
   */
  connectionStartSeen = false;

  private readonly tpduRec: CotpTpdu = { dir: 0, type: 0, eot: false, buf: EMPTY, off: 0, len: 0, tsSec: 0, tsNsec: 0 };
  private readonly connectRec: CotpConnect = {
    dir: 0,
    type: 0,
    srcRef: 0,
    dstRef: 0,
    srcTsap: EMPTY,
    dstTsap: EMPTY,
    tpduSizeCode: -1,
    tsSec: 0,
    tsNsec: 0,
  };
  private readonly pduRec: S7Pdu = newS7Pdu();
  private readonly plusRec: S7PlusFrame = newS7PlusFrame();
  private readonly txRec: S7Transaction = {
    kind: 'paired',
    reason: 'response',
    pduRef: 0,
    rosctr: 0,
    func: -1,
    udGroup: -1,
    udSub: -1,
    requestTsSec: -1,
    requestTsNsec: -1,
    responseTsSec: -1,
    responseTsNsec: -1,
    rttNs: -1,
    errorClass: -1,
    errorCode: -1,
    reqBuf: EMPTY,
    reqLen: 0,
    respBuf: EMPTY,
    respOff: 0,
    respLen: 0,
  };
  private readonly anomalyRec: S7Anomaly = {
    kind: 'cotp.invalid_tpkt',
    dir: 0,
    tsSec: 0,
    tsNsec: 0,
    value: -1,
    pduRef: -1,
    detail: '',
  };
  private tsSec = 0;
  private tsNsec = 0;
  /** Completed units in the current data() call (for the listener's frame()). */
  private callTpdus = 0;
  private callS7 = 0;
  private callPlus = 0;

  constructor(
    private readonly listener: S7Listener<C>,
    private readonly ctx: C,
    options: S7ParserOptions = {},
  ) {
    this.maxPdu = Math.max(16, Math.floor(options.maxPduBytes ?? DEFAULT_MAX_PDU_BYTES));
    this.maxOpen = Math.max(1, Math.floor(options.maxOpenRequests ?? DEFAULT_MAX_OPEN_REQUESTS));
    this.timeoutSec = options.requestTimeoutSec ?? DEFAULT_REQUEST_TIMEOUT_SEC;
    this.copyLen = Math.max(16, Math.floor(options.maxRequestCopy ?? DEFAULT_REQUEST_COPY));
    this.budget = options.budget ?? new ByteBudget(Number.POSITIVE_INFINITY);
  }

  /** Bytes held in the carry buffer of `dir` (tests, health metrics). */
  carried(dir: S7Dir): number {
    return this.dirs[dir].carryLen;
  }

  /** Bytes held in the COTP reassembly buffer of `dir`. */
  fragmented(dir: S7Dir): number {
    return this.dirs[dir].fragLen;
  }

  data(dir: S7Dir, buf: Uint8Array, off: number, len: number, tsSec: number, tsNsec: number): void {
    const start = Math.max(off, 0);
    const end = Math.min(start + Math.max(len, 0), buf.length);
    if (end <= start) return;
    this.stats.bytes += end - start;
    this.tsSec = tsSec;
    this.tsNsec = tsNsec;
    this.callTpdus = 0;
    this.callS7 = 0;
    this.callPlus = 0;
    this.consume(dir, buf, start, end);
    if (this.callTpdus > 0) {
      const stats = this.stats;
      stats.cotpFrames++;
      if (this.callS7 > 0) stats.s7Frames++;
      if (this.callPlus > 0) stats.s7PlusFrameCalls++;
      this.listener.frame(this.ctx, this.callTpdus, this.callS7, this.callPlus);
    }
  }

  private consume(dir: S7Dir, buf: Uint8Array, start: number, end: number): void {
    const st = this.dirs[dir];
    let p = start;
    while (p < end) {
      if (st.skip > 0) {
        if (st.skipDtPending) {
          st.skipDtPending = false;
          this.lostFragment(st, ((buf[p] ?? 0) & 0x80) !== 0);
        }
        const n = Math.min(st.skip, end - p);
        st.skip -= n;
        p += n;
        continue;
      }
      if (st.carryLen === 0) {
        const avail = end - p;
        if (avail < TPKT_PROBE_LEN) {
          this.append(st, buf, p, avail);
          return;
        }
        const tlen = this.acceptHeader(st, dir, buf, p);
        if (tlen === 0) {
          p++;
          this.stats.skippedBytes++;
          continue;
        }
        if (avail < tlen) {
          if (!this.reserveCarry(st, tlen)) {
            this.skipTpkt(st, tlen, buf, p, avail);
            return;
          }
          this.append(st, buf, p, avail);
          st.need = tlen;
          return;
        }
        this.tpkt(dir, buf, p, tlen);
        p += tlen;
        continue;
      }
      if (st.need === 0) {
        const n = Math.min(TPKT_PROBE_LEN - st.carryLen, end - p);
        this.append(st, buf, p, n);
        p += n;
        if (st.carryLen < TPKT_PROBE_LEN) return;
        const tlen = this.acceptHeader(st, dir, st.carry, 0);
        if (tlen === 0) {
          st.carry.copyWithin(0, 1, st.carryLen);
          st.carryLen--;
          this.stats.skippedBytes++;
          continue;
        }
        if (!this.reserveCarry(st, tlen)) {
          const had = st.carryLen;
          st.carryLen = 0;
          this.skipTpkt(st, tlen, st.carry, 0, had);
          continue;
        }
        st.need = tlen;
      }
      const n = Math.min(st.need - st.carryLen, end - p);
      this.append(st, buf, p, n);
      p += n;
      if (st.carryLen < st.need) return;
      const tlen = st.need;
      st.carryLen = 0;
      st.need = 0;
      this.tpkt(dir, st.carry, 0, tlen);
    }
  }

  /** `bytes` were lost in `dir`: drop the partial TPKT and COTP fragments; scan for the next plausible header. */
  gap(dir: S7Dir, bytes: number): void {
    const st = this.dirs[dir];
    this.stats.gaps++;
    if (bytes > 0) this.stats.gapBytes += bytes;
    this.stats.skippedBytes += st.carryLen + st.fragLen;
    if (!st.syncing) this.stats.desyncs++;
    st.reset();
    st.syncing = true;
  }

  expire(tsSec: number): void {
    this.tsSec = tsSec;
    this.tsNsec = 0;
    let s = this.head;
    while (s !== null && tsSec - s.tsSec > this.timeoutSec) {
      const next = s.next;
      this.unanswered(s, 'timeout', DETAIL_TIMEOUT, true);
      s = next;
    }
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
    for (const st of this.dirs) {
      this.stats.skippedBytes += st.carryLen + st.fragLen;
      st.reset();
    }
    this.releaseBuffers();
  }

  /** Ready an ended parser for another connection (buffers, slots and records kept). Call only after `end()`. */
  reuse(): void {
    while (this.head !== null) this.releaseSlot(this.head);
    for (const st of this.dirs) st.reset();
    for (const k of STATS_KEYS) this.stats[k] = 0;
    this.overflowing = false;
    this.connectionStartSeen = false;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // TPKT / COTP

  private append(st: DirState, buf: Uint8Array, p: number, n: number): void {
    const need = st.carryLen + n;
    if (need > st.carry.length) {
      // Grow to the TPKT's announced size (or the header probe): only when a TPKT spans data() calls.
      const size = Math.min(TPKT_MAX, Math.max(need, st.need, 64, st.carry.length * 2));
      // Within what reserveCarry took (or free: the header probe).
      st.carry = this.budget.growAnyway(st.carry, st.carryLen, size);
    }
    const carry = st.carry;
    let c = st.carryLen;
    for (let i = 0; i < n; i++) carry[c++] = buf[p + i] ?? 0;
    st.carryLen = c;
  }

  private acceptHeader(st: DirState, dir: S7Dir, b: Uint8Array, i: number): number {
    const len = plausibleTpkt(b, i);
    if (st.syncing) {
      if (len === 0) return 0;
      st.syncing = false;
      this.stats.resyncs++;
      return len;
    }
    if (len === 0) {
      st.syncing = true;
      this.stats.desyncs++;
      // A partial payload cannot be completed across a desync.
      st.fragLen = 0;
      st.fragOverflow = false;
      this.emitAnomaly('cotp.invalid_tpkt', dir, readU16(b, i), -1, DETAIL_BAD_TPKT);
      return 0;
    }
    return len;
  }

  /** One complete TPKT at `b[i .. i+tlen)` (header already judged plausible). */
  private tpkt(dir: S7Dir, b: Uint8Array, i: number, tlen: number): void {
    const stats = this.stats;
    stats.tpkts++;
    stats.cotpTpdus++;
    this.callTpdus++;
    const li = b[i + 4] ?? 0;
    const type = (b[i + 5] ?? 0) & 0xf0;
    const t = this.tpduRec;
    t.dir = dir;
    t.type = type;
    t.eot = type === COTP_DT && ((b[i + 6] ?? 0) & 0x80) !== 0;
    t.buf = b;
    t.off = i + 4;
    t.len = tlen - 4;
    t.tsSec = this.tsSec;
    t.tsNsec = this.tsNsec;
    this.listener.tpdu(this.ctx, t);
    if (type === COTP_DT) {
      const pay = i + 5 + li;
      const payLen = i + tlen - pay;
      const st = this.dirs[dir];
      if (t.eot && st.fragLen === 0 && !st.fragOverflow) {
        this.payload(dir, b, pay, payLen);
        return;
      }
      stats.cotpFragments++;
      if (!st.fragOverflow) {
        if (st.fragLen + payLen > this.maxPdu) {
          st.fragOverflow = true;
          st.fragLen = 0;
          stats.oversizePdus++;
          this.emitAnomaly('cotp.pdu_too_large', dir, this.maxPdu, -1, DETAIL_TOO_LARGE);
        } else if (!this.appendFrag(st, b, pay, payLen)) {
          // Refused by the shared budget (counted there): drop this payload, no protocol anomaly.
          st.fragOverflow = true;
          st.fragLen = 0;
        }
      }
      if (t.eot) {
        const n = st.fragLen;
        const overflow = st.fragOverflow;
        st.fragLen = 0;
        st.fragOverflow = false;
        if (!overflow) {
          stats.cotpReassembled++;
          this.payload(dir, st.frag, 0, n);
        }
      }
    } else if (type === COTP_CR || type === COTP_CC) {
      this.connect(dir, b, i + 4, li + 1, type);
    }
  }

  /** Adds a fragment; false when the shared budget refused the growth (the payload is then dropped). */
  private appendFrag(st: DirState, b: Uint8Array, p: number, n: number): boolean {
    const need = st.fragLen + n;
    if (need > st.frag.length) {
      const next = this.budget.grow(
        st.frag,
        st.fragLen,
        Math.min(this.maxPdu, Math.max(need, 256, st.frag.length * 2)),
      );
      if (next === null) return false;
      st.frag = next;
    }
    const frag = st.frag;
    let c = st.fragLen;
    for (let k = 0; k < n; k++) frag[c++] = b[p + k] ?? 0;
    st.fragLen = c;
    return true;
  }

  /**
   * Makes sure the carry buffer can hold a TPKT of `size` (with the budget), growing it now; false when the budget
   * refuses.
   */
  private reserveCarry(st: DirState, size: number): boolean {
    if (st.carry.length >= size) return true;
    const next = this.budget.grow(st.carry, st.carryLen, Math.min(TPKT_MAX, Math.max(size, 64, st.carry.length * 2)));
    if (next === null) return false;
    st.carry = next;
    return true;
  }

  /**
   * A TPKT of `tlen` bytes, `have` of them already consumed, cannot be buffered: skip the rest (its boundary is
   * known, so framing continues right after it). If it is a COTP DT, the payload it belongs to is dropped.
   */
  private skipTpkt(st: DirState, tlen: number, b: Uint8Array, i: number, have: number): void {
    st.skip = tlen - have;
    st.need = 0;
    this.stats.skippedBytes += tlen;
    if (((b[i + 5] ?? 0) & 0xf0) !== COTP_DT) return;
    if (have > 6) this.lostFragment(st, ((b[i + 6] ?? 0) & 0x80) !== 0);
    else st.skipDtPending = true;
  }

  /**
   * A COTP DT was lost: with EOT it ended the payload being collected (now incomplete: dropped); without, the
   * payload it starts or continues is dropped up to its last fragment.
   */
  private lostFragment(st: DirState, eot: boolean): void {
    st.fragLen = 0;
    st.fragOverflow = !eot;
  }

  /** Gives the budget back what this parser's buffers took, and lets the buffers go. */
  private releaseBuffers(): void {
    for (const st of this.dirs) {
      this.budget.release(st.carry);
      this.budget.release(st.frag);
      this.budget.release(st.ud);
      st.carry = EMPTY;
      st.frag = EMPTY;
      st.ud = EMPTY;
    }
  }

  /** CR / CC: LI | type | dst ref (2) | src ref (2) | class | parameters (code, length, value)... */
  private connect(dir: S7Dir, b: Uint8Array, i: number, hlen: number, type: number): void {
    this.connectionStartSeen = true;
    const c = this.connectRec;
    c.dir = dir;
    c.type = type;
    c.dstRef = readU16(b, i + 2);
    c.srcRef = readU16(b, i + 4);
    c.srcTsap = EMPTY;
    c.dstTsap = EMPTY;
    c.tpduSizeCode = -1;
    c.tsSec = this.tsSec;
    c.tsNsec = this.tsNsec;
    const end = i + hlen;
    let p = i + 7;
    while (p + 2 <= end) {
      const code = b[p] ?? 0;
      const plen = b[p + 1] ?? 0;
      const v = p + 2;
      if (v + plen > end) break;
      // Views are created only for connection setup (twice per connection), never on the data path.
      if (code === COTP_PARAM_SRC_TSAP) c.srcTsap = b.subarray(v, v + plen);
      else if (code === COTP_PARAM_DST_TSAP) c.dstTsap = b.subarray(v, v + plen);
      else if (code === COTP_PARAM_TPDU_SIZE && plen >= 1) c.tpduSizeCode = b[v] ?? 0;
      p = v + plen;
    }
    this.listener.connect(this.ctx, c);
  }

  /** A complete COTP DT payload (user data). */
  private payload(dir: S7Dir, b: Uint8Array, off: number, len: number): void {
    if (len <= 0) return;
    const first = b[off];
    if (first === S7_PROTOCOL_ID) this.s7(dir, b, off, len);
    else if (first === S7PLUS_PROTOCOL_ID) {
      this.stats.s7PlusFrames++;
      this.callPlus++;
      const f = this.plusRec;
      readS7PlusHeader(b, off, len, f);
      f.dir = dir;
      f.buf = b;
      f.off = off;
      f.len = len;
      f.tsSec = this.tsSec;
      f.tsNsec = this.tsNsec;
      this.listener.plus(this.ctx, f);
    } else this.stats.otherPayloads++;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // S7comm

  private s7(dir: S7Dir, b: Uint8Array, off: number, len: number): void {
    const p = this.pduRec;
    if (!readS7Header(b, off, len, p)) {
      this.emitAnomaly('s7comm.invalid_header', dir, len, -1, DETAIL_SHORT_HEADER);
      return;
    }
    this.stats.s7Pdus++;
    this.callS7++;
    if (p.rosctr === ROSCTR_USERDATA && p.udType === UD_TYPE_RESPONSE && p.udLastUnit >= 0) this.userdataParts(dir, p);
    p.dir = dir;
    p.buf = b;
    p.off = off;
    p.len = len;
    p.tsSec = this.tsSec;
    p.tsNsec = this.tsNsec;
    this.listener.pdu(this.ctx, p);
    if (!p.complete)
      this.emitAnomaly(
        's7comm.invalid_length',
        dir,
        s7HeaderLength(p.rosctr) + p.paramLen + p.dataLen,
        p.pduRef,
        DETAIL_LENGTH,
      );
    const rosctr = p.rosctr;
    if (rosctr === ROSCTR_JOB) {
      if (p.func >= 0 && functionName(p.func) === '?')
        this.emitAnomaly('s7comm.unknown_function', dir, p.func, p.pduRef, DETAIL_UNKNOWN_FUNCTION);
      this.onRequest(p, 0);
    } else if (rosctr === ROSCTR_ACK || rosctr === ROSCTR_ACK_DATA) {
      if (p.errorClass > 0)
        this.emitAnomaly('s7comm.error_response', dir, (p.errorClass << 8) | p.errorCode, p.pduRef, DETAIL_ERROR);
      this.onResponse(p, 0);
    } else if (rosctr === ROSCTR_USERDATA) {
      if (p.udType === UD_TYPE_REQUEST) this.onRequest(p, 1);
      else if (p.udType === UD_TYPE_RESPONSE) this.onResponse(p, 1);
      else if (p.udType === UD_TYPE_PUSH) this.push(p);
    }
  }

  /**
   * Multi-part userdata responses (long SZL lists, block lists): parts with "last data unit" ≠ 0 are collected
   * (capped by maxPduBytes) and the whole payload is handed over with the last part, as tshark reassembles them.
   */
  private userdataParts(dir: S7Dir, p: S7Pdu): void {
    const st = this.dirs[dir];
    const more = p.udLastUnit !== 0;
    if (!more && !st.udActive) return;
    if (!st.udActive) {
      st.udActive = true;
      st.udLen = 0;
      st.udOverflow = false;
    }
    const n = p.udPayloadLen;
    if (n > 0 && !st.udOverflow) {
      if (st.udLen + n > this.maxPdu) {
        st.udOverflow = true;
        this.stats.oversizePdus++;
      } else {
        let fits = true;
        if (st.udLen + n > st.ud.length) {
          const size = Math.min(this.maxPdu, Math.max(st.udLen + n, 512, st.ud.length * 2));
          const next = this.budget.grow(st.ud, st.udLen, size);
          if (next !== null) st.ud = next;
          else {
            fits = false;
            st.udOverflow = true; // refused by the shared budget (counted there)
          }
        }
        if (fits) {
          const src = p.udPayloadBuf;
          const dst = st.ud;
          for (let k = 0; k < n; k++) dst[st.udLen + k] = src[p.udPayloadOff + k] ?? 0;
          st.udLen += n;
        }
      }
    }
    if (more) {
      p.udFragment = true;
      p.udPayloadLen = -1;
      p.szlId = -1;
      p.szlIndex = -1;
      return;
    }
    st.udActive = false;
    if (st.udOverflow) {
      p.udPayloadLen = -1;
      p.szlId = -1;
      p.szlIndex = -1;
      return;
    }
    p.udPayloadBuf = st.ud;
    p.udPayloadOff = 0;
    p.udPayloadLen = st.udLen;
    if (p.udGroup === UD_GROUP_CPU && p.udSub === UD_SUB_READ_SZL && st.udLen >= 4) {
      p.szlId = readU16(st.ud, 0);
      p.szlIndex = readU16(st.ud, 2);
    }
  }

  private key(dir: S7Dir, cls: number, ref: number): number {
    return dir * 0x20000 + cls * 0x10000 + ref;
  }

  private onRequest(p: S7Pdu, cls: number): void {
    this.connectionStartSeen = true;
    const key = this.key(p.dir, cls, p.pduRef);
    const prior = this.open.get(key);
    if (prior !== undefined) {
      this.stats.superseded++;
      this.unanswered(prior, 'superseded', '', false);
    }
    if (this.open.size >= this.maxOpen && this.head !== null) {
      if (!this.overflowing) {
        this.overflowing = true;
        this.emitAnomaly('s7comm.too_many_open_requests', 0, this.maxOpen, p.pduRef, DETAIL_TOO_MANY);
      }
      this.stats.evicted++;
      this.unanswered(this.head, 'evicted', '', false);
    }
    let s = this.free;
    if (s === null) s = new Slot(this.copyLen);
    else this.free = s.next;
    s.key = key;
    s.pduRef = p.pduRef;
    s.rosctr = p.rosctr;
    s.func = p.func;
    s.udGroup = p.udGroup;
    s.udSub = p.udSub;
    s.tsSec = p.tsSec;
    s.tsNsec = p.tsNsec;
    const n = Math.min(p.len, s.req.length);
    const dst = s.req;
    const src = p.buf;
    for (let k = 0; k < n; k++) dst[k] = src[p.off + k] ?? 0;
    s.len = n;
    s.prev = this.tail;
    s.next = null;
    if (this.tail !== null) this.tail.next = s;
    else this.head = s;
    this.tail = s;
    this.open.set(key, s);
    const size = this.open.size;
    this.stats.openRequests = size;
    if (size > this.stats.maxOpenRequests) this.stats.maxOpenRequests = size;
  }

  private onResponse(p: S7Pdu, cls: number): void {
    const reqDir = (1 - p.dir) as S7Dir;
    const s = this.open.get(this.key(reqDir, cls, p.pduRef));
    const tx = this.txRec;
    if (s === undefined) {
      this.stats.unsolicited++;
      // Picked up mid-stream and before any COTP connect or request, a response answers a request sent before the
      // capture began (a sensor start or restart on a polling connection): not an anomaly.
      if (this.connectionStartSeen)
        this.emitAnomaly('s7comm.unsolicited_response', p.dir, -1, p.pduRef, DETAIL_UNSOLICITED);
      this.fillTx(
        'unsolicited',
        'unsolicited',
        p.pduRef,
        cls === 1 ? ROSCTR_USERDATA : ROSCTR_JOB,
        p.func,
        p.udGroup,
        p.udSub,
      );
      this.setResponse(p);
      this.emitTx();
      return;
    }
    this.stats.paired++;
    this.fillTx('paired', 'response', s.pduRef, s.rosctr, s.func, s.udGroup, s.udSub);
    this.setRequest(s);
    this.setResponse(p);
    tx.rttNs = (p.tsSec - s.tsSec) * 1e9 + (p.tsNsec - s.tsNsec);
    this.emitTx();
    this.releaseSlot(s);
  }

  /** Userdata push (alarms, cyclic data, mode transitions): a one-sided transaction. */
  private push(p: S7Pdu): void {
    this.fillTx('push', 'push', p.pduRef, ROSCTR_USERDATA, -1, p.udGroup, p.udSub);
    this.setResponse(p);
    this.emitTx();
  }

  private unanswered(s: Slot, reason: S7TransactionReason, detail: string, withAnomaly: boolean): void {
    this.stats.unanswered++;
    if (withAnomaly) this.emitAnomaly('s7comm.request_unanswered', 0, s.func, s.pduRef, detail);
    this.fillTx('unanswered', reason, s.pduRef, s.rosctr, s.func, s.udGroup, s.udSub);
    this.setRequest(s);
    this.emitTx();
    this.releaseSlot(s);
  }

  private fillTx(
    kind: S7TransactionKind,
    reason: S7TransactionReason,
    pduRef: number,
    rosctr: number,
    func: number,
    udGroup: number,
    udSub: number,
  ): void {
    const tx = this.txRec;
    tx.kind = kind;
    tx.reason = reason;
    tx.pduRef = pduRef;
    tx.rosctr = rosctr;
    tx.func = func;
    tx.udGroup = udGroup;
    tx.udSub = udSub;
    tx.requestTsSec = -1;
    tx.requestTsNsec = -1;
    tx.responseTsSec = -1;
    tx.responseTsNsec = -1;
    tx.rttNs = -1;
    tx.errorClass = -1;
    tx.errorCode = -1;
    tx.reqBuf = EMPTY;
    tx.reqLen = 0;
    tx.respBuf = EMPTY;
    tx.respOff = 0;
    tx.respLen = 0;
  }

  private setRequest(s: Slot): void {
    const tx = this.txRec;
    tx.requestTsSec = s.tsSec;
    tx.requestTsNsec = s.tsNsec;
    tx.reqBuf = s.req;
    tx.reqLen = s.len;
  }

  private setResponse(p: S7Pdu): void {
    const tx = this.txRec;
    tx.responseTsSec = p.tsSec;
    tx.responseTsNsec = p.tsNsec;
    tx.respBuf = p.buf;
    tx.respOff = p.off;
    tx.respLen = p.len;
    tx.errorClass = p.errorClass;
    tx.errorCode = p.errorCode;
  }

  private emitTx(): void {
    this.stats.transactions++;
    this.listener.transaction(this.ctx, this.txRec);
  }

  private releaseSlot(s: Slot): void {
    if (this.open.get(s.key) === s) this.open.delete(s.key);
    if (s.prev !== null) s.prev.next = s.next;
    else this.head = s.next;
    if (s.next !== null) s.next.prev = s.prev;
    else this.tail = s.prev;
    s.prev = null;
    s.next = this.free;
    this.free = s;
    const size = this.open.size;
    this.stats.openRequests = size;
    if (this.overflowing && size < this.maxOpen >> 1) this.overflowing = false;
  }

  private emitAnomaly(kind: S7AnomalyKind, dir: S7Dir | null, value: number, pduRef: number, detail: string): void {
    const a = this.anomalyRec;
    a.kind = kind;
    a.dir = dir;
    a.tsSec = this.tsSec;
    a.tsNsec = this.tsNsec;
    a.value = value;
    a.pduRef = pduRef;
    a.detail = detail;
    this.stats.anomalies++;
    this.listener.anomaly(this.ctx, a);
  }
}
