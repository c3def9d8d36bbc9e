/**
 * The flow table: maps each packet to its bidirectional flow, creating flows on first sight, and ends flows on
 * idle / closed / hard timeouts (packet time), on LRU eviction when full, and on shutdown.
 *
 * Lookup of an existing flow allocates nothing: a symmetric numeric hash (flow-key.ts) picks a bucket of a
 * power-of-two array, and the bucket's chain (`flow.nextInBucket`) is scanned comparing stored tuple fields.
 *
 * Timeouts without scanning: flows sit on one of three intrusive LRU lists, one per idle timeout (TCP open, TCP
 * closed, everything else), each ordered by last activity, so `expire` only looks at list tails that are due;
 * a fourth list in creation order serves the hard timeout the same way. All list moves are O(1).
 */

import type { PacketView } from '../../protocols/link/packet-view.ts';
import { TCP_ACK, TCP_SYN } from '../../protocols/link/packet-view.ts';
import type { FlowList } from './flow.ts';
import { FLOW_CLOSED, Flow } from './flow.ts';
import { packetFlowHash, packetIsClientToServer } from './flow-key.ts';
import { TcpStream } from './tcp-stream.ts';

export type FlowEndReason = 'evicted' | 'idle' | 'closed' | 'hard_timeout' | 'shutdown';

export interface FlowListener {
  /** Called once per flow, after it left the table (parsers flush here). */
  flowEnd(flow: Flow, reason: FlowEndReason, tsSec: number): void;
}

/**
 * Something holding per-flow resources the table must release before a flow ends (the TcpReassembler, so that
 * buffered data is delivered and its memory budget returned). Also run from `expire`.
 */
export interface FlowEndHook {
  finishFlow(flow: Flow, tsSec: number): void;
  expire(tsSec: number): void;
}

export interface FlowTableOptions {
  /** Most flows held at once; the least recently used is evicted to make room. */
  maxFlows?: number;
  /** Idle timeout of open TCP flows (s). */
  idleTimeoutSec?: number;
  /** Idle timeout once both sides of a TCP flow closed (FIN each way or RST) (s). */
  closedTimeoutSec?: number;
  /** Idle timeout of UDP and other non-TCP flows (s). */
  udpTimeoutSec?: number;
  /** Longest life of any flow, however busy (s); it is then ended and a new flow starts with its next packet. */
  hardTimeoutSec?: number;
  /** Distinct MAC addresses kept as shared copies for flows; beyond this each flow gets its own copy. */
  maxSharedMacs?: number;
}

export class FlowTableStats {
  created = 0;
  active = 0;
  peak = 0;
  evictedLru = 0;
  endedIdle = 0;
  endedClosed = 0;
  endedHardTimeout = 0;
  endedShutdown = 0;
  /** A SYN arrived on a closed flow's tuple: the old flow was ended ('closed') and a new one created. */
  portReuse = 0;
  /** MAC addresses seen after the shared-copy cache was full (each such flow got a private copy). */
  macCacheFull = 0;
}

const DEFAULTS = {
  maxFlows: 65536,
  idleTimeoutSec: 600,
  closedTimeoutSec: 10,
  udpTimeoutSec: 60,
  hardTimeoutSec: 86400,
  maxSharedMacs: 4096,
};

/** Above this many buckets the chains simply grow longer (keeps the array ≤ 32 MiB for huge maxFlows). */
const MAX_BUCKETS = 1 << 22;
/**
 * Buckets a table starts with; it doubles whenever the flows outnumber the buckets. Sized for maxFlows up front
 * (65,536 by default), the array is 512 KiB that every lookup hits at a random index: mostly cache misses while
 * a few hundred flows are live. Grown with the flow count, it stays as small as the load allows.
 */
const INITIAL_BUCKETS = 1024;

/**
 * A class, not an object literal: each new table creating fresh literals deoptimised the packet loop that had
 * inlined the previous table's list updates (seen as a recompile at the start of every benchmark pass).
 */
class LruList implements FlowList {
  head: Flow | null = null;
  tail: Flow | null = null;
  count = 0;
}

function newList(): FlowList {
  return new LruList();
}

export class FlowTable {
  readonly stats = new FlowTableStats();
  readonly maxFlows: number;
  readonly idleTimeoutSec: number;
  readonly closedTimeoutSec: number;
  readonly udpTimeoutSec: number;
  readonly hardTimeoutSec: number;

  private readonly listener: FlowListener;
  private hook: FlowEndHook | null = null;
  private buckets: (Flow | null)[];
  private mask: number;
  /** Largest bucket count (from maxFlows, capped by MAX_BUCKETS). */
  private readonly maxBuckets: number;
  private readonly tcpOpen = newList();
  private readonly tcpClosed = newList();
  private readonly other = newList();
  /** Creation order: head is the oldest flow. */
  private ageHead: Flow | null = null;
  private ageTail: Flow | null = null;
  /** Largest packet time seen (s): the table's clock. */
  private nowSec = 0;
  /**
   * One shared read-only copy per distinct MAC address (flows keep them for events and the inventory). A network
   * has few MACs but many connections, and a 6-byte typed array costs about as much to allocate as a whole
   * packet's processing: sharing them took two allocations off every new flow. Capped by `maxSharedMacs`.
   */
  private readonly macs = new Map<number, Uint8Array>();
  private readonly maxSharedMacs: number;

  constructor(options: FlowTableOptions | undefined, listener: FlowListener) {
    const o = { ...DEFAULTS, ...options };
    this.maxFlows = positiveInt(o.maxFlows, 'maxFlows');
    this.idleTimeoutSec = nonNegative(o.idleTimeoutSec, 'idleTimeoutSec');
    this.closedTimeoutSec = nonNegative(o.closedTimeoutSec, 'closedTimeoutSec');
    this.udpTimeoutSec = nonNegative(o.udpTimeoutSec, 'udpTimeoutSec');
    this.hardTimeoutSec = nonNegative(o.hardTimeoutSec, 'hardTimeoutSec');
    this.maxSharedMacs = nonNegative(o.maxSharedMacs, 'maxSharedMacs');
    this.listener = listener;
    let n = 16;
    while (n < this.maxFlows && n < MAX_BUCKETS) n *= 2;
    this.maxBuckets = n;
    const initial = Math.min(n, INITIAL_BUCKETS);
    this.buckets = new Array<Flow | null>(initial).fill(null);
    this.mask = initial - 1;
  }

  /** Registers the per-flow resource owner (TcpReassembler does this itself). */
  setEndHook(hook: FlowEndHook | null): void {
    this.hook = hook;
  }

  get size(): number {
    return this.stats.active;
  }

  /**
   * The flow of this packet, created if new; `flow.lastDir` tells the packet's direction. Also updates the
   * flow's counters and last-seen time and marks it most recently used.
   */
  lookup(p: PacketView, tsSec: number, tsNsec: number): Flow {
    if (tsSec > this.nowSec) this.nowSec = tsSec;
    const hash = packetFlowHash(p);
    const b = hash & this.mask;
    for (let f = this.buckets[b] ?? null; f !== null; f = f.nextInBucket) {
      if (f.hash !== hash) continue;
      const dir = matchDirection(f, p);
      if (dir < 0) continue;
      // A new connection reusing the tuple of a closed one (a fresh SYN) gets a flow of its own.
      if (f.state === FLOW_CLOSED && f.proto === 6 && (p.tcpFlags & (TCP_SYN | TCP_ACK)) === TCP_SYN) {
        this.stats.portReuse++;
        this.end(f, 'closed', tsSec);
        break;
      }
      this.touch(f, dir === 0 ? 0 : 1, p, tsSec, tsNsec);
      return f;
    }
    return this.create(p, hash, tsSec, tsNsec);
  }

  /** Moves the flow to the LRU list matching its state (call after changing `flow.state`). */
  stateChanged(flow: Flow): void {
    if (flow.ended) return;
    const list = this.listFor(flow);
    if (list === flow.lruList) return;
    this.lruRemove(flow);
    this.lruPushFront(list, flow);
  }

  /** Ends every flow past its idle, closed or hard timeout at packet time `tsSec`. Cost: O(flows ended + 4). */
  expire(tsSec: number): void {
    if (tsSec > this.nowSec) this.nowSec = tsSec;
    this.expireList(this.tcpClosed, this.closedTimeoutSec, 'closed', tsSec);
    this.expireList(this.tcpOpen, this.idleTimeoutSec, 'idle', tsSec);
    this.expireList(this.other, this.udpTimeoutSec, 'idle', tsSec);
    for (let f = this.ageHead; f !== null && tsSec - f.firstSec >= this.hardTimeoutSec; f = this.ageHead) {
      this.end(f, 'hard_timeout', tsSec);
    }
    this.hook?.expire(tsSec);
  }

  /** Ends every flow ('shutdown'), oldest first. */
  flush(tsSec: number): void {
    for (let f = this.ageHead; f !== null; f = this.ageHead) this.end(f, 'shutdown', tsSec);
  }

  /** Calls `fn` for each flow, oldest first (diagnostics and tests; not for the per-packet path). */
  forEach(fn: (flow: Flow) => void): void {
    for (let f = this.ageHead; f !== null; f = f.ageNext) fn(f);
  }

  /** Removes a flow from the table, lets the hook release its resources, then tells the listener. */
  end(flow: Flow, reason: FlowEndReason, tsSec: number): void {
    if (flow.ended) return;
    this.bucketRemove(flow);
    this.lruRemove(flow);
    this.ageRemove(flow);
    flow.ended = true;
    const s = this.stats;
    s.active--;
    if (reason === 'evicted') s.evictedLru++;
    else if (reason === 'idle') s.endedIdle++;
    else if (reason === 'closed') s.endedClosed++;
    else if (reason === 'hard_timeout') s.endedHardTimeout++;
    else s.endedShutdown++;
    this.hook?.finishFlow(flow, tsSec);
    this.listener.flowEnd(flow, reason, tsSec);
  }

  private expireList(list: FlowList, timeoutSec: number, reason: FlowEndReason, tsSec: number): void {
    for (let f = list.tail; f !== null && tsSec - f.activeSec >= timeoutSec; f = list.tail) {
      this.end(f, reason, tsSec);
    }
  }

  private touch(f: Flow, dir: 0 | 1, p: PacketView, tsSec: number, tsNsec: number): void {
    f.lastDir = dir;
    f.lastSec = tsSec;
    f.lastNsec = tsNsec;
    if (dir === 0) {
      f.packetsC2S++;
      f.bytesC2S += p.frameLen;
      f.payloadBytesC2S += p.payloadLen;
    } else {
      f.packetsS2C++;
      f.bytesS2C += p.frameLen;
      f.payloadBytesS2C += p.payloadLen;
    }
    // A side whose MAC was unknown at creation (e.g. Linux cooked capture gives only the source) is filled in
    // once, from the first packet it sends.
    if (p.srcMacOff >= 0 && (dir === 0 ? f.clientMac : f.serverMac) === null) {
      const mac = this.sharedMac(p.frame, p.srcMacOff);
      if (dir === 0) f.clientMac = mac;
      else f.serverMac = mac;
    }
    f.activeSec = this.nowSec;
    const list = f.lruList;
    if (list !== null && list.head !== f) {
      // Move to the front of the same list (every packet of interleaved flows): unlink and relink in place, rather
      // than lruRemove + lruPushFront, which also clear and reset the list pointer and count.
      const prev = f.lruPrev as Flow; // not the head, so it has a predecessor
      const next = f.lruNext;
      prev.lruNext = next;
      if (next !== null) next.lruPrev = prev;
      else list.tail = prev;
      f.lruPrev = null;
      f.lruNext = list.head;
      (list.head as Flow).lruPrev = f;
      list.head = f;
    }
  }

  private create(p: PacketView, hash: number, tsSec: number, tsNsec: number): Flow {
    if (this.stats.active >= this.maxFlows) this.evictOne(tsSec);
    const f = new Flow();
    const c2s = packetIsClientToServer(p);
    f.hash = hash;
    f.ipVersion = p.ipVersion === 6 ? 6 : 4;
    f.proto = p.ipProto;
    f.vlanOuter = p.vlanOuter;
    f.vlanInner = p.vlanInner;
    f.clientPort = c2s ? p.srcPort : p.dstPort;
    f.serverPort = c2s ? p.dstPort : p.srcPort;
    if (f.ipVersion === 6) {
      const a6 = new Uint32Array(8);
      a6.set(c2s ? p.src6 : p.dst6, 0);
      a6.set(c2s ? p.dst6 : p.src6, 4);
      f.addr6 = a6;
    } else {
      f.clientAddr4 = c2s ? p.src4 : p.dst4;
      f.serverAddr4 = c2s ? p.dst4 : p.src4;
    }
    const srcMac = p.srcMacOff >= 0 ? this.sharedMac(p.frame, p.srcMacOff) : null;
    const dstMac = p.dstMacOff >= 0 ? this.sharedMac(p.frame, p.dstMacOff) : null;
    f.clientMac = c2s ? srcMac : dstMac;
    f.serverMac = c2s ? dstMac : srcMac;
    f.firstSec = tsSec;
    f.firstNsec = tsNsec;
    f.serial = this.stats.created;
    if (f.proto === 6) f.tcp = [new TcpStream(f, 0), new TcpStream(f, 1)];

    const b = hash & this.mask;
    f.nextInBucket = this.buckets[b] ?? null;
    this.buckets[b] = f;
    this.lruPushFront(this.listFor(f), f);
    f.agePrev = this.ageTail;
    if (this.ageTail !== null) this.ageTail.ageNext = f;
    else this.ageHead = f;
    this.ageTail = f;

    const s = this.stats;
    s.created++;
    s.active++;
    if (s.active > s.peak) s.peak = s.active;
    if (s.active > this.buckets.length && this.buckets.length < this.maxBuckets) this.growBuckets();
    // Counters, lastDir and MAC bookkeeping are shared with the hit path.
    this.touch(f, c2s ? 0 : 1, p, tsSec, tsNsec);
    return f;
  }

  /** The shared copy of the MAC at `buf[off..off+6)` (a private one once the cache is full), or null if cut off. */
  private sharedMac(buf: Uint8Array, off: number): Uint8Array | null {
    if (off < 0 || off + 6 > buf.length) return null;
    // 48 bits fit a double exactly.
    const key =
      ((buf[off] as number) * 256 + (buf[off + 1] as number)) * 0x100000000 +
      (((buf[off + 2] as number) << 24) >>> 0) +
      (((buf[off + 3] as number) << 16) | ((buf[off + 4] as number) << 8) | (buf[off + 5] as number));
    const known = this.macs.get(key);
    if (known !== undefined) return known;
    const mac = copyMac(buf, off);
    if (this.macs.size < this.maxSharedMacs) this.macs.set(key, mac);
    else this.stats.macCacheFull++;
    return mac;
  }

  /**
   * Makes room for one flow. A flow whose both sides already closed is taken first (the oldest one): it only
   * lingers to absorb retransmissions, so losing it costs nothing, whereas an open flow loses parser state.
   * Otherwise the least recently used of the open TCP and non-TCP lists goes.
   */
  private evictOne(tsSec: number): void {
    let victim = this.tcpClosed.tail;
    if (victim === null) {
      const a = this.tcpOpen.tail;
      const b = this.other.tail;
      victim = a === null ? b : b === null ? a : a.activeSec <= b.activeSec ? a : b;
    }
    if (victim !== null) this.end(victim, 'evicted', tsSec);
  }

  private listFor(f: Flow): FlowList {
    if (f.proto !== 6) return this.other;
    return f.state === FLOW_CLOSED ? this.tcpClosed : this.tcpOpen;
  }

  private lruPushFront(list: FlowList, f: Flow): void {
    f.lruList = list;
    f.lruPrev = null;
    f.lruNext = list.head;
    if (list.head !== null) list.head.lruPrev = f;
    else list.tail = f;
    list.head = f;
    list.count++;
  }

  private lruRemove(f: Flow): void {
    const list = f.lruList;
    if (list === null) return;
    if (f.lruPrev !== null) f.lruPrev.lruNext = f.lruNext;
    else list.head = f.lruNext;
    if (f.lruNext !== null) f.lruNext.lruPrev = f.lruPrev;
    else list.tail = f.lruPrev;
    f.lruPrev = null;
    f.lruNext = null;
    f.lruList = null;
    list.count--;
  }

  private ageRemove(f: Flow): void {
    if (f.agePrev !== null) f.agePrev.ageNext = f.ageNext;
    else this.ageHead = f.ageNext;
    if (f.ageNext !== null) f.ageNext.agePrev = f.agePrev;
    else this.ageTail = f.agePrev;
    f.agePrev = null;
    f.ageNext = null;
  }

  /** Doubles the bucket array and re-chains every flow (O(flows), amortised over the flows that caused it). */
  private growBuckets(): void {
    const n = this.buckets.length * 2;
    const buckets = new Array<Flow | null>(n).fill(null);
    const mask = n - 1;
    for (let f = this.ageHead; f !== null; f = f.ageNext) {
      const b = f.hash & mask;
      f.nextInBucket = buckets[b] ?? null;
      buckets[b] = f;
    }
    this.buckets = buckets;
    this.mask = mask;
  }

  private bucketRemove(f: Flow): void {
    const b = f.hash & this.mask;
    let prev: Flow | null = null;
    for (let cur = this.buckets[b] ?? null; cur !== null; prev = cur, cur = cur.nextInBucket) {
      if (cur !== f) continue;
      if (prev === null) this.buckets[b] = f.nextInBucket;
      else prev.nextInBucket = f.nextInBucket;
      break;
    }
    f.nextInBucket = null;
  }
}

/** 0 when the packet goes client→server, 1 when server→client, -1 when the packet is not of this flow. */
function matchDirection(f: Flow, p: PacketView): number {
  if (f.proto !== p.ipProto || f.vlanOuter !== p.vlanOuter || f.vlanInner !== p.vlanInner) return -1;
  if (p.ipVersion === 6) {
    if (f.ipVersion !== 6) return -1;
    const a = f.addr6;
    const s = p.src6;
    const d = p.dst6;
    if (
      f.clientPort === p.srcPort &&
      f.serverPort === p.dstPort &&
      a[0] === s[0] &&
      a[1] === s[1] &&
      a[2] === s[2] &&
      a[3] === s[3] &&
      a[4] === d[0] &&
      a[5] === d[1] &&
      a[6] === d[2] &&
      a[7] === d[3]
    ) {
      return 0;
    }
    if (
      f.serverPort === p.srcPort &&
      f.clientPort === p.dstPort &&
      a[4] === s[0] &&
      a[5] === s[1] &&
      a[6] === s[2] &&
      a[7] === s[3] &&
      a[0] === d[0] &&
      a[1] === d[1] &&
      a[2] === d[2] &&
      a[3] === d[3]
    ) {
      return 1;
    }
    return -1;
  }
  if (f.ipVersion !== 4) return -1;
  if (f.clientAddr4 === p.src4 && f.serverAddr4 === p.dst4 && f.clientPort === p.srcPort && f.serverPort === p.dstPort)
    return 0;
  if (f.serverAddr4 === p.src4 && f.clientAddr4 === p.dst4 && f.serverPort === p.srcPort && f.clientPort === p.dstPort)
    return 1;
  return -1;
}

function copyMac(buf: Uint8Array, off: number): Uint8Array {
  // Byte copy rather than set(subarray): no temporary view object (two MACs per new flow).
  const mac = new Uint8Array(6);
  for (let i = 0; i < 6; i++) mac[i] = buf[off + i] as number;
  return mac;
}

function positiveInt(v: number, name: string): number {
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`FlowTable: ${name} must be a positive integer, got ${v}`);
  return v;
}

function nonNegative(v: number, name: string): number {
  if (!(v >= 0)) throw new RangeError(`FlowTable: ${name} must be ≥ 0, got ${v}`);
  return v;
}
