import type { Ipv4FragmentStats } from './ipv4-fragments.ts';

/** How many distinct non-IP ethertypes get their own counter; the rest share `nonIpOtherEthertypes`. */
export const MAX_TRACKED_ETHERTYPES = 64;

/** Counters kept by LinkDecoder. Everything the decoder refuses or drops shows up here. */
export class LinkDecodeStats {
  /** Calls to decode(). */
  packets = 0;
  // One counter per DecodeStatus.
  ok = 0;
  notIp = 0;
  unsupportedLink = 0;
  truncated = 0;
  malformed = 0;
  fragmentHeld = 0;
  /** DECODE_OK packets whose payload was cut short by the capture (`out.truncated`). */
  okTruncated = 0;

  /** Frames carrying at least one 802.1Q / 802.1ad tag. */
  vlanFrames = 0;
  /** Frames with more than one tag (QinQ). */
  qinqFrames = 0;
  /** Frames whose (outer) IP header is IPv4 / IPv6 and at least parses as such. */
  ipv4Frames = 0;
  ipv6Frames = 0;
  /** IPv6 packets carrying a Fragment header (not reassembled; non-first fragments get no transport decode). */
  ipv6Fragments = 0;
  /** IPv4 fragment reassembly counters (the reassembler's own object). */
  readonly fragments: Ipv4FragmentStats;

  /** Non-IP frames by ethertype (802.3 length-field frames count under 0). Map.set on a known key allocates nothing. */
  readonly nonIpByEthertype = new Map<number, number>();
  /** Non-IP frames whose ethertype arrived after MAX_TRACKED_ETHERTYPES distinct ones were already tracked. */
  nonIpOtherEthertypes = 0;

  constructor(fragments: Ipv4FragmentStats) {
    this.fragments = fragments;
  }
}
