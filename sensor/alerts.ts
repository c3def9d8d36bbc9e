/**
 * The sensor side of the rule engine: `RuleHook` (one per pipeline) holds the running RuleEngine, the reused
 * subjects the protocol modules fill, and the event factory that builds evidence; `alertEvent` turns an engine
 * alert into the schema-v1 `alert` event printed by `--alerts`.
 */
import { type AlertEvent, EVENT_SCHEMA_VERSION, formatEventTime, type SensorEvent } from '../protocols/wire/events.ts';
import type { CompiledRuleSet } from '../rules/engine/compile.ts';
import { type AlertSink, type RuleAlert, RuleEngine, type RuleEngineOptions } from '../rules/engine/runtime.ts';
import {
  AnomalySubject,
  anomalyKind,
  type EvidenceBuilder,
  K_ANOMALY_OPCUA,
  K_OPCUA_CHANNEL,
  K_OPCUA_SESSION,
  K_OPCUA_TRANSPORT,
  K_OPCUA_TX,
  ModbusTxSubject,
  OpcuaTxSubject,
  RecordSubject,
  S7PlusSubject,
  S7TxSubject,
  type Subject,
} from '../rules/engine/subjects.ts';
import type { EventFactory } from './event-factory.ts';
import type { Flow } from './flow/flow.ts';

export type { AlertSink, RuleAlert } from '../rules/engine/runtime.ts';

const OPCUA_KINDS = [K_OPCUA_TX, K_OPCUA_CHANNEL, K_OPCUA_SESSION, K_OPCUA_TRANSPORT, K_ANOMALY_OPCUA];

export class RuleHook implements EvidenceBuilder {
  engine: RuleEngine;
  readonly modbusTx = new ModbusTxSubject();
  readonly s7Tx = new S7TxSubject();
  readonly s7Plus = new S7PlusSubject();
  readonly opcuaTx = new OpcuaTxSubject();
  /** COTP connects and the rare OPC UA messages: a flat record the module builds. */
  readonly record = new RecordSubject();
  readonly anomalySubject = new AnomalySubject();

  constructor(
    set: CompiledRuleSet,
    readonly sink: AlertSink,
    /** Builds evidence events (the pipeline's own factory when events are on). */
    readonly factory: EventFactory,
    readonly options: RuleEngineOptions = {},
  ) {
    this.engine = new RuleEngine(set, sink, options);
    this.anomalySubject.builder = this;
  }

  /** Alerts raised by engines replaced by live reloads (the current engine counts its own). */
  private readonly pastByLevel = new Map<string, number>();
  private readonly pastByRule = new Map<string, number>();

  /** Swaps in a new rule set between batches (live reload): the old engine's open windows close first. */
  replace(set: CompiledRuleSet): void {
    this.engine.flush();
    mergeCounts(this.pastByLevel, this.engine.stats.byLevel);
    mergeCounts(this.pastByRule, this.engine.stats.byRule);
    this.engine = new RuleEngine(set, this.sink, this.options);
  }

  /** Alerts so far by level and by rule id (over reloads). */
  alertCounts(): { byLevel: Map<string, number>; byRule: Map<string, number> } {
    const byLevel = new Map(this.pastByLevel);
    const byRule = new Map(this.pastByRule);
    mergeCounts(byLevel, this.engine.stats.byLevel);
    mergeCounts(byRule, this.engine.stats.byRule);
    return { byLevel, byRule };
  }

  /** OPC UA parsers must decode bodies when a rule looks at OPC UA. */
  wantsOpcua(): boolean {
    return this.engine.wantsAny(OPCUA_KINDS);
  }

  /** Evaluates the anomaly the subject was filled with (`anomalySubject.set(...)` then extra fields). */
  anomaly(s: AnomalySubject): void {
    // Without an event (rules only), the anomaly is numbered as its event would be: see EventFactory.reserve.
    if (s.event === null) s.eventSeq = this.factory.reserve(s.flow as Flow);
    const kind = anomalyKind(s.protocol);
    if (kind >= 0 && this.engine.wants(kind)) this.engine.evaluate(kind, s);
  }

  /** Convenience for the pipeline-level anomalies (no protocol numbers). */
  simpleAnomaly(
    flow: Flow,
    protocol: string,
    name: string,
    dir: 0 | 1 | null,
    detail: string,
    tsSec: number,
    tsNsec: number,
    event: SensorEvent | null,
  ): void {
    const s = this.anomalySubject.set(flow, protocol, name, dir, detail, tsSec, tsNsec, event);
    if (event === null) s.eventSeq = this.factory.reserve(flow);
    const kind = anomalyKind(protocol);
    if (kind < 0 || !this.engine.wants(kind)) return;
    this.engine.evaluate(kind, s);
  }

  /** Evidence for anomalies (the only subject the hook itself builds). */
  buildEvidence(_kind: number, subject: Subject): SensorEvent | null {
    if (!(subject instanceof AnomalySubject)) return null;
    const a = subject;
    const fields: Record<string, unknown> = {};
    if (a.tid >= 0) fields.tid = a.tid;
    if (a.unit >= 0) fields.unit = a.unit;
    if (a.func >= 0) fields.func = a.func;
    if (a.pduRef >= 0) fields.pduRef = a.pduRef;
    if (a.requestId >= 0) fields.requestId = a.requestId;
    if (a.service >= 0) {
      fields.service = a.service;
      fields.serviceName = a.serviceName;
    }
    if (a.value >= 0) fields.value = a.value;
    const flow = a.flow as Flow;
    const anomaly = {
      name: a.name,
      protocol: a.protocol,
      dir: a.dir < 0 ? null : a.dir,
      detail: a.detail,
      ...(Object.keys(fields).length > 0 ? { fields } : {}),
    };
    const proto = (flow.appProto ?? (flow.proto === 17 ? 'udp' : 'tcp')) as SensorEvent['proto'];
    return this.factory.base(flow, 'anomaly', proto, a.tsSec, a.tsNsec, { anomaly }, a.eventSeq);
  }
}

/** The schema-v1 `alert` event for an engine alert. */
export function alertEvent(a: RuleAlert, sensorId: string): AlertEvent {
  const ev = a.event;
  const r = a.rule;
  const alert: AlertEvent['alert'] = {
    rule: { id: r.id, title: r.title, level: r.level, status: r.status, tags: r.tags },
    count: a.count,
    matched: a.matched,
  };
  if (a.correlation !== undefined) alert.correlation = a.correlation;
  if (a.suppressed !== undefined) {
    alert.suppressed = true;
    alert.firstTs = formatEventTime(a.suppressed.firstTsSec, a.suppressed.firstTsNsec);
    alert.lastTs = formatEventTime(a.suppressed.lastTsSec, a.suppressed.lastTsNsec);
  }
  if (ev !== null) alert.event = ev;
  const base = ev?.id ?? `${a.flowId}@${a.tsSec}.${a.tsNsec}`;
  const out: AlertEvent = {
    v: EVENT_SCHEMA_VERSION,
    kind: 'alert',
    id: `${r.id}@${base}${a.suppressed !== undefined ? `+${a.count}` : ''}`,
    sensor: ev?.sensor ?? sensorId,
    flow: a.flowId,
    ts: formatEventTime(a.tsSec, a.tsNsec),
    tsNs: a.tsNsec,
    client: ev?.client ?? a.client,
    server: ev?.server ?? a.server,
    proto: ev?.proto ?? 'tcp',
    alert,
  };
  if (ev?.vlan !== undefined) out.vlan = ev.vlan;
  return out;
}

/** Collects alerts in memory (tests, `rules test`). */
export class CollectingAlertSink implements AlertSink {
  readonly alerts: RuleAlert[] = [];
  alert(a: RuleAlert): void {
    this.alerts.push(a);
  }
}

/** `alerts` section of `--summary`: counts by level and by rule id (sorted keys). */
export function alertSummary(
  byLevel: Map<string, number>,
  byRule: Map<string, number>,
): {
  total: number;
  by_level: Record<string, number>;
  by_rule: Record<string, number>;
} {
  let total = 0;
  for (const n of byLevel.values()) total += n;
  const sorted = (m: Map<string, number>) => Object.fromEntries([...m].sort((a, b) => (a[0] < b[0] ? -1 : 1)));
  return { total, by_level: sorted(byLevel), by_rule: sorted(byRule) };
}

export function mergeCounts(into: Map<string, number>, from: Map<string, number>): void {
  for (const [k, n] of from) into.set(k, (into.get(k) ?? 0) + n);
}
