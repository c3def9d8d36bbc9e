/**
 * The decoded headers of one packet, filled in place by the link decoder.
 *
 * One instance is reused for every packet (gopacket's DecodingLayerParser idea): nothing is allocated per packet,
 * and every byte range is an offset into `payload` / the input buffer rather than a copy. Consumers copy what they
 * keep. IPv4 addresses are unsigned 32-bit numbers; IPv6 addresses are four unsigned 32-bit words.
 */
export class PacketView {
  linkType = 0;
  /** The buffer the link header was read from and the offset of the frame in it. */
  frame: Uint8Array = EMPTY;
  frameOff = 0;
  frameLen = 0;

  /** Offsets of the 6-byte MAC addresses in `frame`, or -1 when the link layer carries none (SLL has src only). */
  srcMacOff = -1;
  dstMacOff = -1;
  /** 802.1Q VLAN ids, outer and inner (QinQ); -1 when absent. */
  vlanOuter = -1;
  vlanInner = -1;

  /** 4 or 6 once an IP header was decoded, else 0. */
  ipVersion = 0;
  src4 = AS_DOUBLE;
  dst4 = AS_DOUBLE;
  readonly src6 = new Uint32Array(4);
  readonly dst6 = new Uint32Array(4);
  ttl = 0;
  /** IP protocol number of the transport header (6 TCP, 17 UDP, ...). */
  ipProto = 0;
  /** True when this packet is an IPv4 datagram reassembled from fragments (payload points into a fresh buffer). */
  reassembled = false;

  srcPort = 0;
  dstPort = 0;
  /** TCP fields (unsigned 32-bit sequence numbers as JS numbers). */
  tcpSeq = AS_DOUBLE;
  tcpAck = AS_DOUBLE;
  tcpFlags = 0;
  tcpWindow = 0;

  /** Transport payload: `payload.subarray(payloadOff, payloadOff + payloadLen)`. */
  payload: Uint8Array = EMPTY;
  payloadOff = 0;
  payloadLen = 0;
  /** True when the capture cut the packet short of what its headers announce (payload holds what is present). */
  truncated = false;

  constructor() {
    this.src4 = 0;
    this.dst4 = 0;
    this.tcpSeq = 0;
    this.tcpAck = 0;
  }

  reset(): void {
    this.srcMacOff = -1;
    this.dstMacOff = -1;
    this.vlanOuter = -1;
    this.vlanInner = -1;
    this.ipVersion = 0;
    this.ipProto = 0;
    this.reassembled = false;
    this.srcPort = 0;
    this.dstPort = 0;
    this.tcpSeq = 0;
    this.tcpAck = 0;
    this.tcpFlags = 0;
    this.tcpWindow = 0;
    this.payload = EMPTY;
    this.payloadOff = 0;
    this.payloadLen = 0;
    this.truncated = false;
  }
}

const EMPTY = new Uint8Array(0);
/**
 * First value of the fields that hold unsigned 32-bit numbers (the constructor then sets 0): half of all such values
 * do not fit V8's small integers, and a field that starts as one and later needs a double changes the object's
 * hidden class. Owners that recorded the old class (the pipeline's `view` field) then deoptimise their code when
 * the next instance is created, e.g. the packet loop at the start of each benchmark pass or input file.
 */
export const AS_DOUBLE = 0.5;

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;

/** Result codes of LinkDecoder.decode. */
export const DECODE_OK = 0; // IP + TCP/UDP (or other IP protocol) decoded
export const DECODE_NOT_IP = 1; // ARP, LLDP, PROFINET, ...: nothing for the flow table
export const DECODE_UNSUPPORTED_LINK = 2;
export const DECODE_TRUNCATED = 3; // too short for the headers it announces
export const DECODE_MALFORMED = 4; // header values that cannot be right (bad IHL, bad version, ...)
export const DECODE_FRAGMENT_HELD = 5; // an IPv4 fragment was stored; the datagram is not complete yet
export type DecodeStatus = 0 | 1 | 2 | 3 | 4 | 5;

export function formatIPv4(addr: number): string {
  return `${addr >>> 24}.${(addr >>> 16) & 255}.${(addr >>> 8) & 255}.${addr & 255}`;
}

/** RFC 5952 text form (lower-case hex, longest zero run compressed). */
export function formatIPv6(words: ArrayLike<number>): string {
  const groups: number[] = [];
  for (let i = 0; i < 4; i++) {
    const w = (words[i] ?? 0) >>> 0;
    groups.push(w >>> 16, w & 0xffff);
  }
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  const head = hex.slice(0, bestStart).join(':');
  const tail = hex.slice(bestStart + bestLen).join(':');
  return `${head}::${tail}`;
}

export function formatMac(buf: Uint8Array, off: number): string {
  let s = '';
  for (let i = 0; i < 6; i++) {
    const b = buf[off + i] ?? 0;
    s += (i ? ':' : '') + (b < 16 ? '0' : '') + b.toString(16);
  }
  return s;
}
