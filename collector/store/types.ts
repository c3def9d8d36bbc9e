/**
 * The collector's store contract: what ingest writes and what the API, risk, warnings and bulletins read. One
 * implementation over Kysely serves SQLite (better-sqlite3, the embedded default) and PostgreSQL (several collector
 * instances, large provinces). Everything that reads takes a `Scope`, and the store applies it in SQL: a caller
 * cannot forget to filter by enterprise.
 */
import type { AlertItem, AssetItem, HealthItem, StatsItem } from '../../protocols/wire/messages.ts';

/** Who may see what (derived from the API token): a province admin/analyst sees a province, others a list. */
export type Scope =
  | { kind: 'all' }
  | { kind: 'province'; province: string }
  | { kind: 'enterprises'; enterprises: readonly string[] };

export const ENTERPRISE_CLASSES = ['networked_industrial', 'platform', 'identifier_resolution'] as const;
export type EnterpriseClass = (typeof ENTERPRISE_CLASSES)[number];
/** zh-CN names of the classes (MIIT grading regime). */
export const ENTERPRISE_CLASS_ZH: Record<EnterpriseClass, string> = {
  networked_industrial: '联网工业企业',
  platform: '平台企业',
  identifier_resolution: '标识解析企业',
};

export interface Contact {
  name: string;
  role?: string;
  phone?: string;
  email?: string;
}

export interface Enterprise {
  /** Subject token (letters, digits, `_`, `-`): the `<enterprise>` of `ot.v1.<province>.<enterprise>.…`. */
  id: string;
  name: string;
  province: string;
  city: string;
  industry: string;
  class: EnterpriseClass;
  /** Self-declared grade: 1 一级, 2 二级, 3 三级. */
  grade: 1 | 2 | 3;
  contacts: Contact[];
  /** Declared maintenance windows (engineering actions inside them weigh less in risk), e.g. `Sat 02:00-06:00`. */
  maintenanceWindows: string[];
  createdAt: string;
  updatedAt: string;
}

export interface Sensor {
  /** Subject token; unique across the province (the registry refuses a duplicate). */
  id: string;
  enterpriseId: string;
  province: string;
  name: string;
  /** Latest health report and when it arrived (collector clock), null before the first. */
  lastHealth: HealthItem | null;
  lastSeenAt: string | null;
  /** Highest message seq received from it. */
  lastSeq: number;
  createdAt: string;
}

/** One validated wire message, as ingest hands it to the store (identity already checked against the subject). */
export interface IngestMessage {
  province: string;
  enterprise: string;
  sensor: string;
  seq: number;
  drill: boolean;
  /** Collector time of arrival (ISO). */
  receivedAt: string;
  kind: 'alert' | 'asset' | 'health' | 'stats';
  alerts?: AlertItem[];
  assets?: AssetItem[];
  health?: HealthItem[];
  stats?: StatsItem[];
}

export interface IngestResult {
  alertsInserted: number;
  /** Already stored (same sensor and event id): redelivery or a replay, not written again. */
  alertsDuplicate: number;
  assetsUpserted: number;
  assetChangesInserted: number;
  healthStored: number;
  statsStored: number;
  /** Messages whose sensor or enterprise is not in the registry (stored anyway, flagged `unregistered`). */
  unregistered: number;
}

export const LEVELS = ['informational', 'low', 'medium', 'high', 'critical'] as const;
export type Level = (typeof LEVELS)[number];

export interface StoredAlert {
  /** Time-ordered id (UUIDv7) assigned at first insert: the paging key. */
  uid: string;
  /** The sensor's event id (`<rule>@<flow>:<n>`): unique per sensor, the idempotency key. */
  eventId: string;
  enterpriseId: string;
  sensorId: string;
  province: string;
  /** Packet time of the alert (ISO). */
  ts: string;
  receivedAt: string;
  ruleId: string;
  ruleTitle: string;
  level: Level;
  tags: string[];
  protocol: string;
  clientIp: string;
  serverIp: string;
  serverPort: number;
  count: number;
  drill: boolean;
  /** The whole alert event as the sensor sent it (evidence). */
  event: AlertItem;
}

export interface AlertFilter {
  enterpriseId?: string;
  sensorId?: string;
  level?: Level[];
  /** At or above this level. */
  minLevel?: Level;
  ruleId?: string;
  protocol?: string;
  from?: string;
  to?: string;
  /** Include drill alerts (default false: drills never count in real statistics). */
  includeDrill?: boolean;
  drillOnly?: boolean;
}

export interface Page {
  /** 1..1000, default 100. */
  limit?: number;
  /** Opaque cursor from the previous page (newest first). */
  cursor?: string;
}

export interface PageResult<T> {
  items: T[];
  nextCursor: string | null;
}

export interface StoredAsset {
  enterpriseId: string;
  ip: string;
  sensorId: string;
  role: string;
  firstSeen: string;
  lastSeen: string;
  /** The full inventory record with per-field evidence (sensor/inventory/types.ts AssetRecord). */
  record: AssetItem['asset'];
  updatedAt: string;
}

export interface StoredAssetChange {
  enterpriseId: string;
  sensorId: string;
  ip: string;
  change: string;
  ts: string;
  event: AssetItem['changes'][number];
}

export type AggregateBy = 'day' | 'hour' | 'level' | 'city' | 'industry' | 'rule' | 'protocol' | 'enterprise';

export interface AggregateQuery extends Omit<AlertFilter, 'sensorId'> {
  by: AggregateBy;
}

export interface AggregateRow {
  key: string;
  count: number;
}

export interface AuditEntry {
  id: string;
  at: string;
  /** Token id (never the secret). */
  tokenId: string;
  role: string;
  action: string;
  enterpriseId: string | null;
  detail: Record<string, unknown>;
}

export type Role = 'province-admin' | 'province-analyst' | 'enterprise' | 'assessor';

export interface ApiToken {
  id: string;
  label: string;
  role: Role;
  /** province-*: their province; enterprise: one enterprise; assessor: the assigned enterprises. */
  province: string | null;
  enterprises: string[];
  createdAt: string;
  revokedAt: string | null;
}

export interface StoreStats {
  backend: 'sqlite' | 'postgres';
  bytes: number;
  alerts: number;
  assets: number;
  enterprises: number;
  sensors: number;
}

export interface CollectorStore {
  readonly backend: 'sqlite' | 'postgres';
  /** Creates or upgrades the schema (idempotent; safe with several instances starting at once). */
  migrate(): Promise<void>;
  close(): Promise<void>;

  /** Writes messages in one durable transaction; idempotent (a message stored twice changes nothing). */
  ingest(messages: IngestMessage[]): Promise<IngestResult>;

  upsertEnterprise(e: Omit<Enterprise, 'createdAt' | 'updatedAt'>): Promise<Enterprise>;
  getEnterprise(id: string, scope: Scope): Promise<Enterprise | null>;
  listEnterprises(scope: Scope, filter?: { city?: string; industry?: string; grade?: number }): Promise<Enterprise[]>;
  upsertSensor(s: { id: string; enterpriseId: string; name?: string }): Promise<Sensor>;
  listSensors(scope: Scope, filter?: { enterpriseId?: string }): Promise<Sensor[]>;

  listAlerts(scope: Scope, filter: AlertFilter, page: Page): Promise<PageResult<StoredAlert>>;
  getAlert(scope: Scope, uid: string): Promise<StoredAlert | null>;
  /** Counts from the hourly rollups (kept at ingest), not by scanning alerts. */
  aggregate(scope: Scope, query: AggregateQuery): Promise<AggregateRow[]>;

  listAssets(scope: Scope, enterpriseId: string): Promise<StoredAsset[]>;
  listAssetChanges(scope: Scope, enterpriseId: string, page: Page): Promise<PageResult<StoredAssetChange>>;
  /** Traffic per protocol for an enterprise over a period (from the stats reports). */
  trafficByProtocol(
    scope: Scope,
    filter: { enterpriseId?: string; from?: string; to?: string },
  ): Promise<{ protocol: string; pdus: number }[]>;

  createToken(t: Omit<ApiToken, 'id' | 'createdAt' | 'revokedAt'>): Promise<{ token: ApiToken; secret: string }>;
  /** The token whose secret this is (compared by hash), null when unknown or revoked. */
  authenticate(secret: string): Promise<ApiToken | null>;
  revokeToken(id: string): Promise<boolean>;
  listTokens(): Promise<ApiToken[]>;

  appendAudit(entry: Omit<AuditEntry, 'id' | 'at'>): Promise<void>;
  listAudit(page: Page, filter?: { enterpriseId?: string; action?: string }): Promise<PageResult<AuditEntry>>;

  /** Deletes alerts, asset changes, health and stats older than `before` (assets stay); returns rows removed. */
  applyRetention(before: string): Promise<number>;
  stats(): Promise<StoreStats>;
}
