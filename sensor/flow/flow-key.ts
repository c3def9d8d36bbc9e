/**
 * Flow key helpers: the symmetric 32-bit hash of a packet's 5-tuple (+ VLANs), the stable flow id, and the rule
 * that decides which endpoint of a new flow is the server.
 *
 * The hash is symmetric (both directions of a connection give the same value) so that one table probe finds the
 * flow whatever way the packet travels; the table then compares the stored tuple fields to rule out collisions.
 * Nothing here allocates, except `flowIdHex`, which runs once per new flow.
 */

import type { PacketView } from '../../protocols/link/packet-view.ts';
import { TCP_ACK, TCP_SYN } from '../../protocols/link/packet-view.ts';

/**
 * murmur3's 32-bit finaliser: cheap, and every input bit affects every output bit. Returns a signed 32-bit value
 * on purpose: V8 keeps int32 results as small integers, whereas an unsigned value ≥ 2^31 may be boxed as a heap
 * number (an allocation per packet on the lookup path).
 */
export function fmix32(h: number): number {
  let x = h | 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x;
}

/** One murmur3 body round: folds a 32-bit word into a running hash. */
function mixWord(h: number, w: number): number {
  let k = Math.imul(w | 0, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  let x = (h ^ k) | 0;
  x = (x << 13) | (x >>> 19);
  return (Math.imul(x, 5) + 0xe6546b64) | 0;
}

export function hashEndpoint4(addr: number, port: number): number {
  return fmix32(mixWord(mixWord(0x2545f491, addr), port));
}

export function hashEndpoint6(words: ArrayLike<number>, port: number): number {
  let h = 0x2545f491;
  h = mixWord(h, words[0] ?? 0);
  h = mixWord(h, words[1] ?? 0);
  h = mixWord(h, words[2] ?? 0);
  h = mixWord(h, words[3] ?? 0);
  return fmix32(mixWord(h, port));
}

/**
 * Combines the two endpoint hashes in an order-independent way (min/max rather than XOR, which would map every
 * flow whose two endpoints hash alike to 0) and folds in the protocol and VLAN ids.
 */
export function combineFlowHash(a: number, b: number, proto: number, vlanOuter: number, vlanInner: number): number {
  const lo = Math.min(a, b);
  const hi = Math.max(a, b);
  let h = mixWord(0x6a09e667, lo);
  h = mixWord(h, hi);
  h = mixWord(h, (proto & 0xff) | (((vlanOuter + 1) & 0x1fff) << 8) | (((vlanInner + 1) & 0x1fff) << 21));
  return fmix32(h);
}

/** The symmetric hash of the packet's flow key. */
export function packetFlowHash(p: PacketView): number {
  if (p.ipVersion === 6) {
    const a = hashEndpoint6(p.src6, p.srcPort);
    const b = hashEndpoint6(p.dst6, p.dstPort);
    return combineFlowHash(a, b, p.ipProto, p.vlanOuter, p.vlanInner);
  }
  // IPv4, every packet: the hash only picks a bucket (the table compares the tuple), so one multiply per endpoint
  // and one finaliser are enough; the full murmur rounds above cost about as much as the rest of the lookup.
  const a = Math.imul(p.src4, 0x9e3779b1) ^ Math.imul(p.srcPort + 1, 0x85ebca6b);
  const b = Math.imul(p.dst4, 0x9e3779b1) ^ Math.imul(p.dstPort + 1, 0x85ebca6b);
  const lo = Math.min(a, b);
  const hi = Math.max(a, b);
  const rest = (p.ipProto & 0xff) | (((p.vlanOuter + 1) & 0x1fff) << 8) | (((p.vlanInner + 1) & 0x1fff) << 21);
  return fmix32(Math.imul(lo, 0xcc9e2d51) ^ hi ^ Math.imul(rest, 0x1b873593));
}

/** The words a flow id is hashed from, in client-then-server order. */
export interface FlowIdInput {
  ipVersion: number;
  proto: number;
  vlanOuter: number;
  vlanInner: number;
  clientAddr4: number;
  serverAddr4: number;
  /** IPv6: client words 0..3 then server words 4..7 (ignored for IPv4). */
  addr6: ArrayLike<number>;
  clientPort: number;
  serverPort: number;
  firstSec: number;
  firstNsec: number;
  /** Creation number within the table: tells apart flows of one tuple that start at the same instant. */
  serial: number;
}

function idHash(seed: number, k: FlowIdInput): number {
  let h = mixWord(seed, k.ipVersion | (k.proto << 8));
  h = mixWord(h, k.vlanOuter);
  h = mixWord(h, k.vlanInner);
  if (k.ipVersion === 6) {
    for (let i = 0; i < 8; i++) h = mixWord(h, k.addr6[i] ?? 0);
  } else {
    h = mixWord(h, k.clientAddr4);
    h = mixWord(h, k.serverAddr4);
  }
  h = mixWord(h, (k.clientPort << 16) | k.serverPort);
  // Seconds can exceed 32 bits in the far future: fold in the high part too.
  h = mixWord(h, k.firstSec >>> 0);
  h = mixWord(h, Math.floor(k.firstSec / 4294967296));
  h = mixWord(h, k.firstNsec);
  // A flow evicted and re-created at the same timestamp (coarse or batched capture clocks) must not reuse its id:
  // event ids are `<flow id>:<n>` and would repeat. The creation serial is deterministic for a given input.
  h = mixWord(h, k.serial >>> 0);
  return fmix32(h);
}

/**
 * A deterministic 16-hex-digit flow id: the same capture always yields the same ids (golden tests, and events from
 * two runs can be compared), unlike a random id. Two independently seeded 32-bit hashes make collisions between
 * flows of one capture unlikely.
 */
export function flowIdHex(k: FlowIdInput): string {
  return hex8(idHash(0x3c6ef372, k)) + hex8(idHash(0x510e527f, k));
}

function hex8(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}

/**
 * Server ports of industrial protocols above the well-known range (the well-known range ≤ 1024 counts as server
 * ports anyway; 102 and 502 are listed for documentation).
 */
export const ICS_SERVER_PORTS: readonly number[] = [
  102, // ISO-TSAP: S7comm, IEC 61850 MMS
  502, // Modbus/TCP
  789, // Red Lion Crimson v3
  1089, // Foundation Fieldbus HSE
  1090,
  1091,
  1911, // Niagara Fox
  1962, // Phoenix Contact PCWorx
  2222, // EtherNet/IP implicit I/O
  2404, // IEC 60870-5-104
  4840, // OPC UA binary
  4843, // OPC UA over TLS
  4911, // Niagara Fox over TLS
  5006, // Mitsubishi MELSEC (UDP)
  5007, // Mitsubishi MELSEC (TCP)
  5094, // HART-IP
  9600, // OMRON FINS
  18245, // GE SRTP
  18246,
  20000, // DNP3
  20547, // KW ProConOS
  34962, // PROFINET
  34963,
  34964,
  44818, // EtherNet/IP explicit messaging
  47808, // BACnet/IP
  48898, // Beckhoff ADS/AMS
];

/** One byte per port so the per-new-flow check is a single index read. */
const SERVER_PORT_TABLE = buildServerPortTable();

function buildServerPortTable(): Uint8Array {
  const t = new Uint8Array(65536);
  for (let port = 1; port <= 1024; port++) t[port] = 1;
  for (const port of ICS_SERVER_PORTS) t[port] = 1;
  return t;
}

export function isServerPort(port: number): boolean {
  return SERVER_PORT_TABLE[port & 0xffff] === 1;
}

/**
 * Decides, from the first packet of a flow, whether the packet travels client→server (its destination is the
 * server). A SYN names its sender the client and a SYN+ACK names its sender the server; for a flow picked up
 * mid-stream the endpoint on a well-known (≤ 1024) or ICS server port is the server, and when both or neither
 * are, the lower port is (equal ports: the first sender is taken as the client).
 */
export function packetIsClientToServer(p: PacketView): boolean {
  if (p.ipProto === 6) {
    const synAck = p.tcpFlags & (TCP_SYN | TCP_ACK);
    if (synAck === TCP_SYN) return true;
    if (synAck === (TCP_SYN | TCP_ACK)) return false;
  }
  return dstPortIsServer(p.srcPort, p.dstPort);
}

export function dstPortIsServer(srcPort: number, dstPort: number): boolean {
  const srcKnown = isServerPort(srcPort);
  const dstKnown = isServerPort(dstPort);
  if (srcKnown !== dstKnown) return dstKnown;
  if (srcPort === dstPort) return true;
  return dstPort < srcPort;
}
