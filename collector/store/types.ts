/**
 * The collector's store contract: what ingest writes and what the API, risk, warnings and bulletins read. One
 * implementation over Kysely serves SQLite (better-sqlite3, the embedded default) and PostgreSQL (several collector
 * instances, large provinces). Everything that reads takes a `Scope`, and the store applies it in SQL: a caller
 * cannot forget to filter by enterprise.
 */

import type { AlertItem, AssetItem, HealthItem, StatsItem } from '../../protocols/wire/messages.ts';
import type { PreparedIngest } from './ingest-rows.ts';

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
  /**
   * Each alert's JSON as the sensor sent it (UTF-8, index for index with `alerts`), already validated: stored as the
   * alert's event instead of serialising the parsed alert again.
   */
  alertBytes?: Uint8Array[];
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
  /** Set once the enterprise (or the province admin) resolved it (`resolveAlert`); null while unresolved. */
  resolution: AlertResolution | null;
}

export interface AlertResolution {
  resolvedAt: string;
  /** Who resolved it: the API token's label/id or the CLI operator. */
  resolvedBy: string;
  note: string;
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
  /** true: only alerts not yet resolved; false: only resolved ones; absent: both. */
  unresolved?: boolean;
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

// ---- alert summaries (risk, warnings, bulletins) ------------------------------------------------------------------

/** `summarizeAlerts` filter: an AlertFilter plus a rule list and a time bucket. */
export interface AlertSummaryQuery extends Omit<AlertFilter, 'sensorId' | 'ruleId'> {
  /** Only these rules (empty list: nothing). */
  ruleIds?: string[];
  /** Bucket width in ms (rows are split per bucket of packet time); absent: one bucket for the whole range. */
  bucketMs?: number;
}

/** Alerts grouped by enterprise, rule, level, resolution state and time bucket. */
export interface AlertSummaryRow {
  enterpriseId: string;
  province: string;
  ruleId: string;
  ruleTitle: string;
  level: Level;
  /** Tags of the rule (ATT&CK `attack.t0843`, …) as the newest alert of the group carried them. */
  tags: string[];
  resolved: boolean;
  /** Start of the bucket (ISO), or of the epoch when not bucketed. */
  bucketStart: string;
  /** Alert rows (not the sensors' suppression `count`). */
  alerts: number;
  firstTs: string;
  lastTs: string;
  /** Uid of the newest alert of the group (evidence reference). */
  lastUid: string;
}

// ---- risk ------------------------------------------------------------------------------------------------------

export const RISK_FACTORS = [
  'alerts',
  'opcua_unsecured',
  'plc_many_writers',
  'vulnerable_firmware',
  'engineering_outside_window',
  'sensor_silence',
] as const;
export type RiskFactor = (typeof RISK_FACTORS)[number];

/** What a contribution rests on: alerts, assets, sensors or advisories, by id. */
export interface EvidenceRef {
  kind: 'alert' | 'asset' | 'sensor' | 'advisory' | 'rule';
  /** Alert uid, asset ip, sensor id, advisory id or rule id. */
  id: string;
  /** Short human text (rule title, advisory title, …). */
  label?: string;
}

export interface RiskContribution {
  factor: RiskFactor;
  /** Points this factor adds to the score (the contributions of a score sum to it, to 0.01). */
  points: number;
  /** The configured weight (maximum points) of the factor. */
  weight: number;
  /** What was found, in words (English; zh in `detailZh`). */
  detail: string;
  detailZh: string;
  /** The factor's raw measure before the weight (e.g. decayed alert mass, number of assets). */
  measure: number;
  evidence: EvidenceRef[];
}

export interface RiskScore {
  enterpriseId: string;
  province: string;
  /** 0..100, rounded to 0.01. */
  score: number;
  computedAt: string;
  contributions: RiskContribution[];
}

// ---- warnings (预警) ---------------------------------------------------------------------------------------------

export const WARNING_LEVELS = ['blue', 'yellow', 'orange', 'red'] as const;
/** Chinese warning practice: 蓝色 < 黄色 < 橙色 < 红色. */
export type WarningLevel = (typeof WARNING_LEVELS)[number];
export const WARNING_LEVEL_ZH: Record<WarningLevel, string> = {
  blue: '蓝色',
  yellow: '黄色',
  orange: '橙色',
  red: '红色',
};

export const WARNING_STATES = ['issued', 'acknowledged', 'closed'] as const;
/** issued → acknowledged (every target acknowledged) → closed (by the province). */
export type WarningState = (typeof WARNING_STATES)[number];

/** Who a warning is addressed to; `enterprises`/`cities`/`industries` narrow the targets within the province. */
export interface WarningAudience {
  province: string;
  cities?: string[];
  industries?: string[];
  enterprises?: string[];
}

/** One fact that triggered a warning. */
export interface WarningFact {
  /** e.g. `alert`, `spread`, `advisory_spread`, `asset_advisory`, `sensor_silence`, `risk_rise`. */
  kind: string;
  enterpriseId: string | null;
  /** Human summary (English) and zh-CN. */
  text: string;
  textZh: string;
  evidence: EvidenceRef[];
  data: Record<string, unknown>;
}

export interface WarningTarget {
  enterpriseId: string;
  ackAt: string | null;
  ackBy: string | null;
  ackNote: string | null;
}

export interface WarningRecord {
  /** UUIDv7 (paging key). */
  id: string;
  /** rule + group + window: the unique key that keeps issuing idempotent across instances. */
  dedupeKey: string;
  ruleId: string;
  title: { zh: string; en: string };
  description: string;
  level: WarningLevel;
  province: string;
  audience: WarningAudience;
  /** Enterprises resolved from the audience at issue time; each acknowledges for itself. */
  targets: WarningTarget[];
  facts: WarningFact[];
  issuedAt: string;
  /** `evaluator@<instance>` or the operator. */
  issuedBy: string;
  state: WarningState;
  closedAt: string | null;
  closedBy: string | null;
  closeNote: string | null;
  /** Raised from drill alerts only (never mixed with real ones). */
  drill: boolean;
}

/** What the evaluator hands the store to issue. */
export type NewWarning = Omit<WarningRecord, 'id' | 'state' | 'closedAt' | 'closedBy' | 'closeNote' | 'targets'> & {
  targets: string[];
};

export interface WarningFilter {
  state?: WarningState;
  level?: WarningLevel;
  ruleId?: string;
  /** issuedAt in [from, to). */
  from?: string;
  to?: string;
  /** Include drill warnings (default false). */
  includeDrill?: boolean;
  drillOnly?: boolean;
}

export interface CollectorStore {
  readonly backend: 'sqlite' | 'postgres';
  /** Creates or upgrades the schema (idempotent; safe with several instances starting at once). */
  migrate(): Promise<void>;
  close(): Promise<void>;

  /** Writes messages in one durable transaction; idempotent (a message stored twice changes nothing). */
  ingest(messages: IngestMessage[]): Promise<IngestResult>;
  /**
   * Writes rows already built by `prepareIngest` (ingest builds them as each message arrives) in one transaction;
   * one result per ingest call they were prepared from.
   */
  ingestPrepared(prepared: PreparedIngest): Promise<IngestResult[]>;

  upsertEnterprise(e: Omit<Enterprise, 'createdAt' | 'updatedAt'>): Promise<Enterprise>;
  getEnterprise(id: string, scope: Scope): Promise<Enterprise | null>;
  listEnterprises(scope: Scope, filter?: { city?: string; industry?: string; grade?: number }): Promise<Enterprise[]>;
  upsertSensor(s: { id: string; enterpriseId: string; name?: string }): Promise<Sensor>;
  listSensors(scope: Scope, filter?: { enterpriseId?: string }): Promise<Sensor[]>;

  listAlerts(scope: Scope, filter: AlertFilter, page: Page): Promise<PageResult<StoredAlert>>;
  getAlert(scope: Scope, uid: string): Promise<StoredAlert | null>;
  /**
   * Marks an alert resolved (first resolution wins; resolving again returns it unchanged). Null when the alert is
   * not in the scope.
   */
  resolveAlert(scope: Scope, uid: string, by: string, note: string): Promise<StoredAlert | null>;
  /** Alerts grouped by enterprise, rule, level, resolution and optional time bucket (scans alerts, indexed by time). */
  summarizeAlerts(scope: Scope, query: AlertSummaryQuery): Promise<AlertSummaryRow[]>;
  /** Counts from the hourly rollups (kept at ingest), not by scanning alerts. */
  aggregate(scope: Scope, query: AggregateQuery): Promise<AggregateRow[]>;

  listAssets(scope: Scope, enterpriseId: string): Promise<StoredAsset[]>;
  listAssetChanges(scope: Scope, enterpriseId: string, page: Page): Promise<PageResult<StoredAssetChange>>;
  /** Traffic per protocol for an enterprise over a period (from the stats reports). */
  trafficByProtocol(
    scope: Scope,
    filter: { enterpriseId?: string; from?: string; to?: string },
  ): Promise<{ protocol: string; pdus: number }[]>;

  /** Assets of every enterprise in scope (risk, warnings, bulletins), ordered by enterprise and ip. */
  listAllAssets(scope: Scope): Promise<StoredAsset[]>;

  /** Appends computed scores to the history (one row per score). */
  insertRiskScores(scores: RiskScore[]): Promise<number>;
  /** The newest score of each enterprise in scope (ordered by score, highest first). */
  latestRiskScores(scope: Scope): Promise<RiskScore[]>;
  /** Scores of one enterprise computed in [from, to) (either bound optional), oldest first. */
  riskHistory(scope: Scope, enterpriseId: string, from?: string, to?: string): Promise<RiskScore[]>;

  /**
   * Issues a warning unless one with the same `dedupeKey` exists (unique index): `created` false then, and the
   * existing record is returned. Safe with several instances evaluating at once.
   */
  issueWarning(w: NewWarning): Promise<{ warning: WarningRecord; created: boolean }>;
  /** Newest first. An enterprise scope sees the warnings it is a target of; a province scope its province's. */
  listWarnings(scope: Scope, filter: WarningFilter, page: Page): Promise<PageResult<WarningRecord>>;
  getWarning(scope: Scope, id: string): Promise<WarningRecord | null>;
  /**
   * Records `enterpriseId`'s acknowledgement (the first one stands); the state becomes `acknowledged` once every
   * target has acknowledged. Null when the warning is not in scope or the enterprise is not one of its targets.
   */
  ackWarning(scope: Scope, id: string, enterpriseId: string, by: string, note?: string): Promise<WarningRecord | null>;
  /** Closes a warning (idempotent: a closed one stays as first closed). Null when not in scope. */
  closeWarning(scope: Scope, id: string, by: string, note: string): Promise<WarningRecord | null>;

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
