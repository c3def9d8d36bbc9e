/**
 * OPC UA Binary stream parser for one TCP connection: frames UACP chunks in both directions, reads the secure
 * conversation headers, reassembles multi-chunk messages (bounded), names the service of every readable message,
 * pairs requests with responses by requestId (capped), and reports chunks, transactions and anomalies to a listener.
 *
 * Framing is zero-copy for chunks that lie whole in a `data()` call; a partial chunk is copied into a per-direction
 * carry buffer that grows on demand up to `maxBufferedChunk` (larger chunks keep only their first bytes: counted,
 * not decoded). Decisions depend only on the stream bytes, never on how the stream was cut into calls, so feeding a
 * stream byte by byte yields the callbacks of feeding it whole. The one exception is the optional shared byte budget
 * (`options.budget`, core/byte-budget.ts): carry and message buffers beyond 1 KiB are taken from it, and when it
 * refuses, a carried chunk is kept header-only and a message is dropped. Whether a chunk needs the carry depends on
 * the cuts, so under a refusing budget a split stream can decode less than the same stream whole. Bad headers and gaps start a scan for the next
 * plausible chunk header; this is also how a capture that starts mid-session (no HEL/OPN seen) is picked up.
 *
 * Encryption: the OPN asymmetric header is always clear. With a policy other than None, OPN bodies are encrypted and
 * MSG/CLO bodies are encrypted unless the channel uses mode Sign; the mode itself travels encrypted, so a body counts
 * as readable only when it starts with a standard service NodeId (random bytes match that with p ≈ 1e-7). With no
 * OPN seen (mid-stream) the same test applies. Encrypted bodies are counted and marked, never decoded.
 *
 * The per-chunk path (framing, headers, service id, pairing without decode) allocates nothing in steady state.
 */

import type { BatchLoan } from '../core/batch-loan.ts';
import { ByteBudget } from '../core/byte-budget.ts';
import { OpenTable } from '../modbus/open-table.ts';
import {
  CHUNK_ABORT,
  CHUNK_FINAL,
  CHUNK_INTERMEDIATE,
  DEFAULT_MAX_BUFFERED_CHUNK,
  DEFAULT_MAX_CHUNK_COUNT,
  DEFAULT_MAX_CHUNK_SIZE,
  DEFAULT_MAX_MESSAGE_SIZE,
  DEFAULT_MAX_OPEN_REQUESTS,
  DEFAULT_REQUEST_TIMEOUT_SEC,
  MESSAGE_TYPE_NAMES,
  MIN_BUFFER_SIZE,
  MT_ACK,
  MT_HEL,
  MT_OPN,
  messageTypeAt,
  plausibleChunkSize,
  readU32,
  SECURITY_POLICY_NONE,
  UACP_HEADER_LEN,
} from './constants.ts';
import { type Decoded, decodeServiceBody } from './decode.ts';
import { LazyTransaction } from './lazy-tx.ts';
import { encodingId, encodingName, serviceKind, statusCodeName } from './names.ts';
import {
  type OpcuaAnomaly,
  type OpcuaAnomalyKind,
  type OpcuaChunk,
  type OpcuaDir,
  type OpcuaParserOptions,
  type OpcuaParserStats,
  type OpcuaTransaction,
  type OpcuaTransactionKind,
  type OpcuaTransactionReason,
  SECURITY_NONE,
  SECURITY_SECURED,
  SECURITY_UNKNOWN,
} from './types.ts';

export interface OpcuaListener<C> {
  /** Every chunk, as soon as it is framed. `chunk` is reused and its views are valid only during the call. */
  chunk(ctx: C, chunk: OpcuaChunk): void;
  /** One per request/response pair, unanswered request or unsolicited response. `tx` is reused. */
  transaction(ctx: C, tx: OpcuaTransaction): void;
  anomaly(ctx: C, anomaly: OpcuaAnomaly): void;
}

/** Bytes kept of a chunk too large to buffer: enough for every header and the service NodeId. */
const HEADER_KEEP = 64;
const EMPTY = new Uint8Array(0);
const CLOSE_SECURE_CHANNEL_REQUEST = encodingId('CloseSecureChannelRequest');
const POLICY_NONE_BYTES = new TextEncoder().encode(SECURITY_POLICY_NONE);

const DETAIL_HEADER = 'not a valid UACP chunk header; resynchronising on the next plausible header';
const DETAIL_BUFFER = 'Hello/Acknowledge buffer size below the 8192 bytes the specification requires';
const DETAIL_EXCEEDS = 'chunk larger than the receive buffer size negotiated in Hello/Acknowledge';
const DETAIL_TOO_LARGE = 'reassembled message over the size cap; message dropped';
const DETAIL_TOO_MANY = 'message has more chunks than the cap; message dropped';
const DETAIL_INTERLEAVED = 'a chunk of another request started before the previous message ended; partial dropped';
const DETAIL_ABORT = 'sender aborted the message (abort chunk)';
const DETAIL_SEC_HEADER = 'asymmetric security header does not fit in the OPN chunk';
const DETAIL_UNSOLICITED = 'response without an open request with this requestId';
const DETAIL_TIMEOUT = 'request not answered within the request timeout';
const DETAIL_FLOW_END = 'request not answered before the connection ended';
const DETAIL_SUPERSEDED = 'a new request reused the requestId of an open request';
const DETAIL_TOO_MANY_OPEN = 'open request table full; evicting the oldest requests';
const DETAIL_OVERSIZED = 'chunk larger than the buffering cap: counted from its header, body not decoded';

class DirState {
  /** The chunk being carried is cut to its header because the shared budget refused its buffer (no anomaly). */
  keptByBudget = false;
  carry: Uint8Array = EMPTY;
  carryLen = 0;
  /** Full chunk size once the carried header was accepted, else 0. */
  need = 0;
  /** Bytes of the chunk to keep (need, or HEADER_KEEP for oversized chunks). */
  keep = 0;
  syncing = false;
  skip = 0;
  /** Multi-chunk reassembly: body bytes (after the sequence header) of the chunks so far. */
  asm: Uint8Array = EMPTY;
  asmLen = 0;
  asmChunks = 0;
  asmRequestId = -1;
  /** Set when the current message was dropped (cap): its remaining chunks are ignored until the final one. */
  asmDropped = false;
  /** Receive buffer size of the peer that receives this direction (from HEL/ACK), 0 = unknown. */
  peerReceiveBuffer = 0;
  exceedsReported = false;

  reset(): void {
    this.carryLen = 0;
    this.need = 0;
    this.keep = 0;
    this.keptByBudget = false;
    this.skip = 0;
    this.syncing = false;
    this.asmLen = 0;
    this.asmChunks = 0;
    this.asmRequestId = -1;
    this.asmDropped = false;
  }
}

class Slot {
  requestId = 0;
  serviceId = 0;
  tsSec = 0;
  tsNsec = 0;
  decoded: Decoded | null = null;
  /** Lazy bodies: a copy of the request body (grown, never shrunk: slots are pooled), decoded only if read. */
  body: Uint8Array = EMPTY;
  bodyLen = 0;
  /** Lazy bodies, borrowed: the lent batch buffer holding the body (at `refOff`) until copied; EMPTY otherwise. */
  ref: Uint8Array = EMPTY;
  refOff = 0;
  prev: Slot | null = null;
  next: Slot | null = null;
}

function newStats(): OpcuaParserStats {
  return {
    bytes: 0,
    chunks: 0,
    messages: 0,
    encrypted: 0,
    intermediateChunks: 0,
    reassembled: 0,
    aborted: 0,
    reassemblyDropped: 0,
    headerOnly: 0,
    requests: 0,
    responses: 0,
    transactions: 0,
    paired: 0,
    unanswered: 0,
    unsolicited: 0,
    evicted: 0,
    openRequests: 0,
    maxOpenRequests: 0,
    anomalies: 0,
    desyncs: 0,
    resyncs: 0,
    skippedBytes: 0,
    gaps: 0,
    gapBytes: 0,
    noProgress: 0,
  };
}
const STATS_KEYS = Object.keys(newStats()) as (keyof OpcuaParserStats)[];

export class OpcuaParser<C> {
  readonly stats: OpcuaParserStats = newStats();
  /** SECURITY_* of the connection's secure channel as seen so far. */
  security = SECURITY_UNKNOWN;
  /** A Hello was seen: the session start is in the capture (unsolicited responses are then anomalies). */
  helloSeen = false;

  private readonly maxChunkSize: number;
  private readonly maxBuffered: number;
  /** Shared with the other flows' parsers; this parser gives back everything it took at end(). */
  private readonly budget: ByteBudget;
  private readonly maxMessage: number;
  private readonly maxChunks: number;
  private readonly maxOpen: number;
  private readonly timeoutSec: number;
  private readonly decode: boolean;
  /** Decode bodies on first read (`lazyBodies`): the transaction record is then a LazyTransaction. */
  private readonly lazy: LazyTransaction | null;
  /** The pipeline's lent batch buffer (lazy bodies only); null: request bodies are always copied at once. */
  private readonly loan: BatchLoan | null;
  /** Slots that took a body by reference during the current batch (copied at its end if still open). */
  private readonly borrowed: Slot[] = [];
  private readonly dirs: readonly [DirState, DirState] = [new DirState(), new DirState()];
  private readonly open = new OpenTable<Slot>();
  private head: Slot | null = null;
  private tail: Slot | null = null;
  private free: Slot | null = null;
  private overflowing = false;
  private tsSec = 0;
  private tsNsec = 0;

  private readonly chunkRec: OpcuaChunk = {
    dir: 0,
    msgType: 0,
    typeName: '',
    chunkType: 0,
    size: 0,
    secureChannelId: -1,
    tokenId: -1,
    sequenceNumber: -1,
    requestId: -1,
    serviceId: -1,
    serviceName: '',
    encrypted: false,
    complete: false,
    aborted: false,
    chunkCount: 0,
    headerOnly: false,
    buf: EMPTY,
    off: 0,
    len: 0,
    bodyBuf: EMPTY,
    bodyOff: 0,
    bodyLen: 0,
    security: SECURITY_UNKNOWN,
    tsSec: 0,
    tsNsec: 0,
  };
  private readonly txRec: OpcuaTransaction;
  private readonly eagerTx: OpcuaTransaction = {
    kind: 'paired',
    reason: 'response',
    requestId: 0,
    requestServiceId: -1,
    requestServiceName: '',
    responseServiceId: -1,
    responseServiceName: '',
    serviceResult: -1,
    serviceResultName: '',
    requestTsSec: -1,
    requestTsNsec: -1,
    responseTsSec: -1,
    responseTsNsec: -1,
    rttNs: -1,
    request: null,
    response: null,
  };
  private readonly anomalyRec: OpcuaAnomaly = {
    kind: 'invalid_header',
    dir: 0,
    tsSec: 0,
    tsNsec: 0,
    requestId: -1,
    serviceId: -1,
    value: -1,
    detail: '',
  };

  constructor(
    private readonly listener: OpcuaListener<C>,
    private readonly ctx: C,
    options: OpcuaParserOptions = {},
  ) {
    this.maxChunkSize = Math.max(64, options.maxChunkSize ?? DEFAULT_MAX_CHUNK_SIZE);
    this.maxBuffered = Math.max(
      HEADER_KEEP,
      Math.min(options.maxBufferedChunk ?? DEFAULT_MAX_BUFFERED_CHUNK, this.maxChunkSize),
    );
    this.maxMessage = Math.max(0, options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE);
    this.budget = options.budget ?? new ByteBudget(Number.POSITIVE_INFINITY);
    this.maxChunks = Math.max(1, options.maxChunkCount ?? DEFAULT_MAX_CHUNK_COUNT);
    this.maxOpen = Math.max(1, Math.floor(options.maxOpenRequests ?? DEFAULT_MAX_OPEN_REQUESTS));
    this.timeoutSec = options.requestTimeoutSec ?? DEFAULT_REQUEST_TIMEOUT_SEC;
    this.decode = options.decode ?? true;
    this.lazy = this.decode && options.lazyBodies === true ? new LazyTransaction() : null;
    this.txRec = this.lazy ?? this.eagerTx;
    this.loan = this.lazy !== null ? (options.loan ?? null) : null;
  }

  /** End of the lent batch (BatchBorrower): open requests still pointing into it get their own copy. */
  returnBorrowed(): void {
    const list = this.borrowed;
    for (let i = 0; i < list.length; i++) {
      const s = list[i] as Slot;
      // A slot released (ref reset) or released and reused for a later request is listed again or not at all.
      if (s.ref !== EMPTY) this.copyBody(s, s.ref, s.refOff, s.bodyLen);
    }
    list.length = 0;
  }

  private copyBody(s: Slot, buf: Uint8Array, off: number, len: number): void {
    if (s.body.length < len) s.body = new Uint8Array(Math.max(len, s.body.length * 2, 256));
    s.body.set(buf.subarray(off, off + len));
    s.bodyLen = len;
    s.ref = EMPTY;
  }

  /** Bytes held in the carry buffer of `dir` (tests, health). */
  carried(dir: OpcuaDir): number {
    return this.dirs[dir].carryLen;
  }

  /** Bytes buffered for reassembly plus carried, both directions (bounded by the caps). */
  bufferedBytes(): number {
    const [a, b] = this.dirs;
    return a.carry.length + b.carry.length + a.asm.length + b.asm.length;
  }

  /** Bytes in direction `dir` (0 = TCP client → server). A view valid only during the call. */
  data(dir: OpcuaDir, buf: Uint8Array, off: number, len: number, tsSec: number, tsNsec: number): void {
    const start = Math.max(off, 0);
    const end = Math.min(start + Math.max(len, 0), buf.length);
    if (end <= start) return;
    this.stats.bytes += end - start;
    this.tsSec = tsSec;
    this.tsNsec = tsNsec;
    const st = this.dirs[dir];
    let p = start;
    let budget = 2 * (end - start) + 2 * HEADER_KEEP + 16;
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
        continue;
      }
      if (st.carryLen === 0) {
        const avail = end - p;
        if (avail < UACP_HEADER_LEN) {
          this.append(st, buf, p, avail);
          return;
        }
        const size = this.acceptHeader(st, dir, buf, p);
        if (size === 0) {
          p++;
          this.stats.skippedBytes++;
          continue;
        }
        if (avail >= size) {
          this.frame(dir, buf, p, size, size);
          p += size;
          continue;
        }
        st.need = size;
        st.keep = size > this.maxBuffered || !this.reserveCarry(st, size) ? HEADER_KEEP : size;
        const n = Math.min(avail, st.keep);
        this.append(st, buf, p, n);
        p += n;
        if (st.carryLen >= st.keep) this.flushCarry(dir, st);
        continue;
      }
      if (st.need === 0) {
        const n = Math.min(UACP_HEADER_LEN - st.carryLen, end - p);
        this.append(st, buf, p, n);
        p += n;
        if (st.carryLen < UACP_HEADER_LEN) return;
        const size = this.acceptHeader(st, dir, st.carry, 0);
        if (size === 0) {
          st.carry.copyWithin(0, 1, st.carryLen);
          st.carryLen--;
          this.stats.skippedBytes++;
          continue;
        }
        st.need = size;
        st.keep = size > this.maxBuffered || !this.reserveCarry(st, size) ? HEADER_KEEP : size;
      }
      const n = Math.min(st.keep - st.carryLen, end - p);
      this.append(st, buf, p, n);
      p += n;
      if (st.carryLen < st.keep) return;
      this.flushCarry(dir, st);
    }
  }

  /** `bytes` were lost in `dir`: drop the partial chunk and message, resynchronise on the next header. */
  gap(dir: OpcuaDir, bytes: number): void {
    const st = this.dirs[dir];
    this.stats.gaps++;
    if (bytes > 0) this.stats.gapBytes += bytes;
    let skip = 0;
    if (st.skip > 0) skip = bytes > 0 && bytes < st.skip ? st.skip - bytes : 0;
    else if (st.need > 0 && bytes > 0) {
      // The cut chunk's end is known: jump there rather than scanning its remains.
      const remaining = st.need - st.carryLen;
      skip = bytes < remaining ? remaining - bytes : 0;
    }
    this.stats.skippedBytes += st.carryLen;
    if (!st.syncing) this.stats.desyncs++;
    if (st.asmChunks > 0) this.stats.reassemblyDropped++;
    st.reset();
    st.skip = skip;
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
      this.stats.skippedBytes += st.carryLen;
      if (st.asmChunks > 0) this.stats.reassemblyDropped++;
      st.reset();
    }
    this.releaseBuffers();
  }

  /** Ready for another connection after `end()`: counters and state cleared, buffers and pools kept. */
  reuse(): void {
    while (this.head !== null) this.releaseSlot(this.head);
    for (const st of this.dirs) {
      st.reset();
      st.peerReceiveBuffer = 0;
      st.exceedsReported = false;
    }
    for (const k of STATS_KEYS) this.stats[k] = 0;
    this.security = SECURITY_UNKNOWN;
    this.helloSeen = false;
    this.overflowing = false;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Framing

  private append(st: DirState, buf: Uint8Array, p: number, n: number): void {
    const need = st.carryLen + n;
    if (st.carry.length < need) {
      // Grow by doubling up to the buffering cap (plus a header's worth): most connections never carry much.
      let cap = Math.max(256, st.carry.length * 2);
      while (cap < need) cap *= 2;
      // Within what reserveCarry took (or free): a chunk that did not fit was cut to its header before.
      st.carry = this.budget.growAnyway(st.carry, st.carryLen, Math.min(cap, this.maxBuffered + UACP_HEADER_LEN));
    }
    const carry = st.carry;
    let c = st.carryLen;
    if (n > 32) {
      carry.set(buf.subarray(p, p + n), c);
      c += n;
    } else for (let i = 0; i < n; i++) carry[c++] = buf[p + i] ?? 0;
    st.carryLen = c;
  }

  /**
   * Makes sure the carry buffer can take a chunk of `size` (with the budget), growing it now; false when the budget
   * refuses, and the chunk is then kept header-only like one over the buffering cap.
   */
  private reserveCarry(st: DirState, size: number): boolean {
    if (st.carry.length >= size) return true;
    let cap = Math.max(256, st.carry.length * 2);
    while (cap < size) cap *= 2;
    const next = this.budget.grow(st.carry, st.carryLen, Math.min(cap, this.maxBuffered + UACP_HEADER_LEN));
    if (next === null) {
      st.keptByBudget = true;
      return false;
    }
    st.carry = next;
    return true;
  }

  /** Gives the budget back what this parser's buffers took, and lets the buffers go. */
  private releaseBuffers(): void {
    for (const st of this.dirs) {
      this.budget.release(st.carry);
      this.budget.release(st.asm);
      st.carry = EMPTY;
      st.asm = EMPTY;
    }
  }

  private flushCarry(dir: OpcuaDir, st: DirState): void {
    const size = st.need;
    const kept = st.keep;
    st.carryLen = 0;
    st.need = 0;
    st.keep = 0;
    if (kept < size) st.skip = size - kept;
    this.frame(dir, st.carry, 0, kept, size);
    st.keptByBudget = false;
  }

  private acceptHeader(st: DirState, dir: OpcuaDir, b: Uint8Array, i: number): number {
    const size = plausibleChunkSize(b, i, this.maxChunkSize);
    if (st.syncing) {
      if (size === 0) return 0;
      st.syncing = false;
      this.stats.resyncs++;
      return size;
    }
    if (size === 0) {
      st.syncing = true;
      this.stats.desyncs++;
      this.emitAnomaly('invalid_header', dir, -1, -1, readU32(b, i + 4), DETAIL_HEADER);
      return 0;
    }
    return size;
  }

  /** One chunk at b[i, i+kept) whose declared size is `size` (kept < size: header-only). */
  private frame(dir: OpcuaDir, b: Uint8Array, i: number, kept: number, size: number): void {
    const st = this.dirs[dir];
    const stats = this.stats;
    const c = this.chunkRec;
    const mt = messageTypeAt(b, i);
    const ct = b[i + 3] ?? 0;
    stats.chunks++;
    c.dir = dir;
    c.msgType = mt;
    c.typeName = MESSAGE_TYPE_NAMES[mt] ?? '';
    c.chunkType = ct;
    c.size = size;
    c.secureChannelId = -1;
    c.tokenId = -1;
    c.sequenceNumber = -1;
    c.requestId = -1;
    c.serviceId = -1;
    c.serviceName = '';
    c.encrypted = false;
    c.complete = ct === CHUNK_FINAL;
    c.aborted = ct === CHUNK_ABORT;
    c.chunkCount = 1;
    c.headerOnly = kept < size;
    c.buf = b;
    c.off = i;
    c.len = kept;
    c.bodyBuf = EMPTY;
    c.bodyOff = 0;
    c.bodyLen = 0;
    c.tsSec = this.tsSec;
    c.tsNsec = this.tsNsec;
    if (c.headerOnly) {
      stats.headerOnly++;
      // Cut by the sensor's shared buffer budget, not by the traffic: counted there, no protocol anomaly.
      if (!st.keptByBudget) this.emitAnomaly('oversized_chunk', dir, -1, -1, size, DETAIL_OVERSIZED);
    }
    if (st.peerReceiveBuffer > 0 && size > st.peerReceiveBuffer && !st.exceedsReported) {
      st.exceedsReported = true;
      this.emitAnomaly('chunk_exceeds_buffer', dir, -1, -1, size, DETAIL_EXCEEDS);
    }
    const end = i + kept;
    if (mt < MT_OPN) {
      if (mt === MT_HEL || mt === MT_ACK) this.onHelloAck(dir, mt, b, i, kept);
      c.security = this.security;
      if (c.complete) stats.messages++;
      this.listener.chunk(this.ctx, c);
      return;
    }
    c.secureChannelId = readU32(b, i + 8);
    let seqOff: number;
    let readable: boolean;
    if (mt === MT_OPN) {
      // Asymmetric header: policy URI, sender certificate, receiver thumbprint (each length-prefixed, -1 = null).
      let p = i + 12;
      let policyOff = -1;
      let policyLen = -1;
      for (let f = 0; f < 3 && p >= 0; f++) {
        if (p + 4 > end) {
          p = -1;
          break;
        }
        const n = readU32(b, p) | 0;
        p += 4;
        if (f === 0) {
          policyOff = p;
          policyLen = n;
        }
        if (n > 0) p = p + n <= end ? p + n : -1;
      }
      if (p < 0) {
        if (!c.headerOnly) this.emitAnomaly('malformed_security_header', dir, -1, -1, size, DETAIL_SEC_HEADER);
        c.security = this.security;
        if (c.complete) stats.messages++;
        this.listener.chunk(this.ctx, c);
        return;
      }
      const none = policyLen === POLICY_NONE_BYTES.length && bytesEqual(b, policyOff, POLICY_NONE_BYTES);
      this.security = none ? SECURITY_NONE : SECURITY_SECURED;
      seqOff = p;
      readable = none;
    } else {
      c.tokenId = readU32(b, i + 12);
      seqOff = i + 16;
      // Continuation and abort chunks of a message whose first chunk was readable are readable too.
      readable = this.security === SECURITY_NONE || st.asmChunks > 0 || this.looksClear(b, seqOff + 8, end);
    }
    c.security = this.security;
    if (!readable) {
      c.encrypted = true;
      stats.encrypted++;
      if (c.complete) stats.messages++;
      this.listener.chunk(this.ctx, c);
      return;
    }
    if (seqOff + 8 <= end) {
      c.sequenceNumber = readU32(b, seqOff);
      c.requestId = readU32(b, seqOff + 4);
    }
    const bodyOff = seqOff + 8;
    if (ct === CHUNK_FINAL && st.asmChunks === 0) {
      // The common case: a single-chunk message, decoded in place.
      this.setService(c, b, bodyOff, end);
    } else this.reassemble(dir, st, c, b, bodyOff, end);
    if (c.complete) stats.messages++;
    this.listener.chunk(this.ctx, c);
    if (c.complete && c.serviceId >= 0 && !c.headerOnly) this.pair(c);
  }

  /** Reads the service NodeId at b[p] into the chunk record (-1 when not a ns=0 numeric id). */
  private setService(c: OpcuaChunk, b: Uint8Array, p: number, end: number): void {
    if (p >= end) return;
    const mask = b[p] ?? 0;
    let id = -1;
    let n = 0;
    if (mask === 0 && p + 2 <= end) {
      id = b[p + 1] ?? 0;
      n = 2;
    } else if (mask === 1 && p + 4 <= end && b[p + 1] === 0) {
      id = (b[p + 2] ?? 0) | ((b[p + 3] ?? 0) << 8);
      n = 4;
    } else if (mask === 2 && p + 7 <= end && b[p + 1] === 0 && b[p + 2] === 0) {
      id = readU32(b, p + 3);
      n = 7;
    }
    if (id < 0) return;
    // Mid-stream or on a secured channel, only a standard service id makes the body count as readable.
    if (this.security !== SECURITY_NONE && serviceKind(id) === 0) {
      c.encrypted = true;
      this.stats.encrypted++;
      return;
    }
    c.serviceId = id;
    c.serviceName = encodingName(id);
    c.bodyBuf = b;
    c.bodyOff = p + n;
    c.bodyLen = end - (p + n);
  }

  /** Whether the bytes at b[p] start with a standard service NodeId (four-byte or numeric encoding, ns 0). */
  private looksClear(b: Uint8Array, p: number, end: number): boolean {
    if (p + 4 > end) return false;
    const mask = b[p];
    if (mask === 1 && b[p + 1] === 0) return serviceKind((b[p + 2] ?? 0) | ((b[p + 3] ?? 0) << 8)) !== 0;
    if (mask === 2 && p + 7 <= end && b[p + 1] === 0 && b[p + 2] === 0) return serviceKind(readU32(b, p + 3)) !== 0;
    return false;
  }

  private reassemble(dir: OpcuaDir, st: DirState, c: OpcuaChunk, b: Uint8Array, p: number, end: number): void {
    const stats = this.stats;
    const ct = c.chunkType;
    if (ct === CHUNK_ABORT) {
      stats.aborted++;
      if (st.asmChunks > 0) stats.reassemblyDropped++;
      this.emitAnomaly('message_aborted', dir, c.requestId, -1, readU32(b, p), DETAIL_ABORT);
      st.asmLen = 0;
      st.asmChunks = 0;
      st.asmDropped = false;
      st.asmRequestId = -1;
      return;
    }
    if (st.asmChunks > 0 && c.requestId !== st.asmRequestId) {
      stats.reassemblyDropped++;
      this.emitAnomaly('interleaved_chunks', dir, c.requestId, -1, st.asmRequestId, DETAIL_INTERLEAVED);
      st.asmLen = 0;
      st.asmChunks = 0;
      st.asmDropped = false;
    }
    st.asmRequestId = c.requestId;
    st.asmChunks++;
    c.chunkCount = st.asmChunks;
    const n = end - p;
    if (!st.asmDropped) {
      if (c.headerOnly) st.asmDropped = true;
      else if (st.asmChunks > this.maxChunks) {
        st.asmDropped = true;
        this.emitAnomaly('too_many_chunks', dir, c.requestId, -1, st.asmChunks, DETAIL_TOO_MANY);
      } else if (st.asmLen + n > this.maxMessage) {
        st.asmDropped = true;
        this.emitAnomaly('message_too_large', dir, c.requestId, -1, st.asmLen + n, DETAIL_TOO_LARGE);
      } else {
        let fits = true;
        if (st.asm.length < st.asmLen + n) {
          let cap = Math.max(1024, st.asm.length * 2);
          while (cap < st.asmLen + n) cap *= 2;
          const next = this.budget.grow(st.asm, st.asmLen, Math.min(cap, this.maxMessage));
          if (next !== null) st.asm = next;
          else {
            fits = false;
            st.asmDropped = true; // counted in the budget's `refused` and as reassemblyDropped at the last chunk
          }
        }
        if (fits) {
          st.asm.set(b.subarray(p, end), st.asmLen);
          st.asmLen += n;
        }
      }
    }
    if (ct === CHUNK_INTERMEDIATE) {
      stats.intermediateChunks++;
      return;
    }
    // Final chunk: the message is whole (unless dropped by a cap).
    if (!st.asmDropped) {
      stats.reassembled++;
      this.setService(c, st.asm, 0, st.asmLen);
    } else stats.reassemblyDropped++;
    st.asmLen = 0;
    st.asmChunks = 0;
    st.asmDropped = false;
    st.asmRequestId = -1;
  }

  private onHelloAck(dir: OpcuaDir, mt: number, b: Uint8Array, i: number, kept: number): void {
    if (kept < 20) return;
    if (mt === MT_HEL) this.helloSeen = true;
    const receive = readU32(b, i + 12);
    const send = readU32(b, i + 16);
    if (receive < MIN_BUFFER_SIZE || send < MIN_BUFFER_SIZE) {
      this.emitAnomaly('invalid_buffer_size', dir, -1, -1, Math.min(receive, send), DETAIL_BUFFER);
    }
    // The sender of HEL/ACK receives in the other direction: chunks towards it must fit its receive buffer.
    const other = this.dirs[dir === 0 ? 1 : 0];
    other.peerReceiveBuffer = receive;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Pairing

  private pair(c: OpcuaChunk): void {
    const kind = serviceKind(c.serviceId);
    if (kind === 1) {
      this.stats.requests++;
      if (c.serviceId === CLOSE_SECURE_CHANNEL_REQUEST) return; // never answered by design
      this.onRequest(c);
    } else if (kind === 2) {
      this.stats.responses++;
      this.onResponse(c);
    }
  }

  private onRequest(c: OpcuaChunk): void {
    const key = c.requestId & 0x7fffffff;
    const prior = this.open.get(key);
    if (prior !== undefined) this.unanswered(prior, 'superseded', DETAIL_SUPERSEDED, true);
    if (this.open.size >= this.maxOpen && this.head !== null) {
      if (!this.overflowing) {
        this.overflowing = true;
        this.emitAnomaly('too_many_open_requests', c.dir, c.requestId, c.serviceId, this.maxOpen, DETAIL_TOO_MANY_OPEN);
      }
      this.stats.evicted++;
      this.unanswered(this.head, 'evicted', '', false);
    }
    const s = this.free ?? new Slot();
    if (s === this.free) this.free = s.next;
    s.requestId = c.requestId;
    s.serviceId = c.serviceId;
    s.tsSec = c.tsSec;
    s.tsNsec = c.tsNsec;
    if (this.lazy !== null) {
      // Kept, not decoded: most requests are never read past their service id. A body in the lent batch buffer is
      // referenced until the batch ends (most responses arrive before); any other buffer may change sooner: copied.
      const loan = this.loan;
      if (loan !== null && c.bodyBuf === loan.current && c.bodyLen > 0) {
        s.ref = c.bodyBuf;
        s.refOff = c.bodyOff;
        s.bodyLen = c.bodyLen;
        if (this.borrowed.length === 0) loan.borrow(this);
        this.borrowed.push(s);
      } else this.copyBody(s, c.bodyBuf, c.bodyOff, c.bodyLen);
      s.decoded = null;
    } else s.decoded = this.decode ? decodeServiceBody(c.serviceId, c.bodyBuf, c.bodyOff, c.bodyLen) : null;
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

  private onResponse(c: OpcuaChunk): void {
    const s = this.open.get(c.requestId & 0x7fffffff);
    const tx = this.txRec;
    const result = c.bodyLen >= 16 ? readU32(c.bodyBuf, c.bodyOff + 12) : -1;
    if (s === undefined || s.requestId !== c.requestId) {
      this.stats.unsolicited++;
      // Mid-stream, responses to requests sent before the capture started are expected.
      if (this.helloSeen)
        this.emitAnomaly('unsolicited_response', c.dir, c.requestId, c.serviceId, -1, DETAIL_UNSOLICITED);
      this.fillTx('unsolicited', 'unsolicited', c.requestId, -1);
      this.setResponse(tx, c, result);
      this.emitTx();
      return;
    }
    this.stats.paired++;
    this.fillTx('paired', 'response', s.requestId, s.serviceId);
    tx.requestTsSec = s.tsSec;
    tx.requestTsNsec = s.tsNsec;
    this.setRequest(s);
    this.setResponse(tx, c, result);
    tx.rttNs = (c.tsSec - s.tsSec) * 1e9 + (c.tsNsec - s.tsNsec);
    this.emitTx();
    this.releaseSlot(s);
  }

  private setResponse(tx: OpcuaTransaction, c: OpcuaChunk, result: number): void {
    tx.responseServiceId = c.serviceId;
    tx.responseServiceName = c.serviceName;
    tx.responseTsSec = c.tsSec;
    tx.responseTsNsec = c.tsNsec;
    tx.serviceResult = result;
    tx.serviceResultName = result >= 0 ? statusCodeName(result) : '';
    if (this.lazy !== null) this.lazy.resp.point(c.serviceId, c.bodyBuf, c.bodyOff, c.bodyLen);
    else tx.response = this.decode ? decodeServiceBody(c.serviceId, c.bodyBuf, c.bodyOff, c.bodyLen) : null;
  }

  private setRequest(s: Slot): void {
    if (this.lazy !== null) {
      if (s.ref !== EMPTY) this.lazy.req.point(s.serviceId, s.ref, s.refOff, s.bodyLen);
      else this.lazy.req.point(s.serviceId, s.body, 0, s.bodyLen);
    } else this.txRec.request = s.decoded;
  }

  private unanswered(s: Slot, reason: OpcuaTransactionReason, detail: string, withAnomaly: boolean): void {
    this.stats.unanswered++;
    if (withAnomaly) this.emitAnomaly('request_unanswered', 0, s.requestId, s.serviceId, -1, detail);
    this.fillTx('unanswered', reason, s.requestId, s.serviceId);
    this.txRec.requestTsSec = s.tsSec;
    this.txRec.requestTsNsec = s.tsNsec;
    this.setRequest(s);
    this.emitTx();
    this.releaseSlot(s);
  }

  private fillTx(kind: OpcuaTransactionKind, reason: OpcuaTransactionReason, requestId: number, serviceId: number) {
    const tx = this.txRec;
    tx.kind = kind;
    tx.reason = reason;
    tx.requestId = requestId;
    tx.requestServiceId = serviceId;
    tx.requestServiceName = serviceId >= 0 ? encodingName(serviceId) : '';
    tx.responseServiceId = -1;
    tx.responseServiceName = '';
    tx.serviceResult = -1;
    tx.serviceResultName = '';
    tx.requestTsSec = -1;
    tx.requestTsNsec = -1;
    tx.responseTsSec = -1;
    tx.responseTsNsec = -1;
    tx.rttNs = -1;
    tx.request = null;
    tx.response = null;
  }

  private emitTx(): void {
    this.stats.transactions++;
    this.listener.transaction(this.ctx, this.txRec);
  }

  private releaseSlot(s: Slot): void {
    const key = s.requestId & 0x7fffffff;
    if (this.open.get(key) === s) this.open.delete(key);
    if (s.prev !== null) s.prev.next = s.next;
    else this.head = s.next;
    if (s.next !== null) s.next.prev = s.prev;
    else this.tail = s.prev;
    s.prev = null;
    s.decoded = null;
    s.ref = EMPTY;
    s.next = this.free;
    this.free = s;
    const size = this.open.size;
    this.stats.openRequests = size;
    if (this.overflowing && size < this.maxOpen >> 1) this.overflowing = false;
  }

  private emitAnomaly(
    kind: OpcuaAnomalyKind,
    dir: OpcuaDir,
    requestId: number,
    serviceId: number,
    value: number,
    detail: string,
  ): void {
    const a = this.anomalyRec;
    a.kind = kind;
    a.dir = dir;
    a.tsSec = this.tsSec;
    a.tsNsec = this.tsNsec;
    a.requestId = requestId;
    a.serviceId = serviceId;
    a.value = value;
    a.detail = detail;
    this.stats.anomalies++;
    this.listener.anomaly(this.ctx, a);
  }
}

function bytesEqual(b: Uint8Array, off: number, want: Uint8Array): boolean {
  for (let k = 0; k < want.length; k++) if (b[off + k] !== want[k]) return false;
  return true;
}
