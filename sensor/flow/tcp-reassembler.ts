/**
 * TCP reassembly: turns the segments of each direction of a flow into an ordered byte stream with explicit gaps.
 *
 * - In-order payload is handed to the sink straight from the packet buffer (no copy).
 * - Retransmissions (wholly before the next expected byte) are dropped; partial overlaps are trimmed.
 * - Segments ahead of the next expected byte are copied into a bounded, sorted per-stream buffer and delivered
 *   once the hole before them fills.
 * - A hole is given up on, and reported as `gap(bytes)` before delivery resumes, when: the buffer budget (per
 *   stream or global) would be exceeded; a FIN or RST arrives with data still missing; the other side ACKs bytes
 *   the capture never showed us; or buffered data has waited `gapTimeoutSec` (packet time).
 * - Segments far outside the window (`maxSeqJump`) are dropped; if several in a row are, the stream resyncs to them
 *   with a gap (a capture that lost a lot), so one forged packet cannot derail a stream but a real jump recovers.
 *
 * Nothing here throws on packet contents. Delivered buffers are only valid during the sink call.
 */

import type { PacketView } from '../../protocols/link/packet-view.ts';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from '../../protocols/link/packet-view.ts';
import type { Flow } from './flow.ts';
import { FLOW_ACTIVE, FLOW_CLOSED, FLOW_CLOSING } from './flow.ts';
import type { FlowEndHook, FlowTable } from './flow-table.ts';
import type { TcpStream } from './tcp-stream.ts';
import { BufferedSegment } from './tcp-stream.ts';

export interface StreamSink {
  /** `len` stream bytes at `buf[off..off+len)`; valid only during the call (copy what you keep). */
  data(flow: Flow, dir: 0 | 1, buf: Uint8Array, off: number, len: number, tsSec: number, tsNsec: number): void;
  /** `bytes` stream bytes were lost before the next data: parsers resynchronise. */
  gap(flow: Flow, dir: 0 | 1, bytes: number, tsSec: number): void;
}

export interface TcpReassemblerOptions {
  /** Out-of-order bytes one direction may hold. */
  maxBufferedBytesPerStream?: number;
  /** Out-of-order bytes all streams together may hold. */
  maxBufferedBytesTotal?: number;
  /** Out-of-order pieces one direction may hold (bounds the list walk and per-piece overhead of tiny segments). */
  maxBufferedSegmentsPerStream?: number;
  /** Longest time (s, packet time) buffered data waits for a hole to fill. */
  gapTimeoutSec?: number;
  /** Sequence distance (either way) beyond which a segment is out of window rather than ahead or behind. */
  maxSeqJump?: number;
  /** Consecutive out-of-window segments after which the stream resyncs to them. */
  resyncAfterOutOfWindow?: number;
}

export class TcpReassemblerStats {
  segments = 0;
  payloadBytes = 0;
  deliveredBytes = 0;
  synWithData = 0;
  /** Segments (and their bytes) wholly before the next expected byte. */
  retransmittedSegments = 0;
  retransmittedBytes = 0;
  /** Segments partly before the next expected byte, and the bytes trimmed off. */
  partialOverlaps = 0;
  partialOverlapBytes = 0;
  /** Segments copied into an out-of-order buffer. */
  outOfOrderSegments = 0;
  /** Out-of-order segments overlapping already-buffered data (the first copy kept), and those whose bytes differ. */
  outOfOrderOverlaps = 0;
  overlapConflicts = 0;
  streamBufferExceeded = 0;
  globalBufferExceeded = 0;
  segmentCapExceeded = 0;
  gaps = 0;
  gapBytes = 0;
  gapsBuffer = 0;
  gapsFin = 0;
  gapsRst = 0;
  gapsAck = 0;
  gapsTimeout = 0;
  gapsResync = 0;
  gapsFlowEnd = 0;
  /** Segments dropped for being beyond `maxSeqJump`, and resyncs after a run of them. */
  outOfWindow = 0;
  resyncs = 0;
  /** Payload after a FIN/RST closed its direction (or beyond the FIN), dropped. */
  dataAfterClose = 0;
  bufferedBytes = 0;
  bufferedBytesPeak = 0;
}

const DEFAULTS = {
  maxBufferedBytesPerStream: 256 * 1024,
  maxBufferedBytesTotal: 64 * 1024 * 1024,
  maxBufferedSegmentsPerStream: 4096,
  gapTimeoutSec: 5,
  maxSeqJump: 1 << 30,
  resyncAfterOutOfWindow: 3,
};

const GAP_BUFFER = 0;
const GAP_FIN = 1;
const GAP_RST = 2;
const GAP_ACK = 3;
const GAP_TIMEOUT = 4;
const GAP_RESYNC = 5;
const GAP_FLOW_END = 6;
type GapCause = 0 | 1 | 2 | 3 | 4 | 5 | 6;

export class TcpReassembler implements FlowEndHook {
  readonly stats = new TcpReassemblerStats();
  private readonly sink: StreamSink;
  private readonly table: FlowTable | null;
  private readonly maxPerStream: number;
  private readonly maxTotal: number;
  private readonly maxSegments: number;
  private readonly gapTimeoutSec: number;
  private readonly maxSeqJump: number;
  private readonly resyncAfter: number;
  /** Streams holding buffered data (for gap timeouts in `expire`). */
  private pendingHead: TcpStream | null = null;
  /** Time of the packet (or expire call) being processed: stamped on deliveries. */
  private curSec = 0;
  private curNsec = 0;

  /**
   * With a table, registers itself so that ending a flow first flushes its buffered data (with a gap) and
   * returns its buffer budget, and so that `table.expire` also runs gap timeouts; state changes are reported
   * back with `table.stateChanged`.
   */
  constructor(table: FlowTable | null, sink: StreamSink, options?: TcpReassemblerOptions) {
    const o = { ...DEFAULTS, ...options };
    this.table = table;
    this.sink = sink;
    this.maxPerStream = atLeast(o.maxBufferedBytesPerStream, 0, 'maxBufferedBytesPerStream');
    this.maxTotal = atLeast(o.maxBufferedBytesTotal, 0, 'maxBufferedBytesTotal');
    this.maxSegments = atLeast(o.maxBufferedSegmentsPerStream, 1, 'maxBufferedSegmentsPerStream');
    this.gapTimeoutSec = atLeast(o.gapTimeoutSec, 0, 'gapTimeoutSec');
    this.maxSeqJump = Math.min(atLeast(o.maxSeqJump, 1, 'maxSeqJump'), 0x7fffffff);
    this.resyncAfter = atLeast(o.resyncAfterOutOfWindow, 1, 'resyncAfterOutOfWindow');
    table?.setEndHook(this);
  }

  /** Handles one TCP segment of `flow` travelling in `dir` (normally `flow.lastDir` right after lookup). */
  handle(flow: Flow, dir: 0 | 1, p: PacketView, tsSec: number, tsNsec: number): void {
    const streams = flow.tcp;
    if (streams === null || flow.ended) return;
    this.curSec = tsSec;
    this.curNsec = tsNsec;
    const st = this.stats;
    st.segments++;
    const s = streams[dir];
    const peer = streams[dir === 0 ? 1 : 0];
    const flags = p.tcpFlags;
    const len = p.payloadLen;

    // Fast lane, most segments of an established connection: exactly the next bytes of an open direction, no
    // SYN/FIN/RST, nothing buffered, no ACK gap waiting on either side. Does what the general path below does for
    // such a segment (note the ACK, deliver from the packet) without its dozen other tests.
    if (
      len > 0 &&
      (flags & (TCP_SYN | TCP_FIN | TCP_RST)) === 0 &&
      s.head === null &&
      !s.ackPending &&
      !peer.ackPending &&
      s.initialized &&
      !s.closed &&
      (((p.tcpSeq | 0) - s.nextSeq) | 0) === 0
    ) {
      if ((flags & TCP_ACK) !== 0 && peer.initialized && !peer.closed) this.noteAck(peer, p.tcpAck | 0);
      st.payloadBytes += len;
      s.outOfWindowRun = 0;
      this.emit(s, p.payload, p.payloadOff, len);
      return;
    }

    // Acknowledged-but-unseen bytes noted by earlier packets; this packet is their last chance to show up.
    const sAckDue = s.ackPending;
    const peerAckDue = peer.ackPending;
    // The ACK speaks about the other direction: bytes acknowledged but never seen were lost by the capture.
    if ((flags & TCP_ACK) !== 0 && (flags & TCP_RST) === 0 && peer.initialized && !peer.closed) {
      // Signed (`| 0`), not unsigned: only distances mod 2^32 are taken from it, and an int32 passes to a call as a
      // small integer, whereas a value ≥ 2^31 is boxed as a heap number (half of all packets, most of our garbage).
      this.noteAck(peer, p.tcpAck | 0);
    }
    if ((flags & TCP_RST) !== 0) {
      // An RST aborts both directions; its payload (if any) is diagnostic text, not stream data. One far outside
      // the window cannot be the real endpoint's: ignore it rather than stop following the connection.
      if (!s.initialized) this.init(s, p.tcpSeq >>> 0, false);
      else if (this.outsideWindow(s, p.tcpSeq >>> 0)) {
        st.outOfWindow++;
        return;
      }
      s.rstSeen = true;
      this.close(s, GAP_RST);
      this.close(peer, GAP_RST);
      this.updateFlowState(flow);
      return;
    }

    const syn = (flags & TCP_SYN) !== 0;
    // SYN occupies one sequence number: its payload (rare, TCP Fast Open) starts after it.
    // Signed for the same reason as the ACK above: placeSegment only takes distances from it.
    const seq = ((p.tcpSeq >>> 0) + (syn ? 1 : 0)) | 0;
    if (!s.initialized) this.init(s, seq >>> 0, syn);
    let inWindow = true;
    if (len > 0) {
      st.payloadBytes += len;
      if (syn) st.synWithData++;
      inWindow = this.placeSegment(s, seq, p.payload, p.payloadOff, len);
    }
    if ((flags & TCP_FIN) !== 0 && inWindow && !s.closed) this.onFin(s, (seq + len) >>> 0);
    if (sAckDue) this.resolveAck(s);
    if (peerAckDue) this.resolveAck(peer);
    if (s.head !== null && tsSec - s.holeSinceSec >= this.gapTimeoutSec) this.giveUpFirstHole(s, GAP_TIMEOUT);
  }

  /** Gap timeouts at packet time `tsSec` for streams holding buffered data. Called by FlowTable.expire. */
  expire(tsSec: number): void {
    this.curSec = tsSec;
    this.curNsec = 0;
    let s = this.pendingHead;
    while (s !== null) {
      const next = s.pendingNext;
      // One hole per call: giving it up restarts the clock for any hole behind it.
      if (s.head !== null && tsSec - s.holeSinceSec >= this.gapTimeoutSec) this.giveUpFirstHole(s, GAP_TIMEOUT);
      s = next;
    }
  }

  /** Delivers what a flow still buffers (after gaps) and releases its budget. Called by FlowTable.end. */
  finishFlow(flow: Flow, tsSec: number): void {
    const streams = flow.tcp;
    if (streams === null) return;
    this.curSec = tsSec;
    this.curNsec = 0;
    // Indexed, not for-of: runs once per flow, often before this is optimised, where for-of allocates iterator results.
    for (let i = 0; i < 2; i++) {
      const s = streams[i] as TcpStream;
      if (s.ackPending) this.resolveAck(s);
      while (s.head !== null) this.giveUpFirstHole(s, GAP_FLOW_END);
    }
  }

  private init(s: TcpStream, seq: number, syn: boolean): void {
    s.initialized = true;
    s.sawSyn = syn;
    s.initialSeq = seq;
    s.nextSeq = seq;
  }

  /**
   * Returns false when the segment was out of window (dropped without effect). `seq` may be signed or unsigned:
   * only its distance from `nextSeq` mod 2^32 is used.
   */
  private placeSegment(s: TcpStream, seq: number, buf: Uint8Array, off: number, len: number): boolean {
    const st = this.stats;
    const rel = (seq - s.nextSeq) | 0;
    if (rel > this.maxSeqJump || rel < -this.maxSeqJump) {
      st.outOfWindow++;
      if (++s.outOfWindowRun < this.resyncAfter || s.closed) return false;
      // Several segments in a row agree the stream is elsewhere: the capture lost a lot. Jump forward to them.
      st.resyncs++;
      while (s.head !== null) this.giveUpFirstHole(s, GAP_RESYNC);
      this.gap(s, (seq - s.nextSeq) >>> 0, GAP_RESYNC);
      s.outOfWindowRun = 0;
      this.deliverFromPacket(s, buf, off, s.offset, s.offset + len);
      return true;
    }
    s.outOfWindowRun = 0;
    if (rel + len <= 0) {
      st.retransmittedSegments++;
      st.retransmittedBytes += len;
      return true;
    }
    if (s.closed) {
      st.dataAfterClose++;
      return true;
    }
    // The common case: exactly the next bytes, nothing buffered. deliverFromPacket would emit them whole too.
    if (rel === 0 && s.head === null) {
      this.emit(s, buf, off, len);
      return true;
    }
    const start = s.offset + rel;
    if (rel <= 0) this.deliverFromPacket(s, buf, off, start, start + len);
    else this.bufferSegment(s, buf, off, start, len);
    return true;
  }

  /**
   * Delivers packet bytes covering stream offsets [start, end) (start ≤ s.offset): the part before s.offset is
   * trimmed, and where buffered pieces overlap the packet the buffered copy is delivered instead (first copy wins,
   * as in the buffer itself).
   */
  private deliverFromPacket(s: TcpStream, buf: Uint8Array, off: number, start: number, end: number): void {
    if (start < s.offset) {
      this.stats.partialOverlaps++;
      this.stats.partialOverlapBytes += Math.min(end, s.offset) - start;
    }
    let cur = Math.max(start, s.offset);
    while (cur < end) {
      const head = s.head;
      if (head !== null && head.off <= s.offset) {
        this.deliverHead(s);
        if (cur < s.offset) cur = s.offset;
        continue;
      }
      const lim = head !== null && head.off < end ? head.off : end;
      this.emit(s, buf, off + (cur - start), lim - cur);
      cur = lim;
    }
    this.drain(s);
  }

  private bufferSegment(s: TcpStream, buf: Uint8Array, off: number, start: number, len: number): void {
    const st = this.stats;
    let counted = false;
    while (
      s.bufferedBytes + len > this.maxPerStream ||
      st.bufferedBytes + len > this.maxTotal ||
      s.bufferedSegments >= this.maxSegments
    ) {
      if (!counted) {
        counted = true;
        if (s.bufferedBytes + len > this.maxPerStream) st.streamBufferExceeded++;
        else if (st.bufferedBytes + len > this.maxTotal) st.globalBufferExceeded++;
        else st.segmentCapExceeded++;
      }
      const head = s.head;
      if (head === null || start <= head.off) {
        // This segment is the earliest data we hold: give up the hole before it and deliver it from the packet.
        this.gap(s, start - s.offset, GAP_BUFFER);
        this.deliverFromPacket(s, buf, off, start, start + len);
        return;
      }
      this.giveUpFirstHole(s, GAP_BUFFER);
      if (start <= s.offset) {
        if (start + len > s.offset) this.deliverFromPacket(s, buf, off, start, start + len);
        return;
      }
    }
    this.insert(s, buf, off, start, start + len);
  }

  /**
   * Copies [start, end) into the sorted buffer. Where it overlaps pieces already there, the first copy wins: the
   * buffered bytes stay and only the uncovered parts of the new segment are stored. Receivers differ in which copy
   * they keep, so no choice is right for every target; first-wins means buffered data never changes once stored
   * (nothing is re-copied), and differing overlaps — an evasion technique — are counted as conflicts.
   */
  private insert(s: TcpStream, buf: Uint8Array, off: number, start: number, end: number): void {
    this.stats.outOfOrderSegments++;
    const tail = s.tail;
    if (tail === null || start >= tail.end) {
      this.link(s, tail, this.copy(buf, off, start, start, end));
      return;
    }
    let a = start;
    let prev: BufferedSegment | null = null;
    let cur = s.head;
    let overlapped = false;
    while (cur !== null && a < end) {
      if (cur.end <= a) {
        prev = cur;
        cur = cur.next;
        continue;
      }
      if (cur.off >= end) break;
      if (a < cur.off) {
        const piece = this.copy(buf, off, start, a, cur.off);
        this.link(s, prev, piece);
        prev = piece;
        a = cur.off;
      }
      const ovEnd = Math.min(cur.end, end);
      overlapped = true;
      this.compareOverlap(cur, buf, off, start, a, ovEnd);
      a = ovEnd;
      prev = cur;
      cur = cur.next;
    }
    if (a < end) this.link(s, prev, this.copy(buf, off, start, a, end));
    if (overlapped) this.stats.outOfOrderOverlaps++;
  }

  /** Counts a conflict when the new copy of [from, to) differs from the buffered one. */
  private compareOverlap(
    seg: BufferedSegment,
    buf: Uint8Array,
    off: number,
    start: number,
    from: number,
    to: number,
  ): void {
    const d = seg.data;
    for (let o = from; o < to; o++) {
      if (d[o - seg.off] !== buf[off + (o - start)]) {
        this.stats.overlapConflicts++;
        return;
      }
    }
  }

  /**
   * A fresh copy of the packet bytes for stream offsets [from, to) (the packet starts at `start`). Built with
   * `new Uint8Array` + `set`, not `slice`: on a Node Buffer `slice` returns a view into the reused capture buffer.
   */
  private copy(buf: Uint8Array, off: number, start: number, from: number, to: number): BufferedSegment {
    const b = off + (from - start);
    const data = new Uint8Array(to - from);
    data.set(buf.subarray(b, b + data.length));
    return new BufferedSegment(from, data);
  }

  /** Links `seg` after `prev` (at the head when null) and charges the budgets. */
  private link(s: TcpStream, prev: BufferedSegment | null, seg: BufferedSegment): void {
    if (s.head === null) {
      s.holeSinceSec = this.curSec;
      this.pendingAdd(s);
    }
    if (prev === null) {
      seg.next = s.head;
      s.head = seg;
    } else {
      seg.next = prev.next;
      prev.next = seg;
    }
    if (seg.next === null) s.tail = seg;
    const n = seg.data.length;
    s.bufferedBytes += n;
    s.bufferedSegments++;
    const st = this.stats;
    st.bufferedBytes += n;
    if (st.bufferedBytes > st.bufferedBytesPeak) st.bufferedBytesPeak = st.bufferedBytes;
  }

  /** Delivers buffered pieces that now start at or before the next expected byte. */
  private drain(s: TcpStream): void {
    let delivered = false;
    while (s.head !== null && s.head.off <= s.offset) {
      this.deliverHead(s);
      delivered = true;
    }
    // A hole filled but another remains: its wait starts now.
    if (delivered && s.head !== null) s.holeSinceSec = this.curSec;
  }

  private deliverHead(s: TcpStream): void {
    const seg = s.head;
    if (seg === null) return;
    s.head = seg.next;
    if (s.head === null) {
      s.tail = null;
      this.pendingRemove(s);
    }
    const n = seg.data.length;
    s.bufferedBytes -= n;
    s.bufferedSegments--;
    this.stats.bufferedBytes -= n;
    if (seg.end > s.offset) {
      const skip = s.offset - seg.off;
      this.emit(s, seg.data, skip, n - skip);
    }
  }

  /** Declares the hole before the first buffered piece lost and delivers what follows it. */
  private giveUpFirstHole(s: TcpStream, cause: GapCause): void {
    const head = s.head;
    if (head === null) return;
    if (head.off > s.offset) this.gap(s, head.off - s.offset, cause);
    this.drain(s);
  }

  /** Brings the stream to `target` (a stream offset), delivering buffered pieces before it and gaps between. */
  private skipTo(s: TcpStream, target: number, cause: GapCause): void {
    while (s.offset < target) {
      const head = s.head;
      if (head !== null && head.off < target) this.giveUpFirstHole(s, cause);
      else this.gap(s, target - s.offset, cause);
    }
  }

  /**
   * The other side acknowledged up to `ack`. If that is beyond what we have seen, the capture lost those bytes,
   * or only reordered them: capture points (SPAN ports, taps merging two directions) can record an ACK just
   * before the data it acknowledges. So the gap is declared one packet later (`resolveAck`), giving the data that
   * one packet to show up.
   */
  private noteAck(peer: TcpStream, ack: number): void {
    const rel = (ack - peer.nextSeq) | 0;
    if (rel <= 0 || rel > this.maxSeqJump) return;
    const target = peer.offset + rel;
    if (target > peer.ackedOffset) peer.ackedOffset = target;
    peer.ackPending = true;
  }

  private resolveAck(s: TcpStream): void {
    s.ackPending = false;
    if (!s.closed && s.ackedOffset > s.offset) this.skipTo(s, s.ackedOffset, GAP_ACK);
  }

  private outsideWindow(s: TcpStream, seq: number): boolean {
    const rel = (seq - s.nextSeq) | 0;
    return rel > this.maxSeqJump || rel < -this.maxSeqJump;
  }

  private onFin(s: TcpStream, finSeq: number): void {
    const rel = (finSeq - s.nextSeq) | 0;
    if (rel > this.maxSeqJump || rel < -this.maxSeqJump) {
      // A bare FIN far outside the window (forged or garbage) must not close the stream.
      this.stats.outOfWindow++;
      return;
    }
    // Data still missing before the FIN will not come any more (the sender is done): declare it lost.
    if (rel > 0) this.skipTo(s, s.offset + rel, GAP_FIN);
    s.finSeen = true;
    this.close(s, GAP_FIN);
    // The FIN itself occupies one sequence number; the peer's ACK of it must not look like unseen data.
    if (rel >= 0) s.nextSeq = (s.nextSeq + 1) >>> 0;
    this.updateFlowState(s.flow);
  }

  /** Marks the direction closed; anything still buffered is delivered after a gap (nothing more will fill it). */
  private close(s: TcpStream, cause: GapCause): void {
    while (s.head !== null) this.giveUpFirstHole(s, cause);
    s.closed = true;
  }

  private updateFlowState(flow: Flow): void {
    const streams = flow.tcp;
    if (streams === null) return;
    const before = flow.state;
    const a = streams[0].closed;
    const b = streams[1].closed;
    flow.state = a && b ? FLOW_CLOSED : a || b ? FLOW_CLOSING : FLOW_ACTIVE;
    if (flow.state !== before) this.table?.stateChanged(flow);
  }

  private emit(s: TcpStream, buf: Uint8Array, off: number, len: number): void {
    if (len <= 0) return;
    s.nextSeq = (s.nextSeq + len) >>> 0;
    s.offset += len;
    s.deliveredBytes += len;
    this.stats.deliveredBytes += len;
    this.sink.data(s.flow, s.dir, buf, off, len, this.curSec, this.curNsec);
  }

  private gap(s: TcpStream, bytes: number, cause: GapCause): void {
    if (bytes <= 0) return;
    s.nextSeq = (s.nextSeq + bytes) >>> 0;
    s.offset += bytes;
    s.gapBytes += bytes;
    s.gaps++;
    const st = this.stats;
    st.gaps++;
    st.gapBytes += bytes;
    if (cause === GAP_BUFFER) st.gapsBuffer++;
    else if (cause === GAP_FIN) st.gapsFin++;
    else if (cause === GAP_RST) st.gapsRst++;
    else if (cause === GAP_ACK) st.gapsAck++;
    else if (cause === GAP_TIMEOUT) st.gapsTimeout++;
    else if (cause === GAP_RESYNC) st.gapsResync++;
    else st.gapsFlowEnd++;
    this.sink.gap(s.flow, s.dir, bytes, this.curSec);
  }

  private pendingAdd(s: TcpStream): void {
    if (s.pending) return;
    s.pending = true;
    s.pendingPrev = null;
    s.pendingNext = this.pendingHead;
    if (this.pendingHead !== null) this.pendingHead.pendingPrev = s;
    this.pendingHead = s;
  }

  private pendingRemove(s: TcpStream): void {
    if (!s.pending) return;
    s.pending = false;
    if (s.pendingPrev !== null) s.pendingPrev.pendingNext = s.pendingNext;
    else this.pendingHead = s.pendingNext;
    if (s.pendingNext !== null) s.pendingNext.pendingPrev = s.pendingPrev;
    s.pendingPrev = null;
    s.pendingNext = null;
  }
}

function atLeast(v: number, min: number, name: string): number {
  if (!(v >= min)) throw new RangeError(`TcpReassembler: ${name} must be ≥ ${min}, got ${v}`);
  return v;
}
