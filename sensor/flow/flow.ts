/**
 * One bidirectional flow (TCP connection, UDP conversation, or other IP protocol between two endpoints).
 *
 * Direction 0 is client→server, 1 is server→client (see flow-key.ts for how the client is chosen). Addresses are
 * stored numerically; their text forms are formatted on first use and cached, so the per-packet path never builds
 * strings. The `app*` slots belong to the pipeline (protocol detection and parser state); the flow table never
 * reads them. The `*Bucket`, `lru*` and `age*` links are the FlowTable's intrusive bookkeeping.
 */
import { formatIPv4, formatIPv6, formatMac } from '../../protocols/link/packet-view.ts';
import { flowIdHex } from './flow-key.ts';
import type { TcpStream } from './tcp-stream.ts';

export const FLOW_ACTIVE = 0;
/** One side sent FIN (or the flow is half closed). */
export const FLOW_CLOSING = 1;
/** Both sides closed (FIN each way, or an RST): the flow lingers `closedTimeoutSec` for retransmissions. */
export const FLOW_CLOSED = 2;
export type FlowState = 0 | 1 | 2;

/** Internal to FlowTable: which of its LRU lists (and so which idle timeout) the flow is on. */
export interface FlowList {
  head: Flow | null;
  tail: Flow | null;
  count: number;
}

export class Flow {
  /** Symmetric hash of the key (the table's bucket selector). */
  hash = 0;
  /** 4 or 6. */
  ipVersion = 4;
  /** IP protocol number (6 TCP, 17 UDP, ...). */
  proto = 0;
  vlanOuter = -1;
  vlanInner = -1;
  clientAddr4 = 0;
  serverAddr4 = 0;
  /** IPv6 only: client words 0..3, server words 4..7 (empty for IPv4 flows). */
  addr6: Uint32Array = NO_ADDR6;
  clientPort = 0;
  serverPort = 0;
  /**
   * Copied once when first known (null when the link layer carried none). Shared by the table's flows with the
   * same MAC (FlowTable.sharedMac): read only.
   */
  clientMac: Uint8Array | null = null;
  serverMac: Uint8Array | null = null;

  /** Creation number in its table (part of the id: see flow-key.ts). */
  serial = 0;
  firstSec = 0;
  firstNsec = 0;
  lastSec = 0;
  lastNsec = 0;
  /** Direction of the packet most recently returned by FlowTable.lookup: 0 client→server, 1 server→client. */
  lastDir: 0 | 1 = 0;

  packetsC2S = 0;
  packetsS2C = 0;
  /** Captured frame bytes. */
  bytesC2S = 0;
  bytesS2C = 0;
  /** Transport payload bytes. */
  payloadBytesC2S = 0;
  payloadBytesS2C = 0;

  state: FlowState = FLOW_ACTIVE;
  /** Set once the table has ended the flow (after flowEnd was called). */
  ended = false;

  /** TCP only: the client→server and server→client streams. */
  tcp: readonly [TcpStream, TcpStream] | null = null;

  /** Pipeline-owned: detected application protocol name, parser state, and a small state number. */
  appProto: string | null = null;
  app: unknown = null;
  appState = 0;
  /** Rule-engine-owned (rules/engine/runtime.ts FlowBlock): its per-flow state, null until a rule sees the flow. */
  ruleState: unknown = null;
  /**
   * Events numbered on this flow so far (event ids are `<flow id>:<n>`; sensor/event-factory.ts). Counted at every
   * point where an event is or would be built, so ids are the same whether events are built (--events, publishing)
   * or only the evidence of alerts is (--alerts).
   */
  eventSeq = 0;

  // FlowTable bookkeeping.
  nextInBucket: Flow | null = null;
  lruPrev: Flow | null = null;
  lruNext: Flow | null = null;
  lruList: FlowList | null = null;
  /** Table clock (max packet time seen, s) at the last touch: keeps each LRU list ordered even if time steps back. */
  activeSec = 0;
  agePrev: Flow | null = null;
  ageNext: Flow | null = null;

  private clientIpText: string | null = null;
  private serverIpText: string | null = null;
  private idText: string | null = null;

  /** The TCP handshake was seen (a SYN in either direction): the connection's start is in the capture. */
  get handshakeSeen(): boolean {
    const tcp = this.tcp;
    return tcp !== null && (tcp[0].sawSyn || tcp[1].sawSyn);
  }

  /**
   * Deterministic 16-hex-digit id: hash of the tuple and first-seen time. Computed on first use (events, reports):
   * the counting path never needs it, and both inputs are fixed once the table has created the flow.
   */
  get id(): string {
    if (this.idText === null) this.idText = flowIdHex(this);
    return this.idText;
  }

  get clientIp(): string {
    if (this.clientIpText === null) {
      this.clientIpText = this.ipVersion === 6 ? formatIPv6(this.addr6.subarray(0, 4)) : formatIPv4(this.clientAddr4);
    }
    return this.clientIpText;
  }

  get serverIp(): string {
    if (this.serverIpText === null) {
      this.serverIpText = this.ipVersion === 6 ? formatIPv6(this.addr6.subarray(4, 8)) : formatIPv4(this.serverAddr4);
    }
    return this.serverIpText;
  }

  get clientMacText(): string | null {
    return this.clientMac === null ? null : formatMac(this.clientMac, 0);
  }

  get serverMacText(): string | null {
    return this.serverMac === null ? null : formatMac(this.serverMac, 0);
  }

  /** Address and port of the sender / receiver of a packet travelling in `dir`. */
  srcIp(dir: 0 | 1): string {
    return dir === 0 ? this.clientIp : this.serverIp;
  }

  dstIp(dir: 0 | 1): string {
    return dir === 0 ? this.serverIp : this.clientIp;
  }

  srcPort(dir: 0 | 1): number {
    return dir === 0 ? this.clientPort : this.serverPort;
  }

  dstPort(dir: 0 | 1): number {
    return dir === 0 ? this.serverPort : this.clientPort;
  }
}

const NO_ADDR6 = new Uint32Array(0);
