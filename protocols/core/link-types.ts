/**
 * Link-layer header types as they appear in pcap / pcapng files (tcpdump.org LINKTYPE_* values).
 * Live capture reports the platform DLT_* value; the two agree for every type here except RAW,
 * where some platforms report DLT_RAW = 12 (or 14 on OpenBSD). The link decoder accepts all three.
 */
export const LINKTYPE_NULL = 0; // BSD loopback: 4-byte address family in host byte order
export const LINKTYPE_ETHERNET = 1;
export const DLT_RAW_12 = 12;
export const DLT_RAW_14 = 14;
export const LINKTYPE_RAW = 101; // raw IPv4 or IPv6, version nibble decides
export const LINKTYPE_LOOP = 108; // OpenBSD loopback: address family in network byte order
export const LINKTYPE_LINUX_SLL = 113;
export const LINKTYPE_IPV4 = 228;
export const LINKTYPE_IPV6 = 229;
export const LINKTYPE_LINUX_SLL2 = 276;

const NAMES: Record<number, string> = {
  [LINKTYPE_NULL]: 'null',
  [LINKTYPE_ETHERNET]: 'ether',
  [DLT_RAW_12]: 'raw',
  [DLT_RAW_14]: 'raw',
  [LINKTYPE_RAW]: 'raw',
  [LINKTYPE_LOOP]: 'loop',
  [LINKTYPE_LINUX_SLL]: 'linux-sll',
  [LINKTYPE_IPV4]: 'ipv4',
  [LINKTYPE_IPV6]: 'ipv6',
  [LINKTYPE_LINUX_SLL2]: 'linux-sll2',
};

export function linkTypeName(linkType: number): string {
  return NAMES[linkType] ?? `linktype-${linkType}`;
}
