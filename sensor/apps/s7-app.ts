/**
 * The S7 module for the pipeline: ISO-on-TCP (TPKT/COTP) with S7comm decoded in depth and S7comm-plus recognised.
 *
 * Per flow, an `S7FlowApp` owns an `S7Parser` and is itself the parser's listener (no per-flow closures). Counting
 * works on typed arrays and small-integer-keyed maps on the per-PDU path; strings are built only for the rare PDUs
 * that carry them (PI service names, SZL identity records, COTP TSAPs) and when events are wanted.
 *
 * Summary sections (`cotp`, `s7comm`, `s7comm_plus`) are keyed like the tshark `.truth.json` files: COTP types as
 * "0x0f", ROSCTR "1 Job", functions "0x04 Read Var (Job)", userdata "4 CPU functions / 1 Read SZL (request)", SZL
 * "0x0011/0x0000", header errors "class 0xd2 code 0x0c", identity `szl_0011_index_0x0001` / `szl_001c_<field>`.
 */
import {
  COTP_CC,
  COTP_CR,
  cotpTypeName,
  cpuModeName,
  errorClassName,
  FN_PI_SERVICE,
  FN_PLC_STOP,
  functionKey,
  functionName,
  hex2,
  hex4,
  ROSCTR_ACK,
  ROSCTR_ACK_DATA,
  ROSCTR_JOB,
  ROSCTR_USERDATA,
  rosctrName,
  S7_PORT,
  UD_GROUP_CPU,
  UD_GROUP_MODE_TRANSITION,
  UD_SUB_READ_SZL,
  UD_TYPE_RESPONSE,
  userdataGroupName,
  userdataKey,
  userdataSubfunctionName,
} from '../../protocols/s7comm/constants.ts';
import { decodeS7, type S7Decoded } from '../../protocols/s7comm/decode.ts';
import { type S7Listener, S7Parser } from '../../protocols/s7comm/parser.ts';
import { probeS7 } from '../../protocols/s7comm/probe.ts';
import { decodeSzlResponse, type IdentityFact, identityFacts, type SzlDecoded } from '../../protocols/s7comm/szl.ts';
import type {
  CotpConnect,
  CotpTpdu,
  S7Anomaly,
  S7ParserOptions,
  S7Pdu,
  S7PlusFrame,
  S7Transaction,
} from '../../protocols/s7comm/types.ts';
import type { SensorEvent } from '../../protocols/wire/events.ts';
import {
  type EvidenceBuilder,
  K_COTP_CONNECT,
  K_S7_TX,
  K_S7PLUS_FRAME,
  S7PlusSubject,
  S7TxSubject,
  type Subject,
} from '../../rules/engine/subjects.ts';
import type { RuleHook } from '../alerts.ts';
import type { EventFactory } from '../event-factory.ts';
import type { Flow } from '../flow/flow.ts';
import type { AppContext, AppModule, FlowApp } from './app.ts';

function bump(m: Map<number, number>, key: number, n = 1): void {
  m.set(key, (m.get(key) ?? 0) + n);
}

function bumpS(m: Map<string, number>, key: string, n = 1): void {
  m.set(key, (m.get(key) ?? 0) + n);
}

/** Per-run S7 counters (typed arrays and number-keyed maps: nothing allocated per PDU in steady state). */
export class S7Counters {
  // COTP
  cotpFrames = 0;
  readonly cotpTypes = new Float64Array(16);
  /** "src\0dst\0srcTsap\0dstTsap" of every CR / CC. */
  readonly tsaps = new Set<string>();
  // S7comm
  s7Frames = 0;
  pdus = 0;
  readonly rosctr = new Float64Array(8);
  /** key: func * 2 + (Ack_Data ? 1 : 0). */
  readonly functions = new Float64Array(512);
  /** key: type << 16 | group << 8 | subfunction. */
  readonly userdata = new Map<number, number>();
  /** key: SZL id * 65536 + index. */
  readonly szlIds = new Map<number, number>();
  readonly piServices = new Map<string, number>();
  /** key: class << 8 | code. */
  readonly headerErrors = new Map<number, number>();
  /** Mode-transition userdata (group 0): key subfunction (the CPU mode). Kept apart from `userdata` (see summary). */
  readonly modeTransitions = new Float64Array(256);
  readonly talkers = new Set<string>();
  readonly identity = new Map<string, Set<string>>();
  transactions = 0;
  // S7comm-plus
  plusFrames = 0;
  readonly plusVersions = new Float64Array(256);
  /** Byte 4 of the frame: what the truth heuristic calls the opcode. */
  readonly plusByte4 = new Float64Array(256);
  /** Decoded opcode (after an integrity part). */
  readonly plusOpcodes = new Float64Array(256);
  plusIntegrity = 0;
  plusOpaque = 0;
  readonly plusTalkers = new Set<string>();
  // Both
  otherPayloads = 0;
  readonly anomalies = new Map<string, number>();

  addIdentity(key: string, value: string): void {
    let set = this.identity.get(key);
    if (set === undefined) {
      set = new Set();
      this.identity.set(key, set);
    }
    set.add(value);
  }
}

function hexCounts(a: Float64Array, width: 2 | 4 = 2): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < a.length; i++) {
    const n = a[i] ?? 0;
    if (n > 0) out[width === 2 ? hex2(i) : hex4(i)] = n;
  }
  return out;
}

function sortedObject(entries: [string, number][]): Record<string, number> {
  return Object.fromEntries(entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)));
}

function talkerList(set: Set<string>, proto: string): [string, string, string][] {
  return [...set].sort().map((t) => {
    const [src = '', dst = ''] = t.split('\u0000');
    return [src, dst, proto];
  });
}

export function summariseS7(c: S7Counters): Record<string, unknown> {
  const rosctr: [string, number][] = [];
  for (let r = 0; r < 8; r++) if ((c.rosctr[r] ?? 0) > 0) rosctr.push([`${r} ${rosctrName(r)}`, c.rosctr[r] ?? 0]);
  const functions: [string, number][] = [];
  for (let k = 0; k < 512; k++) {
    const n = c.functions[k] ?? 0;
    if (n > 0) functions.push([functionKey(k >> 1, (k & 1) === 1 ? ROSCTR_ACK_DATA : ROSCTR_JOB), n]);
  }
  const userdata: [string, number][] = [...c.userdata].map(([k, n]) => [
    userdataKey((k >> 8) & 0xff, k & 0xff, k >> 16),
    n,
  ]);
  const szl: [string, number][] = [...c.szlIds].map(([k, n]) => [
    `${hex4(Math.floor(k / 65536))}/${hex4(k % 65536)}`,
    n,
  ]);
  const errors: [string, number][] = [...c.headerErrors].map(([k, n]) => [
    `class ${hex2(k >> 8)} code ${hex2(k & 0xff)}`,
    n,
  ]);
  const identity: Record<string, string[]> = {};
  for (const key of [...c.identity.keys()].sort()) identity[key] = [...(c.identity.get(key) ?? [])].sort();
  return {
    cotp: {
      frames: c.cotpFrames,
      pdu_types: hexCounts(c.cotpTypes),
      connection_tsaps: [...c.tsaps].sort().map((t) => t.split('\u0000')),
    },
    s7comm: {
      frames: c.s7Frames,
      pdus: c.pdus,
      rosctr: sortedObject(rosctr),
      functions: sortedObject(functions),
      userdata: sortedObject(userdata),
      szl_ids: sortedObject(szl),
      pi_services: sortedObject([...c.piServices]),
      header_errors: sortedObject(errors),
      mode_transitions: modeTransitions(c.modeTransitions),
      talkers: talkerList(c.talkers, 's7comm'),
      identity,
      transactions: c.transactions,
      anomalies: sortedObject([...c.anomalies]),
      other_payloads: c.otherPayloads,
    },
    s7comm_plus: {
      frames: c.plusFrames,
      versions: hexCounts(c.plusVersions),
      opcodes: hexCounts(c.plusByte4),
      decoded_opcodes: hexCounts(c.plusOpcodes),
      integrity_frames: c.plusIntegrity,
      opaque_frames: c.plusOpaque,
      talkers: talkerList(c.plusTalkers, 's7comm_plus'),
    },
  };
}

function modeTransitions(a: Float64Array): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < a.length; i++) if ((a[i] ?? 0) > 0) out[`${i} ${cpuModeName(i)}`] = a[i] ?? 0;
  return out;
}

function addArrays(into: Float64Array, from: Float64Array): void {
  for (let i = 0; i < into.length; i++) into[i] = (into[i] ?? 0) + (from[i] ?? 0);
}

export function mergeS7(into: S7Counters, from: S7Counters): void {
  into.cotpFrames += from.cotpFrames;
  addArrays(into.cotpTypes, from.cotpTypes);
  for (const t of from.tsaps) into.tsaps.add(t);
  into.s7Frames += from.s7Frames;
  into.pdus += from.pdus;
  addArrays(into.rosctr, from.rosctr);
  addArrays(into.functions, from.functions);
  addArrays(into.modeTransitions, from.modeTransitions);
  for (const [k, n] of from.userdata) bump(into.userdata, k, n);
  for (const [k, n] of from.szlIds) bump(into.szlIds, k, n);
  for (const [k, n] of from.piServices) bumpS(into.piServices, k, n);
  for (const [k, n] of from.headerErrors) bump(into.headerErrors, k, n);
  for (const t of from.talkers) into.talkers.add(t);
  for (const [k, set] of from.identity) for (const v of set) into.addIdentity(k, v);
  into.transactions += from.transactions;
  into.plusFrames += from.plusFrames;
  addArrays(into.plusVersions, from.plusVersions);
  addArrays(into.plusByte4, from.plusByte4);
  addArrays(into.plusOpcodes, from.plusOpcodes);
  into.plusIntegrity += from.plusIntegrity;
  into.plusOpaque += from.plusOpaque;
  for (const t of from.plusTalkers) into.plusTalkers.add(t);
  into.otherPayloads += from.otherPayloads;
  for (const [k, n] of from.anomalies) bumpS(into.anomalies, k, n);
}

/** TSAP text as tshark shows it: printable bytes as a string ("SIMATIC-ROOT-ES"), otherwise "0x0100". */
export function formatTsap(t: Uint8Array): string {
  let printable = t.length > 0;
  for (const c of t) if (c < 0x20 || c > 0x7e) printable = false;
  if (printable) return String.fromCharCode(...t);
  let s = '0x';
  for (const c of t) s += c.toString(16).padStart(2, '0');
  return s;
}

/** Rack and slot from a 2-byte S7 TSAP (second byte: rack << 5 | slot), or null when the TSAP is not of that form. */
export function rackSlot(t: Uint8Array): { connectionType: number; rack: number; slot: number } | null {
  if (t.length !== 2) return null;
  const b1 = t[1] ?? 0;
  return { connectionType: t[0] ?? 0, rack: b1 >> 5, slot: b1 & 0x1f };
}

function transactionTs(tx: S7Transaction): [number, number] {
  return tx.requestTsSec >= 0 ? [tx.requestTsSec, tx.requestTsNsec] : [tx.responseTsSec, tx.responseTsNsec];
}

/** One S7 (ISO-on-TCP) connection: parser + listener + counting. */
export class S7FlowApp implements FlowApp, S7Listener<S7FlowApp>, EvidenceBuilder {
  readonly parser: S7Parser<S7FlowApp>;
  /** Bit 0/1: S7comm seen client→server / server→client; bits 2/3 the same for S7comm-plus (talkers). */
  private talkerBits = 0;
  /** Reassembled SZL answer of the PDU being processed, for its transaction event (events on only). */
  private pendingSzl: SzlDecoded | null = null;

  constructor(
    readonly flow: Flow,
    private readonly counters: S7Counters,
    private readonly events: EventFactory | null,
    options: S7ParserOptions = {},
    private readonly rules: RuleHook | null = null,
  ) {
    this.parser = new S7Parser<S7FlowApp>(this, this, options);
    this.parser.connectionStartSeen = flow.handshakeSeen;
  }

  // FlowApp ----------------------------------------------------------------------------------------------------------
  data(dir: 0 | 1, buf: Uint8Array, off: number, len: number, tsSec: number, tsNsec: number): void {
    this.parser.data(dir, buf, off, len, tsSec, tsNsec);
  }
  gap(dir: 0 | 1, bytes: number): void {
    this.parser.gap(dir, bytes);
  }
  expire(tsSec: number): void {
    this.parser.expire(tsSec);
  }
  end(tsSec: number, captureEnded: boolean): void {
    this.parser.end(tsSec, captureEnded);
    this.counters.otherPayloads += this.parser.stats.otherPayloads;
  }

  // S7Listener -------------------------------------------------------------------------------------------------------
  tpdu(_ctx: S7FlowApp, t: CotpTpdu): void {
    const i = t.type >> 4;
    this.counters.cotpTypes[i] = (this.counters.cotpTypes[i] ?? 0) + 1;
  }

  frame(_ctx: S7FlowApp, _tpdus: number, s7: number, _plus: number): void {
    const c = this.counters;
    c.cotpFrames++;
    if (s7 > 0) c.s7Frames++;
  }

  connect(_ctx: S7FlowApp, cc: CotpConnect): void {
    const src = formatTsap(cc.srcTsap);
    const dst = formatTsap(cc.dstTsap);
    const flow = this.flow;
    this.counters.tsaps.add(`${flow.srcIp(cc.dir)}\u0000${flow.dstIp(cc.dir)}\u0000${src}\u0000${dst}`);
    const rules = this.rules?.engine.wants(K_COTP_CONNECT) ? this.rules : null;
    const factory = this.events ?? rules?.factory ?? null;
    if (factory === null) {
      // Rules only, none on COTP connects: the event is numbered as if built (EventFactory.reserve).
      this.rules?.factory.reserve(flow);
      return;
    }
    const cotp: Record<string, unknown> = {
      type: cc.type,
      typeName: cotpTypeName(cc.type),
      srcRef: cc.srcRef,
      dstRef: cc.dstRef,
      srcTsap: src,
      dstTsap: dst,
    };
    if (cc.tpduSizeCode >= 7 && cc.tpduSizeCode <= 13) cotp.tpduSize = 1 << cc.tpduSizeCode;
    // The called TSAP (the PLC side) encodes rack and slot on S7-300/400 (0x0102 = PG connection, rack 0, slot 2).
    const rs = rackSlot(cc.dstTsap);
    if (rs !== null) Object.assign(cotp, rs);
    const kind = cc.type === COTP_CR ? 'cotp.connect_request' : cc.type === COTP_CC ? 'cotp.connect_confirm' : 'cotp';
    const record = { ...cotp, kind };
    const event = factory.base(flow, 'cotp.connect', 's7comm', cc.tsSec, cc.tsNsec, { cotp: record });
    if (this.events !== null) this.events.emit(event);
    if (rules !== null) {
      rules.record.set(record, flow, cc.tsSec, cc.tsNsec, event);
      rules.engine.evaluate(K_COTP_CONNECT, rules.record);
    }
  }

  pdu(_ctx: S7FlowApp, p: S7Pdu): void {
    const c = this.counters;
    c.pdus++;
    const r = p.rosctr;
    if (r >= 0 && r < 8) c.rosctr[r] = (c.rosctr[r] ?? 0) + 1;
    const bit = p.dir === 0 ? 1 : 2;
    if ((this.talkerBits & bit) === 0) {
      this.talkerBits |= bit;
      c.talkers.add(`${this.flow.srcIp(p.dir)}\u0000${this.flow.dstIp(p.dir)}`);
    }
    if ((r === ROSCTR_JOB || r === ROSCTR_ACK_DATA) && p.func >= 0 && functionName(p.func) !== '?') {
      const k = p.func * 2 + (r === ROSCTR_ACK_DATA ? 1 : 0);
      c.functions[k] = (c.functions[k] ?? 0) + 1;
    }
    if ((r === ROSCTR_ACK || r === ROSCTR_ACK_DATA) && (p.errorClass > 0 || p.errorCode > 0))
      bump(c.headerErrors, (p.errorClass << 8) | p.errorCode);
    if (r === ROSCTR_USERDATA && p.udGroup >= 0) {
      // tshark files mode transitions (group 0) under their own field, so the truth's userdata histogram lacks them.
      if (p.udGroup === UD_GROUP_MODE_TRANSITION) c.modeTransitions[p.udSub] = (c.modeTransitions[p.udSub] ?? 0) + 1;
      else bump(c.userdata, (p.udType << 16) | (p.udGroup << 8) | p.udSub);
      if (p.szlId >= 0) bump(c.szlIds, p.szlId * 65536 + p.szlIndex);
    }
    // Rare PDUs carrying strings: PI service names (Job) and SZL identity records (responses). Decoded on the spot.
    if (r === ROSCTR_JOB && (p.func === FN_PI_SERVICE || p.func === FN_PLC_STOP)) {
      const d = decodeS7(p.buf, p.off, p.len);
      if (d.pi !== undefined && d.pi.service !== '') bumpS(c.piServices, d.pi.service);
    } else if (
      r === ROSCTR_USERDATA &&
      p.udType === UD_TYPE_RESPONSE &&
      p.udGroup === UD_GROUP_CPU &&
      p.udSub === UD_SUB_READ_SZL &&
      p.szlId >= 0 &&
      p.udPayloadLen >= 8
    ) {
      // The whole (possibly reassembled) SZL answer: identity records now, the rest only when events want it.
      const kind = p.szlId & 0xff;
      if (kind === 0x11 || kind === 0x1c || this.events !== null) {
        const szl = decodeSzlResponse(p.udPayloadBuf, p.udPayloadOff, p.udPayloadLen);
        for (const f of identityFacts(szl)) c.addIdentity(f.key, f.value);
        if (this.events !== null) this.pendingSzl = szl;
      }
    }
  }

  plus(_ctx: S7FlowApp, f: S7PlusFrame): void {
    const c = this.counters;
    c.plusFrames++;
    if (f.version >= 0) c.plusVersions[f.version & 0xff] = (c.plusVersions[f.version & 0xff] ?? 0) + 1;
    if (f.byte4 >= 0) c.plusByte4[f.byte4] = (c.plusByte4[f.byte4] ?? 0) + 1;
    if (f.opcode >= 0) c.plusOpcodes[f.opcode] = (c.plusOpcodes[f.opcode] ?? 0) + 1;
    if (f.hasIntegrity) c.plusIntegrity++;
    if (f.opaque) c.plusOpaque++;
    const bit = f.dir === 0 ? 4 : 8;
    if ((this.talkerBits & bit) === 0) {
      this.talkerBits |= bit;
      c.plusTalkers.add(`${this.flow.srcIp(f.dir)}\u0000${this.flow.dstIp(f.dir)}`);
    }
    const rules = this.rules;
    let event: SensorEvent | null = null;
    if (this.events !== null) {
      event = this.plusEvent(this.events, f);
      this.events.emit(event);
    }
    // Rules only: numbered as if built, so evidence ids match --events (EventFactory.reserve).
    const seq = event === null && rules !== null ? rules.factory.reserve(this.flow) : 0;
    if (rules?.engine.wants(K_S7PLUS_FRAME)) {
      rules.s7Plus.set(f, this.flow, event);
      rules.s7Plus.eventSeq = seq;
      rules.s7Plus.builder = this;
      rules.engine.evaluate(K_S7PLUS_FRAME, rules.s7Plus);
    }
  }

  private plusEvent(factory: EventFactory, f: S7PlusFrame, seq = 0): SensorEvent {
    const s7plus: Record<string, unknown> = {
      dir: f.dir,
      version: f.version,
      length: f.len,
      integrity: f.hasIntegrity,
      decodable: !f.opaque,
    };
    if (f.opaque) s7plus.note = 'encrypted or not decodable: recognised only';
    if (f.opcode >= 0) s7plus.opcode = f.opcode;
    if (f.function >= 0) s7plus.function = f.function;
    if (f.seq >= 0) s7plus.seq = f.seq;
    if (f.sessionId >= 0) s7plus.sessionId = f.sessionId;
    return factory.base(this.flow, 's7comm_plus.frame', 's7comm-plus', f.tsSec, f.tsNsec, { s7plus }, seq);
  }

  transaction(_ctx: S7FlowApp, tx: S7Transaction): void {
    this.counters.transactions++;
    const rules = this.rules;
    if (this.events === null && rules === null) return;
    let event: SensorEvent | null = null;
    if (this.events !== null) {
      event = this.transactionEvent(this.events, tx);
      this.events.emit(event);
    }
    // Rules only: numbered as if built, so evidence ids match --events (EventFactory.reserve).
    const seq = event === null && rules !== null ? rules.factory.reserve(this.flow) : 0;
    if (rules?.engine.wants(K_S7_TX)) {
      // The subject reads the times from the record: no [sec, nsec] pair, no boxed time per transaction.
      rules.s7Tx.set(tx, this.flow, event);
      rules.s7Tx.eventSeq = seq;
      rules.s7Tx.builder = this;
      rules.engine.evaluate(K_S7_TX, rules.s7Tx);
    }
  }

  /** Evidence for a matched rule (the record is still the parser's current one). */
  buildEvidence(_kind: number, subject: Subject): SensorEvent | null {
    if (this.rules === null) return null;
    if (subject instanceof S7TxSubject && subject.tx !== null)
      return this.transactionEvent(this.rules.factory, subject.tx, subject.eventSeq);
    if (subject instanceof S7PlusSubject && subject.frame !== null)
      return this.plusEvent(this.rules.factory, subject.frame, subject.eventSeq);
    return null;
  }

  private transactionEvent(factory: EventFactory, tx: S7Transaction, seq = 0): SensorEvent {
    const s7: Record<string, unknown> = {
      kind: tx.kind,
      reason: tx.reason,
      pduRef: tx.pduRef,
      rosctr: tx.rosctr,
      rosctrName: rosctrName(tx.rosctr),
    };
    if (tx.rosctr === ROSCTR_JOB && tx.func >= 0) {
      s7.func = tx.func;
      s7.funcName = functionName(tx.func);
    }
    if (tx.udGroup >= 0) {
      s7.group = tx.udGroup;
      s7.groupName = userdataGroupName(tx.udGroup);
      s7.subfunction = tx.udSub;
      s7.subfunctionName = userdataSubfunctionName(tx.udGroup, tx.udSub);
    }
    if (tx.errorClass > 0 || tx.errorCode > 0) {
      s7.errorClass = tx.errorClass;
      s7.errorCode = tx.errorCode;
      s7.errorName = errorClassName(tx.errorClass);
    }
    if (tx.rttNs >= 0) s7.rttUs = Math.round(tx.rttNs / 1000);
    let response: S7Decoded | null = null;
    if (tx.reqLen > 0) s7.request = decodeS7(tx.reqBuf, 0, tx.reqLen);
    if (tx.respLen > 0) {
      response = decodeS7(tx.respBuf, tx.respOff, tx.respLen);
      s7.response = response;
    }
    const pending = this.pendingSzl;
    this.pendingSzl = null;
    if (pending !== null && response?.userdata !== undefined) response.userdata.szl = pending;
    const szl = response?.userdata?.szl;
    if (szl !== undefined) {
      const facts: IdentityFact[] = identityFacts(szl);
      if (facts.length > 0) s7.identity = facts;
    }
    const [tsSec, tsNsec] = transactionTs(tx);
    return factory.base(this.flow, 's7comm.transaction', 's7comm', tsSec, tsNsec, { s7comm: s7 }, seq);
  }

  anomaly(_ctx: S7FlowApp, a: S7Anomaly): void {
    bumpS(this.counters.anomalies, a.kind);
    const protocol = a.kind.startsWith('cotp.') ? 'cotp' : 's7comm';
    let event: SensorEvent | null = null;
    if (this.events !== null) {
      const fields: Record<string, unknown> = {};
      if (a.value >= 0) fields.value = a.value;
      if (a.pduRef >= 0) fields.pduRef = a.pduRef;
      event = this.events.anomaly(this.flow, protocol, a.kind, a.dir, a.detail, a.tsSec, a.tsNsec, fields);
    }
    if (this.rules !== null) {
      const s = this.rules.anomalySubject.set(this.flow, protocol, a.kind, a.dir, a.detail, a.tsSec, a.tsNsec, event);
      s.value = a.value;
      s.pduRef = a.pduRef;
      this.rules.anomaly(s);
    }
  }
}

export interface S7ModuleOptions extends S7ParserOptions {}

/** Builds the S7 module (options: parser caps). `s7commModule` is the default instance. */
export function createS7Module(options: S7ModuleOptions = {}): AppModule<S7Counters> {
  return {
    name: 's7comm',
    ports: [S7_PORT],
    probe: probeS7,
    createCounters: () => new S7Counters(),
    createFlowApp: (flow: Flow, ctx: AppContext<S7Counters>) =>
      new S7FlowApp(
        flow,
        ctx.counters,
        ctx.events,
        ctx.buffers === undefined ? options : { budget: ctx.buffers, ...options },
        ctx.rules ?? null,
      ),
    summarise: summariseS7,
    merge: mergeS7,
  };
}

export const s7commModule: AppModule<S7Counters> = createS7Module();
