/** Test-only helpers: PacketView builders and a sink that records what reassembly delivered. */
import { type PacketView, TCP_ACK } from '../../protocols/link/packet-view.ts';
import type { Flow } from './flow.ts';
import type { FlowEndReason, FlowListener } from './flow-table.ts';
import type { StreamSink } from './tcp-reassembler.ts';

export interface SegmentSpec {
  src?: number;
  dst?: number;
  sport?: number;
  dport?: number;
  seq?: number;
  ack?: number;
  flags?: number;
  data?: Uint8Array;
  proto?: number;
  vlanOuter?: number;
  vlanInner?: number;
}

export const CLIENT = 0x0a000001; // 10.0.0.1
export const SERVER = 0x0a000002; // 10.0.0.2

/** Fills `p` (reset first) as an IPv4 packet; payload is placed at a non-zero offset to catch offset bugs. */
export function fill4(p: PacketView, s: SegmentSpec): PacketView {
  p.reset();
  p.ipVersion = 4;
  p.ipProto = s.proto ?? 6;
  p.src4 = s.src ?? CLIENT;
  p.dst4 = s.dst ?? SERVER;
  p.srcPort = s.sport ?? 40000;
  p.dstPort = s.dport ?? 502;
  p.tcpSeq = (s.seq ?? 0) >>> 0;
  p.tcpAck = (s.ack ?? 0) >>> 0;
  p.tcpFlags = s.flags ?? TCP_ACK;
  p.vlanOuter = s.vlanOuter ?? -1;
  p.vlanInner = s.vlanInner ?? -1;
  const data = s.data ?? new Uint8Array(0);
  const buf = new Uint8Array(data.length + 7);
  buf.set(data, 7);
  p.payload = buf;
  p.payloadOff = 7;
  p.payloadLen = data.length;
  p.frameLen = 54 + data.length;
  return p;
}

export type StreamEvent = { kind: 'data'; bytes: number[] } | { kind: 'gap'; bytes: number };

/** Records deliveries per direction and copies data (buffers are only valid during the call). */
export class RecordingSink implements StreamSink {
  readonly events: [StreamEvent[], StreamEvent[]] = [[], []];
  /** Stream offset → byte, per direction (gaps leave holes). */
  readonly bytesAt: [Map<number, number>, Map<number, number>] = [new Map(), new Map()];
  readonly offset: [number, number] = [0, 0];
  readonly gapBytes: [number, number] = [0, 0];

  data(_flow: Flow, dir: 0 | 1, buf: Uint8Array, off: number, len: number): void {
    if (len <= 0 || off < 0 || off + len > buf.length) throw new Error(`bad data delivery off=${off} len=${len}`);
    const bytes = Array.from(buf.subarray(off, off + len));
    this.events[dir].push({ kind: 'data', bytes });
    for (const b of bytes) this.bytesAt[dir].set(this.offset[dir]++, b);
  }

  gap(_flow: Flow, dir: 0 | 1, bytes: number): void {
    if (bytes <= 0) throw new Error(`bad gap ${bytes}`);
    this.events[dir].push({ kind: 'gap', bytes });
    this.offset[dir] += bytes;
    this.gapBytes[dir] += bytes;
  }

  /** Delivered data of one direction concatenated (gaps skipped). */
  text(dir: 0 | 1): string {
    let s = '';
    for (const e of this.events[dir]) if (e.kind === 'data') s += String.fromCharCode(...e.bytes);
    return s;
  }

  gaps(dir: 0 | 1): number[] {
    const out: number[] = [];
    for (const e of this.events[dir]) if (e.kind === 'gap') out.push(e.bytes);
    return out;
  }
}

export class RecordingListener implements FlowListener {
  readonly ended: { flow: Flow; reason: FlowEndReason; tsSec: number }[] = [];
  flowEnd(flow: Flow, reason: FlowEndReason, tsSec: number): void {
    this.ended.push({ flow, reason, tsSec });
  }
}

export function bytesOf(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}
