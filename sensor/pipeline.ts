/**
 * The sensor's packet path: capture batch → link decode → flow table → TCP reassembly → protocol detection →
 * protocol parser → counters (always) and events (when a sink is attached).
 *
 * Everything per packet works on reused objects (one PacketView, flows found by numeric hash, in-order TCP payload
 * delivered as a view of the batch buffer), so the steady state allocates nothing per packet.
 */

import { BatchLoan } from '../protocols/core/batch-loan.ts';
import { ByteBudget } from '../protocols/core/byte-budget.ts';
import { LinkDecoder, type LinkDecoderOptions } from '../protocols/link/decode.ts';
import { AS_DOUBLE, DECODE_OK, PacketView } from '../protocols/link/packet-view.ts';
import { DEFAULT_TRANSACTION_TIMEOUT_SEC } from '../protocols/modbus/parser.ts';
import { probeModbus, probeModbusFraming } from '../protocols/modbus/probe.ts';
import type { ModbusParserOptions } from '../protocols/modbus/types.ts';
import type { OpcuaParserOptions } from '../protocols/opcua/types.ts';
import type { S7ParserOptions } from '../protocols/s7comm/types.ts';
import type { CompiledRuleSet } from '../rules/engine/compile.ts';
import type { RuleEngineOptions } from '../rules/engine/runtime.ts';
import { type AlertSink, RuleHook } from './alerts.ts';
import type { AppModule, FlowApp } from './apps/app.ts';
import { ModbusApp, ModbusFlowContext } from './apps/modbus-app.ts';
import { createOpcuaModule, opcuaModule } from './apps/opcua-app.ts';
import { createS7Module, s7commModule } from './apps/s7-app.ts';
import type { PacketBatch } from './capture/source.ts';
import { EventFactory, type EventSink } from './event-factory.ts';
import { FLOW_ACTIVE, type Flow } from './flow/flow.ts';
import { type FlowEndReason, type FlowListener, FlowTable, type FlowTableOptions } from './flow/flow-table.ts';
import { type StreamSink, TcpReassembler, type TcpReassemblerOptions } from './flow/tcp-reassembler.ts';
import { ModbusCounters } from './summary.ts';

/** flow.appState values: what the pipeline knows about a flow's application protocol. */
export const APP_UNDECIDED = 0;
export const APP_MODBUS = 1;
/** Probed and not a protocol we decode (or not worth probing further): bytes are dropped cheaply. */
export const APP_IGNORED = 2;
/** Decoded by one of the pipeline's other protocol modules (S7comm, OPC UA): flow.app is its FlowApp. */
export const APP_MODULE = 3;

/**
 * The protocol modules besides Modbus (which has a dedicated, pooled fast path in this file), in probe order.
 * The type parameter is erased here: each module's counters only ever meet that same module.
 */
// biome-ignore lint/suspicious/noExplicitAny: a heterogeneous list of modules, each consistent with itself
export type AnyAppModule = AppModule<any>;
export const DEFAULT_MODULES: readonly AnyAppModule[] = [s7commModule, opcuaModule];

export const MODBUS_PORT = 502;
/** Segments probed on a flow before giving up on it (a capture may start mid-ADU; the next segment usually aligns). */
const PROBE_ATTEMPTS = 4;
/** Bytes kept per direction while a probe needs more data. */
const PROBE_HOLD_BYTES = 16;
const DEFAULT_MODBUS_CONTEXT_POOL = 1024;
/** Packets between flow/transaction expiry sweeps. */
const EXPIRE_EVERY = 4096;

const DETAIL_REVERSED =
  'the endpoint on port 502 opened the TCP connection; Modbus roles follow the port (what it sends are responses)';

export interface PipelineOptions {
  sensorId?: string;
  flows?: FlowTableOptions;
  tcp?: TcpReassemblerOptions;
  link?: LinkDecoderOptions;
  modbus?: ModbusParserOptions;
  /** Where events go; null (default) counts only. */
  events?: EventSink | null;
  /**
   * Ended Modbus flow contexts (parser, buffers, request slots) kept for reuse by new flows (default 1024; 0 turns
   * pooling off). Setting one up costs several off-heap buffer allocations, more than a short connection's packets.
   */
  modbusContextPool?: number;
  /** Protocol modules besides Modbus (default: S7comm/S7comm-plus and OPC UA). */
  modules?: readonly AnyAppModule[];
  /** Per-connection caps of the default S7comm module (`--limit s7-*`; ignored when `modules` is given). */
  s7?: S7ParserOptions;
  /** Per-connection caps of the default OPC UA module (`--limit opcua-*`; ignored when `modules` is given). */
  opcua?: OpcuaParserOptions;
  /** Detection rules (rules/loader.ts); null/absent = no rule evaluation at all. */
  rules?: CompiledRuleSet | null;
  /** Where alerts go (with `rules`); default: dropped (counted in `ruleHook.engine.stats`). */
  alerts?: AlertSink | null;
  /** Caps of the rule engine's correlation / suppression state. */
  ruleEngine?: RuleEngineOptions;
  /**
   * Bytes all flows' OPC UA chunk and message buffers may hold together (default 64 MiB; buffers up to 1 KiB are
   * not counted). Each flow has its own caps too, but those times the flow table are no bound.
   */
  appBufferBytes?: number;
}

export const DEFAULT_APP_BUFFER_BYTES = 64 * 1024 * 1024;

const DISCARD_EVENTS = { emit(): void {} };
const DISCARD_ALERTS: AlertSink = { alert(): void {} };

/** Bytes a probe asked to see more of, held while the flow is undecided. Allocated only in that case. */
class ProbeState {
  readonly held = [new Uint8Array(PROBE_HOLD_BYTES), new Uint8Array(PROBE_HOLD_BYTES)] as const;
  readonly heldLen = [0, 0];
  attempts = 0;
}

export class PipelineStats {
  packets = 0;
  /** Starts as a double (AS_DOUBLE, then 0 in the constructor): see AS_DOUBLE in packet-view.ts. */
  bytes = AS_DOUBLE;
  decodeErrors = 0;
  notIp = 0;
  tcpPackets = 0;
  udpPackets = 0;
  otherIpPackets = 0;
  modbusFlows = 0;
  ignoredFlows = 0;
  /** Flows on the Modbus port whose bytes are not Modbus (the parser is not run on them). */
  nonModbusOnModbusPort = 0;
  /** Flows decoded by each other module, and flows on a module's registered port that are not its protocol. */
  moduleFlows: Record<string, number> = {};
  unexpectedOnRegisteredPort: Record<string, number> = {};
  /** TCP bytes lost inside flows of each protocol (the parse-health figure of the health report). */
  gapBytesByProto: Record<string, number> = {};
  lastTsSec = AS_DOUBLE;

  constructor() {
    this.bytes = 0;
    this.lastTsSec = 0;
  }
}

/**
 * The flow table's and reassembler's callbacks into a pipeline. A class, not an object of arrow functions: the
 * reassembler's hot path calls `sink.data` once per segment, and V8 inlines that call for the one function it has
 * seen. Fresh closures per Pipeline are new call targets, so every pipeline after the first in a process (each
 * benchmark pass, each file of a multi-file run) deoptimised the reassembler; prototype methods are one target.
 */
class PipelineCallbacks implements StreamSink, FlowListener {
  constructor(private readonly pipeline: Pipeline) {}

  data(flow: Flow, dir: 0 | 1, buf: Uint8Array, off: number, len: number, tsSec: number, tsNsec: number): void {
    this.pipeline.onData(flow, dir, buf, off, len, tsSec, tsNsec);
  }

  gap(flow: Flow, dir: 0 | 1, bytes: number): void {
    this.pipeline.onGap(flow, dir, bytes);
  }

  flowEnd(flow: Flow, reason: FlowEndReason, tsSec: number): void {
    this.pipeline.onFlowEnd(flow, reason, tsSec);
  }
}

export class Pipeline {
  readonly stats = new PipelineStats();
  readonly modbus = new ModbusCounters();
  readonly link: LinkDecoder;
  readonly flows: FlowTable;
  readonly tcp: TcpReassembler;

  private readonly view = new PacketView();
  private readonly events: EventFactory | null;
  /** Rule evaluation (null when the pipeline runs without rules). */
  readonly ruleHook: RuleHook | null;
  /** Shared budget of the protocol modules' reassembly buffers (used, peak, refused). */
  readonly appBuffers: ByteBudget;
  /** The batch buffer lent to parsers while a batch is processed (core/batch-loan.ts). */
  readonly loan = new BatchLoan();
  private readonly modbusApp: ModbusApp;
  private readonly modbusOptions: ModbusParserOptions;
  /**
   * Live Modbus contexts in creation order, for transaction expiry sweeps: an intrusive list (ctx.livePrev/Next)
   * rather than a Set, whose iteration allocated an iterator result per context per sweep until optimised.
   */
  private liveHead: ModbusFlowContext | null = null;
  private liveTail: ModbusFlowContext | null = null;
  /** Ended contexts waiting for reuse (see PipelineOptions.modbusContextPool). */
  private readonly contextPool: ModbusFlowContext[] = [];
  private readonly contextPoolMax: number;
  private sinceExpire = 0;
  /**
   * Skipping Modbus transaction sweeps that cannot expire anything (walking every live context cost more than all
   * flow bookkeeping): a lower bound of the time of every open request — the oldest one open at the last sweep, and
   * the earliest packet time since (requests are stamped with their packet's time, which may step back).
   */
  private oldestOpenAtSweep = Number.POSITIVE_INFINITY;
  private earliestSinceSweep = Number.POSITIVE_INFINITY;
  private readonly txTimeoutSec: number;
  readonly modules: readonly AnyAppModule[];
  /** Per-module counters, parallel to `modules`. */
  readonly moduleCounters: unknown[];
  /** Live FlowApps of the other modules (expiry sweeps walk them every EXPIRE_EVERY packets). */
  private readonly liveApps = new Set<FlowApp>();

  constructor(options: PipelineOptions = {}) {
    const sink = options.events ?? null;
    this.events = sink === null ? null : new EventFactory(options.sensorId ?? 'local', sink);
    this.appBuffers = new ByteBudget(options.appBufferBytes ?? DEFAULT_APP_BUFFER_BYTES);
    const rules = options.rules ?? null;
    // Evidence for alerts is built by the events factory when there is one (same event ids as --events), else by
    // a factory whose events go nowhere but into the alerts.
    this.ruleHook =
      rules === null
        ? null
        : new RuleHook(
            rules,
            options.alerts ?? DISCARD_ALERTS,
            this.events ?? new EventFactory(options.sensorId ?? 'local', DISCARD_EVENTS),
            options.ruleEngine,
          );
    this.link = new LinkDecoder(options.link);
    const callbacks = new PipelineCallbacks(this);
    this.flows = new FlowTable(options.flows, callbacks);
    this.tcp = new TcpReassembler(this.flows, callbacks, options.tcp);
    // Detailed decoding of each transaction costs allocations; do it only when events are wanted.
    this.modbusOptions = { decode: sink !== null, ...options.modbus };
    this.txTimeoutSec = this.modbusOptions.transactionTimeoutSec ?? DEFAULT_TRANSACTION_TIMEOUT_SEC;
    this.modbusApp = new ModbusApp(this.modbus, this.events, this.ruleHook);
    const poolMax = options.modbusContextPool ?? DEFAULT_MODBUS_CONTEXT_POOL;
    if (!Number.isInteger(poolMax) || poolMax < 0) {
      throw new RangeError(`Pipeline: modbusContextPool must be an integer ≥ 0, got ${poolMax}`);
    }
    this.contextPoolMax = poolMax;
    this.modules =
      options.modules ??
      (options.s7 === undefined && options.opcua === undefined
        ? DEFAULT_MODULES
        : [createS7Module(options.s7), createOpcuaModule(options.opcua)]);
    this.moduleCounters = this.modules.map((m) => m.createCounters());
    for (const m of this.modules) this.stats.moduleFlows[m.name] = 0;
  }

  /** Top-level summary sections of the other modules (`cotp`, `s7comm`, `s7comm_plus`, `opcua`, ...). */
  sections(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    this.modules.forEach((m, i) => {
      Object.assign(out, m.summarise(this.moduleCounters[i]));
    });
    return out;
  }

  processBatch(batch: PacketBatch): void {
    // Parsers may keep request bytes by reference into the batch buffer until the batch ends (core/batch-loan.ts);
    // end() has them copy what is still open before the source reuses the buffer, even if a packet threw.
    this.loan.begin(batch.data);
    try {
      this.processPackets(batch);
    } finally {
      this.loan.end();
    }
  }

  private processPackets(batch: PacketBatch): void {
    const view = this.view;
    const link = this.link;
    const flows = this.flows;
    const tcp = this.tcp;
    const data = batch.data;
    const st = this.stats;
    // The batch's columns in locals: the calls below could, as far as the compiler knows, change `batch`, so field
    // loads inside the loop would be repeated for every packet.
    const tsSecs = batch.tsSec;
    const tsNsecs = batch.tsNsec;
    const caplens = batch.caplen;
    const offsets = batch.offset;
    const linkTypes = batch.linkType;
    const count = batch.count;
    for (let i = 0; i < count; i++) {
      const tsSec = tsSecs[i] ?? 0;
      const tsNsec = tsNsecs[i] ?? 0;
      const caplen = caplens[i] ?? 0;
      st.packets++;
      st.bytes += caplen;
      const status = link.decode(linkTypes[i] ?? 0, data, offsets[i] ?? 0, caplen, tsSec, view);
      if (status !== DECODE_OK) {
        if (status === 1) st.notIp++;
        else if (status !== 5) st.decodeErrors++;
        continue;
      }
      st.lastTsSec = tsSec;
      if (tsSec < this.earliestSinceSweep) this.earliestSinceSweep = tsSec;
      const proto = view.ipProto;
      if (proto === 6) {
        st.tcpPackets++;
        const flow = flows.lookup(view, tsSec, tsNsec);
        tcp.handle(flow, flow.lastDir, view, tsSec, tsNsec);
      } else if (proto === 17) {
        st.udpPackets++;
        flows.lookup(view, tsSec, tsNsec);
      } else {
        st.otherIpPackets++;
      }
      if (++this.sinceExpire >= EXPIRE_EVERY) this.expire(tsSec);
    }
  }

  /** Ends every flow (flushing parsers: open requests become unanswered). Call once at the end of the input. */
  finish(): void {
    this.flows.flush(this.stats.lastTsSec);
    this.ruleHook?.engine.flush();
  }

  /** Live reload: swaps the rule set (call between batches). No-op for a pipeline built without rules. */
  setRules(set: CompiledRuleSet): void {
    this.ruleHook?.replace(set);
  }

  private expire(tsSec: number): void {
    this.sinceExpire = 0;
    this.flows.expire(tsSec);
    // Same test as ModbusParser.expire, on a bound of every context's oldest request: false means none is due.
    if (!(tsSec - Math.min(this.oldestOpenAtSweep, this.earliestSinceSweep) <= this.txTimeoutSec)) {
      let oldest = Number.POSITIVE_INFINITY;
      for (let ctx = this.liveHead; ctx !== null; ctx = ctx.liveNext) {
        ctx.parser.expire(tsSec);
        const t = ctx.parser.oldestOpenSec();
        if (t < oldest) oldest = t;
      }
      this.oldestOpenAtSweep = oldest;
      this.earliestSinceSweep = Number.POSITIVE_INFINITY;
    }
    for (const app of this.liveApps) app.expire(tsSec);
    this.ruleHook?.engine.sweep(tsSec);
  }

  /** @internal TCP payload of a flow (via PipelineCallbacks). */
  onData(flow: Flow, dir: 0 | 1, buf: Uint8Array, off: number, len: number, tsSec: number, tsNsec: number): void {
    const state = flow.appState;
    if (state === APP_MODBUS) {
      const ctx = flow.app as ModbusFlowContext;
      ctx.parser.data((dir ^ ctx.swap) as 0 | 1, buf, off, len, tsSec, tsNsec);
    } else if (state === APP_MODULE) {
      (flow.app as FlowApp).data(dir, buf, off, len, tsSec, tsNsec);
    } else if (state === APP_UNDECIDED) {
      this.detect(flow, dir, buf, off, len, tsSec, tsNsec);
    }
  }

  /** @internal Bytes lost in a flow (via PipelineCallbacks). */
  onGap(flow: Flow, dir: 0 | 1, bytes: number): void {
    if (flow.appProto !== null) {
      const byProto = this.stats.gapBytesByProto;
      byProto[flow.appProto] = (byProto[flow.appProto] ?? 0) + bytes;
    }
    if (flow.appState === APP_MODBUS) {
      const ctx = flow.app as ModbusFlowContext;
      ctx.parser.gap((dir ^ ctx.swap) as 0 | 1, bytes);
    } else if (flow.appState === APP_MODULE) {
      (flow.app as FlowApp).gap(dir, bytes);
    } else if (flow.appState === APP_UNDECIDED && flow.app instanceof ProbeState) {
      flow.app.heldLen[dir] = 0; // held bytes no longer join up with what follows
    }
  }

  /**
   * Protocol detection by payload probe, with the port as a hint: Modbus/TCP is recognised on any port (the
   * benchmark capture uses 15020), and bytes on port 502 that do not look like Modbus are never fed to the parser.
   */
  private detect(
    flow: Flow,
    dir: 0 | 1,
    buf: Uint8Array,
    off: number,
    len: number,
    tsSec: number,
    tsNsec: number,
  ): void {
    let probeBuf = buf;
    let probeOff = off;
    let probeLen = len;
    const probe = flow.app instanceof ProbeState ? flow.app : null;
    const held = probe === null ? 0 : (probe.heldLen[dir] ?? 0);
    if (probe !== null && held > 0) {
      // Rare: the previous segment was too short to decide. Join it with the start of this one (copy is bounded).
      const joined = new Uint8Array(held + Math.min(len, PROBE_HOLD_BYTES));
      joined.set(probe.held[dir].subarray(0, held));
      joined.set(buf.subarray(off, off + joined.length - held), held);
      probeBuf = joined;
      probeOff = 0;
      probeLen = joined.length;
    }
    const onModbusPort = flow.serverPort === MODBUS_PORT || flow.clientPort === MODBUS_PORT;
    let verdict = onModbusPort
      ? probeModbusFraming(probeBuf, probeOff, probeLen)
      : probeModbus(probeBuf, probeOff, probeLen);
    if (verdict !== 1) {
      // The other modules: the one whose registered port the flow uses first (it may be lenient there).
      const registered = this.registeredModule(flow);
      let chosen = -1;
      let needMore = verdict === 2;
      for (let pass = 0; pass < 2 && chosen < 0; pass++) {
        for (let i = 0; i < this.modules.length; i++) {
          const isRegistered = i === registered;
          if ((pass === 0) !== isRegistered) continue;
          const m = this.modules[i];
          if (m === undefined) continue;
          const v = m.probe(probeBuf, probeOff, probeLen, isRegistered);
          if (v === 1) {
            chosen = i;
            break;
          }
          if (v === 2) needMore = true;
        }
      }
      if (chosen >= 0) {
        this.startModule(flow, chosen, dir, probe, held, buf, off, len, tsSec, tsNsec);
        return;
      }
      verdict = needMore ? 2 : 0;
    }
    if (verdict === 1) {
      const swap = flow.clientPort === MODBUS_PORT && flow.serverPort !== MODBUS_PORT ? 1 : 0;
      const pooled = this.contextPool.pop();
      let ctx: ModbusFlowContext;
      if (pooled === undefined) ctx = new ModbusFlowContext(flow, this.modbusApp, this.modbusOptions, swap);
      else {
        ctx = pooled;
        ctx.rebind(flow, swap);
      }
      ctx.parser.connectionStartSeen = flow.handshakeSeen;
      flow.app = ctx;
      flow.appProto = 'modbus';
      flow.appState = APP_MODBUS;
      this.liveAdd(ctx);
      this.stats.modbusFlows++;
      if (swap === 1) {
        this.modbus.countAnomaly('modbus.reversed_roles');
        const ev = this.events?.anomaly(flow, 'modbus', 'modbus.reversed_roles', null, DETAIL_REVERSED, tsSec, tsNsec);
        this.ruleHook?.simpleAnomaly(
          flow,
          'modbus',
          'modbus.reversed_roles',
          null,
          DETAIL_REVERSED,
          tsSec,
          tsNsec,
          ev ?? null,
        );
      }
      const mdir = (dir ^ swap) as 0 | 1;
      if (probe !== null) {
        // Bytes held from the other direction (a start too short to probe) arrived earlier: they go first.
        const other = (1 - dir) as 0 | 1;
        const heldOther = probe.heldLen[other] ?? 0;
        if (heldOther > 0) ctx.parser.data((other ^ swap) as 0 | 1, probe.held[other], 0, heldOther, tsSec, tsNsec);
        if (held > 0) ctx.parser.data(mdir, probe.held[dir], 0, held, tsSec, tsNsec);
      }
      ctx.parser.data(mdir, buf, off, len, tsSec, tsNsec);
      return;
    }
    const state = probe ?? new ProbeState();
    flow.app = state;
    if (verdict === 2 && held + len <= PROBE_HOLD_BYTES) {
      state.held[dir].set(buf.subarray(off, off + len), held);
      state.heldLen[dir] = held + len;
      return;
    }
    state.heldLen[dir] = 0;
    if (++state.attempts < PROBE_ATTEMPTS) return;
    flow.appState = APP_IGNORED;
    flow.app = null;
    this.stats.ignoredFlows++;
    const registered = this.registeredModule(flow);
    const module = registered >= 0 ? this.modules[registered] : undefined;
    if (module !== undefined && !onModbusPort) {
      const name = `${module.name}.unexpected_protocol`;
      this.stats.unexpectedOnRegisteredPort[module.name] =
        (this.stats.unexpectedOnRegisteredPort[module.name] ?? 0) + 1;
      const detail = `traffic on the ${module.name} port does not parse as ${module.name}; not decoded`;
      const ev = this.events?.anomaly(flow, module.name, name, dir, detail, tsSec, tsNsec);
      this.ruleHook?.simpleAnomaly(flow, module.name, name, dir, detail, tsSec, tsNsec, ev ?? null);
    }
    if (onModbusPort) {
      this.stats.nonModbusOnModbusPort++;
      this.modbus.countAnomaly('modbus.non_modbus_traffic');
      const detail = 'traffic on the Modbus/TCP port does not parse as Modbus/TCP; not decoded';
      const ev = this.events?.anomaly(flow, 'modbus', 'modbus.non_modbus_traffic', dir, detail, tsSec, tsNsec);
      this.ruleHook?.simpleAnomaly(flow, 'modbus', 'modbus.non_modbus_traffic', dir, detail, tsSec, tsNsec, ev ?? null);
    }
  }

  /** Index of the module whose registered port this flow uses (either side), or -1. */
  private registeredModule(flow: Flow): number {
    for (let i = 0; i < this.modules.length; i++) {
      const ports = this.modules[i]?.ports ?? [];
      if (ports.includes(flow.serverPort) || ports.includes(flow.clientPort)) return i;
    }
    return -1;
  }

  private startModule(
    flow: Flow,
    index: number,
    dir: 0 | 1,
    probe: ProbeState | null,
    held: number,
    buf: Uint8Array,
    off: number,
    len: number,
    tsSec: number,
    tsNsec: number,
  ): void {
    const module = this.modules[index] as AnyAppModule;
    const app = module.createFlowApp(flow, {
      counters: this.moduleCounters[index],
      events: this.events,
      rules: this.ruleHook,
      buffers: this.appBuffers,
      loan: this.loan,
    });
    flow.app = app;
    flow.appProto = module.name;
    flow.appState = APP_MODULE;
    this.liveApps.add(app);
    this.stats.moduleFlows[module.name] = (this.stats.moduleFlows[module.name] ?? 0) + 1;
    if (probe !== null) {
      // Bytes held from the other direction (a start too short to probe) arrived earlier: they go first.
      const other = (1 - dir) as 0 | 1;
      const heldOther = probe.heldLen[other] ?? 0;
      if (heldOther > 0) app.data(other, probe.held[other], 0, heldOther, tsSec, tsNsec);
      if (held > 0) app.data(dir, probe.held[dir], 0, held, tsSec, tsNsec);
    }
    app.data(dir, buf, off, len, tsSec, tsNsec);
  }

  private liveAdd(ctx: ModbusFlowContext): void {
    ctx.liveNext = null;
    ctx.livePrev = this.liveTail;
    if (this.liveTail !== null) this.liveTail.liveNext = ctx;
    else this.liveHead = ctx;
    this.liveTail = ctx;
  }

  private liveRemove(ctx: ModbusFlowContext): void {
    if (ctx.livePrev !== null) ctx.livePrev.liveNext = ctx.liveNext;
    else this.liveHead = ctx.liveNext;
    if (ctx.liveNext !== null) ctx.liveNext.livePrev = ctx.livePrev;
    else this.liveTail = ctx.livePrev;
    ctx.livePrev = null;
    ctx.liveNext = null;
  }

  /** @internal A flow left the table (via PipelineCallbacks). */
  onFlowEnd(flow: Flow, reason: FlowEndReason, tsSec: number): void {
    // 'shutdown' is the end of the input (finish()): for a connection still open then, not the end of the connection.
    const captureEnded = reason === 'shutdown' && flow.state === FLOW_ACTIVE;
    if (flow.appState === APP_MODBUS) {
      const ctx = flow.app as ModbusFlowContext;
      ctx.parser.end(tsSec, captureEnded);
      this.liveRemove(ctx);
      if (this.contextPool.length < this.contextPoolMax) this.contextPool.push(ctx);
    } else if (flow.appState === APP_MODULE) {
      const app = flow.app as FlowApp;
      app.end(tsSec, captureEnded);
      this.liveApps.delete(app);
    }
    flow.app = null;
  }
}
