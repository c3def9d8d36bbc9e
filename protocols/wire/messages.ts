/**
 * The sensor → collector wire contract (schema v1): what travels over NATS JetStream, as TypeBox schemas from which
 * both the TypeScript types and the JSON Schema documents come, so the two cannot drift apart.
 *
 * - A message is one batch of one kind (`alert`, `asset`, `health`, `stats`) from one sensor. Batching many items per
 *   message is what makes JetStream fast enough (one ack per batch, not per alert).
 * - `seq` is per sensor and strictly increasing across all kinds, kept in the sensor's outbox so it survives
 *   restarts; `Nats-Msg-Id: <sensor>:<seq>` lets JetStream drop a redelivered message inside its dedupe window, and
 *   the collector's writes are idempotent by item id for anything that arrives later than that.
 * - The identity fields inside (`province`, `enterprise`, `sensor`) must equal the subject's tokens; the collector
 *   rejects a message where they disagree (a sensor can only publish on its own subject: see deploy/).
 * - Events inside use the event schema of events.ts (alerts are `AlertEvent`s, asset changes `AssetChangeEvent`s).
 *   Their protocol-specific parts are open objects here: the collector stores them as evidence, it does not
 *   interpret every field.
 */
import { type Static, type TSchema, Type } from '@sinclair/typebox';

export const WIRE_VERSION = 1 as const;

/**
 * Message kinds, in the order the outbox sacrifices them on overflow (first dropped first): stats, then older health
 * reports (each carries cumulative counts, so the newest one says everything), then assets, alerts last.
 */
export const MESSAGE_KINDS = ['stats', 'health', 'asset', 'alert'] as const;
export type MessageKind = (typeof MESSAGE_KINDS)[number];

/**
 * One token of a subject (province, enterprise, sensor id): letters, digits, `_` and `-`, 1–64 characters. No dots,
 * wildcards or whitespace, so a token can never widen the subject it is put into.
 */
export const SUBJECT_TOKEN = /^[A-Za-z0-9_-]{1,64}$/;
const Token = Type.String({ pattern: SUBJECT_TOKEN.source });

/** Largest message the sensor builds (bytes of JSON); nats-server's default max_payload is 1 MiB. */
export const MAX_MESSAGE_BYTES = 900 * 1024;

const IsoTime = Type.String({ minLength: 20, maxLength: 40 });

const EndpointSchema = Type.Object({
  ip: Type.String({ maxLength: 64 }),
  port: Type.Integer({ minimum: 0, maximum: 65535 }),
  mac: Type.Optional(Type.String({ maxLength: 32 })),
});

/** Fields every sensor event has (events.ts `EventBase`); the rest of an event is open. */
const EventCommon = {
  v: Type.Literal(1),
  id: Type.String({ minLength: 1, maxLength: 200 }),
  sensor: Token,
  flow: Type.String({ maxLength: 200 }),
  ts: IsoTime,
  tsNs: Type.Integer({ minimum: 0, maximum: 999_999_999 }),
  client: EndpointSchema,
  server: EndpointSchema,
  vlan: Type.Optional(Type.Integer({ minimum: 0, maximum: 4095 })),
  proto: Type.String({ maxLength: 32 }),
};

export const AlertItemSchema = Type.Object(
  {
    ...EventCommon,
    kind: Type.Literal('alert'),
    alert: Type.Object(
      {
        rule: Type.Object(
          {
            id: Type.String({ minLength: 1, maxLength: 200 }),
            title: Type.String({ maxLength: 500 }),
            level: Type.Union([
              Type.Literal('informational'),
              Type.Literal('low'),
              Type.Literal('medium'),
              Type.Literal('high'),
              Type.Literal('critical'),
            ]),
            status: Type.String({ maxLength: 32 }),
            tags: Type.Array(Type.String({ maxLength: 100 }), { maxItems: 50 }),
          },
          { additionalProperties: true },
        ),
        // Repeats folded into one alert; bounded by the stores' 32-bit column (a larger one failed its batch on PostgreSQL).
        count: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }),
        matched: Type.Record(Type.String(), Type.Unknown()),
      },
      { additionalProperties: true },
    ),
  },
  { additionalProperties: true },
);

export const AssetChangeItemSchema = Type.Object(
  {
    ...EventCommon,
    kind: Type.Literal('asset.change'),
    asset: Type.Object({ ip: Type.String({ maxLength: 64 }), change: Type.String({ maxLength: 64 }) }, {}),
  },
  { additionalProperties: true },
);

/** The asset's full current record (sensor/inventory/types.ts `AssetRecord`) plus the changes that made it dirty. */
export const AssetItemSchema = Type.Object({
  asset: Type.Object(
    {
      ip: Type.String({ minLength: 1, maxLength: 64 }),
      role: Type.String({ maxLength: 64 }),
      firstSeen: IsoTime,
      lastSeen: IsoTime,
      identity: Type.Record(Type.String(), Type.Unknown()),
    },
    { additionalProperties: true },
  ),
  changes: Type.Array(AssetChangeItemSchema, { maxItems: 1000 }),
});

const Counter = Type.Integer({ minimum: 0 });

/** Parse health of one protocol: PDUs decoded, malformed ones, bytes skipped over gaps. */
const ParseHealthSchema = Type.Object({ pdus: Counter, malformed: Counter, gapBytes: Counter });

const DropCounts = Type.Object({ messages: Counter, items: Counter });

export const HealthItemSchema = Type.Object({
  /** Sensor wall-clock time of the report. */
  ts: IsoTime,
  uptimeSec: Type.Number({ minimum: 0 }),
  versions: Type.Object({ sensor: Type.String(), wire: Type.Integer(), events: Type.Integer(), node: Type.String() }),
  capture: Type.Object({
    source: Type.Union([Type.Literal('file'), Type.Literal('live')]),
    name: Type.String({ maxLength: 500 }),
    packets: Counter,
    bytes: Counter,
    /** Packets the capture source lost (libpcap `ps_drop`, reader damage). */
    drops: Counter,
    /** Packets the kernel / interface dropped (`ps_ifdrop`), null where the source cannot tell. */
    kernelDrops: Type.Union([Counter, Type.Null()]),
  }),
  parse: Type.Record(Type.String(), ParseHealthSchema),
  flows: Type.Object({ active: Counter, evicted: Counter }),
  /**
   * The protocol parsers' shared reassembly-buffer budget of the current input: bytes held now, the peak, the cap,
   * and growths refused (each one a chunk, TPKT or message not decoded). Absent from sensors before it existed.
   */
  buffers: Type.Optional(Type.Object({ used: Counter, peak: Counter, limit: Counter, refused: Counter })),
  outbox: Type.Object({
    depthMessages: Counter,
    depthBytes: Counter,
    capBytes: Counter,
    /** Dropped on overflow since the sensor started, per kind (stats first, then assets, then alerts). */
    dropped: Type.Record(Type.String(), DropCounts),
    /** Dropped since the previous health message (what this report is the first to tell). */
    droppedSinceLast: Type.Record(Type.String(), DropCounts),
    published: Counter,
    acked: Counter,
    retries: Counter,
  }),
  rules: Type.Object({ loaded: Counter, alerts: Counter }),
  /** Sensor clock minus collector clock in ms (NTP-style over `ot.v1.time`), null when no collector answered. */
  clock: Type.Object({
    offsetMs: Type.Union([Type.Number(), Type.Null()]),
    rttMs: Type.Union([Type.Number(), Type.Null()]),
  }),
});

export const StatsItemSchema = Type.Object({
  from: IsoTime,
  to: IsoTime,
  packets: Counter,
  bytes: Counter,
  /** Per protocol: PDUs and per-function counts (`"3 Read Holding Registers": 12`). */
  protocols: Type.Record(Type.String(), Type.Object({ pdus: Counter, functions: Type.Record(Type.String(), Counter) })),
});

function batch<K extends MessageKind, I extends TSchema>(kind: K, item: I, maxItems: number) {
  return Type.Object({
    v: Type.Literal(WIRE_VERSION),
    kind: Type.Literal(kind),
    province: Token,
    enterprise: Token,
    sensor: Token,
    seq: Type.Integer({ minimum: 1 }),
    /** Sensor wall-clock time the batch was sealed. */
    sentAt: IsoTime,
    /** Set for drill traffic (issue 11), so it never counts in real statistics. */
    drill: Type.Optional(Type.Boolean()),
    items: Type.Array(item, { minItems: 1, maxItems }),
  });
}

export const AlertBatchSchema = batch('alert', AlertItemSchema, 10_000);
export const AssetBatchSchema = batch('asset', AssetItemSchema, 2_000);
export const HealthBatchSchema = batch('health', HealthItemSchema, 10);
export const StatsBatchSchema = batch('stats', StatsItemSchema, 100);

export type AlertItem = Static<typeof AlertItemSchema>;
export type AssetItem = Static<typeof AssetItemSchema>;
export type HealthItem = Static<typeof HealthItemSchema>;
export type StatsItem = Static<typeof StatsItemSchema>;
export type AlertBatch = Static<typeof AlertBatchSchema>;
export type AssetBatch = Static<typeof AssetBatchSchema>;
export type HealthBatch = Static<typeof HealthBatchSchema>;
export type StatsBatch = Static<typeof StatsBatchSchema>;
export type WireMessage = AlertBatch | AssetBatch | HealthBatch | StatsBatch;

export interface ItemOf {
  alert: AlertItem;
  asset: AssetItem;
  health: HealthItem;
  stats: StatsItem;
}

/** The JSON Schema document of each message kind (what `docs/wire.md` and the collector validate against). */
export const MESSAGE_SCHEMAS: Record<MessageKind, TSchema> = {
  alert: AlertBatchSchema,
  asset: AssetBatchSchema,
  health: HealthBatchSchema,
  stats: StatsBatchSchema,
};

/** Sensor identity as it appears in subjects and messages. */
export interface SensorIdentity {
  province: string;
  enterprise: string;
  sensor: string;
}

export const SUBJECT_ROOT = 'ot.v1';

/** `ot.v1.<province>.<enterprise>.<sensor>.<kind>`; throws on a token that is not a plain subject token. */
export function subjectFor(id: SensorIdentity, kind: MessageKind): string {
  return `${sensorSubjectPrefix(id)}.${kind}`;
}

/** `ot.v1.<province>.<enterprise>.<sensor>`: what a sensor's credentials may publish under (plus `.>`). */
export function sensorSubjectPrefix(id: SensorIdentity): string {
  for (const [name, value] of Object.entries(id)) {
    if (name !== 'province' && name !== 'enterprise' && name !== 'sensor') continue;
    if (!SUBJECT_TOKEN.test(value)) {
      throw new TypeError(`${name} '${value}' is not a valid subject token (letters, digits, '_' or '-', ≤ 64)`);
    }
  }
  return `${SUBJECT_ROOT}.${id.province}.${id.enterprise}.${id.sensor}`;
}

/** Parses a message subject back into identity and kind; null when it is not one of ours. */
export function parseSubject(subject: string): (SensorIdentity & { kind: MessageKind }) | null {
  const parts = subject.split('.');
  if (parts.length !== 6 || parts[0] !== 'ot' || parts[1] !== 'v1') return null;
  const [, , province, enterprise, sensor, kind] = parts;
  if (province === undefined || enterprise === undefined || sensor === undefined || kind === undefined) return null;
  if (!SUBJECT_TOKEN.test(province) || !SUBJECT_TOKEN.test(enterprise) || !SUBJECT_TOKEN.test(sensor)) return null;
  if (!(MESSAGE_KINDS as readonly string[]).includes(kind)) return null;
  return { province, enterprise, sensor, kind: kind as MessageKind };
}

/** The JetStream dedupe id of a message. */
export function messageId(sensor: string, seq: number): string {
  return `${sensor}:${seq}`;
}

/** Subject of the collector's clock service (core NATS request/reply): the reply is `{"now": <epoch ms>}`. */
export const TIME_SUBJECT = `${SUBJECT_ROOT}.time`;

/**
 * Inbox prefix a sensor's connection uses (`inboxPrefix` of the NATS client): JetStream acks and time replies come
 * back under it, and the sensor's credentials may subscribe only there, so no sensor can read another's replies.
 */
export function sensorInboxPrefix(id: SensorIdentity): string {
  sensorSubjectPrefix(id); // validates the tokens
  return `_INBOX.${id.province}.${id.enterprise}.${id.sensor}`;
}

/** Subjects the collector publishes risk warnings on (issue 9): `ot.v1.warning.<province>.<level>`. */
export const WARNING_SUBJECT_PREFIX = `${SUBJECT_ROOT}.warning`;
