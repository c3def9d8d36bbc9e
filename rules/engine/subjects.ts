/**
 * Subjects: the lightweight, reused records a rule is evaluated against. A protocol module fills one (a few field
 * writes, pointing at its own reused parser record) where it would emit an event; getters in fields.ts read it.
 * The full JSON event is built only when a rule matches (`evidence()`), by the module's EvidenceBuilder.
 *
 * Decoding that allocates (Modbus/S7 request details) happens lazily in the subject, at most once per record.
 */
import { decodePdu } from '../../protocols/modbus/decode.ts';
import type { ModbusDecoded, ModbusTransaction } from '../../protocols/modbus/types.ts';
import type { OpcuaTransaction } from '../../protocols/opcua/types.ts';
import {
  FN_PI_SERVICE,
  FN_PLC_STOP,
  FN_READ_VAR,
  FN_REQUEST_DOWNLOAD,
  FN_WRITE_VAR,
  ROSCTR_JOB,
  ROSCTR_USERDATA,
  s7HeaderLength,
} from '../../protocols/s7comm/constants.ts';
import { DEFAULT_MAX_ITEMS, decodeS7, type S7Decoded } from '../../protocols/s7comm/decode.ts';
import type { S7PlusFrame, S7Transaction } from '../../protocols/s7comm/types.ts';
import type { SensorEvent } from '../../protocols/wire/events.ts';

/** Event categories rules are indexed by (service/category). Numeric: they index arrays on the packet path. */
export const K_MODBUS_TX = 0;
export const K_S7_TX = 1;
export const K_COTP_CONNECT = 2;
export const K_S7PLUS_FRAME = 3;
export const K_OPCUA_TX = 4;
export const K_OPCUA_CHANNEL = 5;
export const K_OPCUA_SESSION = 6;
export const K_OPCUA_TRANSPORT = 7;
export const K_ANOMALY_MODBUS = 8;
export const K_ANOMALY_S7COMM = 9;
export const K_ANOMALY_COTP = 10;
export const K_ANOMALY_OPCUA = 11;
export const KIND_COUNT = 12;

/** `service/category` of each kind, as rules name them. */
export const KIND_NAMES: readonly string[] = [
  'modbus/transaction',
  's7comm/transaction',
  'cotp/connect',
  's7comm_plus/frame',
  'opcua/transaction',
  'opcua/secure_channel',
  'opcua/session',
  'opcua/transport',
  'modbus/anomaly',
  's7comm/anomaly',
  'cotp/anomaly',
  'opcua/anomaly',
];

/** Anomaly kind for an anomaly's protocol, -1 when no rule can see it. */
export function anomalyKind(protocol: string): number {
  switch (protocol) {
    case 'modbus':
      return K_ANOMALY_MODBUS;
    case 's7comm':
      return K_ANOMALY_S7COMM;
    case 'cotp':
      return K_ANOMALY_COTP;
    case 'opcua':
      return K_ANOMALY_OPCUA;
    default:
      return -1;
  }
}

/** What a subject needs of a flow (sensor/flow/flow.ts Flow satisfies it). */
export interface FlowLike {
  readonly id: string;
  readonly clientIp: string;
  readonly serverIp: string;
  clientPort: number;
  serverPort: number;
  vlanOuter: number;
  /**
   * The rule engine's per-flow block (runtime.ts FlowBlock), kept on the flow so finding it is a field read, not a
   * WeakMap lookup. Optional for test doubles (the engine adds it); sensor Flow declares it.
   */
  ruleState?: unknown;
}

/** Builds the full event for a subject when a rule matched (implemented by the protocol module). */
export interface EvidenceBuilder {
  buildEvidence(kind: number, subject: Subject): SensorEvent | null;
}

const NO_FLOW: FlowLike = { id: '', clientIp: '', serverIp: '', clientPort: 0, serverPort: 0, vlanOuter: -1 };

export class Subject {
  flow: FlowLike = NO_FLOW;
  /**
   * Starts as a number that is not a small integer, like every packet time (above 2^30). Starting at 0, the first
   * packet changed the field's representation, which gives the class a new map: the next pipeline's subjects then had
   * another map than the first one's, and storing them into a new RuleHook deoptimised every protocol app's
   * `transaction` and the parser code it was inlined into (recompiled while the next file was read).
   */
  tsSec = 2 ** 31;
  tsNsec = 0;
  /** The event when the module already built it (events on), else built on demand by `builder`. */
  event: SensorEvent | null = null;
  builder: EvidenceBuilder | null = null;
  /**
   * Without `event`: the number the module reserved for this record's event (sensor/event-factory.ts `reserve`), which
   * evidence built on demand takes as its id; 0 when none was reserved (the builder then takes the next number).
   */
  eventSeq = 0;

  /** Points the subject at a new record's flow and time; subclasses reset their lazy caches. */
  protected begin(flow: FlowLike, tsSec: number, tsNsec: number, event: SensorEvent | null): void {
    this.flow = flow;
    this.tsSec = tsSec;
    this.tsNsec = tsNsec;
    this.event = event;
    this.eventSeq = 0;
  }

  evidence(kind: number): SensorEvent | null {
    if (this.event === null && this.builder !== null) this.event = this.builder.buildEvidence(kind, this);
    return this.event;
  }
}

const UNDECODED = null;

/** `itemAreas` of a request with no S7ANY item. */
const NO_AREAS: readonly number[] = Object.freeze([]);

function u16(b: Uint8Array, i: number): number {
  return ((b[i] ?? 0) << 8) | (b[i + 1] ?? 0);
}

/** `ModbusTxSubject.requestWord` selectors. */
export const WORD_ADDRESS = 0;
export const WORD_QUANTITY = 1;
export const WORD_VALUE = 2;

export class ModbusTxSubject extends Subject {
  tx: ModbusTransaction | null = null;
  private req: ModbusDecoded | null = UNDECODED;
  private reqDone = false;
  private resp: ModbusDecoded | null = UNDECODED;
  private respDone = false;

  set(tx: ModbusTransaction, flow: FlowLike, event: SensorEvent | null): void {
    // The request's time, else (unanswered response) the response's. Read from the record here, not passed in by
    // the app: a packet time is above 2^30, so as an argument of a call that is not inlined it is boxed into a new
    // heap number per transaction. Written out in each subject's set (not a shared helper) so that each reads one
    // record shape: a shared helper's feedback would make the loads polymorphic for all three protocols.
    this.flow = flow;
    if (tx.requestTsSec >= 0) {
      this.tsSec = tx.requestTsSec;
      this.tsNsec = tx.requestTsNsec;
    } else {
      this.tsSec = tx.responseTsSec;
      this.tsNsec = tx.responseTsNsec;
    }
    this.event = event;
    this.eventSeq = 0;
    this.tx = tx;
    this.reqDone = false;
    this.respDone = false;
    this.req = null;
    this.resp = null;
  }

  /** Decoded request (the parser's when it decoded, else decoded here once), null when there is no request. */
  request(): ModbusDecoded | null {
    if (!this.reqDone) {
      this.reqDone = true;
      const tx = this.tx;
      if (tx === null) this.req = null;
      else if (tx.request !== null) this.req = tx.request;
      else this.req = tx.reqLen > 0 ? decodePdu(0, tx.reqBuf, tx.reqOff, tx.reqLen) : null;
    }
    return this.req;
  }

  /**
   * Address / quantity / value of the request, read in place with the same bytes and length checks as decodePdu
   * (fast-paths.test.ts compares both for every function code), so a rule on them decodes no request.
   */
  requestWord(which: number): number | undefined {
    const tx = this.tx;
    if (tx === null) return undefined;
    if (tx.request !== null) {
      const d = tx.request;
      return which === WORD_ADDRESS ? d.address : which === WORD_QUANTITY ? d.quantity : d.value;
    }
    const len = tx.reqLen;
    if (len === 0) return undefined;
    const b = tx.reqBuf;
    const o = tx.reqOff;
    const fc = b[o] ?? 0;
    if (fc >= 1 && fc <= 6) {
      if (len < 5) return undefined;
      if (which === WORD_ADDRESS) return u16(b, o + 1);
      if (fc <= 4) return which === WORD_QUANTITY ? u16(b, o + 3) : undefined;
      return which === WORD_VALUE ? u16(b, o + 3) : undefined;
    }
    if (fc === 15 || fc === 16) {
      if (len < 6 || which === WORD_VALUE) return undefined;
      return which === WORD_ADDRESS ? u16(b, o + 1) : u16(b, o + 3);
    }
    // Mask write (decodePdu: address when the PDU has its 7 bytes). No other request has an address, quantity or
    // value (FC 23's are readAddress / writeAddress): decoding them only to find none allocated a record per request.
    if (fc === 22) return which === WORD_ADDRESS && len >= 7 ? u16(b, o + 1) : undefined;
    return undefined;
  }

  response(): ModbusDecoded | null {
    if (!this.respDone) {
      this.respDone = true;
      const tx = this.tx;
      if (tx === null) this.resp = null;
      else if (tx.response !== null) this.resp = tx.response;
      else this.resp = tx.respLen > 0 ? decodePdu(1, tx.respBuf, tx.respOff, tx.respLen) : null;
    }
    return this.resp;
  }
}

/** `S7TxSubject.requestMayHave` parts: what decodeS7 can fill for a request, told from two header bytes. */
export const S7_PART_PI = 0;
export const S7_PART_USERDATA = 1;
export const S7_PART_BLOCK = 2;
export const S7_PART_ITEMS = 3;
export const S7_PART_ITEM_COUNT = 4;

export class S7TxSubject extends Subject {
  tx: S7Transaction | null = null;
  private req: S7Decoded | null = null;
  private reqDone = false;
  private readonly areas: number[] = [];

  set(tx: S7Transaction, flow: FlowLike, event: SensorEvent | null): void {
    // As ModbusTxSubject.set: times from the record, in this class's own code (one record shape per load).
    this.flow = flow;
    if (tx.requestTsSec >= 0) {
      this.tsSec = tx.requestTsSec;
      this.tsNsec = tx.requestTsNsec;
    } else {
      this.tsSec = tx.responseTsSec;
      this.tsNsec = tx.responseTsNsec;
    }
    this.event = event;
    this.eventSeq = 0;
    this.tx = tx;
    this.req = null;
    this.reqDone = false;
  }

  /**
   * False when decodeS7 cannot set `part` for this request (read from the ROSCTR and function bytes in place, with
   * the same conditions as decodeS7): a rule on `request.pi.*` then does not decode every read/write request.
   */
  requestMayHave(part: number): boolean {
    const tx = this.tx;
    if (tx === null || tx.reqLen === 0) return false;
    const b = tx.reqBuf;
    const rosctr = b[1] ?? 0;
    if (part === S7_PART_USERDATA) return rosctr === ROSCTR_USERDATA;
    if (rosctr === ROSCTR_USERDATA) return false;
    const hlen = s7HeaderLength(rosctr);
    // No function byte (short PDU or no parameter): decodeS7 stops before any part.
    if (tx.reqLen <= hlen) return false;
    const fn = b[hlen] ?? 0;
    switch (part) {
      case S7_PART_PI:
        return rosctr === ROSCTR_JOB && (fn === FN_PI_SERVICE || fn === FN_PLC_STOP);
      case S7_PART_BLOCK:
        // Request download / download block / download ended / start upload / upload / end upload.
        return rosctr === ROSCTR_JOB && fn >= FN_REQUEST_DOWNLOAD && fn <= FN_REQUEST_DOWNLOAD + 5;
      case S7_PART_ITEMS:
        return rosctr === ROSCTR_JOB && (fn === FN_READ_VAR || fn === FN_WRITE_VAR);
      case S7_PART_ITEM_COUNT:
        return fn === FN_READ_VAR || fn === FN_WRITE_VAR;
      default:
        return true;
    }
  }

  /**
   * `request.items.area` read in place (same walk and bounds as decodeS7's item list), so a rule on the area of
   * written items does not decode every Write Var request (items, data values as hex). Returns a reused array.
   */
  itemAreas(): readonly number[] | undefined {
    const tx = this.tx;
    if (tx === null || !this.requestMayHave(S7_PART_ITEMS)) return undefined;
    const b = tx.reqBuf;
    const hlen = s7HeaderLength(b[1] ?? 0);
    const parEnd = Math.min(hlen + u16(b, 6), tx.reqLen);
    if (hlen >= parEnd) return undefined;
    const count = b[hlen + 1] ?? 0;
    const out = this.areas;
    let n = 0;
    let p = hlen + 2;
    for (let k = 0; k < count && k < DEFAULT_MAX_ITEMS && p + 2 <= parEnd; k++) {
      const specLen = b[p + 1] ?? 0;
      // Only S7ANY items (syntax id 0x10) carry an area.
      if (b[p + 2] === 0x10 && specLen >= 10 && p + 12 <= parEnd) {
        const area = b[p + 8] ?? 0;
        if (n < out.length) out[n] = area;
        else out.push(area);
        n++;
      }
      p += 2 + specLen;
    }
    // Never `length = 0` on the reused array: V8 then drops its backing store, and the next push allocates a new one
    // (one allocation per Write Var request). An empty result is a shared empty array instead.
    if (n === 0) return NO_AREAS;
    if (out.length !== n) out.length = n;
    return out;
  }

  request(): S7Decoded | null {
    if (!this.reqDone) {
      this.reqDone = true;
      const tx = this.tx;
      this.req = tx !== null && tx.reqLen > 0 ? decodeS7(tx.reqBuf, 0, tx.reqLen) : null;
    }
    return this.req;
  }
}

export class S7PlusSubject extends Subject {
  frame: S7PlusFrame | null = null;

  set(frame: S7PlusFrame, flow: FlowLike, event: SensorEvent | null): void {
    this.begin(flow, frame.tsSec, frame.tsNsec, event);
    this.frame = frame;
  }
}

/** Channel posture an OPC UA connection has shown so far (kept by the module per connection). */
export interface OpcuaPosture {
  policyUri: string | null;
  securityMode: string | null;
  identityTokenType: string | null;
}

export class OpcuaTxSubject extends Subject {
  tx: OpcuaTransaction | null = null;
  posture: OpcuaPosture | null = null;

  set(tx: OpcuaTransaction, posture: OpcuaPosture, flow: FlowLike, event: SensorEvent | null): void {
    // As ModbusTxSubject.set: times from the record, in this class's own code (one record shape per load).
    this.flow = flow;
    if (tx.requestTsSec >= 0) {
      this.tsSec = tx.requestTsSec;
      this.tsNsec = tx.requestTsNsec;
    } else {
      this.tsSec = tx.responseTsSec;
      this.tsNsec = tx.responseTsNsec;
    }
    this.event = event;
    this.eventSeq = 0;
    this.tx = tx;
    this.posture = posture;
  }
}

/**
 * A subject over a small flat record the module built anyway (rare messages: COTP connects, OPC UA transport,
 * secure channel and session messages). Keys are the rule field names.
 */
export class RecordSubject extends Subject {
  data: Record<string, unknown> = {};

  set(data: Record<string, unknown>, flow: FlowLike, tsSec: number, tsNsec: number, event: SensorEvent | null): void {
    this.begin(flow, tsSec, tsNsec, event);
    this.data = data;
  }
}

/** One anomaly from any module or the pipeline; numeric fields are -1 when absent. */
export class AnomalySubject extends Subject {
  name = '';
  protocol = '';
  dir = -1;
  detail = '';
  value = -1;
  tid = -1;
  unit = -1;
  func = -1;
  pduRef = -1;
  requestId = -1;
  service = -1;
  serviceName = '';

  set(
    flow: FlowLike,
    protocol: string,
    name: string,
    dir: 0 | 1 | null,
    detail: string,
    tsSec: number,
    tsNsec: number,
    event: SensorEvent | null,
  ): this {
    this.begin(flow, tsSec, tsNsec, event);
    this.protocol = protocol;
    this.name = name;
    this.dir = dir === null ? -1 : dir;
    this.detail = detail;
    this.value = -1;
    this.tid = -1;
    this.unit = -1;
    this.func = -1;
    this.pduRef = -1;
    this.requestId = -1;
    this.service = -1;
    this.serviceName = '';
    return this;
  }
}
