/**
 * Test-only frame builders: IPv4/IPv6 + TCP segments, Modbus/TCP ADUs, and the link-layer wrappings the sensor
 * reads (Ethernet, Linux SLL, BSD NULL, raw IP), plus the reverse (peel a captured frame down to its IP packet) so
 * real captured packets can be re-wrapped in another link type. Clarity over speed; checksums are left zero (the
 * sensor, like any passive monitor fed by offloading NICs, does not verify them).
 */
import { LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL, LINKTYPE_NULL, LINKTYPE_RAW } from '../../protocols/core/link-types.ts';

/** Link types the fuzz tests wrap packets in. */
export const FUZZ_LINK_TYPES = [LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL, LINKTYPE_NULL, LINKTYPE_RAW] as const;

export interface TcpSegmentSpec {
  /** IPv4 address as an unsigned 32-bit number, or 16 bytes for IPv6 (both ends must match). */
  src: number | Uint8Array;
  dst: number | Uint8Array;
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  flags: number;
  payload: Uint8Array;
  window?: number;
}

/** An IP packet (IPv4 or IPv6 by the address form) carrying one TCP segment with a 20-byte header. */
export function buildTcpPacket(s: TcpSegmentSpec): Uint8Array {
  const tcpLen = 20 + s.payload.length;
  const v6 = typeof s.src !== 'number';
  const ipLen = v6 ? 40 : 20;
  const out = new Uint8Array(ipLen + tcpLen);
  const dv = new DataView(out.buffer);
  if (typeof s.src === 'number' && typeof s.dst === 'number') {
    out[0] = 0x45;
    dv.setUint16(2, ipLen + tcpLen);
    dv.setUint16(4, 0x1234); // identification
    out[8] = 64; // TTL
    out[9] = 6; // TCP
    dv.setUint32(12, s.src >>> 0);
    dv.setUint32(16, s.dst >>> 0);
  } else if (typeof s.src !== 'number' && typeof s.dst !== 'number') {
    out[0] = 0x60;
    dv.setUint16(4, tcpLen);
    out[6] = 6; // next header: TCP
    out[7] = 64;
    out.set(s.src.subarray(0, 16), 8);
    out.set(s.dst.subarray(0, 16), 24);
  } else {
    throw new Error('buildTcpPacket: src and dst must both be IPv4 or both IPv6');
  }
  const t = ipLen;
  dv.setUint16(t, s.sport & 0xffff);
  dv.setUint16(t + 2, s.dport & 0xffff);
  dv.setUint32(t + 4, s.seq >>> 0);
  dv.setUint32(t + 8, s.ack >>> 0);
  out[t + 12] = 5 << 4; // data offset: 5 words
  out[t + 13] = s.flags & 0xff;
  dv.setUint16(t + 14, s.window ?? 65535);
  out.set(s.payload, t + 20);
  return out;
}

/** One Modbus/TCP ADU: MBAP header (tid, protocol 0, length, unit) followed by the PDU (function code + data). */
export function buildModbusAdu(tid: number, unit: number, func: number, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + data.length);
  const dv = new DataView(out.buffer);
  dv.setUint16(0, tid & 0xffff);
  dv.setUint16(2, 0);
  dv.setUint16(4, 2 + data.length);
  out[6] = unit & 0xff;
  out[7] = func & 0xff;
  out.set(data, 8);
  return out;
}

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;

function ipEthertype(ip: Uint8Array): number {
  return (ip[0] ?? 0) >> 4 === 6 ? ETHERTYPE_IPV6 : ETHERTYPE_IPV4;
}

/** Wraps an IP packet in the given link layer (Ethernet, Linux SLL, BSD NULL little-endian, or raw IP). */
export function wrapIp(ip: Uint8Array, linkType: number): Uint8Array {
  let header: Uint8Array;
  switch (linkType) {
    case LINKTYPE_ETHERNET: {
      header = new Uint8Array(14);
      header.set([0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02]);
      new DataView(header.buffer).setUint16(12, ipEthertype(ip));
      break;
    }
    case LINKTYPE_LINUX_SLL: {
      header = new Uint8Array(16);
      const dv = new DataView(header.buffer);
      dv.setUint16(0, 0); // packet type: to us
      dv.setUint16(2, 1); // ARPHRD_ETHER
      dv.setUint16(4, 6); // address length
      header.set([0x02, 0, 0, 0, 0, 0x03], 6);
      dv.setUint16(14, ipEthertype(ip));
      break;
    }
    case LINKTYPE_NULL: {
      header = new Uint8Array(4);
      // AF_INET is 2; AF_INET6 is 24 on NetBSD/OpenBSD (the decoder accepts the BSD variants).
      header[0] = ipEthertype(ip) === ETHERTYPE_IPV6 ? 24 : 2;
      break;
    }
    case LINKTYPE_RAW:
      return ip.slice();
    default:
      throw new Error(`wrapIp: link type ${linkType} not supported by the test builder`);
  }
  const out = new Uint8Array(header.length + ip.length);
  out.set(header);
  out.set(ip, header.length);
  return out;
}

/**
 * The IP packet inside a captured frame (a copy), or null when the frame is not IP or the link type is not one the
 * builder knows. Handles 802.1Q/802.1ad tags on Ethernet.
 */
export function peelToIp(frame: Uint8Array, linkType: number): Uint8Array | null {
  const dv = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  let off: number;
  let ethertype: number;
  switch (linkType) {
    case LINKTYPE_ETHERNET: {
      off = 12;
      if (frame.length < 14) return null;
      ethertype = dv.getUint16(off);
      off += 2;
      while ((ethertype === 0x8100 || ethertype === 0x88a8 || ethertype === 0x9100) && off + 4 <= frame.length) {
        ethertype = dv.getUint16(off + 2);
        off += 4;
      }
      break;
    }
    case LINKTYPE_LINUX_SLL:
      if (frame.length < 16) return null;
      ethertype = dv.getUint16(14);
      off = 16;
      break;
    case LINKTYPE_NULL:
      if (frame.length < 4) return null;
      ethertype = (frame[4] ?? 0) >> 4 === 6 ? ETHERTYPE_IPV6 : ETHERTYPE_IPV4;
      off = 4;
      break;
    case LINKTYPE_RAW:
      ethertype = (frame[0] ?? 0) >> 4 === 6 ? ETHERTYPE_IPV6 : ETHERTYPE_IPV4;
      off = 0;
      break;
    default:
      return null;
  }
  if (ethertype !== ETHERTYPE_IPV4 && ethertype !== ETHERTYPE_IPV6) return null;
  return frame.slice(off);
}

/** Where the TCP payload of an IPv4/IPv6 packet starts and ends (no extension headers), or null if not TCP. */
export function tcpPayloadRange(ip: Uint8Array): { start: number; end: number } | null {
  const version = (ip[0] ?? 0) >> 4;
  const dv = new DataView(ip.buffer, ip.byteOffset, ip.byteLength);
  let tcp: number;
  let end: number;
  if (version === 4) {
    if (ip.length < 20 || ip[9] !== 6) return null;
    tcp = ((ip[0] ?? 0) & 0x0f) * 4;
    end = Math.min(ip.length, dv.getUint16(2));
  } else if (version === 6) {
    if (ip.length < 40 || ip[6] !== 6) return null;
    tcp = 40;
    end = Math.min(ip.length, 40 + dv.getUint16(4));
  } else {
    return null;
  }
  if (tcp + 20 > end) return null;
  const start = tcp + ((ip[tcp + 12] ?? 0) >> 4) * 4;
  return start <= end ? { start, end } : null;
}
