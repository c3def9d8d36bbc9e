import { describe, expect, it } from 'vitest';
import { PacketView, TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN } from '../../protocols/link/packet-view.ts';
import type { Flow } from './flow.ts';
import { FLOW_ACTIVE, FLOW_CLOSED, FLOW_CLOSING } from './flow.ts';
import { FlowTable } from './flow-table.ts';
import type { TcpReassemblerOptions } from './tcp-reassembler.ts';
import { TcpReassembler } from './tcp-reassembler.ts';
import type { SegmentSpec } from './test-helpers.ts';
import { bytesOf, CLIENT, fill4, RecordingListener, RecordingSink, SERVER } from './test-helpers.ts';

const PA = TCP_PSH | TCP_ACK;

function setup(opts?: TcpReassemblerOptions) {
  const listener = new RecordingListener();
  const table = new FlowTable({}, listener);
  const sink = new RecordingSink();
  const tcp = new TcpReassembler(table, sink, opts);
  const p = new PacketView();
  let last: Flow | null = null;
  /** Client→server segment. */
  const c = (s: SegmentSpec, ts = 1): Flow => {
    fill4(p, s);
    const f = table.lookup(p, ts, 0);
    tcp.handle(f, f.lastDir, p, ts, 0);
    last = f;
    return f;
  };
  /** Server→client segment. */
  const s = (spec: SegmentSpec, ts = 1): Flow =>
    c({ ...spec, src: SERVER, dst: CLIENT, sport: spec.sport ?? 502, dport: spec.dport ?? 40000 }, ts);
  const flow = (): Flow => {
    if (last === null) throw new Error('no flow yet');
    return last;
  };
  return { table, sink, tcp, listener, c, s, flow };
}

/** Handshake with client ISN `cisn` and server ISN `sisn`. */
function handshake(t: ReturnType<typeof setup>, cisn: number, sisn: number): void {
  t.c({ seq: cisn, flags: TCP_SYN });
  t.s({ seq: sisn, ack: (cisn + 1) >>> 0, flags: TCP_SYN | TCP_ACK });
  t.c({ seq: (cisn + 1) >>> 0, ack: (sisn + 1) >>> 0, flags: TCP_ACK });
}

function permutations<T>(xs: T[]): T[][] {
  if (xs.length <= 1) return [xs];
  const out: T[][] = [];
  xs.forEach((x, i) => {
    for (const rest of permutations([...xs.slice(0, i), ...xs.slice(i + 1)])) out.push([x, ...rest]);
  });
  return out;
}

describe('TcpReassembler', () => {
  it('delivers in-order segments straight from the packet buffer', () => {
    const t = setup();
    handshake(t, 1000, 5000);
    t.c({ seq: 1001, data: bytesOf('hello '), flags: PA });
    t.c({ seq: 1007, data: bytesOf('world'), flags: PA });
    t.s({ seq: 5001, ack: 1012, data: bytesOf('ok'), flags: PA });
    expect(t.sink.text(0)).toBe('hello world');
    expect(t.sink.text(1)).toBe('ok');
    expect(t.sink.gaps(0)).toEqual([]);
    expect(t.tcp.stats.deliveredBytes).toBe(13);
    expect(t.tcp.stats.outOfOrderSegments).toBe(0);
    const streams = t.flow().tcp;
    expect(streams?.[0].sawSyn).toBe(true);
    expect(streams?.[0].offset).toBe(11);
  });

  it('delivers the same stream for every arrival order of 4 segments', () => {
    const parts = ['abc', 'defg', 'h', 'ijklm'];
    const segs: { seq: number; data: string }[] = [];
    let seq = 101;
    for (const d of parts) {
      segs.push({ seq, data: d });
      seq += d.length;
    }
    const orders = permutations(segs);
    expect(orders.length).toBe(24);
    for (const order of orders) {
      const t = setup();
      t.c({ seq: 100, flags: TCP_SYN });
      for (const x of order) t.c({ seq: x.seq, data: bytesOf(x.data), flags: PA });
      expect(t.sink.text(0)).toBe('abcdefghijklm');
      expect(t.sink.gaps(0)).toEqual([]);
      expect(t.tcp.stats.bufferedBytes).toBe(0);
    }
  });

  it('drops retransmissions and trims partial overlaps', () => {
    const t = setup();
    t.c({ seq: 0, flags: TCP_SYN });
    t.c({ seq: 1, data: bytesOf('abcd'), flags: PA });
    t.c({ seq: 1, data: bytesOf('abcd'), flags: PA }); // full retransmission
    t.c({ seq: 3, data: bytesOf('cdefg'), flags: PA }); // 2 old bytes, 3 new
    expect(t.sink.text(0)).toBe('abcdefg');
    expect(t.tcp.stats.retransmittedSegments).toBe(1);
    expect(t.tcp.stats.retransmittedBytes).toBe(4);
    expect(t.tcp.stats.partialOverlaps).toBe(1);
    expect(t.tcp.stats.partialOverlapBytes).toBe(2);
  });

  it('keeps the first copy when out-of-order segments overlap, and counts conflicts', () => {
    const t = setup();
    t.c({ seq: 0, flags: TCP_SYN });
    t.c({ seq: 5, data: bytesOf('EFGH'), flags: PA }); // offsets 4..7
    t.c({ seq: 3, data: bytesOf('CDxxIJ'), flags: PA }); // offsets 2..7: 'xx' conflicts with 'EF'
    t.c({ seq: 1, data: bytesOf('AB'), flags: PA });
    expect(t.sink.text(0)).toBe('ABCDEFGHIJ'.slice(0, 8));
    expect(t.tcp.stats.outOfOrderOverlaps).toBe(1);
    expect(t.tcp.stats.overlapConflicts).toBe(1);
  });

  it('handles sequence wraparound at 2^32, in order and out of order', () => {
    const isn = 0xfffffff0;
    const t = setup();
    t.c({ seq: isn, flags: TCP_SYN });
    const text = 'the quick brown fox jumps over'; // 30 bytes crossing the wrap
    const first = (isn + 1) >>> 0;
    const a = text.slice(0, 10);
    const b = text.slice(10, 20);
    const c = text.slice(20);
    t.c({ seq: (first + 20) >>> 0, data: bytesOf(c), flags: PA }); // after the wrap, early
    t.c({ seq: first, data: bytesOf(a), flags: PA });
    t.c({ seq: (first + 10) >>> 0, data: bytesOf(b), flags: PA }); // straddles 2^32
    t.c({ seq: (first + 5) >>> 0, data: bytesOf(text.slice(5, 15)), flags: PA }); // old: retransmission
    expect(t.sink.text(0)).toBe(text);
    expect(t.tcp.stats.retransmittedSegments).toBe(1);
    expect(t.flow().tcp?.[0].nextSeq).toBe((first + 30) >>> 0);
    // The server ACKs exactly what was sent: no gap despite the wrap.
    t.s({ seq: 7, ack: (first + 30) >>> 0, flags: TCP_SYN | TCP_ACK });
    expect(t.tcp.stats.gaps).toBe(0);
  });

  it('declares a gap when the per-stream buffer would overflow', () => {
    const t = setup({ maxBufferedBytesPerStream: 10 });
    t.c({ seq: 0, flags: TCP_SYN });
    t.c({ seq: 1, data: bytesOf('aa'), flags: PA }); // offsets 0..1
    // offsets 2..4 lost; 5..10 and 11..16 arrive
    t.c({ seq: 6, data: bytesOf('ffffff'), flags: PA });
    t.c({ seq: 12, data: bytesOf('gggggg'), flags: PA }); // 6 + 6 > 10: give up the hole
    expect(t.tcp.stats.streamBufferExceeded).toBe(1);
    expect(t.tcp.stats.gapsBuffer).toBe(1);
    expect(t.sink.events[0]).toEqual([
      { kind: 'data', bytes: [...bytesOf('aa')] },
      { kind: 'gap', bytes: 3 },
      { kind: 'data', bytes: [...bytesOf('ffffff')] },
      { kind: 'data', bytes: [...bytesOf('gggggg')] },
    ]);
    expect(t.tcp.stats.bufferedBytes).toBe(0);
  });

  it('declares a gap when the global budget would overflow', () => {
    const t = setup({ maxBufferedBytesTotal: 8 });
    t.c({ seq: 0, flags: TCP_SYN, sport: 1111 });
    t.c({ seq: 0, flags: TCP_SYN, sport: 2222 });
    t.c({ seq: 11, data: bytesOf('xxxxxx'), flags: PA, sport: 1111 }); // buffered: 6
    t.c({ seq: 11, data: bytesOf('yyyyyy'), flags: PA, sport: 2222 }); // 6 + 6 > 8 (other stream holds 6)
    expect(t.tcp.stats.globalBufferExceeded).toBe(1);
    // The second stream holds nothing to give up, so its own hole goes and its segment is delivered.
    expect(t.sink.gaps(0)).toEqual([10]);
    expect(t.sink.text(0)).toBe('yyyyyy');
    expect(t.tcp.stats.bufferedBytes).toBe(6);
    expect(t.tcp.stats.bufferedBytesPeak).toBe(6);
  });

  it('declares a gap when a FIN arrives with data missing', () => {
    const t = setup();
    t.c({ seq: 0, flags: TCP_SYN });
    t.c({ seq: 1, data: bytesOf('ab'), flags: PA });
    t.c({ seq: 6, data: bytesOf('fg'), flags: PA }); // offsets 2..4 missing
    t.c({ seq: 8, data: bytesOf('h'), flags: PA | TCP_FIN });
    expect(t.sink.events[0]).toEqual([
      { kind: 'data', bytes: [...bytesOf('ab')] },
      { kind: 'gap', bytes: 3 },
      { kind: 'data', bytes: [...bytesOf('fg')] },
      { kind: 'data', bytes: [...bytesOf('h')] },
    ]);
    expect(t.tcp.stats.gapsFin).toBe(1);
    expect(t.flow().state).toBe(FLOW_CLOSING);
    // The server ACKs the FIN (one sequence number): no gap.
    t.s({ seq: 50, ack: 10, flags: TCP_ACK | TCP_FIN });
    expect(t.tcp.stats.gaps).toBe(1);
    expect(t.flow().state).toBe(FLOW_CLOSED);
  });

  it('declares a gap when the peer acknowledges data the capture never showed', () => {
    const t = setup();
    handshake(t, 0, 100);
    t.c({ seq: 1, data: bytesOf('abcd'), flags: PA }); // offsets 0..3
    // offsets 4..9 not captured (yet); 10..11 arrives and is buffered
    t.c({ seq: 11, data: bytesOf('kl'), flags: PA });
    t.s({ seq: 101, ack: 9, flags: TCP_ACK }); // acks offsets up to 7
    expect(t.sink.gaps(0)).toEqual([]); // the data gets one more packet to show up
    t.s({ seq: 101, ack: 9, flags: TCP_ACK });
    expect(t.sink.gaps(0)).toEqual([4]); // it did not: 4..7 lost
    expect(t.tcp.stats.gapsAck).toBe(1);
    t.s({ seq: 101, ack: 15, flags: TCP_ACK }); // acks up to 13
    t.c({ seq: 9, data: bytesOf('ij'), flags: PA }); // 8..9 shows up in time; 12..13 never does
    expect(t.sink.events[0]).toEqual([
      { kind: 'data', bytes: [...bytesOf('abcd')] },
      { kind: 'gap', bytes: 4 },
      { kind: 'data', bytes: [...bytesOf('ij')] },
      { kind: 'data', bytes: [...bytesOf('kl')] },
      { kind: 'gap', bytes: 2 },
    ]);
    expect(t.flow().tcp?.[0].nextSeq).toBe(15);
    // The data finally seen late is a retransmission now.
    t.c({ seq: 13, data: bytesOf('mn'), flags: PA });
    expect(t.tcp.stats.retransmittedSegments).toBe(1);
  });

  it('does not declare a gap when the capture records an ACK just before its data', () => {
    const t = setup();
    handshake(t, 0, 100);
    t.c({ seq: 1, data: bytesOf('req'), flags: PA });
    t.c({ seq: 4, ack: 111, flags: TCP_ACK }); // client ACKs the response before we see it
    t.s({ seq: 101, ack: 4, data: bytesOf('response!!'), flags: PA });
    expect(t.sink.text(1)).toBe('response!!');
    expect(t.tcp.stats.gaps).toBe(0);
    expect(t.tcp.stats.retransmittedSegments).toBe(0);
  });

  it('declares a pending ACK gap when the flow ends', () => {
    const t = setup();
    handshake(t, 0, 100);
    t.c({ seq: 1, data: bytesOf('ab'), flags: PA });
    t.s({ seq: 101, ack: 10, flags: TCP_ACK });
    t.table.flush(5);
    expect(t.sink.gaps(0)).toEqual([7]);
    expect(t.tcp.stats.gapsAck).toBe(1);
  });

  it('gives up a hole after gapTimeoutSec of packet time, on a packet or on expire', () => {
    const t = setup({ gapTimeoutSec: 5 });
    t.c({ seq: 0, flags: TCP_SYN }, 100);
    t.c({ seq: 3, data: bytesOf('cd'), flags: PA }, 100); // offsets 0..1 missing
    t.c({ seq: 20, data: bytesOf('z'), flags: PA }, 104); // still waiting
    expect(t.sink.gaps(0)).toEqual([]);
    t.s({ seq: 900, flags: TCP_ACK }, 105); // a packet the other way does not check this stream
    expect(t.sink.gaps(0)).toEqual([]);
    t.table.expire(105);
    expect(t.sink.gaps(0)).toEqual([2]);
    expect(t.sink.text(0)).toBe('cd');
    // The next hole (offsets 4..18) started waiting at 105.
    t.table.expire(109);
    expect(t.sink.gaps(0)).toEqual([2]);
    t.c({ seq: 21, data: bytesOf('!'), flags: PA }, 110);
    expect(t.sink.gaps(0)).toEqual([2, 15]);
    expect(t.sink.text(0)).toBe('cdz!');
    expect(t.tcp.stats.gapsTimeout).toBe(2);
  });

  it('picks up a stream mid-way (no SYN) at the first segment seen', () => {
    const t = setup();
    t.c({ seq: 777777, data: bytesOf('mid'), flags: PA });
    t.c({ seq: 777780, data: bytesOf('dle'), flags: PA });
    t.s({ seq: 4242, ack: 777783, data: bytesOf('resp'), flags: PA });
    expect(t.sink.text(0)).toBe('middle');
    expect(t.sink.text(1)).toBe('resp');
    expect(t.flow().tcp?.[0].sawSyn).toBe(false);
    expect(t.tcp.stats.gaps).toBe(0);
  });

  it('treats SYN payload as data after the SYN sequence number', () => {
    const t = setup();
    t.c({ seq: 10, flags: TCP_SYN, data: bytesOf('tfo') });
    t.c({ seq: 14, data: bytesOf('!'), flags: PA });
    expect(t.sink.text(0)).toBe('tfo!');
    expect(t.tcp.stats.synWithData).toBe(1);
  });

  it('ignores zero-length segments and keepalives', () => {
    const t = setup();
    t.c({ seq: 0, flags: TCP_SYN });
    t.c({ seq: 1, flags: TCP_ACK });
    t.c({ seq: 1, data: bytesOf('ab'), flags: PA });
    t.c({ seq: 2, data: bytesOf('x'), flags: TCP_ACK }); // keepalive: one old byte
    t.c({ seq: 3, flags: TCP_ACK });
    expect(t.sink.text(0)).toBe('ab');
    expect(t.tcp.stats.retransmittedSegments).toBe(1);
    expect(t.tcp.stats.gaps).toBe(0);
  });

  it('drops a single far jump but resyncs after a run of them', () => {
    const t = setup({ resyncAfterOutOfWindow: 3 });
    t.c({ seq: 0, flags: TCP_SYN });
    t.c({ seq: 1, data: bytesOf('ab'), flags: PA });
    t.c({ seq: 0x70000000, data: bytesOf('forged'), flags: PA }); // > 1 GiB ahead: dropped
    t.c({ seq: 3, data: bytesOf('cd'), flags: PA });
    expect(t.sink.text(0)).toBe('abcd');
    expect(t.tcp.stats.outOfWindow).toBe(1);
    const far = 0x90000000;
    t.c({ seq: far, data: bytesOf('x'), flags: PA });
    t.c({ seq: far + 1, data: bytesOf('y'), flags: PA });
    t.c({ seq: far + 2, data: bytesOf('z'), flags: PA }); // third in a row: resync here
    t.c({ seq: far + 3, data: bytesOf('!'), flags: PA });
    expect(t.tcp.stats.resyncs).toBe(1);
    expect(t.sink.text(0)).toBe('abcdz!');
    expect(t.sink.gaps(0)).toEqual([far + 2 - 5]);
    // 1 forged + 3 in the run (the third resynced). A segment far behind is out of window, not a retransmission.
    expect(t.tcp.stats.outOfWindow).toBe(4);
    t.c({ seq: 1, data: bytesOf('q'), flags: PA });
    expect(t.tcp.stats.outOfWindow).toBe(5);
    expect(t.tcp.stats.retransmittedSegments).toBe(0);
  });

  it('ignores a FIN or RST far outside the window', () => {
    const t = setup();
    t.c({ seq: 0, flags: TCP_SYN });
    t.c({ seq: 1, data: bytesOf('ab'), flags: PA });
    t.c({ seq: 0x80000000, flags: TCP_FIN | TCP_ACK });
    t.c({ seq: 0x60000000, flags: TCP_RST });
    t.c({ seq: 3, data: bytesOf('cd'), flags: PA });
    expect(t.sink.text(0)).toBe('abcd');
    expect(t.tcp.stats.outOfWindow).toBe(2);
    expect(t.flow().state).toBe(FLOW_ACTIVE);
  });

  it('closes on RST, delivering buffered data after a gap', () => {
    const t = setup();
    handshake(t, 0, 100);
    t.c({ seq: 1, data: bytesOf('ab'), flags: PA });
    t.c({ seq: 5, data: bytesOf('ef'), flags: PA });
    t.s({ seq: 101, flags: TCP_RST });
    expect(t.sink.events[0]).toEqual([
      { kind: 'data', bytes: [...bytesOf('ab')] },
      { kind: 'gap', bytes: 2 },
      { kind: 'data', bytes: [...bytesOf('ef')] },
    ]);
    expect(t.tcp.stats.gapsRst).toBe(1);
    expect(t.flow().state).toBe(FLOW_CLOSED);
    t.c({ seq: 7, data: bytesOf('late'), flags: PA });
    expect(t.tcp.stats.dataAfterClose).toBe(1);
    expect(t.sink.text(0)).toBe('abef');
  });

  it('closes the flow after FIN both ways and ends it after closedTimeoutSec', () => {
    const t = setup();
    handshake(t, 0, 100);
    const f = t.flow();
    expect(f.state).toBe(FLOW_ACTIVE);
    t.c({ seq: 1, ack: 101, flags: TCP_FIN | TCP_ACK }, 10);
    expect(f.state).toBe(FLOW_CLOSING);
    t.s({ seq: 101, ack: 2, flags: TCP_FIN | TCP_ACK }, 10);
    t.c({ seq: 2, ack: 102, flags: TCP_ACK }, 10);
    expect(f.state).toBe(FLOW_CLOSED);
    expect(t.tcp.stats.gaps).toBe(0);
    t.table.expire(19);
    expect(t.listener.ended).toEqual([]);
    t.table.expire(20);
    expect(t.listener.ended.map((e) => e.reason)).toEqual(['closed']);
    expect(t.table.stats.endedClosed).toBe(1);
  });

  it('flushes buffered data with a gap when the flow ends, and returns the budget', () => {
    const t = setup();
    t.c({ seq: 0, flags: TCP_SYN });
    t.c({ seq: 4, data: bytesOf('late'), flags: PA });
    expect(t.tcp.stats.bufferedBytes).toBe(4);
    t.table.flush(2);
    expect(t.sink.events[0]).toEqual([
      { kind: 'gap', bytes: 3 },
      { kind: 'data', bytes: [...bytesOf('late')] },
    ]);
    expect(t.tcp.stats.bufferedBytes).toBe(0);
    expect(t.tcp.stats.gapsFlowEnd).toBe(1);
    expect(t.listener.ended.map((e) => e.reason)).toEqual(['shutdown']);
  });

  it('survives a random mix of reorders, duplicates and drops of a known stream (fuzz)', () => {
    let seed = 12345;
    const rnd = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 4294967296;
    };
    const seenCauses = new Map<string, number>();
    for (let round = 0; round < 300; round++) {
      const maxPerStream = 64 + Math.floor(rnd() * 512);
      const maxTotal = 128 + Math.floor(rnd() * 1024);
      const t = setup({
        maxBufferedBytesPerStream: maxPerStream,
        maxBufferedBytesTotal: maxTotal,
        maxBufferedSegmentsPerStream: 4 + Math.floor(rnd() * 20),
      });
      const total = 200 + Math.floor(rnd() * 2000);
      const original = new Uint8Array(total);
      for (let i = 0; i < total; i++) original[i] = Math.floor(rnd() * 256);
      // Near the wrap half of the time.
      const isn = rnd() < 0.5 ? (0xffffffff - Math.floor(rnd() * 1000)) >>> 0 : Math.floor(rnd() * 0xffffffff);
      const segs: { off: number; len: number }[] = [];
      for (let off = 0; off < total; ) {
        const len = Math.min(total - off, 1 + Math.floor(rnd() * 120));
        segs.push({ off, len });
        off += len;
      }
      // Random overlapping re-cuts, duplicates and drops.
      const sent: { off: number; len: number }[] = [];
      for (const sg of segs) {
        const r = rnd();
        if (r < 0.1) continue; // dropped
        sent.push(sg);
        if (r > 0.85) sent.push(sg); // duplicate
        if (r > 0.75 && r <= 0.85) {
          const o = Math.max(0, sg.off - Math.floor(rnd() * 50));
          sent.push({ off: o, len: Math.min(total - o, sg.len + Math.floor(rnd() * 80)) });
        }
      }
      for (let i = sent.length - 1; i > 0; i--) {
        if (rnd() < 0.5) continue; // keep partial order: real reordering is local
        const j = Math.max(0, i - 1 - Math.floor(rnd() * 6));
        const a = sent[i];
        const b = sent[j];
        if (a && b) {
          sent[i] = b;
          sent[j] = a;
        }
      }
      t.c({ seq: isn, flags: TCP_SYN });
      let ts = 1;
      let sentEnd = 0;
      for (const sg of sent) {
        if (rnd() < 0.05) ts += 3;
        const seq = (isn + 1 + sg.off) >>> 0;
        t.c({ seq, data: original.subarray(sg.off, sg.off + sg.len), flags: PA }, ts);
        sentEnd = Math.max(sentEnd, sg.off + sg.len);
        // Now and then the server acknowledges some of what was sent so far (possibly bytes the capture lost).
        if (rnd() < 0.05) t.s({ seq: 77, ack: (isn + 1 + Math.floor(rnd() * sentEnd)) >>> 0, flags: TCP_ACK }, ts);
        expect(t.tcp.stats.bufferedBytes).toBeLessThanOrEqual(maxTotal);
        const st = t.flow().tcp?.[0];
        expect(st?.bufferedBytes ?? 0).toBeLessThanOrEqual(maxPerStream);
      }
      const withFin = rnd() < 0.5;
      if (withFin) t.c({ seq: (isn + 1 + total) >>> 0, flags: TCP_FIN | TCP_ACK }, ts);
      else t.table.flush(ts + 1);
      // Every delivered byte equals the original at its stream offset; data + gaps never run past the end.
      const got = t.sink.bytesAt[0];
      for (const [off, b] of got) {
        if (original[off] !== b) throw new Error(`round ${round}: byte at ${off} is ${b}, want ${original[off]}`);
      }
      const delivered = t.sink.offset[0];
      expect(delivered).toBeLessThanOrEqual(total);
      expect(got.size + t.sink.gapBytes[0]).toBe(delivered);
      expect(t.tcp.stats.bufferedBytes).toBe(0);
      // A FIN accounts for the whole stream; a flush for everything that was sent.
      let maxEnd = 0;
      for (const sg of sent) maxEnd = Math.max(maxEnd, sg.off + sg.len);
      expect(delivered).toBe(withFin ? total : maxEnd);
      for (const [k, v] of Object.entries(t.tcp.stats)) seenCauses.set(k, (seenCauses.get(k) ?? 0) + v);
    }
    // The fuzz really exercised every path it is meant to cover.
    for (const k of [
      'retransmittedSegments',
      'partialOverlaps',
      'outOfOrderSegments',
      'outOfOrderOverlaps',
      'streamBufferExceeded',
      'globalBufferExceeded',
      'segmentCapExceeded',
      'gapsBuffer',
      'gapsFin',
      'gapsAck',
      'gapsTimeout',
      'gapsFlowEnd',
    ]) {
      expect(seenCauses.get(k), k).toBeGreaterThan(0);
    }
    expect(seenCauses.get('overlapConflicts')).toBe(0);
  });
});
