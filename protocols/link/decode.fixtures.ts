/**
 * Byte-literal test frames for the link decoder. Each is preceded by its linktype and the one-line summary
 * `tcpdump -nn -e` prints for it (the frames were checked by writing them to a pcap with text2pcap).
 */

/** Hex text (whitespace ignored) to bytes. */
export function hex(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, '');
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** linktype 1 — 00:0c:29:ab:cd:ef > 00:1b:1b:12:34:56, ethertype IPv4 (0x0800), length 61: 192.168.0.1.49152 > 192.168.0.33.102: Flags [P.], seq 1000:1007, ack 2000, win 8192, length 7 */
export const ETH_IPV4_TCP = hex(`
  00 1b 1b 12 34 56 00 0c 29 ab cd ef 08 00 45 00
  00 2f 12 34 40 00 40 06 a7 22 c0 a8 00 01 c0 a8
  00 21 c0 00 00 66 00 00 03 e8 00 00 07 d0 50 18
  20 00 bc 3c 00 00 03 00 00 07 02 f0 80
`);

/** linktype 1 — 00:0c:29:ab:cd:ef > 00:1b:1b:12:34:56, ethertype 802.1Q (0x8100), length 65: vlan 100, p 1, ethertype IPv4 (0x0800), 192.168.0.1.49152 > 192.168.0.33.102: Flags [P.], seq 1000:1007, ack 2000, win 8192, length 7 */
export const ETH_VLAN = hex(`
  00 1b 1b 12 34 56 00 0c 29 ab cd ef 81 00 20 64
  08 00 45 00 00 2f 12 34 40 00 40 06 a7 22 c0 a8
  00 01 c0 a8 00 21 c0 00 00 66 00 00 03 e8 00 00
  07 d0 50 18 20 00 bc 3c 00 00 03 00 00 07 02 f0
  80
`);

/** linktype 1 — 00:0c:29:ab:cd:ef > 00:1b:1b:12:34:56, ethertype 802.1Q-QinQ (0x88a8), length 69: vlan 200, p 0, ethertype 802.1Q (0x8100), vlan 100, p 0, ethertype IPv4 (0x0800), 192.168.0.1.49152 > 192.168.0.33.102: Flags [P.], seq 1000:1007, ack 2000, win 8192, length 7 */
export const ETH_QINQ = hex(`
  00 1b 1b 12 34 56 00 0c 29 ab cd ef 88 a8 00 c8
  81 00 00 64 08 00 45 00 00 2f 12 34 40 00 40 06
  a7 22 c0 a8 00 01 c0 a8 00 21 c0 00 00 66 00 00
  03 e8 00 00 07 d0 50 18 20 00 bc 3c 00 00 03 00
  00 07 02 f0 80
`);

/** linktype 1 — 00:0c:29:ab:cd:ef > 00:1b:1b:12:34:56, ethertype 802.1Q-9100 (0x9100), length 69: vlan 300, p 0, ethertype 802.1Q (0x8100), vlan 7, p 0, ethertype IPv4 (0x0800), 192.168.0.1.49152 > 192.168.0.33.102: Flags [P.], seq 1000:1007, ack 2000, win 8192, length 7 */
export const ETH_QINQ9100 = hex(`
  00 1b 1b 12 34 56 00 0c 29 ab cd ef 91 00 01 2c
  81 00 00 07 08 00 45 00 00 2f 12 34 40 00 40 06
  a7 22 c0 a8 00 01 c0 a8 00 21 c0 00 00 66 00 00
  03 e8 00 00 07 d0 50 18 20 00 bc 3c 00 00 03 00
  00 07 02 f0 80
`);

/** linktype 1 — 00:1b:1b:12:34:56 > 00:0c:29:ab:cd:ef, ethertype IPv4 (0x0800), length 60: 192.168.0.33.102 > 192.168.0.1.49152: Flags [.], ack 1007, win 8192, length 0 */
export const ETH_PADDED = hex(`
  00 0c 29 ab cd ef 00 1b 1b 12 34 56 08 00 45 00
  00 28 43 21 40 00 40 06 76 3c c0 a8 00 21 c0 a8
  00 01 00 66 c0 00 00 00 07 d0 00 00 03 ef 50 10
  20 00 42 3c 00 00 00 00 00 00 00 00
`);

/** linktype 1 — 00:0c:29:ab:cd:ef > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 60: Request who-has 192.168.0.33 tell 192.168.0.1, length 46 */
export const ETH_ARP = hex(`
  ff ff ff ff ff ff 00 0c 29 ab cd ef 08 06 00 01
  08 00 06 04 00 01 00 0c 29 ab cd ef c0 a8 00 01
  00 00 00 00 00 00 c0 a8 00 21 00 00 00 00 00 00
  00 00 00 00 00 00 00 00 00 00 00 00
`);

/** linktype 1 — 00:0c:29:ab:cd:ef > 01:80:c2:00:00:00, 802.3, length 35: LLC, dsap STP (0x42) Individual, ssap STP (0x42) Command, ctrl 0x03: STP 802.1d, Config (invalid) */
export const ETH_8023_STP = hex(`
  01 80 c2 00 00 00 00 0c 29 ab cd ef 00 23 42 42
  03 00 00 00 00 00 80 00 0c 29 ab cd ef 00 00 00
  00 80 00 0c 29 ab cd ef 80 01 00 14 00 02 00 0f
  00 00 00 00 00 00 00 00 00 00 00 00
`);

/** linktype 113 — In 00:0c:29:ab:cd:ef ethertype IPv4 (0x0800), length 63: 192.168.0.1.49152 > 192.168.0.33.102: Flags [P.], seq 1000:1007, ack 2000, win 8192, length 7 */
export const SLL = hex(`
  00 00 00 01 00 06 00 0c 29 ab cd ef 00 00 08 00
  45 00 00 2f 12 34 40 00 40 06 a7 22 c0 a8 00 01
  c0 a8 00 21 c0 00 00 66 00 00 03 e8 00 00 07 d0
  50 18 20 00 bc 3c 00 00 03 00 00 07 02 f0 80
`);

/** linktype 276 — ifb0  Out ifindex 2 00:0c:29:ab:cd:ef ethertype IPv4 (0x0800), length 67: 192.168.0.1.49152 > 192.168.0.33.102: Flags [P.], seq 1000:1007, ack 2000, win 8192, length 7 */
export const SLL2 = hex(`
  08 00 00 00 00 00 00 02 00 01 04 06 00 0c 29 ab
  cd ef 00 00 45 00 00 2f 12 34 40 00 40 06 a7 22
  c0 a8 00 01 c0 a8 00 21 c0 00 00 66 00 00 03 e8
  00 00 07 d0 50 18 20 00 bc 3c 00 00 03 00 00 07
  02 f0 80
`);

/** linktype 0 — AF IPv6 (30), length 72: fe80::1.4840 > 2001:db8::4840.53530: Flags [P.], seq 4294967280:4294967288, ack 2147483649, win 512, length 8 */
export const NULL_LE_IPV6 = hex(`
  1e 00 00 00 60 00 00 00 00 1c 06 40 fe 80 00 00
  00 00 00 00 00 00 00 00 00 00 00 01 20 01 0d b8
  00 00 00 00 00 00 00 00 00 00 48 40 12 e8 d1 1a
  ff ff ff f0 80 00 00 01 50 18 02 00 38 c9 00 00
  48 45 4c 46 08 00 00 00
`);

/** linktype 0 — AF IPv6 (24), length 72: fe80::1.4840 > 2001:db8::4840.53530: Flags [P.], seq 4294967280:4294967288, ack 2147483649, win 512, length 8 */
export const NULL_BE_IPV6 = hex(`
  00 00 00 18 60 00 00 00 00 1c 06 40 fe 80 00 00
  00 00 00 00 00 00 00 00 00 00 00 01 20 01 0d b8
  00 00 00 00 00 00 00 00 00 00 48 40 12 e8 d1 1a
  ff ff ff f0 80 00 00 01 50 18 02 00 38 c9 00 00
  48 45 4c 46 08 00 00 00
`);

/** linktype 0 — AF IPv4 (2), length 51: 192.168.0.1.49152 > 192.168.0.33.102: Flags [P.], seq 1000:1007, ack 2000, win 8192, length 7 */
export const NULL_LE_IPV4 = hex(`
  02 00 00 00 45 00 00 2f 12 34 40 00 40 06 a7 22
  c0 a8 00 01 c0 a8 00 21 c0 00 00 66 00 00 03 e8
  00 00 07 d0 50 18 20 00 bc 3c 00 00 03 00 00 07
  02 f0 80
`);

/** linktype 108 — AF IPv6 (28), length 72: fe80::1.4840 > 2001:db8::4840.53530: Flags [P.], seq 4294967280:4294967288, ack 2147483649, win 512, length 8 */
export const LOOP_IPV6 = hex(`
  00 00 00 1c 60 00 00 00 00 1c 06 40 fe 80 00 00
  00 00 00 00 00 00 00 00 00 00 00 01 20 01 0d b8
  00 00 00 00 00 00 00 00 00 00 48 40 12 e8 d1 1a
  ff ff ff f0 80 00 00 01 50 18 02 00 38 c9 00 00
  48 45 4c 46 08 00 00 00
`);

/** linktype 101 — ip: 192.168.0.1.49152 > 192.168.0.33.102: Flags [P.], seq 1000:1007, ack 2000, win 8192, length 7 */
export const RAW_IPV4 = hex(`
  45 00 00 2f 12 34 40 00 40 06 a7 22 c0 a8 00 01
  c0 a8 00 21 c0 00 00 66 00 00 03 e8 00 00 07 d0
  50 18 20 00 bc 3c 00 00 03 00 00 07 02 f0 80
`);

/** linktype 101 — ip: fe80::1.4840 > 2001:db8::4840.53530: Flags [P.], seq 4294967280:4294967288, ack 2147483649, win 512, length 8 */
export const RAW_IPV6 = hex(`
  60 00 00 00 00 1c 06 40 fe 80 00 00 00 00 00 00
  00 00 00 00 00 00 00 01 20 01 0d b8 00 00 00 00
  00 00 00 00 00 00 48 40 12 e8 d1 1a ff ff ff f0
  80 00 00 01 50 18 02 00 38 c9 00 00 48 45 4c 46
  08 00 00 00
`);

/** linktype 228 — ip: 192.168.0.1.49152 > 192.168.0.33.102: Flags [P.], seq 1000:1007, ack 2000, win 8192, length 7 */
export const IPV4_228 = hex(`
  45 00 00 2f 12 34 40 00 40 06 a7 22 c0 a8 00 01
  c0 a8 00 21 c0 00 00 66 00 00 03 e8 00 00 07 d0
  50 18 20 00 bc 3c 00 00 03 00 00 07 02 f0 80
`);

/** linktype 229 — ip: fe80::1.4840 > 2001:db8::4840.53530: Flags [P.], seq 4294967280:4294967288, ack 2147483649, win 512, length 8 */
export const IPV6_229 = hex(`
  60 00 00 00 00 1c 06 40 fe 80 00 00 00 00 00 00
  00 00 00 00 00 00 00 01 20 01 0d b8 00 00 00 00
  00 00 00 00 00 00 48 40 12 e8 d1 1a ff ff ff f0
  80 00 00 01 50 18 02 00 38 c9 00 00 48 45 4c 46
  08 00 00 00
`);

/** linktype 229 — ip: fe80::1 > 2001:db8::4840: HBH RT6 (len=0, type=0 [Deprecated], segleft=0) DSTOPT AH(spi=0x00000100,seq=0x1,icv=0x000000000000000000000000): 5353 > 5353: domain [length 4 < 12] (invalid) */
export const IPV6_EXT = hex(`
  60 00 00 00 00 3c 00 40 fe 80 00 00 00 00 00 00
  00 00 00 00 00 00 00 01 20 01 0d b8 00 00 00 00
  00 00 00 00 00 00 48 40 2b 00 01 04 00 00 00 00
  3c 00 00 00 00 00 00 00 33 00 01 04 00 00 00 00
  11 04 00 00 00 00 01 00 00 00 00 01 00 00 00 00
  00 00 00 00 00 00 00 00 14 e9 14 e9 00 0c 9c c2
  61 62 63 64
`);

/** linktype 229 — ip: fe80::1 > 2001:db8::4840: frag (0|28) 4840 > 53530: Flags [P.], seq 4294967280:4294967288, ack 2147483649, win 512, length 8 */
export const IPV6_FRAG_FIRST = hex(`
  60 00 00 00 00 24 2c 40 fe 80 00 00 00 00 00 00
  00 00 00 00 00 00 00 01 20 01 0d b8 00 00 00 00
  00 00 00 00 00 00 48 40 06 00 00 01 de ad be ef
  12 e8 d1 1a ff ff ff f0 80 00 00 01 50 18 02 00
  38 c9 00 00 48 45 4c 46 08 00 00 00
`);

/** linktype 229 — ip: fe80::1 > 2001:db8::4840: frag (176|16) */
export const IPV6_FRAG_LAST = hex(`
  60 00 00 00 00 18 2c 40 fe 80 00 00 00 00 00 00
  00 00 00 00 00 00 00 01 20 01 0d b8 00 00 00 00
  00 00 00 00 00 00 48 40 06 00 00 b0 de ad be ef
  11 11 11 11 11 11 11 11 11 11 11 11 11 11 11 11
`);

/** linktype 1 — 00:0c:29:ab:cd:ef > 00:1b:1b:12:34:56, ethertype IPv4 (0x0800), length 46: 192.168.0.1.34964 > 192.168.0.33.34964: UDP, length 4 */
export const ETH_IPV4_UDP = hex(`
  00 1b 1b 12 34 56 00 0c 29 ab cd ef 08 00 45 00
  00 20 12 34 40 00 40 11 a7 26 c0 a8 00 01 c0 a8
  00 21 88 94 88 94 00 0c 6f 38 fe 01 00 00
`);

/** linktype 1 — 00:0c:29:ab:cd:ef > 00:1b:1b:12:34:56, ethertype IPv4 (0x0800), length 46: 192.168.0.1 > 192.168.0.33: ICMP echo request, id 0, seq 0, length 8 */
export const ETH_IPV4_OPTS_ICMP = hex(`
  00 1b 1b 12 34 56 00 0c 29 ab cd ef 08 00 46 00
  00 20 12 34 40 00 40 01 12 32 c0 a8 00 01 c0 a8
  00 21 94 04 00 00 08 00 f7 ff 00 00 00 00
`);
