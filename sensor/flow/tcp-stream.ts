/**
 * The reassembly state of one direction of a TCP connection. Two are allocated with each TCP flow; the
 * TcpReassembler (tcp-reassembler.ts) drives them.
 *
 * Positions inside a stream are kept twice: `nextSeq`, the next expected 32-bit sequence number (wraps mod 2^32),
 * and `offset`, the same position as a plain stream offset (bytes delivered + gap bytes since the stream began).
 * Incoming sequence numbers are turned into stream offsets once, as a signed 32-bit distance from `nextSeq`, so
 * the out-of-order buffer is ordered by ordinary numbers and never has to think about wraparound.
 */
import type { Flow } from './flow.ts';

/** A copied out-of-order piece of payload covering stream offsets [off, end). Pieces never overlap. */
export class BufferedSegment {
  off: number;
  end: number;
  data: Uint8Array;
  next: BufferedSegment | null = null;

  constructor(off: number, data: Uint8Array) {
    this.off = off;
    this.end = off + data.length;
    this.data = data;
  }
}

export class TcpStream {
  readonly flow: Flow;
  readonly dir: 0 | 1;

  /** False until the first segment of this direction is seen. */
  initialized = false;
  /** True when the stream began with a SYN (handshake seen) rather than a mid-stream pickup. */
  sawSyn = false;
  /** Sequence number of the first data byte (ISN + 1 after a SYN, else the first segment's seq). */
  initialSeq = 0;
  /** Next expected sequence number (unsigned 32-bit). */
  nextSeq = 0;
  /** Stream offset of `nextSeq`: data bytes delivered plus gap bytes skipped. */
  offset = 0;
  /** FIN or RST seen (and everything before a FIN delivered or declared a gap). */
  closed = false;
  finSeen = false;
  rstSeen = false;

  /** Out-of-order pieces, sorted by offset; `tail` makes the common ascending arrival an O(1) append. */
  head: BufferedSegment | null = null;
  tail: BufferedSegment | null = null;
  bufferedBytes = 0;
  bufferedSegments = 0;
  /** Packet time (s) since which the current hole has blocked delivery (valid while `head` is set). */
  holeSinceSec = 0;

  /** Highest stream offset the other side acknowledged, and whether that still needs checking for lost bytes. */
  ackedOffset = 0;
  ackPending = false;

  /** Consecutive segments far outside the window (see TcpReassembler's resync rule). */
  outOfWindowRun = 0;

  deliveredBytes = 0;
  gapBytes = 0;
  gaps = 0;

  /** Intrusive list of streams holding buffered data, walked by TcpReassembler.expire for gap timeouts. */
  pendingPrev: TcpStream | null = null;
  pendingNext: TcpStream | null = null;
  pending = false;

  constructor(flow: Flow, dir: 0 | 1) {
    this.flow = flow;
    this.dir = dir;
  }
}
