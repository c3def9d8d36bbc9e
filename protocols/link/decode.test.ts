import { describe, expect, it } from 'vitest';
import {
  DLT_RAW_12,
  DLT_RAW_14,
  LINKTYPE_ETHERNET,
  LINKTYPE_IPV4,
  LINKTYPE_IPV6,
  LINKTYPE_LINUX_SLL,
  LINKTYPE_LINUX_SLL2,
  LINKTYPE_LOOP,
  LINKTYPE_NULL,
  LINKTYPE_RAW,
} from '../core/link-types.ts';
import {
  ETH_8023_STP,
  ETH_ARP,
  ETH_IPV4_OPTS_ICMP,
  ETH_IPV4_TCP,
  ETH_IPV4_UDP,
  ETH_PADDED,
  ETH_QINQ,
  ETH_QINQ9100,
  ETH_VLAN,
  hex,
  IPV4_228,
  IPV6_229,
  IPV6_EXT,
  IPV6_FRAG_FIRST,
  IPV6_FRAG_LAST,
  LOOP_IPV6,
  NULL_BE_IPV6,
  NULL_LE_IPV4,
  NULL_LE_IPV6,
  RAW_IPV4,
  RAW_IPV6,
  SLL,
  SLL2,
} from './decode.fixtures.ts';
import { LinkDecoder } from './decode.ts';
import {
  DECODE_FRAGMENT_HELD,
  DECODE_MALFORMED,
  DECODE_NOT_IP,
  DECODE_OK,
  DECODE_TRUNCATED,
  DECODE_UNSUPPORTED_LINK,
  type DecodeStatus,
  formatIPv4,
  formatIPv6,
  formatMac,
  PacketView,
  TCP_ACK,
  TCP_PSH,
} from './packet-view.ts';

function decodeOne(linkType: number, frame: Uint8Array, decoder = new LinkDecoder()) {
  const view = new PacketView();
  const status = decoder.decode(linkType, frame, 0, frame.length, 1_000, view);
  return { status, view, decoder };
}

function payloadHex(view: PacketView): string {
  return Buffer.from(view.payload.subarray(view.payloadOff, view.payloadOff + view.payloadLen)).toString('hex');
}

/** The IPv4 TCP segment every IPv4 fixture carries: 192.168.0.1.49152 > 192.168.0.33.102 [P.] seq 1000 ack 2000. */
function expectCotpSegment(view: PacketView): void {
  expect(view.ipVersion).toBe(4);
  expect(formatIPv4(view.src4)).toBe('192.168.0.1');
  expect(formatIPv4(view.dst4)).toBe('192.168.0.33');
  expect(view.ttl).toBe(64);
  expect(view.ipProto).toBe(6);
  expect(view.srcPort).toBe(49152);
  expect(view.dstPort).toBe(102);
  expect(view.tcpSeq).toBe(1000);
  expect(view.tcpAck).toBe(2000);
  expect(view.tcpFlags).toBe(TCP_PSH | TCP_ACK);
  expect(view.tcpWindow).toBe(8192);
  expect(payloadHex(view)).toBe('0300000702f080');
  expect(view.truncated).toBe(false);
  expect(view.reassembled).toBe(false);
}

/** The IPv6 TCP segment of the IPv6 fixtures: fe80::1.4840 > 2001:db8::4840.53530 seq 4294967280 ack 2147483649. */
function expectOpcuaSegment(view: PacketView): void {
  expect(view.ipVersion).toBe(6);
  expect(formatIPv6(view.src6)).toBe('fe80::1');
  expect(formatIPv6(view.dst6)).toBe('2001:db8::4840');
  expect(view.ttl).toBe(64);
  expect(view.ipProto).toBe(6);
  expect(view.srcPort).toBe(4840);
  expect(view.dstPort).toBe(53530);
  // Both above 2^31: must come out unsigned.
  expect(view.tcpSeq).toBe(4294967280);
  expect(view.tcpAck).toBe(2147483649);
  expect(view.tcpWindow).toBe(512);
  expect(payloadHex(view)).toBe('48454c4608000000');
}

describe('Ethernet', () => {
  it('decodes Ethernet II / IPv4 / TCP with MACs and offsets into the frame', () => {
    const { status, view, decoder } = decodeOne(LINKTYPE_ETHERNET, ETH_IPV4_TCP);
    expect(status).toBe(DECODE_OK);
    expectCotpSegment(view);
    expect(formatMac(view.frame, view.dstMacOff)).toBe('00:1b:1b:12:34:56');
    expect(formatMac(view.frame, view.srcMacOff)).toBe('00:0c:29:ab:cd:ef');
    expect(view.vlanOuter).toBe(-1);
    expect(view.vlanInner).toBe(-1);
    expect(view.payload).toBe(ETH_IPV4_TCP); // a view into the input, not a copy
    expect(view.payloadOff).toBe(54);
    expect(decoder.stats.ok).toBe(1);
    expect(decoder.stats.ipv4Frames).toBe(1);
  });

  it('decodes a frame at a non-zero offset inside a larger batch buffer', () => {
    const batch = new Uint8Array(200).fill(0xee);
    batch.set(ETH_IPV4_TCP, 37);
    const view = new PacketView();
    const status = new LinkDecoder().decode(LINKTYPE_ETHERNET, batch, 37, ETH_IPV4_TCP.length, 0, view);
    expect(status).toBe(DECODE_OK);
    expectCotpSegment(view);
    expect(view.payloadOff).toBe(37 + 54);
    expect(view.frameOff).toBe(37);
    expect(view.srcMacOff).toBe(43);
  });

  it('records one 802.1Q tag', () => {
    const { status, view, decoder } = decodeOne(LINKTYPE_ETHERNET, ETH_VLAN);
    expect(status).toBe(DECODE_OK);
    expectCotpSegment(view);
    expect(view.vlanOuter).toBe(100); // PCP bits (p 1) stripped
    expect(view.vlanInner).toBe(-1);
    expect(decoder.stats.vlanFrames).toBe(1);
    expect(decoder.stats.qinqFrames).toBe(0);
  });

  it('records outer and inner ids of 802.1ad (0x88a8) QinQ', () => {
    const { status, view, decoder } = decodeOne(LINKTYPE_ETHERNET, ETH_QINQ);
    expect(status).toBe(DECODE_OK);
    expectCotpSegment(view);
    expect(view.vlanOuter).toBe(200);
    expect(view.vlanInner).toBe(100);
    expect(decoder.stats.vlanFrames).toBe(1);
    expect(decoder.stats.qinqFrames).toBe(1);
  });

  it('records outer and inner ids of pre-standard 0x9100 QinQ', () => {
    const { status, view } = decodeOne(LINKTYPE_ETHERNET, ETH_QINQ9100);
    expect(status).toBe(DECODE_OK);
    expectCotpSegment(view);
    expect(view.vlanOuter).toBe(300);
    expect(view.vlanInner).toBe(7);
  });

  it('trims Ethernet padding: the IP total length bounds the payload', () => {
    const { status, view } = decodeOne(LINKTYPE_ETHERNET, ETH_PADDED);
    expect(status).toBe(DECODE_OK);
    expect(view.frameLen).toBe(60);
    expect(view.srcPort).toBe(102);
    expect(view.tcpFlags).toBe(TCP_ACK);
    expect(view.payloadLen).toBe(0); // not the 6 zero bytes of padding
    expect(view.truncated).toBe(false);
  });

  it('reports ARP as not IP and counts it by ethertype', () => {
    const { status, view, decoder } = decodeOne(LINKTYPE_ETHERNET, ETH_ARP);
    expect(status).toBe(DECODE_NOT_IP);
    expect(view.ipVersion).toBe(0);
    expect(formatMac(view.frame, view.dstMacOff)).toBe('ff:ff:ff:ff:ff:ff');
    expect(decoder.stats.notIp).toBe(1);
    expect(decoder.stats.nonIpByEthertype.get(0x0806)).toBe(1);
  });

  it('reports an 802.3 length-field frame (STP over LLC) as not IP', () => {
    const { status, decoder } = decodeOne(LINKTYPE_ETHERNET, ETH_8023_STP);
    expect(status).toBe(DECODE_NOT_IP);
    expect(decoder.stats.nonIpByEthertype.get(0)).toBe(1);
  });

  it('bounds the non-IP ethertype table and counts the overflow', () => {
    const decoder = new LinkDecoder();
    const view = new PacketView();
    const frame = ETH_ARP.slice();
    for (let t = 0; t < 100; t++) {
      frame[12] = 0x90;
      frame[13] = t;
      decoder.decode(LINKTYPE_ETHERNET, frame, 0, frame.length, 0, view);
    }
    expect(decoder.stats.nonIpByEthertype.size).toBe(64);
    expect(decoder.stats.nonIpOtherEthertypes).toBe(36);
    expect(decoder.stats.notIp).toBe(100);
  });

  it('decodes IPv4 / UDP', () => {
    const { status, view } = decodeOne(LINKTYPE_ETHERNET, ETH_IPV4_UDP);
    expect(status).toBe(DECODE_OK);
    expect(view.ipProto).toBe(17);
    expect(view.srcPort).toBe(34964);
    expect(view.dstPort).toBe(34964);
    expect(payloadHex(view)).toBe('fe010000');
  });

  it('skips IPv4 options; other protocols give ports 0 and the payload after the IP header', () => {
    const { status, view } = decodeOne(LINKTYPE_ETHERNET, ETH_IPV4_OPTS_ICMP);
    expect(status).toBe(DECODE_OK);
    expect(view.ipProto).toBe(1);
    expect(view.srcPort).toBe(0);
    expect(view.dstPort).toBe(0);
    expect(payloadHex(view)).toBe('0800f7ff00000000'); // after the 24-byte header (router alert option)
  });
});

describe('Linux cooked capture', () => {
  it('decodes SLL with the source MAC', () => {
    const { status, view } = decodeOne(LINKTYPE_LINUX_SLL, SLL);
    expect(status).toBe(DECODE_OK);
    expectCotpSegment(view);
    expect(formatMac(view.frame, view.srcMacOff)).toBe('00:0c:29:ab:cd:ef');
    expect(view.dstMacOff).toBe(-1);
  });

  it('leaves srcMacOff at -1 when the SLL address is not 6 bytes', () => {
    const frame = SLL.slice();
    frame[5] = 0; // address length 0 (e.g. a tunnel interface)
    const { status, view } = decodeOne(LINKTYPE_LINUX_SLL, frame);
    expect(status).toBe(DECODE_OK);
    expect(view.srcMacOff).toBe(-1);
  });

  it('decodes SLL2 with the source MAC', () => {
    const { status, view } = decodeOne(LINKTYPE_LINUX_SLL2, SLL2);
    expect(status).toBe(DECODE_OK);
    expectCotpSegment(view);
    expect(view.srcMacOff).toBe(12);
    expect(formatMac(view.frame, view.srcMacOff)).toBe('00:0c:29:ab:cd:ef');
  });
});

describe('loopback and raw IP', () => {
  it('reads the NULL address family in little-endian host order (AF 30, macOS IPv6)', () => {
    const { status, view, decoder } = decodeOne(LINKTYPE_NULL, NULL_LE_IPV6);
    expect(status).toBe(DECODE_OK);
    expectOpcuaSegment(view);
    expect(decoder.stats.ipv6Frames).toBe(1);
  });

  it('reads the NULL address family in big-endian host order (AF 24)', () => {
    const { status, view } = decodeOne(LINKTYPE_NULL, NULL_BE_IPV6);
    expect(status).toBe(DECODE_OK);
    expectOpcuaSegment(view);
  });

  it('reads NULL AF_INET (2)', () => {
    const { status, view } = decodeOne(LINKTYPE_NULL, NULL_LE_IPV4);
    expect(status).toBe(DECODE_OK);
    expectCotpSegment(view);
  });

  it('reports an unknown NULL address family as not IP', () => {
    const frame = NULL_LE_IPV4.slice();
    frame[0] = 7;
    expect(decodeOne(LINKTYPE_NULL, frame).status).toBe(DECODE_NOT_IP);
  });

  it('reads LOOP in network order (AF 28)', () => {
    const { status, view } = decodeOne(LINKTYPE_LOOP, LOOP_IPV6);
    expect(status).toBe(DECODE_OK);
    expectOpcuaSegment(view);
  });

  it('decodes raw IP by its version nibble under 101, 12 and 14', () => {
    for (const lt of [LINKTYPE_RAW, DLT_RAW_12, DLT_RAW_14]) {
      const v4 = decodeOne(lt, RAW_IPV4);
      expect(v4.status).toBe(DECODE_OK);
      expectCotpSegment(v4.view);
      const v6 = decodeOne(lt, RAW_IPV6);
      expect(v6.status).toBe(DECODE_OK);
      expectOpcuaSegment(v6.view);
    }
    const bad = RAW_IPV4.slice();
    bad[0] = 0x55;
    expect(decodeOne(LINKTYPE_RAW, bad).status).toBe(DECODE_MALFORMED);
  });

  it('decodes LINKTYPE_IPV4 and LINKTYPE_IPV6, and rejects the wrong version under each', () => {
    const v4 = decodeOne(LINKTYPE_IPV4, IPV4_228);
    expect(v4.status).toBe(DECODE_OK);
    expectCotpSegment(v4.view);
    const v6 = decodeOne(LINKTYPE_IPV6, IPV6_229);
    expect(v6.status).toBe(DECODE_OK);
    expectOpcuaSegment(v6.view);
    expect(decodeOne(LINKTYPE_IPV4, IPV6_229).status).toBe(DECODE_MALFORMED);
    expect(decodeOne(LINKTYPE_IPV6, IPV4_228).status).toBe(DECODE_MALFORMED);
  });

  it('reports an unknown link type as unsupported', () => {
    const { status, decoder } = decodeOne(147, ETH_IPV4_TCP);
    expect(status).toBe(DECODE_UNSUPPORTED_LINK);
    expect(decoder.stats.unsupportedLink).toBe(1);
  });
});

describe('IPv6 extension headers', () => {
  it('walks hop-by-hop, routing, destination options and AH to UDP', () => {
    const { status, view } = decodeOne(LINKTYPE_IPV6, IPV6_EXT);
    expect(status).toBe(DECODE_OK);
    expect(view.ipProto).toBe(17);
    expect(view.srcPort).toBe(5353);
    expect(view.dstPort).toBe(5353);
    expect(payloadHex(view)).toBe('61626364');
    expect(view.truncated).toBe(false);
  });

  it('decodes the transport header of a first fragment, flagged truncated, and counts it', () => {
    const { status, view, decoder } = decodeOne(LINKTYPE_IPV6, IPV6_FRAG_FIRST);
    expect(status).toBe(DECODE_OK);
    expectOpcuaSegment(view);
    expect(view.truncated).toBe(true);
    expect(decoder.stats.ipv6Fragments).toBe(1);
  });

  it('gives a non-first fragment protocol 44 and no ports', () => {
    const { status, view, decoder } = decodeOne(LINKTYPE_IPV6, IPV6_FRAG_LAST);
    expect(status).toBe(DECODE_OK);
    expect(view.ipProto).toBe(44);
    expect(view.srcPort).toBe(0);
    expect(view.dstPort).toBe(0);
    expect(view.payloadLen).toBe(16);
    expect(decoder.stats.ipv6Fragments).toBe(1);
  });

  it('reports an extension header that overruns the announced payload as malformed', () => {
    const frame = IPV6_EXT.slice();
    frame[40 + 1] = 200; // hop-by-hop length far past the end
    expect(decodeOne(LINKTYPE_IPV6, frame).status).toBe(DECODE_MALFORMED);
  });
});

describe('header checks', () => {
  it('rejects a bad IHL and a total length shorter than the header', () => {
    const ihl = ETH_IPV4_TCP.slice();
    ihl[14] = 0x44;
    expect(decodeOne(LINKTYPE_ETHERNET, ihl).status).toBe(DECODE_MALFORMED);
    const total = ETH_IPV4_TCP.slice();
    total[16] = 0;
    total[17] = 19;
    expect(decodeOne(LINKTYPE_ETHERNET, total).status).toBe(DECODE_MALFORMED);
  });

  it('takes the frame length when IPv4 total length is 0 (segmentation offload capture)', () => {
    const frame = ETH_IPV4_TCP.slice();
    frame[16] = 0;
    frame[17] = 0;
    const { status, view } = decodeOne(LINKTYPE_ETHERNET, frame);
    expect(status).toBe(DECODE_OK);
    expect(payloadHex(view)).toBe('0300000702f080');
  });

  it('rejects a TCP data offset below 5 words or beyond the segment', () => {
    const small = ETH_IPV4_TCP.slice();
    small[46] = 0x40;
    expect(decodeOne(LINKTYPE_ETHERNET, small).status).toBe(DECODE_MALFORMED);
    const big = ETH_IPV4_TCP.slice();
    big[46] = 0xf0; // 60-byte header in a 27-byte segment
    expect(decodeOne(LINKTYPE_ETHERNET, big).status).toBe(DECODE_MALFORMED);
  });

  it('trims a UDP payload to the UDP length and rejects a UDP length beyond the IP payload', () => {
    const short = ETH_IPV4_UDP.slice();
    short[39] = 10; // UDP length 10: 2 payload bytes, the other 2 are IP-level trailer
    const s = decodeOne(LINKTYPE_ETHERNET, short);
    expect(s.status).toBe(DECODE_OK);
    expect(payloadHex(s.view)).toBe('fe01');
    const long = ETH_IPV4_UDP.slice();
    long[39] = 40;
    expect(decodeOne(LINKTYPE_ETHERNET, long).status).toBe(DECODE_MALFORMED);
    const tiny = ETH_IPV4_UDP.slice();
    tiny[39] = 4;
    expect(decodeOne(LINKTYPE_ETHERNET, tiny).status).toBe(DECODE_MALFORMED);
  });

  it('gives up on an endless VLAN tag chain', () => {
    const frame = new Uint8Array(14 + 4 * 20 + 20);
    frame[12] = 0x81;
    for (let i = 0; i < 20; i++) {
      frame[14 + 4 * i + 2] = 0x81;
    }
    expect(decodeOne(LINKTYPE_ETHERNET, frame).status).toBe(DECODE_MALFORMED);
  });

  it('resets the view between packets', () => {
    const decoder = new LinkDecoder();
    const view = new PacketView();
    decoder.decode(LINKTYPE_ETHERNET, ETH_QINQ, 0, ETH_QINQ.length, 0, view);
    expect(view.vlanInner).toBe(100);
    decoder.decode(LINKTYPE_ETHERNET, ETH_ARP, 0, ETH_ARP.length, 0, view);
    expect(view.vlanOuter).toBe(-1);
    expect(view.vlanInner).toBe(-1);
    expect(view.ipVersion).toBe(0);
    expect(view.srcPort).toBe(0);
    expect(view.payloadLen).toBe(0);
  });

  it('clamps a length that runs past the buffer instead of reading beyond it', () => {
    const view = new PacketView();
    const status = new LinkDecoder().decode(LINKTYPE_ETHERNET, ETH_IPV4_TCP, 0, 1000, 0, view);
    expect(status).toBe(DECODE_OK);
    expect(view.frameLen).toBe(ETH_IPV4_TCP.length);
  });
});

/** Every fixture with its link type, for the truncation and fuzz sweeps. */
const ALL: ReadonlyArray<readonly [number, Uint8Array]> = [
  [LINKTYPE_ETHERNET, ETH_IPV4_TCP],
  [LINKTYPE_ETHERNET, ETH_VLAN],
  [LINKTYPE_ETHERNET, ETH_QINQ],
  [LINKTYPE_ETHERNET, ETH_QINQ9100],
  [LINKTYPE_ETHERNET, ETH_PADDED],
  [LINKTYPE_ETHERNET, ETH_IPV4_UDP],
  [LINKTYPE_ETHERNET, ETH_IPV4_OPTS_ICMP],
  [LINKTYPE_LINUX_SLL, SLL],
  [LINKTYPE_LINUX_SLL2, SLL2],
  [LINKTYPE_NULL, NULL_LE_IPV6],
  [LINKTYPE_NULL, NULL_BE_IPV6],
  [LINKTYPE_LOOP, LOOP_IPV6],
  [LINKTYPE_RAW, RAW_IPV4],
  [LINKTYPE_RAW, RAW_IPV6],
  [LINKTYPE_IPV6, IPV6_EXT],
];

describe('truncation', () => {
  it('cut at every offset: TRUNCATED before the headers end, OK-with-truncated after', () => {
    for (const [linkType, frame] of ALL) {
      const full = decodeOne(linkType, frame);
      expect(full.status).toBe(DECODE_OK);
      // Where the transport header ends in the full frame; any cut before it loses a header.
      const headersEnd = full.view.payloadOff;
      const dataEnd = headersEnd + full.view.payloadLen;
      const decoder = new LinkDecoder();
      const view = new PacketView();
      for (let cut = 0; cut < frame.length; cut++) {
        const status = decoder.decode(linkType, frame.subarray(0, cut), 0, cut, 0, view);
        if (cut < headersEnd) {
          expect(status, `cut ${cut} of ${frame.length}`).toBe(DECODE_TRUNCATED);
        } else {
          expect(status).toBe(DECODE_OK);
          expect(view.payloadOff).toBe(headersEnd);
          expect(view.payloadLen).toBe(Math.min(cut, dataEnd) - headersEnd);
          // Cutting only Ethernet padding (ETH_PADDED) loses nothing of the datagram.
          expect(view.truncated).toBe(cut < dataEnd);
        }
      }
      expect(decoder.stats.truncated + decoder.stats.okTruncated).toBeGreaterThan(0);
    }
  });
});

describe('fuzz', () => {
  /** Small deterministic PRNG (mulberry32) so a failure reproduces. */
  function rng(seed: number): () => number {
    let s = seed >>> 0;
    return () => {
      s = (s + 0x6d2b79f5) >>> 0;
      let t = s;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  it('100k random and mutated frames: never throws, statuses in range, offsets inside the buffer', () => {
    const rand = rng(0xc0ffee);
    const decoder = new LinkDecoder({ maxFragmentDatagrams: 64, maxFragmentBytes: 64 * 1024 });
    const view = new PacketView();
    const linkTypes = [
      LINKTYPE_ETHERNET,
      LINKTYPE_LINUX_SLL,
      LINKTYPE_LINUX_SLL2,
      LINKTYPE_NULL,
      LINKTYPE_LOOP,
      LINKTYPE_RAW,
      LINKTYPE_IPV4,
      LINKTYPE_IPV6,
      99,
    ];
    const buf = new Uint8Array(256);
    const seen = new Set<DecodeStatus>();
    for (let i = 0; i < 100_000; i++) {
      let linkType: number;
      let len: number;
      if (i % 2 === 0) {
        // Mutate a valid frame: flip 1-4 bytes, sometimes cut it.
        const pick = ALL[Math.floor(rand() * ALL.length)];
        if (pick === undefined) throw new Error('unreachable');
        linkType = pick[0];
        buf.set(pick[1]);
        len = pick[1].length;
        const flips = 1 + Math.floor(rand() * 4);
        for (let f = 0; f < flips; f++) buf[Math.floor(rand() * len)] = Math.floor(rand() * 256);
        if (rand() < 0.2) len = Math.floor(rand() * len);
      } else {
        linkType = linkTypes[Math.floor(rand() * linkTypes.length)] ?? LINKTYPE_ETHERNET;
        len = Math.floor(rand() * buf.length);
        for (let b = 0; b < len; b++) buf[b] = Math.floor(rand() * 256);
        // Steer some random frames into IP so deeper layers get exercised.
        if (rand() < 0.5 && len > 0) buf[0] = rand() < 0.5 ? 0x45 : 0x60;
      }
      const status = decoder.decode(linkType, buf, 0, len, i / 1000, view);
      seen.add(status);
      expect(status >= DECODE_OK && status <= DECODE_FRAGMENT_HELD).toBe(true);
      if (status === DECODE_OK && !view.reassembled) {
        expect(view.payload).toBe(buf);
        expect(view.payloadOff + view.payloadLen).toBeLessThanOrEqual(len);
        expect(view.payloadLen).toBeGreaterThanOrEqual(0);
      }
    }
    expect(decoder.stats.packets).toBe(100_000);
    const s = decoder.stats;
    expect(s.ok + s.notIp + s.unsupportedLink + s.truncated + s.malformed + s.fragmentHeld).toBe(100_000);
    expect(seen.has(DECODE_OK)).toBe(true);
    expect(seen.has(DECODE_MALFORMED)).toBe(true);
    expect(seen.has(DECODE_TRUNCATED)).toBe(true);
    expect(decoder.fragmentBytes).toBeLessThanOrEqual(64 * 1024);
    expect(decoder.fragmentDatagrams).toBeLessThanOrEqual(64);
  });

  it('hex() fixture helper round-trips', () => {
    expect(Array.from(hex(' 0a ff\n00 '))).toEqual([10, 255, 0]);
  });
});

describe('Ethernet/IPv4/TCP fast path', () => {
  /** A copy of ETH_IPV4_TCP with bytes replaced: [frame offset, value] (the IPv4 header starts at 14). */
  function patched(...edits: [number, number][]): Uint8Array {
    const f = ETH_IPV4_TCP.slice();
    for (const [i, v] of edits) f[i] = v;
    return f;
  }
  function withIpOptions(): Uint8Array {
    // IHL 6: four NOP option bytes after the 20-byte header, total length + 4.
    const f = new Uint8Array(ETH_IPV4_TCP.length + 4);
    f.set(ETH_IPV4_TCP.subarray(0, 34), 0);
    f.set([1, 1, 1, 1], 34);
    f.set(ETH_IPV4_TCP.subarray(34), 38);
    f[14] = 0x46;
    f[17] = (f[17] as number) + 4;
    return f;
  }
  const frames: [string, Uint8Array][] = [
    ['plain', ETH_IPV4_TCP],
    ['padded', Uint8Array.from([...ETH_IPV4_TCP, 0, 0, 0, 0, 0, 0])],
    ['cut by the snap length', ETH_IPV4_TCP.slice(0, ETH_IPV4_TCP.length - 3)],
    ['IP options', withIpOptions()],
    ['total length 0', patched([16, 0], [17, 0])],
    ['total length below the header', patched([16, 0], [17, 10])],
    ['more-fragments bit', patched([20, 0x60])],
    ['fragment offset', patched([21, 1])],
    ['TCP header longer than the datagram', patched([46, 0xf0])],
    ['UDP', patched([23, 17])],
    ['no DF bit', patched([20, 0])],
  ];

  const FIELDS = [
    'ipVersion',
    'src4',
    'dst4',
    'ttl',
    'ipProto',
    'reassembled',
    'srcPort',
    'dstPort',
    'tcpSeq',
    'tcpAck',
    'tcpFlags',
    'tcpWindow',
    'payload',
    'payloadOff',
    'payloadLen',
    'truncated',
    'vlanOuter',
    'vlanInner',
  ] as const;

  for (const [name, frame] of frames) {
    it(`decodes ${name} exactly as the general IPv4 path does`, () => {
      // Reference: the same bytes from the IPv4 header on, through the general path (linktype IPv4, no fast path).
      const ref = new PacketView();
      const refStatus = new LinkDecoder().decode(LINKTYPE_IPV4, frame, 14, frame.length - 14, 1, ref);
      // The view under test first holds a different packet, so every field the fast path must overwrite is stale.
      const view = new PacketView();
      const decoder = new LinkDecoder();
      decoder.decode(LINKTYPE_ETHERNET, ETH_VLAN, 0, ETH_VLAN.length, 1, view);
      const status = decoder.decode(LINKTYPE_ETHERNET, frame, 0, frame.length, 1, view);
      expect(status).toBe(refStatus);
      if (status !== DECODE_OK) return;
      for (const field of FIELDS) expect([field, view[field]]).toEqual([field, ref[field]]);
      expect([view.dstMacOff, view.srcMacOff, view.frameOff, view.frameLen]).toEqual([0, 6, 0, frame.length]);
      expect(decoder.stats.ipv4Frames).toBe(2);
    });
  }
});
