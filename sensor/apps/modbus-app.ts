/**
 * Glue between the flow layer and the Modbus/TCP parser: one `ModbusFlowContext` per Modbus flow, one shared
 * listener per pipeline that turns parser callbacks into counters (always) and JSON events (only when an event
 * sink is attached, so the counting path allocates nothing per PDU).
 */
import { decodeFramedPdu } from '../../protocols/modbus/decode.ts';
import { type ModbusListener, ModbusParser } from '../../protocols/modbus/parser.ts';
import type {
  ModbusAnomaly,
  ModbusDecoded,
  ModbusParserOptions,
  ModbusPdu,
  ModbusTransaction,
} from '../../protocols/modbus/types.ts';
import type { SensorEvent } from '../../protocols/wire/events.ts';
import { type EvidenceBuilder, K_MODBUS_TX, ModbusTxSubject, type Subject } from '../../rules/engine/subjects.ts';
import type { RuleHook } from '../alerts.ts';
import type { EventFactory } from '../event-factory.ts';
import type { Flow } from '../flow/flow.ts';
import type { ModbusCounters } from '../summary.ts';

const FC_ENCAPSULATED_INTERFACE = 43;
const MEI_READ_DEVICE_ID = 14;

export class ModbusFlowContext {
  /** Bit 0: a PDU went client→server; bit 1: server→client (for the talkers list). */
  talkerBits = 0;
  readonly parser: ModbusParser<ModbusFlowContext>;
  /** The flow this context serves (changes only when a pooled context is rebound to a new flow). */
  flow: Flow;
  /**
   * 1 when the Modbus roles are the reverse of the TCP roles: the endpoint on port 502 opened the connection, yet
   * whatever it sends is, by the port, a response (tshark and every Modbus device see it so).
   * Parser direction = TCP direction XOR swap.
   */
  swap: 0 | 1;
  /** The pipeline's intrusive list of live contexts (creation order), walked by transaction expiry sweeps. */
  livePrev: ModbusFlowContext | null = null;
  liveNext: ModbusFlowContext | null = null;

  constructor(flow: Flow, listener: ModbusListener<ModbusFlowContext>, options: ModbusParserOptions, swap: 0 | 1) {
    this.flow = flow;
    this.swap = swap;
    this.parser = new ModbusParser(listener, this, options);
  }

  /** Reuses an ended context (its parser's `end()` was called) for a new flow: same listener and options. */
  rebind(flow: Flow, swap: 0 | 1): void {
    this.flow = flow;
    this.swap = swap;
    this.talkerBits = 0;
    this.parser.reuse();
  }
}

export class ModbusApp implements ModbusListener<ModbusFlowContext>, EvidenceBuilder {
  constructor(
    private readonly counters: ModbusCounters,
    private readonly events: EventFactory | null,
    private readonly rules: RuleHook | null = null,
  ) {
    if (rules !== null) rules.modbusTx.builder = this;
  }

  pdu(ctx: ModbusFlowContext, pdu: ModbusPdu): void {
    this.counters.countPdu(pdu.dir === 1, pdu.unit, pdu.func, pdu.isException, pdu.exceptionCode);
    const bit = pdu.dir === 0 ? 1 : 2;
    if ((ctx.talkerBits & bit) === 0) {
      ctx.talkerBits |= bit;
      const tcpDir = (pdu.dir ^ ctx.swap) as 0 | 1;
      this.counters.countTalker(ctx.flow.srcIp(tcpDir), ctx.flow.dstIp(tcpDir));
    }
    // Device identification strings are inventory evidence: decode them on the spot (rare PDUs, allocation is fine).
    if (pdu.dir === 1 && !pdu.isException && pdu.func === FC_ENCAPSULATED_INTERFACE && pdu.len > 1) {
      if (pdu.buf[pdu.off + 1] === MEI_READ_DEVICE_ID) {
        const decoded = decodeFramedPdu(pdu);
        for (const obj of decoded.objects ?? []) this.counters.addDeviceIdentification(obj.id, obj.value);
      }
    }
  }

  transaction(ctx: ModbusFlowContext, tx: ModbusTransaction): void {
    this.counters.transactions++;
    const rules = this.rules;
    if (this.events === null && rules === null) return;
    let event: SensorEvent | null = null;
    if (this.events !== null) {
      const tsSec = tx.requestTsSec >= 0 ? tx.requestTsSec : tx.responseTsSec;
      const tsNsec = tx.requestTsSec >= 0 ? tx.requestTsNsec : tx.responseTsNsec;
      event = transactionEvent(this.events, ctx.flow, tx, tx.request, tx.response, tsSec, tsNsec);
      this.events.emit(event);
    }
    // Rules see the parser's reused record; the event is built only if one matches (evidence). The subject reads
    // the times from the record (a time passed as an argument is boxed when the call is not inlined).
    // Rules only: the event is numbered as if built (its evidence takes the number), so ids match --events.
    const seq = event === null && rules !== null ? rules.factory.reserve(ctx.flow) : 0;
    if (rules?.engine.wants(K_MODBUS_TX)) {
      rules.modbusTx.set(tx, ctx.flow, event);
      rules.modbusTx.eventSeq = seq;
      rules.engine.evaluate(K_MODBUS_TX, rules.modbusTx);
    }
  }

  /** Evidence for a matched rule: the transaction event, with the details the subject decoded. */
  buildEvidence(_kind: number, subject: Subject): SensorEvent | null {
    if (!(subject instanceof ModbusTxSubject) || subject.tx === null || this.rules === null) return null;
    const flow = subject.flow as Flow;
    const tx = subject.tx;
    return transactionEvent(
      this.rules.factory,
      flow,
      tx,
      subject.request(),
      subject.response(),
      subject.tsSec,
      subject.tsNsec,
      subject.eventSeq,
    );
  }

  anomaly(ctx: ModbusFlowContext, a: ModbusAnomaly): void {
    const name = `modbus.${a.kind}`;
    this.counters.countAnomaly(name);
    if (this.events === null) {
      this.anomalyRules(ctx, a, name, null);
      return;
    }
    const fields: Record<string, unknown> = {};
    if (a.tid >= 0) fields.tid = a.tid;
    if (a.unit >= 0) fields.unit = a.unit;
    if (a.func >= 0) fields.func = a.func;
    if (a.value >= 0) fields.value = a.value;
    const event = this.events.anomaly(ctx.flow, 'modbus', name, a.dir, a.detail, a.tsSec, a.tsNsec, fields);
    this.anomalyRules(ctx, a, name, event);
  }

  private anomalyRules(ctx: ModbusFlowContext, a: ModbusAnomaly, name: string, event: SensorEvent | null): void {
    if (this.rules === null) return;
    const s = this.rules.anomalySubject.set(ctx.flow, 'modbus', name, a.dir, a.detail, a.tsSec, a.tsNsec, event);
    s.tid = a.tid;
    s.unit = a.unit;
    s.func = a.func;
    s.value = a.value;
    this.rules.anomaly(s);
  }
}

function transactionEvent(
  factory: EventFactory,
  flow: Flow,
  tx: ModbusTransaction,
  request: ModbusDecoded | null,
  response: ModbusDecoded | null,
  tsSec: number,
  tsNsec: number,
  /** From EventFactory.reserve when the event is built after the fact (evidence); 0 = numbered now. */
  seq = 0,
): SensorEvent {
  const modbus: Record<string, unknown> = {
    kind: tx.kind,
    reason: tx.reason,
    tid: tx.tid,
    unit: tx.unit,
    func: tx.func,
    funcName: tx.funcName,
    category: tx.category,
  };
  if (tx.isException) {
    modbus.exceptionCode = tx.exceptionCode;
    modbus.exceptionName = tx.exceptionName;
  }
  if (tx.rttNs >= 0) modbus.rttUs = Math.round(tx.rttNs / 1000);
  if (request) modbus.request = request;
  if (response) modbus.response = response;
  return factory.base(flow, 'modbus.transaction', 'modbus', tsSec, tsNsec, { modbus }, seq);
}
