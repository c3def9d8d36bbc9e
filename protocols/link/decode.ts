/**
 * Link → network → transport decoder: one call per captured frame fills a reused PacketView.
 *
 * Link layers: Ethernet II (802.3 length-field frames are "not IP"), 802.1Q / 802.1ad / 0x9100 tags (outer and
 * inner VLAN id kept), Linux cooked SLL and SLL2, BSD NULL (either byte order) and OpenBSD LOOP, raw IP.
 * Network: IPv4 (options, Ethernet padding trimmed by the total length, fragments reassembled) and IPv6 (extension
 * header chain walked; fragments counted, not reassembled). Transport: TCP, UDP, anything else as raw payload.
 *
 * Hot path rules: no allocation, no exceptions, byte reads straight from `data`. Only IPv4 reassembly allocates,
 * and only when a fragment arrives.
 */
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
import { u16be, u32be } from './bytes.ts';
import { LinkDecodeStats, MAX_TRACKED_ETHERTYPES } from './decode-stats.ts';
import { FRAG_COMPLETE, FRAG_HELD, Ipv4Reassembler } from './ipv4-fragments.ts';
import {
  DECODE_FRAGMENT_HELD,
  DECODE_MALFORMED,
  DECODE_NOT_IP,
  DECODE_OK,
  DECODE_TRUNCATED,
  DECODE_UNSUPPORTED_LINK,
  type DecodeStatus,
  type PacketView,
} from './packet-view.ts';
import { decodeOtherTransport, decodeTransport } from './transport.ts';

export interface LinkDecoderOptions {
  /** IPv4 datagrams being reassembled at once (default 1024); the oldest is evicted beyond it. */
  maxFragmentDatagrams?: number;
  /** Fragment bytes buffered in total (default 4 MiB); the oldest datagrams are evicted beyond it. */
  maxFragmentBytes?: number;
  /** Packet-time seconds a datagram may wait for missing fragments (default 30). */
  fragmentTimeoutSec?: number;
}

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_IPV6 = 0x86dd;
export const ETHERTYPE_VLAN = 0x8100; // 802.1Q
export const ETHERTYPE_QINQ = 0x88a8; // 802.1ad service tag
export const ETHERTYPE_QINQ_OLD = 0x9100; // pre-standard QinQ outer tag
/** Ethertype field values below this are 802.3 length fields (IEEE 802.3 §3.2.6). */
const ETHERTYPE_MIN = 0x0600;
/** More stacked tags than this is not a real network; stop rather than walk the whole frame. */
const MAX_VLAN_TAGS = 8;
/** Bound on the IPv6 extension header chain (each is ≥ 8 bytes; a real chain has a handful). */
const MAX_IPV6_EXT_HEADERS = 16;

// BSD address families as they appear in NULL/LOOP headers: AF_INET is 2 everywhere; AF_INET6 is 24 (NetBSD,
// OpenBSD), 28 (FreeBSD, DragonFly), 30 (macOS, iOS).
const AF_INET = 2;
const AF_INET6_BSD = 24;
const AF_INET6_FREEBSD = 28;
const AF_INET6_DARWIN = 30;

// IPv6 next-header values walked as extension headers.
const IPV6_HOP_BY_HOP = 0;
const IPV6_ROUTING = 43;
const IPV6_FRAGMENT = 44;
const IPV6_AH = 51;
const IPV6_DEST_OPTS = 60;

/**
 * Fast path for the frame nearly every OT capture is made of: untagged Ethernet II, unfragmented IPv4 whose total
 * length fits the frame, TCP. Filling the view here, in one small function, skips four calls through the general
 * layer-by-layer decoder (about a sixth of the whole packet path). Returns false, having written nothing, for
 * anything else (VLAN tags, IPv6, fragments, truncation, odd lengths), which the general path then decodes; so
 * what it fills must be exactly what the general path would for the frames it accepts. It also writes every field
 * `PacketView.reset()` clears, so an accepted frame needs no reset (about a dozen stores per packet saved).
 */
function ethernetIpv4Tcp(b: Uint8Array, p: number, end: number, out: PacketView): boolean {
  const ip = p + 14;
  // Ethernet header + minimal IPv4 header + minimal TCP header.
  if (end - ip < 40 || b[p + 12] !== 0x08 || b[p + 13] !== 0x00) return false;
  const verIhl = b[ip] as number;
  if (verIhl >> 4 !== 4) return false;
  const hdrLen = (verIhl & 0x0f) << 2;
  if (hdrLen < 20) return false;
  const totalLen = u16be(b, ip + 2);
  // Zero (segmentation offload), too short, or longer than the frame (cut by the snap length): general path.
  if (totalLen < hdrLen || totalLen > end - ip) return false;
  if ((u16be(b, ip + 6) & 0x3fff) !== 0 || b[ip + 9] !== 6) return false;
  const tcp = ip + hdrLen;
  const ipEnd = ip + totalLen;
  if (ipEnd - tcp < 20) return false;
  const tcpHdrLen = ((b[tcp + 12] as number) >> 4) << 2;
  if (tcpHdrLen < 20 || tcpHdrLen > ipEnd - tcp) return false;
  out.dstMacOff = p;
  out.srcMacOff = p + 6;
  out.vlanOuter = -1;
  out.vlanInner = -1;
  out.reassembled = false;
  out.truncated = false;
  out.ipVersion = 4;
  out.ttl = b[ip + 8] as number;
  out.ipProto = 6;
  out.src4 = u32be(b, ip + 12);
  out.dst4 = u32be(b, ip + 16);
  out.srcPort = u16be(b, tcp);
  out.dstPort = u16be(b, tcp + 2);
  out.tcpSeq = u32be(b, tcp + 4);
  out.tcpAck = u32be(b, tcp + 8);
  out.tcpFlags = b[tcp + 13] as number;
  out.tcpWindow = u16be(b, tcp + 14);
  out.payload = b;
  out.payloadOff = tcp + tcpHdrLen;
  out.payloadLen = ipEnd - tcp - tcpHdrLen;
  return true;
}

export class LinkDecoder {
  readonly stats: LinkDecodeStats;
  private readonly frags: Ipv4Reassembler;

  constructor(options: LinkDecoderOptions = {}) {
    this.frags = new Ipv4Reassembler({
      maxDatagrams: options.maxFragmentDatagrams ?? 1024,
      maxBytes: options.maxFragmentBytes ?? 4 * 1024 * 1024,
      timeoutSec: options.fragmentTimeoutSec ?? 30,
    });
    this.stats = new LinkDecodeStats(this.frags.stats);
  }

  /** IPv4 datagrams currently waiting for fragments, and the bytes they hold. */
  get fragmentDatagrams(): number {
    return this.frags.datagrams;
  }
  get fragmentBytes(): number {
    return this.frags.bufferedBytes;
  }

  /**
   * Decodes the frame `data[off .. off+len)` of link type `linkType` captured at packet time `tsSec` into `out`
   * (reset first). Never throws. Byte ranges in `out` point into `data`, except after reassembly (`out.reassembled`)
   * where `out.payload` is a fresh buffer.
   */
  decode(linkType: number, data: Uint8Array, off: number, len: number, tsSec: number, out: PacketView): DecodeStatus {
    let end = off + len;
    if (end > data.length) end = data.length;
    if (off < 0 || end < off) end = off = 0;
    out.linkType = linkType;
    out.frame = data;
    out.frameOff = off;
    out.frameLen = end - off;
    // One comparison per packet keeps fragment timeouts on packet time even when no fragment arrives.
    if (tsSec >= this.frags.nextDeadline) this.frags.expire(tsSec);

    let status: DecodeStatus;
    if (linkType === LINKTYPE_ETHERNET && ethernetIpv4Tcp(data, off, end, out)) {
      this.stats.ipv4Frames++;
      status = DECODE_OK;
    } else {
      // (The fast path sets every field reset() would, so only this path needs it.)
      out.reset();
      status = this.decodeLink(linkType, data, off, end, tsSec, out);
    }
    const stats = this.stats;
    stats.packets++;
    switch (status) {
      case DECODE_OK:
        stats.ok++;
        if (out.truncated) stats.okTruncated++;
        break;
      case DECODE_NOT_IP:
        stats.notIp++;
        break;
      case DECODE_UNSUPPORTED_LINK:
        stats.unsupportedLink++;
        break;
      case DECODE_TRUNCATED:
        stats.truncated++;
        break;
      case DECODE_MALFORMED:
        stats.malformed++;
        break;
      case DECODE_FRAGMENT_HELD:
        stats.fragmentHeld++;
        break;
    }
    return status;
  }

  private decodeLink(
    linkType: number,
    b: Uint8Array,
    p: number,
    end: number,
    tsSec: number,
    out: PacketView,
  ): DecodeStatus {
    switch (linkType) {
      case LINKTYPE_ETHERNET:
        // dst(6) src(6) ethertype(2)
        if (end - p < 14) return DECODE_TRUNCATED;
        out.dstMacOff = p;
        out.srcMacOff = p + 6;
        return this.decodeEthertype(u16be(b, p + 12), b, p + 14, end, tsSec, out);

      case LINKTYPE_LINUX_SLL:
        // packet type(2) ARPHRD type(2) address length(2) address(8, zero padded) protocol(2)
        if (end - p < 16) return DECODE_TRUNCATED;
        if (u16be(b, p + 4) === 6) out.srcMacOff = p + 6;
        return this.decodeEthertype(u16be(b, p + 14), b, p + 16, end, tsSec, out);

      case LINKTYPE_LINUX_SLL2:
        // protocol(2) reserved(2) ifindex(4) ARPHRD type(2) packet type(1) address length(1) address(8)
        if (end - p < 20) return DECODE_TRUNCATED;
        if (b[p + 11] === 6) out.srcMacOff = p + 12;
        return this.decodeEthertype(u16be(b, p), b, p + 20, end, tsSec, out);

      case LINKTYPE_NULL: {
        // Address family, 4 bytes in the *capturing* host's byte order: a small value read the wrong way round
        // is > 0xffff, so whichever reading is small is the right one.
        if (end - p < 4) return DECODE_TRUNCATED;
        let af =
          ((b[p] as number) | ((b[p + 1] as number) << 8) | ((b[p + 2] as number) << 16)) +
          (b[p + 3] as number) * 0x1000000;
        if (af > 0xffff) af = u32be(b, p);
        return this.decodeAddressFamily(af, b, p + 4, end, tsSec, out);
      }

      case LINKTYPE_LOOP:
        // Same as NULL but always network byte order.
        if (end - p < 4) return DECODE_TRUNCATED;
        return this.decodeAddressFamily(u32be(b, p), b, p + 4, end, tsSec, out);

      case LINKTYPE_RAW:
      case DLT_RAW_12:
      case DLT_RAW_14: {
        if (end - p < 1) return DECODE_TRUNCATED;
        const version = (b[p] as number) >> 4;
        if (version === 4) return this.decodeIPv4(b, p, end, tsSec, out);
        if (version === 6) return this.decodeIPv6(b, p, end, out);
        return DECODE_MALFORMED;
      }

      case LINKTYPE_IPV4:
        return this.decodeIPv4(b, p, end, tsSec, out);

      case LINKTYPE_IPV6:
        return this.decodeIPv6(b, p, end, out);

      default:
        return DECODE_UNSUPPORTED_LINK;
    }
  }

  private decodeAddressFamily(
    af: number,
    b: Uint8Array,
    p: number,
    end: number,
    tsSec: number,
    out: PacketView,
  ): DecodeStatus {
    if (af === AF_INET) return this.decodeIPv4(b, p, end, tsSec, out);
    if (af === AF_INET6_BSD || af === AF_INET6_FREEBSD || af === AF_INET6_DARWIN)
      return this.decodeIPv6(b, p, end, out);
    return DECODE_NOT_IP;
  }

  /** Skips VLAN tags (recording the outer two ids), then dispatches on the inner ethertype. */
  private decodeEthertype(
    type: number,
    b: Uint8Array,
    p: number,
    end: number,
    tsSec: number,
    out: PacketView,
  ): DecodeStatus {
    let tags = 0;
    while (type === ETHERTYPE_VLAN || type === ETHERTYPE_QINQ || type === ETHERTYPE_QINQ_OLD) {
      // TCI: PCP(3) DEI(1) VID(12), then the next ethertype
      if (end - p < 4) return DECODE_TRUNCATED;
      if (tags === MAX_VLAN_TAGS) return DECODE_MALFORMED;
      const vid = u16be(b, p) & 0x0fff;
      if (tags === 0) out.vlanOuter = vid;
      else if (tags === 1) out.vlanInner = vid;
      tags++;
      type = u16be(b, p + 2);
      p += 4;
    }
    if (tags > 0) {
      this.stats.vlanFrames++;
      if (tags > 1) this.stats.qinqFrames++;
    }
    if (type === ETHERTYPE_IPV4) return this.decodeIPv4(b, p, end, tsSec, out);
    if (type === ETHERTYPE_IPV6) return this.decodeIPv6(b, p, end, out);
    this.countNonIp(type < ETHERTYPE_MIN ? 0 : type);
    return DECODE_NOT_IP;
  }

  private countNonIp(type: number): void {
    const byType = this.stats.nonIpByEthertype;
    const n = byType.get(type);
    if (n !== undefined) byType.set(type, n + 1);
    else if (byType.size < MAX_TRACKED_ETHERTYPES) byType.set(type, 1);
    else this.stats.nonIpOtherEthertypes++;
  }

  /**
   * IPv4 (RFC 791): version/IHL(1) TOS(1) total length(2) id(2) flags/fragment offset(2) TTL(1) protocol(1)
   * checksum(2) src(4) dst(4) options(IHL*4 - 20). The total length, not the frame, bounds the datagram, which
   * trims Ethernet padding.
   */
  private decodeIPv4(b: Uint8Array, p: number, end: number, tsSec: number, out: PacketView): DecodeStatus {
    const avail = end - p;
    if (avail < 1) return DECODE_TRUNCATED;
    const verIhl = b[p] as number;
    if (verIhl >> 4 !== 4) return DECODE_MALFORMED;
    const hdrLen = (verIhl & 0x0f) << 2;
    if (hdrLen < 20) return DECODE_MALFORMED;
    if (avail < 20 || hdrLen > avail) return DECODE_TRUNCATED;
    let totalLen = u16be(b, p + 2);
    // A total length of 0 is what captures on a sender with TCP segmentation offload show: use the frame.
    if (totalLen === 0) totalLen = avail;
    else if (totalLen < hdrLen) return DECODE_MALFORMED;
    let ipEnd = p + totalLen;
    if (totalLen > avail) {
      out.truncated = true;
      ipEnd = end;
    }
    this.stats.ipv4Frames++;
    const proto = b[p + 9] as number;
    out.ipVersion = 4;
    out.ttl = b[p + 8] as number;
    out.ipProto = proto;
    out.src4 = u32be(b, p + 12);
    out.dst4 = u32be(b, p + 16);

    const fragField = u16be(b, p + 6);
    const moreFragments = (fragField & 0x2000) !== 0;
    const fragOffset = (fragField & 0x1fff) << 3;
    if (moreFragments || fragOffset !== 0) {
      // A fragment cut by the snap length cannot be reassembled; its bytes are not all here.
      if (out.truncated) return DECODE_TRUNCATED;
      const payloadOff = p + hdrLen;
      const result = this.frags.add(
        out.src4,
        out.dst4,
        u16be(b, p + 4),
        proto,
        fragOffset,
        moreFragments,
        hdrLen,
        b,
        payloadOff,
        ipEnd - payloadOff,
        tsSec,
      );
      if (result === FRAG_HELD) return DECODE_FRAGMENT_HELD;
      if (result !== FRAG_COMPLETE) return DECODE_MALFORMED;
      const whole = this.frags.completed;
      out.reassembled = true;
      return decodeTransport(proto, whole, 0, whole.length, out);
    }
    return decodeTransport(proto, b, p + hdrLen, ipEnd, out);
  }

  /**
   * IPv6 (RFC 8200): version/class/flow(4) payload length(2) next header(1) hop limit(1) src(16) dst(16), then
   * a chain of extension headers before the transport header.
   */
  private decodeIPv6(b: Uint8Array, p: number, end: number, out: PacketView): DecodeStatus {
    const avail = end - p;
    if (avail < 1) return DECODE_TRUNCATED;
    if ((b[p] as number) >> 4 !== 6) return DECODE_MALFORMED;
    if (avail < 40) return DECODE_TRUNCATED;
    this.stats.ipv6Frames++;
    const payloadLen = u16be(b, p + 4);
    let next = b[p + 6] as number;
    out.ipVersion = 6;
    out.ttl = b[p + 7] as number;
    const src6 = out.src6;
    const dst6 = out.dst6;
    for (let i = 0; i < 4; i++) {
      src6[i] = u32be(b, p + 8 + 4 * i);
      dst6[i] = u32be(b, p + 24 + 4 * i);
    }
    let ipEnd: number;
    if (payloadLen === 0 && next === IPV6_HOP_BY_HOP) {
      // Jumbogram (RFC 2675) or a segmentation-offload capture: the frame is the only length we have.
      ipEnd = end;
    } else {
      ipEnd = p + 40 + payloadLen;
      if (ipEnd > end) {
        out.truncated = true;
        ipEnd = end;
      }
    }

    let q = p + 40;
    for (let n = 0; n < MAX_IPV6_EXT_HEADERS; n++) {
      let extLen: number;
      switch (next) {
        case IPV6_HOP_BY_HOP:
        case IPV6_ROUTING:
        case IPV6_DEST_OPTS:
          // next header(1) length in 8-octet units, not counting the first(1) ...
          if (ipEnd - q < 2) return out.truncated ? DECODE_TRUNCATED : DECODE_MALFORMED;
          extLen = ((b[q + 1] as number) + 1) << 3;
          break;
        case IPV6_AH:
          // next header(1) length in 4-octet units, minus 2(1) ... (RFC 4302)
          if (ipEnd - q < 2) return out.truncated ? DECODE_TRUNCATED : DECODE_MALFORMED;
          extLen = ((b[q + 1] as number) + 2) << 2;
          break;
        case IPV6_FRAGMENT: {
          // next header(1) reserved(1) offset(13 bits) res(2 bits) M(1 bit) identification(4)
          if (ipEnd - q < 8) return out.truncated ? DECODE_TRUNCATED : DECODE_MALFORMED;
          const offFlags = u16be(b, q + 2);
          if (offFlags & 0xfff9) {
            this.stats.ipv6Fragments++;
            if ((offFlags & 0xfff8) !== 0) {
              // A non-first fragment has no transport header: report it as protocol 44 so nobody reads
              // ports or stream data out of the middle of a datagram.
              out.ipProto = IPV6_FRAGMENT;
              return decodeOtherTransport(b, q + 8, ipEnd, out);
            }
            // The first fragment has the transport header but only part of the payload: decode the header,
            // and flag the payload as cut short, like a snap-length cut.
            out.truncated = true;
          }
          extLen = 8;
          break;
        }
        default:
          out.ipProto = next;
          return decodeTransport(next, b, q, ipEnd, out);
      }
      if (extLen > ipEnd - q) return out.truncated ? DECODE_TRUNCATED : DECODE_MALFORMED;
      next = b[q] as number;
      q += extLen;
    }
    return DECODE_MALFORMED;
  }
}
