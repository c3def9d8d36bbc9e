/**
 * Builds schema-v1 events (protocols/wire/events.ts) for a flow and hands them to a sink. Used when someone wants
 * events (`--events`, the outbox) and, with rules only, for the evidence of alerts (numbered by `reserve` where the
 * event would have been built): the counting path never calls it. Event ids are `<flow id>:<n>`, deterministic on
 * replay and the same in both modes.
 */
import { EVENT_SCHEMA_VERSION, type EventKind, formatEventTime, type SensorEvent } from '../protocols/wire/events.ts';
import type { Flow } from './flow/flow.ts';

export interface EventSink {
  emit(event: SensorEvent): void;
}

type Proto = SensorEvent['proto'];

export class EventFactory {
  constructor(
    private readonly sensorId: string,
    private readonly sink: EventSink,
  ) {}

  emit(event: SensorEvent): void {
    this.sink.emit(event);
  }

  /**
   * Numbers an event that is not built now (rules only, no events): the next number of `flow`, which the record's
   * evidence takes if a rule raises an alert on it. So an alert's evidence id is the id the event has when events
   * are on: `otsensor read --alerts` and a publishing sensor (which builds every event) name the same ids.
   */
  reserve(flow: Flow): number {
    flow.eventSeq++;
    return flow.eventSeq;
  }

  base<K extends EventKind, X extends object>(
    flow: Flow,
    kind: K,
    proto: Proto,
    tsSec: number,
    tsNsec: number,
    extra: X,
    /** A number from `reserve` (evidence built after the fact); 0: the next number of the flow. */
    seq = 0,
  ): SensorEvent {
    const n = seq > 0 ? seq : this.reserve(flow);
    const client: { ip: string; port: number; mac?: string } = { ip: flow.clientIp, port: flow.clientPort };
    const server: { ip: string; port: number; mac?: string } = { ip: flow.serverIp, port: flow.serverPort };
    const cmac = flow.clientMacText;
    const smac = flow.serverMacText;
    if (cmac !== null) client.mac = cmac;
    if (smac !== null) server.mac = smac;
    const event = {
      v: EVENT_SCHEMA_VERSION,
      kind,
      id: `${flow.id}:${n}`,
      sensor: this.sensorId,
      flow: flow.id,
      ts: formatEventTime(tsSec, tsNsec),
      tsNs: tsNsec,
      client,
      server,
      ...(flow.vlanOuter >= 0 ? { vlan: flow.vlanOuter } : {}),
      proto,
      ...extra,
    };
    return event as unknown as SensorEvent;
  }

  anomaly(
    flow: Flow,
    protocol: string,
    name: string,
    dir: 0 | 1 | null,
    detail: string,
    tsSec: number,
    tsNsec: number,
    fields?: Record<string, unknown>,
  ): SensorEvent {
    const anomaly = { name, protocol, dir, detail, ...(fields && Object.keys(fields).length > 0 ? { fields } : {}) };
    const proto = (flow.appProto ?? (flow.proto === 17 ? 'udp' : 'tcp')) as Proto;
    const event = this.base(flow, 'anomaly', proto, tsSec, tsNsec, { anomaly });
    this.sink.emit(event);
    return event;
  }
}
