/**
 * The store's tables as Kysely sees them. Both backends use the same column types so one query layer serves both:
 * times are integer milliseconds since the epoch (`*_ms`, `bigint`: compares and buckets the same everywhere,
 * no timezone or text-format traps), booleans are 0/1 integers, JSON documents are text. Ids used as paging keys
 * are UUIDv7 text (binary collation on PostgreSQL, see migrations.ts).
 */

export interface EnterprisesTable {
  id: string;
  name: string;
  province: string;
  city: string;
  industry: string;
  class: string;
  grade: number;
  /** JSON: Contact[]. */
  contacts: string;
  /** JSON: string[]. */
  maintenance_windows: string;
  created_ms: number;
  updated_ms: number;
}

export interface SensorsTable {
  id: string;
  enterprise_id: string;
  province: string;
  name: string;
  /** JSON: HealthItem of the newest report (by its own ts), null before the first. */
  last_health: string | null;
  /** Sensor time of `last_health` (orders reports that arrive out of order). */
  last_health_ms: number | null;
  /** Collector time `last_health` arrived. */
  last_seen_ms: number | null;
  last_seq: number;
  created_ms: number;
}

export interface AlertsTable {
  uid: string;
  event_id: string;
  enterprise_id: string;
  sensor_id: string;
  province: string;
  ts_ms: number;
  received_ms: number;
  rule_id: string;
  rule_title: string;
  level: string;
  /** JSON: string[]. */
  tags: string;
  protocol: string;
  client_ip: string;
  server_ip: string;
  server_port: number;
  count: number;
  drill: number;
  /** JSON: the AlertItem as sent. */
  event: string;
}

/** Alert counts per hour, maintained at ingest (only for newly inserted alerts). */
export interface AlertRollupsTable {
  hour_ms: number;
  enterprise_id: string;
  /** Functionally dependent on the enterprise; kept so province scopes filter without a join. */
  province: string;
  rule_id: string;
  level: string;
  protocol: string;
  drill: number;
  count: number;
}

/**
 * Alert counts per UTC day and province (no enterprise): what a province's or the whole store's trend and
 * breakdowns by level, rule or protocol read. The hourly rollups hold one row per enterprise and hour, which at
 * provincial scale (thousands of enterprises, weeks of data) is millions of rows to sum for one chart.
 */
export interface AlertDailyTable {
  day_ms: number;
  province: string;
  rule_id: string;
  level: string;
  protocol: string;
  drill: number;
  count: number;
}

export interface AssetsTable {
  enterprise_id: string;
  ip: string;
  province: string;
  sensor_id: string;
  role: string;
  first_seen_ms: number;
  last_seen_ms: number;
  /** JSON: AssetItem['asset'] of the newest report (largest lastSeen). */
  record: string;
  updated_ms: number;
}

export interface AssetChangesTable {
  uid: string;
  event_id: string;
  enterprise_id: string;
  sensor_id: string;
  province: string;
  ip: string;
  change: string;
  ts_ms: number;
  /** JSON: the AssetChangeEvent as sent. */
  event: string;
}

export interface SensorHealthTable {
  sensor_id: string;
  ts_ms: number;
  enterprise_id: string;
  province: string;
  received_ms: number;
  /** JSON: HealthItem. */
  report: string;
}

export interface StatsReportsTable {
  sensor_id: string;
  from_ms: number;
  to_ms: number;
  enterprise_id: string;
  province: string;
  packets: number;
  bytes: number;
  drill: number;
  /** JSON: StatsItem['protocols']. */
  protocols: string;
}

/** One row per (stats report, protocol): what `trafficByProtocol` sums. */
export interface TrafficTable {
  sensor_id: string;
  from_ms: number;
  protocol: string;
  to_ms: number;
  enterprise_id: string;
  province: string;
  pdus: number;
  drill: number;
}

export interface ApiTokensTable {
  id: string;
  label: string;
  role: string;
  province: string | null;
  /** JSON: string[]. */
  enterprises: string;
  /** SHA-256 of the secret, hex. The secret itself is never stored. */
  secret_hash: string;
  created_ms: number;
  revoked_ms: number | null;
}

export interface AuditLogTable {
  id: string;
  at_ms: number;
  token_id: string;
  role: string;
  action: string;
  enterprise_id: string | null;
  /** JSON object. */
  detail: string;
}

/** One row per resolved alert (migration 2): kept apart so the alerts table and its bulk insert stay unchanged. */
export interface AlertResolutionsTable {
  uid: string;
  enterprise_id: string;
  province: string;
  /** Packet time of the alert (retention removes the resolution with the alert). */
  alert_ts_ms: number;
  resolved_ms: number;
  resolved_by: string;
  note: string;
}

/** Risk score history (migration 2): one row per computed score. */
export interface RiskScoresTable {
  /** UUIDv7: the newest row of an enterprise has the largest id. */
  id: string;
  enterprise_id: string;
  province: string;
  computed_ms: number;
  score: number;
  /** JSON: RiskContribution[]. */
  contributions: string;
}

/** Issued warnings (migration 2). */
export interface WarningsTable {
  id: string;
  /** Unique: rule + group + window (issuing is idempotent across instances). */
  dedupe_key: string;
  rule_id: string;
  province: string;
  level: string;
  title_zh: string;
  title_en: string;
  description: string;
  /** JSON: WarningAudience. */
  audience: string;
  /** JSON: WarningFact[]. */
  facts: string;
  issued_ms: number;
  issued_by: string;
  state: string;
  closed_ms: number | null;
  closed_by: string | null;
  close_note: string | null;
  drill: number;
}

/** The enterprises a warning targets and their acknowledgements (migration 2). */
export interface WarningTargetsTable {
  warning_id: string;
  enterprise_id: string;
  province: string;
  ack_ms: number | null;
  ack_by: string | null;
  ack_note: string | null;
}

export interface SchemaMigrationsTable {
  version: number;
  name: string;
  applied_ms: number;
}

export interface Database {
  enterprises: EnterprisesTable;
  sensors: SensorsTable;
  alerts: AlertsTable;
  alert_rollups: AlertRollupsTable;
  alert_daily: AlertDailyTable;
  assets: AssetsTable;
  asset_changes: AssetChangesTable;
  sensor_health: SensorHealthTable;
  stats_reports: StatsReportsTable;
  traffic: TrafficTable;
  api_tokens: ApiTokensTable;
  audit_log: AuditLogTable;
  schema_migrations: SchemaMigrationsTable;
  alert_resolutions: AlertResolutionsTable;
  risk_scores: RiskScoresTable;
  warnings: WarningsTable;
  warning_targets: WarningTargetsTable;
}
