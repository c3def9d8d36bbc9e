/**
 * The sensor's event schema: one typed, versioned contract shared by the sensor (which emits these as JSON lines and
 * later over NATS) and the collector (which validates and stores them).
 *
 * Rules of the contract:
 * - `v` is the schema version; a breaking change bumps it and the collector accepts both for a transition period.
 * - Every raw protocol code travels with its decoded name (`func: 3, funcName: 'Read Holding Registers'`).
 * - Ids are deterministic (`<flow id>:<counter>`), never random, so replays produce identical output.
 * - Times are ISO-8601 UTC strings with microseconds plus the exact nanosecond remainder in `tsNs`
 *   (pcapng can carry nanoseconds; a JS number cannot hold epoch nanoseconds exactly).
 */
export const EVENT_SCHEMA_VERSION = 1 as const;

export interface Endpoint {
  ip: string;
  port: number;
  mac?: string;
}

/** Every event kind of schema v1 (a runtime list, so validators and tests share one source). */
export const EVENT_KINDS = [
  'modbus.transaction',
  's7comm.transaction',
  's7comm_plus.frame',
  'cotp.connect',
  'opcua.transaction',
  'opcua.transport',
  'opcua.secure_channel',
  'opcua.session',
  'anomaly',
  'flow.start',
  'flow.end',
  'asset.change',
  'alert',
] as const;

export type EventKind = (typeof EVENT_KINDS)[number];

export interface EventBase {
  v: typeof EVENT_SCHEMA_VERSION;
  kind: EventKind;
  /** `<flow id>:<per-flow counter>`: unique within a sensor, identical on replay. */
  id: string;
  sensor: string;
  flow: string;
  /** Packet time of the event, ISO-8601 UTC with microseconds. */
  ts: string;
  /** Nanoseconds within the second of `ts` (exact, for pcapng nanosecond captures). */
  tsNs: number;
  /** Client (initiator) and server side of the flow. */
  client: Endpoint;
  server: Endpoint;
  vlan?: number;
  /** Application protocol of the flow. */
  proto: 'modbus' | 's7comm' | 's7comm-plus' | 'opcua' | 'tcp' | 'udp';
}

export interface ModbusTransactionEvent extends EventBase {
  kind: 'modbus.transaction';
  proto: 'modbus';
  /** Decoded request/response pair; shape owned by protocols/modbus/types.ts. */
  modbus: Record<string, unknown>;
}

export interface AnomalyEvent extends EventBase {
  kind: 'anomaly';
  anomaly: {
    /** `<protocol>.<kind>`, e.g. `modbus.invalid_length`, `tcp.gap`. */
    name: string;
    protocol: string;
    /** 0 = client→server, 1 = server→client, null when not tied to a direction. */
    dir: 0 | 1 | null;
    detail: string;
    /** Protocol specifics (transaction id, unit id, function code and name, ...). */
    fields?: Record<string, unknown>;
  };
}

export interface FlowEvent extends EventBase {
  kind: 'flow.start' | 'flow.end';
  flowStats?: {
    packets: [number, number];
    bytes: [number, number];
    reason?: string;
  };
}

/**
 * S7comm request/response pair (or an unanswered request, unsolicited response, userdata push): raw codes with names,
 * decoded request and response (items, blocks, PI service, userdata group/subfunction, SZL records), and `identity`
 * facts (SZL 0x0011 order numbers / versions, 0x001C names and serials) as asset-inventory evidence. Shape owned by
 * sensor/apps/s7-app.ts and protocols/s7comm/decode.ts.
 */
export interface S7TransactionEvent extends EventBase {
  kind: 's7comm.transaction';
  proto: 's7comm';
  s7comm: Record<string, unknown>;
}

/** One S7comm-plus frame: version, opcode, function, sequence, session id, integrity part, decodable or not. */
export interface S7PlusFrameEvent extends EventBase {
  kind: 's7comm_plus.frame';
  proto: 's7comm-plus';
  s7plus: Record<string, unknown>;
}

/** COTP connection request / confirm with TSAPs (and rack/slot where the TSAP encodes them). */
export interface CotpConnectEvent extends EventBase {
  kind: 'cotp.connect';
  proto: 's7comm';
  cotp: Record<string, unknown>;
}

/**
 * OPC UA events (shapes owned by sensor/apps/opcua-app.ts and protocols/opcua/decode.ts). Raw codes travel with their
 * names (service NodeId + type name, StatusCode + symbolic name). Secrets never appear: passwords, token data,
 * nonces and signatures are reported as presence and length only.
 * - `opcua.transaction`: a request paired with its response by requestId (or unanswered / unsolicited), with the
 *   decoded bodies when readable (Read/Write node ids and values, Call, Browse, endpoints, ...).
 * - `opcua.transport`: Hello / Acknowledge / ReverseHello (buffer sizes, endpoint URL) and Error (status + reason).
 * - `opcua.secure_channel`: OpenSecureChannel request/response (policy URI, sender certificate facts, receiver
 *   thumbprint, security mode and lifetime when readable, channel and token ids) and CloseSecureChannel.
 * - `opcua.session`: ActivateSession outcome with the identity token type (Anonymous / UserName / X509 /
 *   IssuedToken), user name, whether a password is present and its encryption algorithm, and the channel's policy.
 */
export interface OpcuaEvent extends EventBase {
  kind: 'opcua.transaction' | 'opcua.transport' | 'opcua.secure_channel' | 'opcua.session';
  proto: 'opcua';
  opcua: Record<string, unknown>;
}

/**
 * A change in the passive asset inventory (sensor/inventory, docs/inventory.md): new asset, new MAC for a known IP,
 * identity (firmware, module, ...) changed, new master talking to a controller, asset not seen for a while, a
 * vulnerable-firmware advisory match. The base fields (flow, client, server, proto) are those of the event that
 * caused the change (for `not_seen`: the asset's last event, with `ts` the time of the check). Shape owned by
 * sensor/inventory/builder.ts (fields listed in docs/inventory.md).
 */
export interface AssetChangeEvent extends EventBase {
  kind: 'asset.change';
  asset: Record<string, unknown>;
}

/**
 * A detection rule fired (rules/engine, docs/rules.md). Carries the rule, the fields that triggered it and, as
 * evidence, the triggering event itself (flow, addresses, raw codes). `count` > 1 on the closing alert of a
 * suppression window (`suppressed: true`, first/last match time).
 */
export interface AlertEvent extends EventBase {
  kind: 'alert';
  alert: {
    rule: { id: string; title: string; level: string; status: string; tags: string[] };
    count: number;
    matched: Record<string, unknown>;
    event?: SensorEvent;
    correlation?: { type: string; groupBy: Record<string, unknown>; count: number; timespanMs: number };
    suppressed?: boolean;
    firstTs?: string;
    lastTs?: string;
  };
}

export type SensorEvent =
  | AlertEvent
  | AssetChangeEvent
  | ModbusTransactionEvent
  | OpcuaEvent
  | S7TransactionEvent
  | S7PlusFrameEvent
  | CotpConnectEvent
  | AnomalyEvent
  | FlowEvent;

/** Formats a packet time as the schema's `ts` string. */
export function formatEventTime(tsSec: number, tsNsec: number): string {
  const ms = tsSec * 1000 + Math.floor(tsNsec / 1_000_000);
  const iso = new Date(ms).toISOString(); // yyyy-mm-ddThh:mm:ss.mmmZ
  const micros = Math.floor(tsNsec / 1000) % 1000;
  return `${iso.slice(0, 23)}${String(micros).padStart(3, '0')}Z`;
}
