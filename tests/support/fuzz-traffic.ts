/**
 * A deterministic (seeded) generator of hostile-but-plausible traffic for whole-pipeline fuzzing:
 *
 * - real captured frames, verbatim or re-wrapped in another link type (Ethernet, SLL, NULL, raw IP);
 * - real frames with bit flips, overwritten bytes, truncation or trailing junk;
 * - TCP "connections" from a pool larger than the flow table, on port 502, on other ports and with the roles
 *   reversed, carrying real and synthetic Modbus ADUs (some with broken MBAP fields) split at random points, sent
 *   in order, ahead of a hole, retransmitted, with random sequence numbers, SYN/FIN/RST;
 * - stray TCP segments with random ports, sequence numbers and flags; random non-TCP IP packets; pure noise.
 *
 * Packet times advance by up to 2 ms per packet, with occasional jumps forward (timeouts fire) and small steps back.
 */
import { LINKTYPE_ETHERNET } from '../../protocols/core/link-types.ts';
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN } from '../../protocols/link/packet-view.ts';
import type { TestPacket } from './batches.ts';
import { buildModbusAdu, buildTcpPacket, FUZZ_LINK_TYPES, peelToIp, tcpPayloadRange, wrapIp } from './frames.ts';
import type { Rng } from './prng.ts';

export interface FuzzCorpus {
  /** Real frames, grouped by capture (so small captures are picked as often as big ones). */
  captures: TestPacket[][];
  /** TCP payloads of the real frames (mostly Modbus ADUs). */
  payloads: Uint8Array[];
}

export function buildCorpus(captures: TestPacket[][]): FuzzCorpus {
  const payloads: Uint8Array[] = [];
  for (const frames of captures) {
    for (const f of frames) {
      const ip = peelToIp(f.data, f.linkType);
      const r = ip === null ? null : tcpPayloadRange(ip);
      if (ip !== null && r !== null && r.end > r.start) payloads.push(ip.slice(r.start, r.end));
    }
  }
  return { captures: captures.filter((c) => c.length > 0), payloads };
}

export interface TrafficOptions {
  /** Distinct hosts addresses are drawn from (bounded, so a long run re-uses endpoints). */
  hosts?: number;
  /** TCP connections kept in the pool (make it larger than the flow table to force evictions). */
  connections?: number;
}

interface Connection {
  client: number | Uint8Array;
  server: number | Uint8Array;
  clientPort: number;
  serverPort: number;
  /** Next sequence number per direction (0 client→server, 1 server→client). */
  seq: [number, number];
  /** Stream bytes produced but not sent yet, per direction. */
  pending: [Uint8Array, Uint8Array];
  /** Acknowledgement number each direction currently sends (lags behind the other direction's data). */
  ack: [number, number];
  tid: number;
  unit: number;
}

const START_SEC = 1_700_000_000;
const MODBUS_FUNCS = [1, 2, 3, 4, 5, 6, 7, 8, 11, 12, 15, 16, 17, 20, 21, 22, 23, 24, 43, 0, 9, 99, 0x7f];
const EMPTY = new Uint8Array(0);

export class TrafficGenerator {
  private readonly rng: Rng;
  private readonly corpus: FuzzCorpus;
  private readonly hosts4: number[] = [];
  private readonly hosts6: Uint8Array[] = [];
  private readonly conns: Connection[] = [];
  private sec = START_SEC;
  private nsec = 0;

  constructor(rng: Rng, corpus: FuzzCorpus, options: TrafficOptions = {}) {
    this.rng = rng;
    this.corpus = corpus;
    const hosts = options.hosts ?? 64;
    for (let i = 0; i < hosts; i++) {
      this.hosts4.push((0x0a000000 | rng.int(0xffffff)) >>> 0);
      const h6 = rng.bytes(16);
      h6[0] = 0xfd;
      this.hosts6.push(h6);
    }
    const n = options.connections ?? 96;
    for (let i = 0; i < n; i++) this.conns.push(this.newConnection());
  }

  take(count: number): TestPacket[] {
    const out: TestPacket[] = [];
    for (let i = 0; i < count; i++) out.push(this.next());
    return out;
  }

  next(): TestPacket {
    this.tick();
    const r = this.rng.int(100);
    let data: Uint8Array;
    let linkType: number = LINKTYPE_ETHERNET;
    if (r < 10) {
      const f = this.realFrame();
      const ip = this.rng.chance(0.5) ? peelToIp(f.data, f.linkType) : null;
      linkType = ip === null ? f.linkType : this.rng.pick(FUZZ_LINK_TYPES);
      data = ip === null ? f.data.slice() : wrapIp(ip, linkType);
    } else if (r < 22) {
      const f = this.realFrame();
      linkType = f.linkType;
      data = this.mutate(f.data);
    } else if (r < 85) {
      linkType = this.rng.pick(FUZZ_LINK_TYPES);
      data = wrapIp(this.connectionSegment(), linkType);
    } else if (r < 93) {
      linkType = this.rng.pick(FUZZ_LINK_TYPES);
      data = wrapIp(this.straySegment(), linkType);
    } else if (r < 96) {
      linkType = this.rng.pick(FUZZ_LINK_TYPES);
      data = wrapIp(this.otherIpPacket(), linkType);
    } else {
      linkType = this.rng.chance(0.8) ? this.rng.pick(FUZZ_LINK_TYPES) : this.rng.int(300);
      data = this.rng.bytes(this.rng.int(160));
    }
    if (this.rng.chance(0.03)) data = this.mutate(data);
    return { data, linkType, tsSec: this.sec, tsNsec: this.nsec };
  }

  private tick(): void {
    let ns = this.nsec + this.rng.int(2_000_000) + 1;
    if (this.rng.chance(0.0005)) this.sec += this.rng.range(6, 40); // idle: gap, transaction and flow timeouts
    if (this.rng.chance(0.0005)) this.sec -= this.rng.range(0, 2); // clocks step back in real captures too
    while (ns >= 1_000_000_000) {
      ns -= 1_000_000_000;
      this.sec++;
    }
    this.nsec = ns;
  }

  private realFrame(): TestPacket {
    return this.rng.pick(this.rng.pick(this.corpus.captures));
  }

  private mutate(src: Uint8Array): Uint8Array {
    const rng = this.rng;
    let data = src.slice();
    const ops = rng.range(1, 4);
    for (let k = 0; k < ops; k++) {
      const op = rng.int(5);
      if (op === 0 && data.length > 0) {
        for (let b = rng.range(1, 8); b > 0; b--) {
          const i = rng.int(data.length);
          data[i] = (data[i] ?? 0) ^ (1 << rng.int(8));
        }
      } else if (op === 1 && data.length > 0) {
        const i = rng.int(data.length);
        data[i] = rng.pick([0, 0xff, 0x7f, 0x80, rng.int(256)]);
      } else if (op === 2) {
        data = data.slice(0, rng.int(data.length + 1));
      } else if (op === 3) {
        const tail = rng.bytes(rng.int(64));
        const joined = new Uint8Array(data.length + tail.length);
        joined.set(data);
        joined.set(tail, data.length);
        data = joined;
      } else if (data.length > 40) {
        // Aim at the transport/MBAP region, where length fields live.
        const i = rng.range(Math.min(34, data.length - 1), data.length - 1);
        data[i] = rng.int(256);
      }
    }
    return data;
  }

  private newConnection(): Connection {
    const rng = this.rng;
    const v6 = rng.chance(0.15);
    const pickHost = () => (v6 ? rng.pick(this.hosts6) : rng.pick(this.hosts4));
    let serverPort = rng.pick([502, 502, 502, 1502, 5020, 15020, rng.range(1, 65535)]);
    let clientPort = rng.range(1024, 65535);
    if (rng.chance(0.05)) [serverPort, clientPort] = [clientPort, 502]; // roles reversed by the port
    return {
      client: pickHost(),
      server: pickHost(),
      clientPort,
      serverPort,
      seq: [rng.u32(), rng.u32()],
      pending: [EMPTY, EMPTY],
      ack: [0, 0],
      tid: rng.int(0x10000),
      unit: rng.pick([0, 1, 1, 1, 17, 255, rng.int(256)]),
    };
  }

  /** Bytes of one Modbus ADU for a connection (real, synthetic, or synthetic with a broken header). */
  private modbusAdu(c: Connection, dir: 0 | 1): Uint8Array {
    const rng = this.rng;
    if (rng.chance(0.25)) return rng.pick(this.corpus.payloads).slice();
    if (dir === 0) c.tid = (c.tid + 1) & 0xffff;
    let func = rng.pick(MODBUS_FUNCS);
    if (dir === 1 && rng.chance(0.15)) func |= 0x80;
    const body = func >= 0x80 ? new Uint8Array([rng.range(1, 11)]) : rng.bytes(rng.pick([0, 1, 4, 5, rng.int(260)]));
    const adu = buildModbusAdu(c.tid, c.unit, func, body);
    if (rng.chance(0.08)) {
      const dv = new DataView(adu.buffer);
      const field = rng.int(3);
      if (field === 0) dv.setUint16(4, rng.pick([0, 1, 2, 255, 256, 65535, rng.int(0x10000)]));
      else if (field === 1) dv.setUint16(2, rng.range(1, 0xffff));
      else dv.setUint16(0, rng.int(0x10000));
    }
    return adu;
  }

  private connectionSegment(): Uint8Array {
    const rng = this.rng;
    // Most segments go to a few busy connections, so that their flows live long enough to fill buffers.
    const slot = rng.chance(0.7) ? rng.int(Math.min(6, this.conns.length)) : rng.int(this.conns.length);
    let c = this.conns[slot] ?? this.newConnection();
    if (rng.chance(0.004)) {
      c = this.newConnection();
      this.conns[slot] = c;
    }
    const dir: 0 | 1 = rng.chance(0.5) ? 0 : 1;
    const src = dir === 0 ? c.client : c.server;
    const dst = dir === 0 ? c.server : c.client;
    const sport = dir === 0 ? c.clientPort : c.serverPort;
    const dport = dir === 0 ? c.serverPort : c.clientPort;
    if (rng.chance(0.2)) c.ack[dir] = c.seq[dir === 0 ? 1 : 0];
    const ack = c.ack[dir];
    const r = rng.int(100);
    if (r < 3) {
      // (Re)open: SYN or SYN-ACK, data restarts after the ISN.
      const isn = rng.u32();
      c.seq[dir] = (isn + 1) >>> 0;
      c.pending[dir] = EMPTY;
      c.ack[dir === 0 ? 1 : 0] = c.seq[dir];
      const flags = dir === 0 ? TCP_SYN : TCP_SYN | TCP_ACK;
      return buildTcpPacket({ src, dst, sport, dport, seq: isn, ack, flags, payload: EMPTY });
    }
    if (r < 5) {
      const flags = rng.chance(0.5) ? TCP_FIN | TCP_ACK : TCP_RST;
      const seq = c.seq[dir];
      c.seq[dir] = (seq + 1) >>> 0;
      return buildTcpPacket({ src, dst, sport, dport, seq, ack, flags, payload: EMPTY });
    }
    // Stream bytes: top up the pending bytes with whole ADUs, send a random-length prefix.
    const target = rng.chance(0.3) ? rng.range(200, 1460) : 8;
    while (c.pending[dir].length < target || rng.chance(0.2)) {
      const adu = this.modbusAdu(c, dir);
      const joined = new Uint8Array(c.pending[dir].length + adu.length);
      joined.set(c.pending[dir]);
      joined.set(adu, c.pending[dir].length);
      c.pending[dir] = joined;
      if (joined.length > 1400) break;
    }
    const pending = c.pending[dir];
    const len = rng.chance(0.6) ? Math.min(pending.length, 1460) : rng.range(1, Math.min(pending.length, 1460));
    const payload = pending.slice(0, len);
    const flags = TCP_ACK | (rng.chance(0.5) ? TCP_PSH : 0);
    if (r < 75) {
      // In order; now and then the segment before it was lost to the capture, so what follows must be buffered.
      if (rng.chance(0.03) && pending.length > len) {
        c.seq[dir] = (c.seq[dir] + len) >>> 0;
        c.pending[dir] = pending.slice(len);
        return this.connectionSegmentAfterLoss(c, dir, src, dst, sport, dport, ack, flags);
      }
      const seq = c.seq[dir];
      c.seq[dir] = (seq + len) >>> 0;
      c.pending[dir] = pending.slice(len);
      return buildTcpPacket({ src, dst, sport, dport, seq, ack, flags, payload });
    }
    if (r < 88) {
      // Ahead of a hole (never filled unless a later in-order send happens to cover it): buffered out of order.
      const seq = (c.seq[dir] + rng.range(1, 6000)) >>> 0;
      return buildTcpPacket({ src, dst, sport, dport, seq, ack, flags, payload });
    }
    if (r < 96) {
      // Retransmission or partial overlap.
      const seq = (c.seq[dir] - rng.range(1, 200)) >>> 0;
      return buildTcpPacket({ src, dst, sport, dport, seq, ack, flags, payload });
    }
    // Anywhere in sequence space.
    return buildTcpPacket({ src, dst, sport, dport, seq: rng.u32(), ack: rng.u32(), flags, payload });
  }

  private connectionSegmentAfterLoss(
    c: Connection,
    dir: 0 | 1,
    src: number | Uint8Array,
    dst: number | Uint8Array,
    sport: number,
    dport: number,
    ack: number,
    flags: number,
  ): Uint8Array {
    const pending = c.pending[dir];
    const len = Math.min(pending.length, 1460);
    const seq = c.seq[dir];
    c.seq[dir] = (seq + len) >>> 0;
    c.pending[dir] = pending.slice(len);
    return buildTcpPacket({ src, dst, sport, dport, seq, ack, flags, payload: pending.slice(0, len) });
  }

  private straySegment(): Uint8Array {
    const rng = this.rng;
    const v6 = rng.chance(0.1);
    const src = v6 ? rng.pick(this.hosts6) : rng.pick(this.hosts4);
    const dst = v6 ? rng.pick(this.hosts6) : rng.pick(this.hosts4);
    const sport = rng.chance(0.3) ? 502 : rng.int(0x10000);
    const dport = rng.chance(0.4) ? 502 : rng.int(0x10000);
    const payload = rng.chance(0.5)
      ? rng.bytes(rng.int(300))
      : this.modbusAdu(this.newConnection(), rng.chance(0.5) ? 0 : 1);
    return buildTcpPacket({ src, dst, sport, dport, seq: rng.u32(), ack: rng.u32(), flags: rng.int(64), payload });
  }

  private otherIpPacket(): Uint8Array {
    const rng = this.rng;
    const payload = rng.bytes(rng.int(120));
    const ip = new Uint8Array(20 + payload.length);
    const dv = new DataView(ip.buffer);
    ip[0] = 0x45;
    dv.setUint16(2, ip.length);
    if (rng.chance(0.2)) dv.setUint16(6, rng.int(0x10000)); // flags + fragment offset: fragments, some bogus
    ip[8] = 64;
    ip[9] = rng.pick([1, 17, 17, 47, 50, 132, rng.int(256)]);
    dv.setUint32(12, rng.pick(this.hosts4));
    dv.setUint32(16, rng.pick(this.hosts4));
    ip.set(payload, 20);
    return ip;
  }
}
