/**
 * IPv4 fragment reassembly (RFC 791 §3.2, with the hole bookkeeping of RFC 815 done as a sorted list of pieces).
 *
 * Fragments are rare on OT networks, so this path may allocate: each stored piece is a copy (the capture source
 * reuses its buffers), and a completed datagram is a freshly allocated buffer. What it must not do is grow without
 * bound, so three limits apply, each counted when it bites:
 *   - at most `maxDatagrams` datagrams in progress (the oldest is evicted to make room),
 *   - at most `maxBytes` fragment bytes buffered in total (oldest datagrams are evicted to make room),
 *   - a datagram not completed within `timeoutSec` of its first fragment (packet time, not wall clock) expires.
 *
 * Overlap policy: FIRST WINS. Bytes already held are never replaced by a later fragment; only the parts of a new
 * fragment that fill holes are stored. (Targets differ here — Linux drops overlapping datagrams, Windows keeps the
 * first copy — so an IDS cannot be right for every host; the overlap is counted so a rule can flag it.)
 * A datagram larger than 65535 bytes (header included) is dropped as oversize (the "ping of death" shape).
 */

/** What `add` did with a fragment. */
export const FRAG_HELD = 0; // stored (or a harmless duplicate); the datagram is not complete yet
export const FRAG_COMPLETE = 1; // the datagram is complete: see `completed`
export const FRAG_REJECTED = 2; // the fragment cannot be right (oversize, contradicts the known end, bad length)
export type FragmentResult = 0 | 1 | 2;

export interface Ipv4FragmentOptions {
  /** Datagrams in progress at once (default 1024); the oldest is evicted beyond it. */
  maxDatagrams?: number;
  /** Fragment bytes buffered across all datagrams (default 4 MiB); oldest datagrams are evicted beyond it. */
  maxBytes?: number;
  /** Seconds of packet time a datagram may wait for its missing fragments (default 30). */
  timeoutSec?: number;
}

export class Ipv4FragmentStats {
  /** Fragments seen (every packet with MF set or a non-zero offset). */
  fragments = 0;
  /** Fragments stored while their datagram was still incomplete. */
  held = 0;
  /** Datagrams completed. */
  reassembled = 0;
  /** Datagrams dropped because their fragments did not all arrive within the timeout. */
  expired = 0;
  /** Datagrams evicted (oldest first) because `maxDatagrams` were already in progress. */
  evictedByCount = 0;
  /** Datagrams evicted (oldest first) to stay within `maxBytes`. */
  evictedByBytes = 0;
  /** Fragments that overlapped bytes already held with different extent or content (first copy kept). */
  overlapping = 0;
  /** Fragments entirely covered by bytes already held, with the same content. */
  duplicates = 0;
  /** Fragments that would make the datagram exceed 65535 bytes; their datagram is dropped. */
  oversize = 0;
  /** Fragments that contradict what is known (data past the last fragment's end, two different ends, MF set
   *  on a length that is not a multiple of 8). Rejected; the datagram keeps waiting. */
  inconsistent = 0;
  /** Fragments dropped because a single fragment alone exceeds `maxBytes`. */
  droppedTooLarge = 0;
}

const MAX_DATAGRAM = 65535;

/** One datagram in progress. Pieces are disjoint byte ranges of the IP payload, sorted by start. */
class PendingDatagram {
  readonly firstSeenSec: number;
  readonly starts: number[] = [];
  readonly parts: Uint8Array[] = [];
  /** Bytes held (pieces never overlap, so this is also the number of payload bytes covered). */
  bytes = 0;
  /** Payload length, known once the fragment with MF clear has arrived; -1 before. */
  totalLen = -1;
  /** End of the furthest piece held. */
  maxEnd = 0;

  constructor(firstSeenSec: number) {
    this.firstSeenSec = firstSeenSec;
  }
}

export class Ipv4Reassembler {
  readonly stats = new Ipv4FragmentStats();
  /** The reassembled IP payload (transport header + data) after `add` returned FRAG_COMPLETE. */
  completed: Uint8Array = new Uint8Array(0);

  private readonly maxDatagrams: number;
  private readonly maxBytes: number;
  private readonly timeoutSec: number;
  // Map iteration order is insertion order, so the first entry is always the oldest datagram.
  private readonly pending = new Map<string, PendingDatagram>();
  private buffered = 0;
  /** Earliest packet time at which some datagram expires; +Infinity when none is pending. */
  nextDeadline = Number.POSITIVE_INFINITY;

  constructor(options: Ipv4FragmentOptions = {}) {
    this.maxDatagrams = Math.max(1, options.maxDatagrams ?? 1024);
    this.maxBytes = Math.max(1, options.maxBytes ?? 4 * 1024 * 1024);
    this.timeoutSec = Math.max(0, options.timeoutSec ?? 30);
  }

  /** Datagrams in progress. */
  get datagrams(): number {
    return this.pending.size;
  }

  /** Fragment bytes currently buffered. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /**
   * Adds one fragment: `len` payload bytes at `data[off]`, covering payload bytes [fragOffset, fragOffset + len)
   * of the datagram identified by (src, dst, id, proto). `headerLen` is this fragment's IP header length, used
   * for the 65535-byte limit.
   */
  add(
    src: number,
    dst: number,
    id: number,
    proto: number,
    fragOffset: number,
    moreFragments: boolean,
    headerLen: number,
    data: Uint8Array,
    off: number,
    len: number,
    tsSec: number,
  ): FragmentResult {
    const stats = this.stats;
    stats.fragments++;
    if (tsSec >= this.nextDeadline) this.expire(tsSec);

    const start = fragOffset;
    const end = fragOffset + len;
    // Every fragment but the last carries a multiple of 8 bytes (offsets are in 8-byte units).
    if (moreFragments && (len === 0 || (len & 7) !== 0)) {
      stats.inconsistent++;
      return FRAG_REJECTED;
    }
    // Fragments are rare, so a string key (allocated here only) is simpler than packing 88 bits into numbers.
    const key = `${src >>> 0}/${dst >>> 0}/${id}/${proto}`;
    let dgram = this.pending.get(key);

    if (headerLen + end > MAX_DATAGRAM) {
      stats.oversize++;
      if (dgram !== undefined) this.remove(key, dgram);
      return FRAG_REJECTED;
    }
    if (dgram !== undefined) {
      const total = dgram.totalLen;
      if (total >= 0 && (end > total || (!moreFragments && end !== total))) {
        stats.inconsistent++;
        return FRAG_REJECTED;
      }
      if (!moreFragments && end < dgram.maxEnd) {
        stats.inconsistent++;
        return FRAG_REJECTED;
      }
    }
    if (len > this.maxBytes) {
      stats.droppedTooLarge++;
      return FRAG_HELD;
    }

    if (dgram === undefined) {
      if (this.pending.size >= this.maxDatagrams) {
        this.evictOldest(null);
        stats.evictedByCount++;
      }
      dgram = new PendingDatagram(tsSec);
      this.pending.set(key, dgram);
      const deadline = tsSec + this.timeoutSec;
      if (deadline < this.nextDeadline) this.nextDeadline = deadline;
    }
    if (!moreFragments) dgram.totalLen = end;

    const added = this.insertUncovered(dgram, start, end, data, off);
    if (added < 0) return FRAG_HELD; // dropped for the byte budget (counted); datagram gone with it

    if (dgram.totalLen >= 0 && dgram.bytes === dgram.totalLen) {
      this.completed = assemble(dgram);
      this.remove(key, dgram);
      stats.reassembled++;
      return FRAG_COMPLETE;
    }
    if (added > 0) stats.held++;
    return FRAG_HELD;
  }

  /** Drops every datagram whose timeout has passed at packet time `tsSec`. */
  expire(tsSec: number): void {
    let next = Number.POSITIVE_INFINITY;
    for (const [key, dgram] of this.pending) {
      const deadline = dgram.firstSeenSec + this.timeoutSec;
      if (deadline <= tsSec) {
        this.pending.delete(key);
        this.buffered -= dgram.bytes;
        this.stats.expired++;
      } else if (deadline < next) {
        next = deadline;
      }
    }
    this.nextDeadline = next;
  }

  /**
   * Stores the parts of [start, end) not already held (first wins), keeping pieces sorted and disjoint.
   * Returns the number of bytes stored, or -1 when the byte budget forced the datagram itself out.
   */
  private insertUncovered(dgram: PendingDatagram, start: number, end: number, data: Uint8Array, off: number): number {
    const starts = dgram.starts;
    const parts = dgram.parts;
    // First pass: measure the holes this fragment fills, to budget before copying.
    let cursor = start;
    let fresh = 0;
    for (let i = 0; i < starts.length && cursor < end; i++) {
      const ps = starts[i] as number;
      const pe = ps + (parts[i] as Uint8Array).length;
      if (pe <= cursor) continue;
      if (ps >= end) break;
      if (ps > cursor) fresh += ps - cursor;
      cursor = Math.max(cursor, pe);
    }
    if (cursor < end) fresh += end - cursor;
    const len = end - start;

    if (fresh < len) {
      if (fresh === 0 && sameBytes(dgram, start, end, data, off)) this.stats.duplicates++;
      else this.stats.overlapping++;
    }
    if (fresh === 0) return 0;

    while (this.buffered + fresh > this.maxBytes) {
      if (!this.evictOldest(dgram)) {
        // Nothing else to evict: this datagram alone is over budget, so it goes.
        this.removeDatagram(dgram);
        this.stats.evictedByBytes++;
        return -1;
      }
      this.stats.evictedByBytes++;
    }

    // Second pass: copy each hole-filling part and splice it in at its sorted position.
    cursor = start;
    let i = 0;
    while (cursor < end) {
      while (i < starts.length && (starts[i] as number) + (parts[i] as Uint8Array).length <= cursor) i++;
      const nextStart = i < starts.length ? (starts[i] as number) : end;
      if (nextStart > cursor) {
        const holeEnd = Math.min(nextStart, end);
        const piece = data.slice(off + (cursor - start), off + (holeEnd - start));
        starts.splice(i, 0, cursor);
        parts.splice(i, 0, piece);
        i++;
        cursor = holeEnd;
      } else {
        cursor = nextStart + (parts[i] as Uint8Array).length;
      }
    }
    dgram.bytes += fresh;
    if (end > dgram.maxEnd) dgram.maxEnd = end;
    this.buffered += fresh;
    return fresh;
  }

  /** Evicts the oldest datagram other than `keep`; false when there is none. */
  private evictOldest(keep: PendingDatagram | null): boolean {
    for (const [key, dgram] of this.pending) {
      if (dgram === keep) continue;
      this.remove(key, dgram);
      return true;
    }
    return false;
  }

  private removeDatagram(dgram: PendingDatagram): void {
    for (const [key, d] of this.pending) {
      if (d === dgram) {
        this.remove(key, d);
        return;
      }
    }
  }

  private remove(key: string, dgram: PendingDatagram): void {
    this.pending.delete(key);
    this.buffered -= dgram.bytes;
    if (this.pending.size === 0) this.nextDeadline = Number.POSITIVE_INFINITY;
    // A stale (too early) nextDeadline is harmless: expire() recomputes it when it fires.
  }
}

function assemble(dgram: PendingDatagram): Uint8Array {
  const out = new Uint8Array(dgram.totalLen);
  const starts = dgram.starts;
  const parts = dgram.parts;
  for (let i = 0; i < starts.length; i++) out.set(parts[i] as Uint8Array, starts[i] as number);
  return out;
}

/** True when the held pieces over [start, end) equal data[off..]; only called when [start, end) is fully held. */
function sameBytes(dgram: PendingDatagram, start: number, end: number, data: Uint8Array, off: number): boolean {
  const starts = dgram.starts;
  const parts = dgram.parts;
  for (let i = 0; i < starts.length; i++) {
    const ps = starts[i] as number;
    const part = parts[i] as Uint8Array;
    const from = Math.max(ps, start);
    const to = Math.min(ps + part.length, end);
    for (let p = from; p < to; p++) {
      if (part[p - ps] !== data[off + (p - start)]) return false;
    }
  }
  return true;
}
