/**
 * TCP and UDP header decoding into a PacketView.
 *
 * Each function reads the transport header at `b[off]`, where the IP layer says the segment ends at `end`
 * (already clipped to the bytes present; `out.truncated` tells whether the capture cut it). A header that does
 * not fit is TRUNCATED when the capture cut it, MALFORMED when the IP length itself leaves no room for it.
 */
import { u16be, u32be } from './bytes.ts';
import { DECODE_MALFORMED, DECODE_OK, DECODE_TRUNCATED, type DecodeStatus, type PacketView } from './packet-view.ts';

export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;

/**
 * TCP (RFC 9293 §3.1): ports(2+2) seq(4) ack(4) dataOffset(4 bits) reserved(4 bits) flags(8) window(2)
 * checksum(2) urgent(2) options(dataOffset*4 - 20). Payload runs to the end of the IP payload.
 */
export function decodeTcp(b: Uint8Array, off: number, end: number, out: PacketView): DecodeStatus {
  const avail = end - off;
  if (avail < 20) return out.truncated ? DECODE_TRUNCATED : DECODE_MALFORMED;
  const hdrLen = ((b[off + 12] as number) >> 4) << 2;
  if (hdrLen < 20) return DECODE_MALFORMED;
  if (hdrLen > avail) return out.truncated ? DECODE_TRUNCATED : DECODE_MALFORMED;
  out.srcPort = u16be(b, off);
  out.dstPort = u16be(b, off + 2);
  out.tcpSeq = u32be(b, off + 4);
  out.tcpAck = u32be(b, off + 8);
  out.tcpFlags = b[off + 13] as number;
  out.tcpWindow = u16be(b, off + 14);
  out.payload = b;
  out.payloadOff = off + hdrLen;
  out.payloadLen = avail - hdrLen;
  return DECODE_OK;
}

/**
 * UDP (RFC 768): ports(2+2) length(2, header included) checksum(2). The payload is bounded by the UDP length,
 * which may be shorter than the IP payload (trailing bytes ignored) but never longer unless the capture was cut.
 */
export function decodeUdp(b: Uint8Array, off: number, end: number, out: PacketView): DecodeStatus {
  const avail = end - off;
  if (avail < 8) return out.truncated ? DECODE_TRUNCATED : DECODE_MALFORMED;
  const udpLen = u16be(b, off + 4);
  if (udpLen < 8) return DECODE_MALFORMED;
  let payloadLen = udpLen - 8;
  if (udpLen > avail) {
    if (!out.truncated) return DECODE_MALFORMED;
    payloadLen = avail - 8;
  }
  out.srcPort = u16be(b, off);
  out.dstPort = u16be(b, off + 2);
  out.payload = b;
  out.payloadOff = off + 8;
  out.payloadLen = payloadLen;
  return DECODE_OK;
}

/** Any other IP protocol: no ports, the payload is everything after the IP header(s). */
export function decodeOtherTransport(b: Uint8Array, off: number, end: number, out: PacketView): DecodeStatus {
  out.payload = b;
  out.payloadOff = off;
  out.payloadLen = end - off;
  return DECODE_OK;
}

export function decodeTransport(proto: number, b: Uint8Array, off: number, end: number, out: PacketView): DecodeStatus {
  if (proto === IPPROTO_TCP) return decodeTcp(b, off, end, out);
  if (proto === IPPROTO_UDP) return decodeUdp(b, off, end, out);
  return decodeOtherTransport(b, off, end, out);
}
