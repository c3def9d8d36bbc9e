/**
 * Builds schema-v1 events (protocols/wire/events.ts) for a flow and hands them to a sink. Only used when someone
 * wants events (`--events`, later the outbox): the counting path never calls it.
 */
import { EVENT_SCHEMA_VERSION, type EventKind, formatEventTime, type SensorEvent } from '../protocols/wire/events.ts';
import type { Flow } from './flow/flow.ts';

export interface EventSink {
  emit(event: SensorEvent): void;
}

type Proto = SensorEvent['proto'];

export class EventFactory {
  /** Per-flow event counters: event ids are `<flow id>:<n>`, deterministic on replay. */
  private readonly counters = new WeakMap<Flow, number>();

  constructor(
    private readonly sensorId: string,
    private readonly sink: EventSink,
  ) {}

  emit(event: SensorEvent): void {
    this.sink.emit(event);
  }

  base<K extends EventKind, X extends object>(
    flow: Flow,
    kind: K,
    proto: Proto,
    tsSec: number,
    tsNsec: number,
    extra: X,
  ): SensorEvent {
    const n = (this.counters.get(flow) ?? 0) + 1;
    this.counters.set(flow, n);
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
