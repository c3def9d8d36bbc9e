/**
 * Stream-level fuzzing for the stateful parsers (S7comm / S7comm-plus over COTP, OPC UA, Modbus): the TCP payload
 * streams of real captures, one per direction of each connection, are mutated as streams (bit flips, overwritten
 * bytes, cuts, insertions, deletions) and sent again as new connections with consistent sequence numbers, cut at
 * random points and interleaved in the capture's own request/response order. Unlike frame-level mutation
 * (fuzz-traffic.ts), every mutation reaches the parsers through reassembly, inside a connection that otherwise looks
 * right, so the parsers' framing, pairing and session state are what gets exercised.
 */
import { LINKTYPE_ETHERNET } from '../../protocols/core/link-types.ts';
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN } from '../../protocols/link/packet-view.ts';
import { concat } from '../../protocols/modbus/test-support.ts';
import type { TestPacket } from './batches.ts';
import { buildTcpPacket, FUZZ_LINK_TYPES, peelToIp, tcpPayloadRange, wrapIp } from './frames.ts';
import type { Rng } from './prng.ts';

/** One TCP connection of a capture: both directions' payload bytes and the order they were sent in. */
export interface CapturedStream {
  /** Ports as seen from the side that sent first. */
  clientPort: number;
  serverPort: number;
  /** Payload bytes per direction (0: first sender → peer, 1: back). */
  bytes: [Uint8Array, Uint8Array];
  /** Payload segments in capture order: direction and length. */
  segments: { dir: 0 | 1; len: number }[];
}

const EMPTY = new Uint8Array(0);

/**
 * The IPv4 TCP connections of the given captures with their payload streams, in capture order (retransmissions in
 * the capture stay in: the mutations make them part of the stream).
 */
export function extractStreams(captures: readonly TestPacket[][]): CapturedStream[] {
  const out: CapturedStream[] = [];
  for (const packets of captures) {
    const byKey = new Map<string, { stream: CapturedStream; parts: [Uint8Array[], Uint8Array[]]; first: string }>();
    for (const p of packets) {
      const ip = peelToIp(p.data, p.linkType);
      if (ip === null || (ip[0] ?? 0) >> 4 !== 4) continue;
      const range = tcpPayloadRange(ip);
      if (range === null || range.end <= range.start) continue;
      const t = ((ip[0] ?? 0) & 0x0f) * 4;
      const sport = ((ip[t] ?? 0) << 8) | (ip[t + 1] ?? 0);
      const dport = ((ip[t + 2] ?? 0) << 8) | (ip[t + 3] ?? 0);
      const src = `${ip.subarray(12, 16).join('.')}:${sport}`;
      const dst = `${ip.subarray(16, 20).join('.')}:${dport}`;
      const key = src < dst ? `${src}|${dst}` : `${dst}|${src}`;
      let entry = byKey.get(key);
      if (entry === undefined) {
        const stream: CapturedStream = { clientPort: sport, serverPort: dport, bytes: [EMPTY, EMPTY], segments: [] };
        entry = { stream, parts: [[], []], first: src };
        byKey.set(key, entry);
      }
      const dir: 0 | 1 = src === entry.first ? 0 : 1;
      entry.parts[dir].push(ip.slice(range.start, range.end));
      entry.stream.segments.push({ dir, len: range.end - range.start });
    }
    for (const { stream, parts } of byKey.values()) {
      stream.bytes = [concat(...parts[0]), concat(...parts[1])];
      out.push(stream);
    }
  }
  return out;
}

export interface StreamFuzzOptions {
  /** Most mutations per direction of a connection (default 6; 0 replays the streams unchanged). */
  maxMutations?: number;
}

/** Generates connections: each one a captured stream, mutated, re-cut, with its own addresses and ports. */
export class StreamFuzzer {
  private sec = 1_700_000_000;
  private nsec = 0;
  private readonly maxMutations: number;

  constructor(
    private readonly rng: Rng,
    private readonly streams: readonly CapturedStream[],
    options: StreamFuzzOptions = {},
  ) {
    if (streams.length === 0) throw new Error('no streams to fuzz');
    this.maxMutations = options.maxMutations ?? 6;
  }

  /** The packets of `count` connections, in order. */
  take(count: number): TestPacket[] {
    const out: TestPacket[] = [];
    for (let i = 0; i < count; i++) this.connection(out);
    return out;
  }

  private connection(out: TestPacket[]): void {
    const rng = this.rng;
    const s = rng.pick(this.streams);
    const bytes: [Uint8Array, Uint8Array] = [this.mutate(s.bytes[0]), this.mutate(s.bytes[1])];
    // A bounded address pool, so that flows, groups and assets are reused and evicted.
    const client = (0x0a000000 | rng.int(48)) >>> 0;
    const server = (0x0a010000 | rng.int(24)) >>> 0;
    const cport = rng.chance(0.9) ? s.clientPort : rng.range(1024, 65535);
    const sport = rng.chance(0.9) ? s.serverPort : rng.pick([102, 502, 4840, 15020, rng.range(1, 65535)]);
    const linkType = rng.chance(0.8) ? LINKTYPE_ETHERNET : rng.pick(FUZZ_LINK_TYPES);
    const seq: [number, number] = [rng.u32(), rng.u32()];
    const sent: [number, number] = [0, 0];
    const send = (dir: 0 | 1, flags: number, payload: Uint8Array) => {
      const from = dir === 0 ? client : server;
      const to = dir === 0 ? server : client;
      const ip = buildTcpPacket({
        src: from,
        dst: to,
        sport: dir === 0 ? cport : sport,
        dport: dir === 0 ? sport : cport,
        seq: seq[dir],
        ack: seq[dir === 0 ? 1 : 0],
        flags,
        payload,
      });
      const syn = (flags & TCP_SYN) !== 0 ? 1 : 0;
      seq[dir] = (seq[dir] + payload.length + syn) >>> 0;
      this.tick();
      out.push({ data: wrapIp(ip, linkType), linkType, tsSec: this.sec, tsNsec: this.nsec });
    };
    // Most connections open with a handshake; the rest are picked up mid-stream.
    if (rng.chance(0.7)) {
      send(0, TCP_SYN, EMPTY);
      send(1, TCP_SYN | TCP_ACK, EMPTY);
    }
    for (const seg of s.segments) {
      const dir = seg.dir;
      const data = bytes[dir];
      let len = rng.chance(0.3) ? rng.range(1, Math.max(1, seg.len * 2)) : seg.len;
      len = Math.min(len, data.length - sent[dir], 1460);
      if (len <= 0) continue;
      send(dir, TCP_ACK | TCP_PSH, data.subarray(sent[dir], sent[dir] + len));
      sent[dir] += len;
    }
    // Whatever the mutations added beyond the capture's segments.
    for (const dir of [0, 1] as const) {
      while (sent[dir] < bytes[dir].length) {
        const len = Math.min(1460, bytes[dir].length - sent[dir]);
        send(dir, TCP_ACK | TCP_PSH, bytes[dir].subarray(sent[dir], sent[dir] + len));
        sent[dir] += len;
      }
    }
    const end = rng.int(3);
    if (end === 0) send(0, TCP_FIN | TCP_ACK, EMPTY);
    else if (end === 1) send(1, TCP_RST, EMPTY);
  }

  private tick(): void {
    this.nsec += this.rng.int(3_000_000) + 1;
    if (this.nsec >= 1_000_000_000) {
      this.nsec -= 1_000_000_000;
      this.sec++;
    }
    if (this.rng.chance(0.001)) this.sec += this.rng.range(5, 60); // idle gaps: timeouts fire
  }

  private mutate(src: Uint8Array): Uint8Array {
    const rng = this.rng;
    let d: Uint8Array = src.slice();
    const ops = rng.range(0, this.maxMutations);
    for (let k = 0; k < ops && d.length > 0; k++) {
      const i = rng.int(d.length);
      switch (rng.int(6)) {
        case 0:
          d[i] = (d[i] ?? 0) ^ (1 << rng.int(8));
          break;
        case 1:
          d[i] = rng.pick([0, 1, 0x7f, 0x80, 0xff, rng.int(256)]);
          break;
        case 2:
          d = d.slice(0, i);
          break;
        case 3: {
          const ins = rng.bytes(rng.int(40));
          d = concat(d.subarray(0, i), ins, d.subarray(i));
          break;
        }
        case 4: {
          const j = Math.min(d.length, i + rng.int(200));
          d = concat(d.subarray(0, i), d.subarray(j));
          break;
        }
        default:
          // Two bytes at once: the width of most length fields.
          for (let b = 0; b < 2 && i + b < d.length; b++) d[i + b] = rng.pick([0, 0xff, rng.int(256)]);
      }
    }
    return d;
  }
}
