/**
 * TypeBox schemas of everything the API accepts and returns. Request schemas validate (and coerce query strings);
 * response schemas drive serialisation, so a field not listed here never leaves the server, and both become the
 * OpenAPI document at /docs/json.
 *
 * Evidence blobs the sensor produced (an alert's event, an asset's record, a health report) are passed through as
 * open JSON: they follow the wire contract (protocols/wire/messages.ts) and the API does not reinterpret them.
 */
import { type TSchema, Type } from '@sinclair/typebox';
import { SUBJECT_TOKEN } from '../../protocols/wire/messages.ts';
import { ENTERPRISE_CLASS_ZH, ENTERPRISE_CLASSES, LEVELS } from '../store/types.ts';
import { ErrorSchema } from './errors.ts';

/** A subject token: enterprise, sensor and province ids (letters, digits, `_`, `-`; 1–64). */
export const IdSchema = Type.String({ pattern: SUBJECT_TOKEN.source, minLength: 1, maxLength: 64 });
const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const Time = Type.String({ description: 'ISO 8601 time' });
const QueryTime = Type.String({
  format: 'date-time',
  description: 'ISO 8601 time with zone, e.g. 2024-05-01T00:00:00Z',
});
const Text = (max: number) => Type.String({ minLength: 1, maxLength: max });
/** Open JSON passed through as stored (evidence). */
const Evidence = (description: string) => Type.Unknown({ description });

/**
 * A closed set of values as a JSON Schema `enum` (not TypeBox's union of literals): one clear validation error
 * ("must be one of …") instead of one per alternative, and a plain enum in the OpenAPI document.
 */
function Enum<const T extends readonly (string | number)[]>(values: T, options: { description?: string } = {}) {
  const isString = values.every((v) => typeof v === 'string');
  return Type.Unsafe<T[number]>({ ...(isString ? { type: 'string' } : {}), enum: [...values], ...options });
}

export const LevelSchema = Enum(LEVELS);
export const ClassCodeSchema = Enum(ENTERPRISE_CLASSES);
/** Input accepts the code or the zh-CN name of a class. */
const ClassInputSchema = Enum([...ENTERPRISE_CLASSES, ...Object.values(ENTERPRISE_CLASS_ZH)], {
  description: 'Class code or its zh-CN name (联网工业企业 / 平台企业 / 标识解析企业)',
});
const GradeInputSchema = Enum([1, 2, 3, '一级', '二级', '三级'] as const, {
  description: 'Self-declared grade: 1, 2, 3 or 一级, 二级, 三级',
});
export const RoleSchema = Enum(['province-admin', 'province-analyst', 'enterprise', 'assessor'] as const);

export const ContactSchema = Type.Object(
  {
    name: Text(100),
    role: Type.Optional(Type.String({ maxLength: 100 })),
    phone: Type.Optional(Type.String({ maxLength: 50 })),
    email: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);

export const EnterpriseSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  province: Type.String(),
  city: Type.String(),
  industry: Type.String(),
  class: ClassCodeSchema,
  /** zh-CN name of the class (联网工业企业 / 平台企业 / 标识解析企业). */
  classZh: Type.String(),
  grade: Type.Integer({ minimum: 1, maximum: 3, description: 'Self-declared grade: 1 一级, 2 二级, 3 三级' }),
  contacts: Type.Array(ContactSchema),
  maintenanceWindows: Type.Array(Type.String()),
  createdAt: Time,
  updatedAt: Time,
});

const enterpriseFields = {
  name: Text(200),
  province: IdSchema,
  city: Text(100),
  industry: Text(100),
  class: ClassInputSchema,
  grade: GradeInputSchema,
  contacts: Type.Optional(Type.Array(ContactSchema, { maxItems: 20 })),
  maintenanceWindows: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 20 })),
};
export const EnterpriseCreateSchema = Type.Object(
  { id: IdSchema, ...enterpriseFields },
  { additionalProperties: false },
);
export const EnterpriseUpdateSchema = Type.Object(enterpriseFields, { additionalProperties: false });

export const EnterpriseListQuery = Type.Object(
  {
    city: Type.Optional(Text(100)),
    industry: Type.Optional(Text(100)),
    grade: Type.Optional(Type.Integer({ minimum: 1, maximum: 3 })),
  },
  { additionalProperties: false },
);

export const ImportResultSchema = Type.Object({
  rows: Type.Integer({ description: 'Data rows read' }),
  created: Type.Integer(),
  updated: Type.Integer(),
});

export const SensorSchema = Type.Object({
  id: Type.String(),
  enterpriseId: Type.String(),
  province: Type.String(),
  name: Type.String(),
  lastHealth: Evidence('Latest HealthItem (wire schema, docs/wire.md), null before the first report'),
  lastSeenAt: Nullable(Time),
  lastSeq: Type.Integer(),
  createdAt: Time,
});
export const SensorListQuery = Type.Object({ enterprise: Type.Optional(IdSchema) }, { additionalProperties: false });
export const SensorCreateSchema = Type.Object(
  { id: IdSchema, enterpriseId: IdSchema, name: Type.Optional(Text(200)) },
  { additionalProperties: false },
);

export const AlertSchema = Type.Object({
  uid: Type.String({ description: 'Time-ordered id (UUIDv7)' }),
  eventId: Type.String(),
  enterpriseId: Type.String(),
  sensorId: Type.String(),
  province: Type.String(),
  ts: Time,
  receivedAt: Time,
  ruleId: Type.String(),
  ruleTitle: Type.String(),
  level: LevelSchema,
  tags: Type.Array(Type.String()),
  protocol: Type.String(),
  clientIp: Type.String(),
  serverIp: Type.String(),
  serverPort: Type.Integer(),
  count: Type.Integer(),
  drill: Type.Boolean(),
  event: Evidence('The alert event as the sensor sent it (evidence)'),
  resolution: Type.Optional(
    Nullable(
      Type.Object(
        { resolvedAt: Time, resolvedBy: Type.String(), note: Type.String() },
        { description: 'Null while unresolved' },
      ),
    ),
  ),
});

const CursorSchema = Type.String({ minLength: 1, maxLength: 512, pattern: '^[A-Za-z0-9_.:=+/-]+$' });
const LimitSchema = Type.Integer({ minimum: 1, maximum: 1000, description: 'Page size (default 100)' });

/** Filters shared by the alert list and the aggregates. */
const alertFilterFields = {
  enterprise: Type.Optional(IdSchema),
  level: Type.Optional(Type.Array(LevelSchema, { maxItems: 5, description: 'Repeatable: level=high&level=critical' })),
  minLevel: Type.Optional(LevelSchema),
  rule: Type.Optional(Text(200)),
  protocol: Type.Optional(Text(32)),
  from: Type.Optional(QueryTime),
  to: Type.Optional(QueryTime),
  includeDrill: Type.Optional(Type.Boolean({ description: 'Include drill alerts (default false)' })),
  drillOnly: Type.Optional(Type.Boolean({ description: 'Only drill alerts' })),
};
export const AlertListQuery = Type.Object(
  {
    ...alertFilterFields,
    sensor: Type.Optional(IdSchema),
    limit: Type.Optional(LimitSchema),
    cursor: Type.Optional(CursorSchema),
  },
  { additionalProperties: false },
);
export const AGGREGATE_BY = ['day', 'hour', 'level', 'city', 'industry', 'rule', 'protocol', 'enterprise'] as const;
export const AggregateQuerySchema = Type.Object(
  { ...alertFilterFields, by: Enum(AGGREGATE_BY) },
  { additionalProperties: false },
);
export const AggregateResultSchema = Type.Object({
  by: Type.String(),
  rows: Type.Array(Type.Object({ key: Type.String(), count: Type.Integer() })),
});

export const PageQuery = Type.Object(
  { limit: Type.Optional(LimitSchema), cursor: Type.Optional(CursorSchema) },
  { additionalProperties: false },
);
export const listOf = <T extends TSchema>(item: T) => Type.Object({ items: Type.Array(item) });
export const pageOf = <T extends TSchema>(item: T) =>
  Type.Object({ items: Type.Array(item), nextCursor: Nullable(Type.String()) });

export const AssetSchema = Type.Object({
  enterpriseId: Type.String(),
  ip: Type.String(),
  sensorId: Type.String(),
  role: Type.String(),
  firstSeen: Time,
  lastSeen: Time,
  record: Evidence('The full inventory record with per-field evidence (docs/inventory.md)'),
  updatedAt: Time,
});
export const AssetListSchema = Type.Object({ enterpriseId: Type.String(), items: Type.Array(AssetSchema) });

export const AssetChangeSchema = Type.Object({
  enterpriseId: Type.String(),
  sensorId: Type.String(),
  ip: Type.String(),
  change: Type.String(),
  ts: Time,
  event: Evidence('The asset.change event as the sensor sent it'),
});

export const TrafficQuery = Type.Object(
  { enterprise: Type.Optional(IdSchema), from: Type.Optional(QueryTime), to: Type.Optional(QueryTime) },
  { additionalProperties: false },
);
export const TrafficSchema = Type.Object({
  items: Type.Array(Type.Object({ protocol: Type.String(), pdus: Type.Integer() })),
});

export const AuditEntrySchema = Type.Object({
  id: Type.String(),
  at: Time,
  tokenId: Type.String(),
  role: Type.String(),
  action: Type.String(),
  enterpriseId: Nullable(Type.String()),
  detail: Evidence('Action-specific detail, e.g. {"assets": 12}'),
});
export const AuditQuery = Type.Object(
  {
    enterprise: Type.Optional(IdSchema),
    action: Type.Optional(Text(64)),
    limit: Type.Optional(LimitSchema),
    cursor: Type.Optional(CursorSchema),
  },
  { additionalProperties: false },
);

export const TokenSchema = Type.Object({
  id: Type.String(),
  label: Type.String(),
  role: RoleSchema,
  province: Nullable(Type.String()),
  enterprises: Type.Array(Type.String()),
  createdAt: Time,
  revokedAt: Nullable(Time),
});
export const TokenCreateSchema = Type.Object(
  {
    label: Text(100),
    role: RoleSchema,
    province: Type.Optional(IdSchema),
    enterprises: Type.Optional(Type.Array(IdSchema, { maxItems: 1000 })),
  },
  { additionalProperties: false },
);
export const TokenCreatedSchema = Type.Object({
  token: TokenSchema,
  secret: Type.String({ description: 'Shown once, at creation; only its hash is stored' }),
});

export const ScopeSchema = Type.Object({
  kind: Enum(['all', 'province', 'enterprises'] as const),
  province: Type.Optional(Type.String()),
  enterprises: Type.Optional(Type.Array(Type.String())),
});
export const MeSchema = Type.Object({ token: TokenSchema, scope: ScopeSchema });

export const IngestStatusSchema = Type.Object({
  running: Type.Optional(Type.Boolean({ description: 'False when the consumer is stopped or disconnected' })),
  lagMs: Nullable(Type.Number({ description: 'Age of the newest message processed when it was stored (ms)' })),
  pending: Nullable(Type.Integer({ description: 'Messages waiting in the durable consumer' })),
  received: Type.Integer(),
  accepted: Type.Integer(),
  redelivered: Type.Integer(),
  handlerErrors: Type.Integer(),
  rejected: Type.Record(Type.String(), Type.Integer(), { description: 'Rejected messages by reason' }),
});
export const HealthzSchema = Type.Object({
  status: Enum(['ok', 'degraded'] as const),
  store: Type.String({ description: 'Store backend: sqlite or postgres' }),
  ingest: Nullable(IngestStatusSchema),
});
export const StatusSchema = Type.Object({
  store: Type.Object({
    backend: Type.String(),
    bytes: Type.Integer(),
    alerts: Type.Integer(),
    assets: Type.Integer(),
    enterprises: Type.Integer(),
    sensors: Type.Integer(),
  }),
  ingest: Nullable(IngestStatusSchema),
});

export const IdParams = Type.Object({ id: IdSchema });
export const UidParams = Type.Object({ uid: Type.String({ minLength: 1, maxLength: 64, pattern: '^[0-9a-fA-F-]+$' }) });
export const TokenIdParams = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' }),
});

/** The error responses every authenticated route can give, merged into each route's response map. */
export const AUTH_ERRORS = { 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema, 429: ErrorSchema, 500: ErrorSchema };
export const SCOPED_ERRORS = { ...AUTH_ERRORS, 404: ErrorSchema };
