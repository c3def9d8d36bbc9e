import { describe, expect, it } from 'vitest';
import { LINKTYPE_ETHERNET, LINKTYPE_IPV4 } from '../core/link-types.ts';
import { LinkDecoder } from './decode.ts';
import { FRAG_COMPLETE, FRAG_HELD, FRAG_REJECTED, Ipv4Reassembler } from './ipv4-fragments.ts';
import {
  DECODE_FRAGMENT_HELD,
  DECODE_MALFORMED,
  DECODE_OK,
  DECODE_TRUNCATED,
  formatIPv4,
  PacketView,
} from './packet-view.ts';

const SRC = 0xc0a80001; // 192.168.0.1
const DST = 0xc0a80021; // 192.168.0.33

/** A UDP datagram 10.0.0.1:5000 → :6000 with `n` payload bytes 0, 1, 2, ... (mod 251). */
function udpDatagram(n: number, fill = 0): Uint8Array {
  const d = new Uint8Array(8 + n);
  d[0] = 0x13;
  d[1] = 0x88; // 5000
  d[2] = 0x17;
  d[3] = 0x70; // 6000
  d[4] = (8 + n) >> 8;
  d[5] = (8 + n) & 0xff;
  for (let i = 0; i < n; i++) d[8 + i] = (i + fill) % 251;
  return d;
}

/** An IPv4 packet (LINKTYPE_IPV4 framing, 20-byte header) carrying bytes [start, end) of `datagram`. */
function fragment(datagram: Uint8Array, start: number, end: number, more: boolean, id = 0x77, proto = 17, src = SRC) {
  const body = datagram.subarray(start, end);
  const p = new Uint8Array(20 + body.length);
  p[0] = 0x45;
  p[2] = (20 + body.length) >> 8;
  p[3] = (20 + body.length) & 0xff;
  p[4] = id >> 8;
  p[5] = id & 0xff;
  const field = (more ? 0x2000 : 0) | (start >> 3);
  p[6] = field >> 8;
  p[7] = field & 0xff;
  p[8] = 64;
  p[9] = proto;
  new DataView(p.buffer).setUint32(12, src);
  new DataView(p.buffer).setUint32(16, DST);
  p.set(body, 20);
  return p;
}

function feed(decoder: LinkDecoder, packet: Uint8Array, ts: number, view = new PacketView()) {
  return decoder.decode(LINKTYPE_IPV4, packet, 0, packet.length, ts, view);
}

function payloadOf(view: PacketView): Uint8Array {
  return view.payload.subarray(view.payloadOff, view.payloadOff + view.payloadLen);
}

describe('IPv4 reassembly through the decoder', () => {
  it('reassembles fragments in order and decodes the transport header from the whole datagram', () => {
    const decoder = new LinkDecoder();
    const view = new PacketView();
    const dgram = udpDatagram(300);
    expect(feed(decoder, fragment(dgram, 0, 104, true), 1, view)).toBe(DECODE_FRAGMENT_HELD);
    expect(feed(decoder, fragment(dgram, 104, 208, true), 1, view)).toBe(DECODE_FRAGMENT_HELD);
    expect(feed(decoder, fragment(dgram, 208, 308, false), 1, view)).toBe(DECODE_OK);
    expect(view.reassembled).toBe(true);
    expect(view.ipVersion).toBe(4);
    expect(formatIPv4(view.src4)).toBe('192.168.0.1');
    expect(view.ipProto).toBe(17);
    expect(view.srcPort).toBe(5000);
    expect(view.dstPort).toBe(6000);
    expect(payloadOf(view)).toEqual(dgram.subarray(8));
    const s = decoder.stats;
    expect(s.fragmentHeld).toBe(2);
    expect(s.ok).toBe(1);
    expect(s.fragments.fragments).toBe(3);
    expect(s.fragments.held).toBe(2);
    expect(s.fragments.reassembled).toBe(1);
    expect(decoder.fragmentDatagrams).toBe(0);
    expect(decoder.fragmentBytes).toBe(0);
  });

  it('reassembles out of order (last first) from a reused input buffer', () => {
    const decoder = new LinkDecoder();
    const view = new PacketView();
    const dgram = udpDatagram(300);
    // The capture source reuses its batch buffer: fragments must be copied, not referenced.
    const shared = new Uint8Array(400);
    const order: Array<[number, number, boolean]> = [
      [208, 308, false],
      [0, 104, true],
      [104, 208, true],
    ];
    let last = -1;
    for (const [a, b, more] of order) {
      const pkt = fragment(dgram, a, b, more);
      shared.fill(0xaa);
      shared.set(pkt, 10);
      last = decoder.decode(LINKTYPE_IPV4, shared, 10, pkt.length, 5, view);
    }
    expect(last).toBe(DECODE_OK);
    expect(view.reassembled).toBe(true);
    expect(payloadOf(view)).toEqual(dgram.subarray(8));
    expect(view.payload).not.toBe(shared);
  });

  it('reassembles TCP and reads its header from the reassembled buffer', () => {
    const seg = new Uint8Array(20 + 40);
    seg[1] = 102;
    seg[3] = 80;
    seg[4] = 0x80; // seq 0x80000000
    seg[12] = 0x50;
    seg[13] = 0x18;
    for (let i = 0; i < 40; i++) seg[20 + i] = i;
    const decoder = new LinkDecoder();
    const view = new PacketView();
    expect(feed(decoder, fragment(seg, 0, 32, true, 9, 6), 1, view)).toBe(DECODE_FRAGMENT_HELD);
    expect(feed(decoder, fragment(seg, 32, 60, false, 9, 6), 1, view)).toBe(DECODE_OK);
    expect(view.srcPort).toBe(102);
    expect(view.dstPort).toBe(80);
    expect(view.tcpSeq).toBe(0x80000000);
    expect(view.payloadOff).toBe(20);
    expect(payloadOf(view)).toEqual(seg.subarray(20));
  });

  it('keeps the first copy of overlapping bytes and counts the overlap', () => {
    const decoder = new LinkDecoder();
    const view = new PacketView();
    const a = udpDatagram(200, 0);
    const b = udpDatagram(200, 7); // same header, different payload bytes
    expect(feed(decoder, fragment(a, 0, 112, true), 1, view)).toBe(DECODE_FRAGMENT_HELD);
    // Overlaps [80, 112) with different content, extends to 160.
    expect(feed(decoder, fragment(b, 80, 160, true), 1, view)).toBe(DECODE_FRAGMENT_HELD);
    expect(feed(decoder, fragment(b, 160, 208, false), 1, view)).toBe(DECODE_OK);
    const whole = new Uint8Array(208);
    whole.set(a.subarray(0, 112), 0);
    whole.set(b.subarray(112, 208), 112);
    expect(payloadOf(view)).toEqual(whole.subarray(8));
    expect(decoder.stats.fragments.overlapping).toBe(1);
    expect(decoder.stats.fragments.duplicates).toBe(0);
  });

  it('counts an exact duplicate without storing it twice and completes once', () => {
    const decoder = new LinkDecoder();
    const view = new PacketView();
    const d = udpDatagram(100);
    const first = fragment(d, 0, 56, true);
    expect(feed(decoder, first, 1, view)).toBe(DECODE_FRAGMENT_HELD);
    expect(decoder.fragmentBytes).toBe(56);
    expect(feed(decoder, first, 1, view)).toBe(DECODE_FRAGMENT_HELD);
    expect(decoder.fragmentBytes).toBe(56);
    expect(feed(decoder, fragment(d, 56, 108, false), 1, view)).toBe(DECODE_OK);
    expect(payloadOf(view)).toEqual(d.subarray(8));
    expect(decoder.stats.fragments.duplicates).toBe(1);
    expect(decoder.stats.fragments.overlapping).toBe(0);
    expect(decoder.stats.fragments.reassembled).toBe(1);
  });

  it('expires an incomplete datagram by packet time, even when only other traffic arrives', () => {
    const decoder = new LinkDecoder({ fragmentTimeoutSec: 30 });
    const d = udpDatagram(100);
    expect(feed(decoder, fragment(d, 0, 56, true), 1000, new PacketView())).toBe(DECODE_FRAGMENT_HELD);
    // A non-fragment at t+29 changes nothing; one at t+31 expires the datagram.
    const plain = fragment(udpDatagram(4), 0, 12, false, 1);
    expect(feed(decoder, plain, 1029, new PacketView())).toBe(DECODE_OK);
    expect(decoder.fragmentDatagrams).toBe(1);
    expect(feed(decoder, plain, 1031, new PacketView())).toBe(DECODE_OK);
    expect(decoder.fragmentDatagrams).toBe(0);
    expect(decoder.fragmentBytes).toBe(0);
    expect(decoder.stats.fragments.expired).toBe(1);
    // The late second half starts a new datagram instead of completing the expired one.
    expect(feed(decoder, fragment(d, 56, 108, false), 1032, new PacketView())).toBe(DECODE_FRAGMENT_HELD);
    expect(decoder.stats.fragments.reassembled).toBe(0);
  });

  it('evicts the oldest datagram beyond maxFragmentDatagrams', () => {
    const decoder = new LinkDecoder({ maxFragmentDatagrams: 2 });
    const d = udpDatagram(100);
    for (const id of [1, 2, 3]) feed(decoder, fragment(d, 0, 56, true, id), 1);
    expect(decoder.fragmentDatagrams).toBe(2);
    expect(decoder.stats.fragments.evictedByCount).toBe(1);
    // id 1 was evicted: its tail is held as a new datagram (evicting id 2); id 3 still completes.
    expect(feed(decoder, fragment(d, 56, 108, false, 1), 1)).toBe(DECODE_FRAGMENT_HELD);
    expect(feed(decoder, fragment(d, 56, 108, false, 3), 1)).toBe(DECODE_OK);
    expect(decoder.stats.fragments.evictedByCount).toBe(2);
  });

  it('evicts the oldest datagrams to stay within maxFragmentBytes', () => {
    const decoder = new LinkDecoder({ maxFragmentBytes: 150 });
    const d = udpDatagram(200);
    expect(feed(decoder, fragment(d, 0, 64, true, 1), 1)).toBe(DECODE_FRAGMENT_HELD);
    expect(feed(decoder, fragment(d, 0, 64, true, 2), 1)).toBe(DECODE_FRAGMENT_HELD);
    expect(decoder.fragmentBytes).toBe(128);
    expect(feed(decoder, fragment(d, 0, 64, true, 3), 1)).toBe(DECODE_FRAGMENT_HELD);
    expect(decoder.stats.fragments.evictedByBytes).toBe(1);
    expect(decoder.fragmentDatagrams).toBe(2);
    expect(decoder.fragmentBytes).toBe(128);
    // A single datagram that outgrows the budget on its own is dropped.
    expect(feed(decoder, fragment(d, 64, 128, true, 3), 1)).toBe(DECODE_FRAGMENT_HELD);
    expect(feed(decoder, fragment(d, 128, 192, true, 3), 1)).toBe(DECODE_FRAGMENT_HELD);
    expect(decoder.stats.fragments.evictedByBytes).toBe(3);
    expect(decoder.fragmentBytes).toBeLessThanOrEqual(150);
  });

  it('rejects fragments that would exceed 65535 bytes and drops their datagram', () => {
    const decoder = new LinkDecoder();
    const d = udpDatagram(100);
    expect(feed(decoder, fragment(d, 0, 56, true, 5), 1)).toBe(DECODE_FRAGMENT_HELD);
    const tail = fragment(udpDatagram(8), 0, 16, false, 5);
    tail[6] = 0x1f;
    tail[7] = 0xfe; // offset 65520: 20 + 65520 + 16 > 65535
    expect(feed(decoder, tail, 1)).toBe(DECODE_MALFORMED);
    expect(decoder.stats.fragments.oversize).toBe(1);
    expect(decoder.fragmentDatagrams).toBe(0);
  });

  it('rejects a non-last fragment whose length is not a multiple of 8, and a truncated fragment', () => {
    const decoder = new LinkDecoder();
    const d = udpDatagram(100);
    expect(feed(decoder, fragment(d, 0, 50, true), 1)).toBe(DECODE_MALFORMED);
    expect(decoder.stats.fragments.inconsistent).toBe(1);
    const cut = fragment(d, 0, 56, true);
    expect(decoder.decode(LINKTYPE_IPV4, cut, 0, 60, 1, new PacketView())).toBe(DECODE_TRUNCATED);
    expect(decoder.fragmentDatagrams).toBe(0);
  });

  it('keeps datagrams apart by source, id and protocol', () => {
    const decoder = new LinkDecoder();
    const d = udpDatagram(100);
    feed(decoder, fragment(d, 0, 56, true, 1, 17, SRC), 1);
    feed(decoder, fragment(d, 0, 56, true, 1, 17, SRC + 1), 1);
    feed(decoder, fragment(d, 0, 56, true, 2, 17, SRC), 1);
    feed(decoder, fragment(d, 0, 56, true, 1, 6, SRC), 1);
    expect(decoder.fragmentDatagrams).toBe(4);
  });

  it('works behind Ethernet too', () => {
    const decoder = new LinkDecoder();
    const view = new PacketView();
    const d = udpDatagram(100);
    const eth = (ip: Uint8Array) => {
      const f = new Uint8Array(14 + ip.length);
      f[12] = 0x08;
      f.set(ip, 14);
      return f;
    };
    const a = eth(fragment(d, 0, 56, true));
    const b = eth(fragment(d, 56, 108, false));
    expect(decoder.decode(LINKTYPE_ETHERNET, a, 0, a.length, 1, view)).toBe(DECODE_FRAGMENT_HELD);
    expect(decoder.decode(LINKTYPE_ETHERNET, b, 0, b.length, 1, view)).toBe(DECODE_OK);
    expect(view.dstMacOff).toBe(0);
    expect(payloadOf(view)).toEqual(d.subarray(8));
  });
});

describe('Ipv4Reassembler', () => {
  const bytes = (n: number, v: number) => new Uint8Array(n).fill(v);

  it('fills holes between pieces held out of order', () => {
    const r = new Ipv4Reassembler();
    expect(r.add(1, 2, 3, 17, 16, true, 20, bytes(8, 3), 0, 8, 0)).toBe(FRAG_HELD);
    expect(r.add(1, 2, 3, 17, 40, false, 20, bytes(8, 6), 0, 8, 0)).toBe(FRAG_HELD);
    // Covers [0, 48): holes [0,16) and [24,40) are filled, the rest overlaps and is ignored.
    expect(r.add(1, 2, 3, 17, 0, true, 20, bytes(48, 9), 0, 48, 0)).toBe(FRAG_COMPLETE);
    const out = Array.from(r.completed);
    expect(out).toEqual([...Array(16).fill(9), ...Array(8).fill(3), ...Array(16).fill(9), ...Array(8).fill(6)]);
    expect(r.stats.overlapping).toBe(1);
  });

  it('rejects a second, different end and data beyond the known end', () => {
    const r = new Ipv4Reassembler();
    expect(r.add(1, 2, 3, 17, 8, false, 20, bytes(8, 1), 0, 8, 0)).toBe(FRAG_HELD);
    expect(r.add(1, 2, 3, 17, 8, false, 20, bytes(16, 1), 0, 16, 0)).toBe(FRAG_REJECTED);
    expect(r.add(1, 2, 3, 17, 16, true, 20, bytes(8, 1), 0, 8, 0)).toBe(FRAG_REJECTED);
    expect(r.stats.inconsistent).toBe(2);
    expect(r.add(1, 2, 3, 17, 0, true, 20, bytes(8, 2), 0, 8, 0)).toBe(FRAG_COMPLETE);
    expect(r.completed.length).toBe(16);
  });

  it('drops a single fragment larger than the whole byte budget', () => {
    const r = new Ipv4Reassembler({ maxBytes: 32 });
    expect(r.add(1, 2, 3, 17, 0, true, 20, bytes(64, 1), 0, 64, 0)).toBe(FRAG_HELD);
    expect(r.stats.droppedTooLarge).toBe(1);
    expect(r.datagrams).toBe(0);
    expect(r.bufferedBytes).toBe(0);
  });
});
