/**
 * The `CollectorStore` over Kysely, one implementation for SQLite and PostgreSQL. Dialect differences are confined
 * to a few expressions (`greatest`/`least`, database size) and the column type of paging keys (migrations.ts).
 *
 * Ingest is one transaction per call (or per group of calls, `ingestMany`), with multi-row statements:
 * - alerts and asset changes: `INSERT … ON CONFLICT (sensor_id, event_id) DO NOTHING RETURNING uid`, so a
 *   redelivered or replayed message inserts nothing and the returned uids say exactly what was new;
 * - hourly rollups: incremented from the *returned* (new) alerts only, in the same transaction, so a duplicate can
 *   never count twice and a crash can never leave alerts without their counts;
 * - assets: upserted by (enterprise, ip) keeping the earliest firstSeen, the latest lastSeen and the record of the
 *   newest report;
 * - health and stats: keyed by (sensor, report time), duplicates ignored; the sensor's lastHealth/lastSeq follow.
 * Rows that take row locks (rollups, assets, sensors) are written in sorted key order, so two PostgreSQL collector
 * instances ingesting overlapping data lock in the same order and cannot deadlock.
 *
 * Reads apply the caller's `Scope` in SQL (`scopeCondition`), always.
 */
import { createHash, randomBytes } from 'node:crypto';
import { type Expression, type Kysely, type RawBuilder, type SqlBool, sql } from 'kysely';
import { SUBJECT_TOKEN } from '../../protocols/wire/messages.ts';
import { RegistryConflictError, StoreInputError } from './errors.ts';
import {
  assignAlertUids,
  materializeEvents,
  type PendingAlert,
  type PendingChange,
  type PreparedIngest,
  prepareIngest,
  type SensorUpdate,
} from './ingest-rows.ts';
import { runMigrations } from './migrations.ts';
import { ALERT_ARRAY_COLUMNS, alertArrays } from './pg-alert-arrays.ts';
import { jsonWithoutNul } from './pg-nul.ts';
import type { AlertsTable, Database } from './schema.ts';
import type { SqliteRowWriter } from './sqlite-rows.ts';
import { type Backend, withWriteTransaction } from './transaction.ts';
import {
  type AggregateQuery,
  type AggregateRow,
  type AlertFilter,
  type AlertSummaryQuery,
  type AlertSummaryRow,
  type ApiToken,
  type AuditEntry,
  type CollectorStore,
  ENTERPRISE_CLASSES,
  type Enterprise,
  type IngestMessage,
  type IngestResult,
  LEVELS,
  type Level,
  type NewWarning,
  type Page,
  type PageResult,
  type RiskContribution,
  type RiskScore,
  type Role,
  type Scope,
  type Sensor,
  type StoredAlert,
  type StoredAsset,
  type StoredAssetChange,
  type StoreStats,
  WARNING_LEVELS,
  WARNING_STATES,
  type WarningFilter,
  type WarningRecord,
} from './types.ts';
import { isUuidv7, uuidv7 } from './uuidv7.ts';

export interface KyselyStoreOptions {
  /** Bound parameters per statement at most (SQLite allows 32766, PostgreSQL 65535); default 30000. */
  maxParams?: number;
  /** Rows deleted per retention transaction (short transactions let ingest interleave); default 5000. */
  retentionChunk?: number;
  /** Called by `close()` to release the connection(s) (default: `db.destroy()`). */
  onClose?: () => Promise<void>;
  /** SQLite writer only: prepared statements for the per-alert writes of ingest (sqlite-rows.ts). */
  sqliteRows?: SqliteRowWriter;
}

export const ROLES: readonly Role[] = ['province-admin', 'province-analyst', 'enterprise', 'assessor'];

const HOUR_MS = 3_600_000;
/**
 * Alerts per PostgreSQL insert statement: about 8 MB of parameters at 2 kB per alert, bounded so one batch does not
 * build one huge message (the consumer's batches hold up to 4,000 alerts).
 */
const PG_ALERTS_PER_INSERT = 4000;
const DAY_MS = 86_400_000;
const DEFAULT_PAGE = 100;
const MAX_PAGE = 1000;
/** Key of rollup rows for enterprises missing from the registry when grouping by city or industry. */
export const UNREGISTERED_KEY = '(unregistered)';

type Row<T> = { [K in keyof T]: T[K] };

/** The alert_resolutions columns joined onto an alert row (all null when unresolved). */
interface ResolutionColumns {
  resolved_ms?: number | null;
  resolved_by?: string | null;
  resolution_note?: string | null;
}

function emptyResult(): IngestResult {
  return {
    alertsInserted: 0,
    alertsDuplicate: 0,
    assetsUpserted: 0,
    assetChangesInserted: 0,
    healthStored: 0,
    statsStored: 0,
    unregistered: 0,
  };
}

function iso(ms: number | string | bigint): string {
  return new Date(Number(ms)).toISOString();
}

/** A caller-supplied time bound; throws StoreInputError when it is not a time. */
function boundMs(value: string, name: string): number {
  const ms = Date.parse(value);
  if (!Number.isFinite(ms)) throw new StoreInputError(`${name} '${value}' is not an ISO time`);
  return ms;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The level, rule, protocol and drill conditions of an aggregate on a rollup table aliased `t` (the hourly and the
 * daily rollups share these columns).
 */
function rollupConditions(t: 'r' | 'd', query: AggregateQuery, levels: Level[] | null): RawBuilder<SqlBool> {
  const col = (name: string) => sql.ref(`${t}.${name}`);
  const all: RawBuilder<SqlBool>[] = [];
  if (levels !== null) {
    all.push(levels.length === 0 ? sql<SqlBool>`1 = 0` : sql<SqlBool>`${col('level')} in (${sql.join(levels)})`);
  }
  if (query.ruleId !== undefined) all.push(sql<SqlBool>`${col('rule_id')} = ${query.ruleId}`);
  if (query.protocol !== undefined) all.push(sql<SqlBool>`${col('protocol')} = ${query.protocol}`);
  if (query.drillOnly === true) all.push(sql<SqlBool>`${col('drill')} = 1`);
  else if (query.includeDrill !== true) all.push(sql<SqlBool>`${col('drill')} = 0`);
  return all.length === 0 ? sql<SqlBool>`1 = 1` : sql<SqlBool>`${sql.join(all, sql` and `)}`;
}

function toStoredAsset(r: Database['assets']): StoredAsset {
  return {
    enterpriseId: r.enterprise_id,
    ip: r.ip,
    sensorId: r.sensor_id,
    role: r.role,
    firstSeen: iso(r.first_seen_ms),
    lastSeen: iso(r.last_seen_ms),
    record: JSON.parse(r.record) as StoredAsset['record'],
    updatedAt: iso(r.updated_ms),
  };
}

/** Aggregate rows as the API returns them: time keys as ISO text in time order, others by count descending. */
function sortAggregate(
  query: AggregateQuery,
  rows: { key: string | number; count: number | string | bigint }[],
): AggregateRow[] {
  const out = rows.map((r) => {
    let key: string;
    if (query.by === 'day') key = iso(r.key).slice(0, 10);
    else if (query.by === 'hour') key = iso(r.key);
    else key = String(r.key);
    return { key, count: Number(r.count) };
  });
  if (query.by === 'day' || query.by === 'hour') out.sort((a, b) => compare(a.key, b.key));
  else out.sort((a, b) => b.count - a.count || compare(a.key, b.key));
  return out;
}

export function encodeCursor(key: string): string {
  return Buffer.from(key, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): string {
  const key = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!isUuidv7(key)) throw new StoreInputError('invalid cursor');
  return key;
}

function pageLimit(page: Page): number {
  const limit = page.limit ?? DEFAULT_PAGE;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) {
    throw new StoreInputError(`limit must be an integer from 1 to ${MAX_PAGE}`);
  }
  return limit;
}

function pageOf<R, T>(rows: R[], limit: number, keyOf: (row: R) => string, map: (row: R) => T): PageResult<T> {
  const more = rows.length > limit;
  const items = (more ? rows.slice(0, limit) : rows).map(map);
  const last = more ? rows[limit - 1] : undefined;
  return { items, nextCursor: last === undefined ? null : encodeCursor(keyOf(last)) };
}

/** The scope as a SQL condition on the given province and enterprise columns (an empty list matches nothing). */
export function scopeCondition(scope: Scope, provinceColumn: string, enterpriseColumn: string): RawBuilder<SqlBool> {
  switch (scope.kind) {
    case 'all':
      return sql<SqlBool>`1 = 1`;
    case 'province':
      return sql<SqlBool>`${sql.ref(provinceColumn)} = ${scope.province}`;
    case 'enterprises':
      if (scope.enterprises.length === 0) return sql<SqlBool>`1 = 0`;
      return sql<SqlBool>`${sql.ref(enterpriseColumn)} in (${sql.join([...scope.enterprises])})`;
    default:
      throw new StoreInputError(`unknown scope kind '${(scope as { kind: string }).kind}'`);
  }
}

/** Levels selected by `level` and `minLevel` together, or null when neither restricts. */
function levelsOf(filter: { level?: Level[]; minLevel?: Level }): Level[] | null {
  let levels: Level[] | null = null;
  if (filter.level !== undefined) {
    for (const l of filter.level) if (!LEVELS.includes(l)) throw new StoreInputError(`unknown level '${l}'`);
    levels = [...filter.level];
  }
  if (filter.minLevel !== undefined) {
    const min = LEVELS.indexOf(filter.minLevel);
    if (min < 0) throw new StoreInputError(`unknown level '${filter.minLevel}'`);
    const atLeast = LEVELS.slice(min);
    levels = levels === null ? atLeast : levels.filter((l) => atLeast.includes(l));
  }
  return levels;
}

function checkToken(value: string, what: string): void {
  if (typeof value !== 'string' || !SUBJECT_TOKEN.test(value)) {
    throw new StoreInputError(`${what} '${value}' is not a valid id (letters, digits, '_' or '-', 1-64)`);
  }
}

/**
 * A token secret: 32 random bytes as base64url, drawn again when it would start with '-' or '_' (1 in 32). A secret
 * starting with '-' cannot be given as `--token SECRET`: argument parsers take it for an option ("argument is
 * ambiguous"), which failed the drill e2e test once here.
 */
function newTokenSecret(): string {
  for (;;) {
    const secret = randomBytes(32).toString('base64url');
    if (secret[0] !== '-' && secret[0] !== '_') return secret;
  }
}

function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

export class KyselyStore implements CollectorStore {
  private readonly maxParams: number;
  private readonly retentionChunk: number;
  private readonly sqliteRows: SqliteRowWriter | null;
  private readonly onClose: () => Promise<void>;

  constructor(
    readonly db: Kysely<Database>,
    readonly backend: Backend,
    options: KyselyStoreOptions = {},
  ) {
    this.maxParams = options.maxParams ?? 30_000;
    this.retentionChunk = options.retentionChunk ?? 5000;
    this.onClose = options.onClose ?? (() => db.destroy());
    this.sqliteRows = options.sqliteRows ?? null;
  }

  async migrate(): Promise<void> {
    await runMigrations(this.db, this.backend);
  }

  async close(): Promise<void> {
    await this.onClose();
  }

  // ---- dialect helpers -------------------------------------------------------------------------------------------

  private greatest(a: Expression<unknown>, b: Expression<unknown>): RawBuilder<number> {
    return this.backend === 'sqlite' ? sql<number>`max(${a}, ${b})` : sql<number>`greatest(${a}, ${b})`;
  }

  private least(a: Expression<unknown>, b: Expression<unknown>): RawBuilder<number> {
    return this.backend === 'sqlite' ? sql<number>`min(${a}, ${b})` : sql<number>`least(${a}, ${b})`;
  }

  /**
   * PostgreSQL bulk insert of small rows (rollups, assets, changes, health, stats): the rows as one JSON parameter,
   * `INSERT … SELECT * FROM json_populate_recordset(…)`. The statement stays small and constant whatever the row
   * count, and `JSON.stringify` is native where `pg`'s text arrays are escaped in JavaScript. Alerts, with 2 kB of
   * evidence each, go as binary column arrays instead (insertAlertArrays). U+0000, which PostgreSQL text cannot hold,
   * becomes U+FFFD (pg-nul.ts). The table's own row type gives the columns and their types, so each row must hold
   * every column (the `Row<…Table>` types make sure of it).
   */
  private async jsonInsert<R = unknown>(
    tx: Kysely<Database>,
    table: keyof Database,
    rows: object[],
    tail: RawBuilder<unknown>,
  ): Promise<R[]> {
    const rowsJson = jsonWithoutNul(JSON.stringify(rows));
    const result = await sql<R>`insert into ${sql.table(table)}
      select * from json_populate_recordset(null::${sql.table(table)}, ${rowsJson}::json)
      ${tail}`.execute(tx);
    return result.rows;
  }

  /**
   * PostgreSQL bulk alert insert: one binary array parameter per column, `INSERT … SELECT * FROM unnest(…)`
   * (pg-binary-arrays.ts says why binary, not the JSON parameter the other tables use). Returns the uids of the rows
   * that were new.
   */
  private async insertAlertArrays(tx: Kysely<Database>, alerts: readonly PendingAlert[]): Promise<{ uid: string }[]> {
    const arrays = alertArrays(alerts);
    const columns = sql.join(ALERT_ARRAY_COLUMNS.map((c) => sql.ref(c.name)));
    const params = sql.join(ALERT_ARRAY_COLUMNS.map((c, i) => sql`${arrays[i]}::${sql.raw(c.type)}`));
    const result = await sql<{ uid: string }>`insert into alerts (${columns})
      select * from unnest(${params})
      on conflict (sensor_id, event_id) do nothing returning uid`.execute(tx);
    return result.rows;
  }

  /** Splits rows so one statement stays under the bound-parameter limit. */
  private chunks<T extends object>(rows: T[]): T[][] {
    const first = rows[0];
    if (first === undefined) return [];
    const perRow = Object.keys(first).length;
    const size = Math.max(1, Math.floor(this.maxParams / perRow));
    const out: T[][] = [];
    for (let i = 0; i < rows.length; i += size) out.push(rows.slice(i, i + size));
    return out;
  }

  // ---- ingest ----------------------------------------------------------------------------------------------------

  async ingest(messages: IngestMessage[]): Promise<IngestResult> {
    const [result] = await this.ingestMany([messages]);
    return result ?? emptyResult();
  }

  /**
   * Several ingest calls in one transaction (one commit, one fsync), each with its own result: the SQLite writer
   * groups the calls that queued up while the previous commit ran.
   */
  async ingestMany(requests: IngestMessage[][]): Promise<IngestResult[]> {
    return await this.ingestPrepared(prepareIngest(requests, Date.now()));
  }

  /** Writes rows built by `prepareIngest` in one transaction; one result per ingest call they came from. */
  async ingestPrepared(prepared: PreparedIngest): Promise<IngestResult[]> {
    return await withWriteTransaction(this.db, this.backend, (tx) => this.writePrepared(tx, prepared));
  }

  private async writePrepared(tx: Kysely<Database>, p: PreparedIngest): Promise<IngestResult[]> {
    // The SQLite row writer binds event bytes directly; the Kysely paths bind the text.
    if (this.sqliteRows === null) {
      // PostgreSQL's insert sends the event bytes as they are (pg-alert-arrays.ts); the generic path binds text.
      if (this.backend !== 'postgres') materializeEvents(p);
      // The Kysely paths learn which rows were new from the uids the insert returns, so the rows need theirs now;
      // the SQLite row writer makes each one as it binds the row (see assignAlertUids).
      assignAlertUids(p, Date.now());
    }
    const results = Array.from({ length: p.requests }, emptyResult);

    const owner = new Map<string, string>();
    const ids = [...new Set(p.senders.map((s) => s.sensor))];
    for (let i = 0; i < ids.length; i += 1000) {
      const rows = await tx
        .selectFrom('sensors')
        .select(['id', 'enterprise_id'])
        .where('id', 'in', ids.slice(i, i + 1000))
        .execute();
      for (const r of rows) owner.set(r.id, r.enterprise_id);
    }
    for (const s of p.senders) {
      const result = results[s.request];
      if (result !== undefined && owner.get(s.sensor) !== s.enterprise) result.unregistered++;
    }
    p.assetsPerRequest.forEach((n, i) => {
      const result = results[i];
      if (result !== undefined) result.assetsUpserted += n;
    });

    // One row per (enterprise, address): the newest report (a tie takes the later one) with the earliest firstSeen.
    const assets = new Map<string, Row<Database['assets']>>();
    for (const row of p.assets) {
      const key = `${row.enterprise_id}\u0000${row.ip}`;
      const seen = assets.get(key);
      if (seen === undefined || row.last_seen_ms >= seen.last_seen_ms) {
        assets.set(key, {
          ...row,
          first_seen_ms: seen === undefined ? row.first_seen_ms : Math.min(row.first_seen_ms, seen.first_seen_ms),
        });
      } else if (row.first_seen_ms < seen.first_seen_ms) seen.first_seen_ms = row.first_seen_ms;
    }

    await this.insertAlerts(tx, p.alerts, results);
    await this.upsertAssets(tx, [...assets.values()]);
    await this.insertChanges(tx, p.changes, results);
    await this.insertHealth(
      tx,
      p.health.map((h) => h.row),
      p.health.map((h) => h.request),
      results,
    );
    await this.insertStats(
      tx,
      p.reports.map((r) => r.row),
      p.reports.map((r) => r.request),
      p.traffic,
      results,
    );
    await this.updateSensors(
      tx,
      p.sensorUpdates.filter((u) => owner.get(u.sensor) === u.enterprise),
    );
    return results;
  }

  private async insertAlerts(tx: Kysely<Database>, alerts: PendingAlert[], results: IngestResult[]): Promise<void> {
    if (alerts.length === 0) return;
    // Sorted by the unique key: concurrent PostgreSQL inserts of the same events wait on each other in one order.
    // Not on SQLite: one writer, so no deadlock to avoid, and its row writer makes each uid as it binds the row, so
    // the arrival order it keeps is the uid order (newest first = last ingested first).
    if (this.sqliteRows === null) {
      alerts.sort((a, b) => compare(a.row.sensor_id, b.row.sensor_id) || compare(a.row.event_id, b.row.event_id));
    }
    const inserted: PendingAlert[] = [];
    if (this.sqliteRows !== null) {
      const flags = this.sqliteRows.insertAlerts(alerts);
      alerts.forEach((a, i) => {
        if (flags[i] === true) inserted.push(a);
      });
    }
    // The other paths learn what was new from the uids the insert returns.
    const byUid = new Map<string, PendingAlert>();
    if (this.sqliteRows === null) for (const a of alerts) byUid.set(a.row.uid, a);
    let returned: { uid: string }[] = [];
    if (this.backend === 'postgres') {
      for (let i = 0; i < alerts.length; i += PG_ALERTS_PER_INSERT) {
        returned = returned.concat(await this.insertAlertArrays(tx, alerts.slice(i, i + PG_ALERTS_PER_INSERT)));
      }
    } else if (this.sqliteRows === null) {
      for (const chunk of this.chunks(alerts.map((a) => a.row))) {
        const rows = await tx
          .insertInto('alerts')
          .values(chunk)
          .onConflict((oc) => oc.columns(['sensor_id', 'event_id']).doNothing())
          .returning('uid')
          .execute();
        returned = returned.concat(rows);
      }
    }
    for (const r of returned) {
      const a = byUid.get(r.uid);
      if (a !== undefined) inserted.push(a);
    }
    for (const a of alerts) {
      const result = results[a.request];
      if (result !== undefined) result.alertsDuplicate++;
    }
    for (const a of inserted) {
      const result = results[a.request];
      if (result === undefined) continue;
      result.alertsInserted++;
      result.alertsDuplicate--;
    }

    const rollups = new Map<string, Row<Database['alert_rollups']>>();
    for (const { row } of inserted) {
      const hour = row.ts_ms - (((row.ts_ms % HOUR_MS) + HOUR_MS) % HOUR_MS);
      const key = [hour, row.enterprise_id, row.province, row.rule_id, row.level, row.protocol, row.drill].join(
        '\u0000',
      );
      const r = rollups.get(key);
      if (r !== undefined) r.count++;
      else {
        rollups.set(key, {
          hour_ms: hour,
          enterprise_id: row.enterprise_id,
          province: row.province,
          rule_id: row.rule_id,
          level: row.level,
          protocol: row.protocol,
          drill: row.drill,
          count: 1,
        });
      }
    }
    const sorted = [...rollups.entries()].sort((a, b) => compare(a[0], b[0])).map((e) => e[1]);
    const days = new Map<string, Row<Database['alert_daily']>>();
    for (const r of sorted) {
      const day = r.hour_ms - (((r.hour_ms % DAY_MS) + DAY_MS) % DAY_MS);
      const key = [r.province, day, r.rule_id, r.level, r.protocol, r.drill].join('\u0000');
      const d = days.get(key);
      if (d !== undefined) d.count += r.count;
      else {
        days.set(key, {
          day_ms: day,
          province: r.province,
          rule_id: r.rule_id,
          level: r.level,
          protocol: r.protocol,
          drill: r.drill,
          count: r.count,
        });
      }
    }
    // Sorted like the hourly rows: PostgreSQL instances lock the same daily rows in one order.
    const daily = [...days.entries()].sort((a, b) => compare(a[0], b[0])).map((e) => e[1]);
    if (this.sqliteRows !== null) {
      this.sqliteRows.addRollups(sorted);
      this.sqliteRows.addDaily(daily);
      return;
    }
    for (const chunk of this.chunks(sorted)) {
      if (this.backend === 'postgres') {
        await this.jsonInsert(
          tx,
          'alert_rollups',
          chunk,
          sql`on conflict (hour_ms, enterprise_id, province, rule_id, level, protocol, drill)
              do update set count = alert_rollups.count + excluded.count`,
        );
        continue;
      }
      await tx
        .insertInto('alert_rollups')
        .values(chunk)
        .onConflict((oc) =>
          oc
            .columns(['hour_ms', 'enterprise_id', 'province', 'rule_id', 'level', 'protocol', 'drill'])
            .doUpdateSet((eb) => ({ count: eb('alert_rollups.count', '+', eb.ref('excluded.count')) })),
        )
        .execute();
    }
    for (const chunk of this.chunks(daily)) {
      if (this.backend === 'postgres') {
        await this.jsonInsert(
          tx,
          'alert_daily',
          chunk,
          sql`on conflict (province, day_ms, rule_id, level, protocol, drill)
              do update set count = alert_daily.count + excluded.count`,
        );
        continue;
      }
      await tx
        .insertInto('alert_daily')
        .values(chunk)
        .onConflict((oc) =>
          oc
            .columns(['province', 'day_ms', 'rule_id', 'level', 'protocol', 'drill'])
            .doUpdateSet((eb) => ({ count: eb('alert_daily.count', '+', eb.ref('excluded.count')) })),
        )
        .execute();
    }
  }

  private async upsertAssets(tx: Kysely<Database>, rows: Row<Database['assets']>[]): Promise<void> {
    rows.sort((a, b) => compare(a.enterprise_id, b.enterprise_id) || compare(a.ip, b.ip));
    for (const chunk of this.chunks(rows)) {
      await tx
        .insertInto('assets')
        .values(chunk)
        .onConflict((oc) =>
          oc.columns(['enterprise_id', 'ip']).doUpdateSet((eb) => {
            // The newer report (largest lastSeen; a tie takes the incoming one) supplies the record and its fields.
            const newer = sql<SqlBool>`${eb.ref('excluded.last_seen_ms')} >= ${eb.ref('assets.last_seen_ms')}`;
            const pick = (column: 'record' | 'role' | 'sensor_id' | 'province') =>
              sql<string>`case when ${newer} then ${eb.ref(`excluded.${column}`)} else ${eb.ref(`assets.${column}`)} end`;
            return {
              first_seen_ms: this.least(eb.ref('assets.first_seen_ms'), eb.ref('excluded.first_seen_ms')),
              last_seen_ms: this.greatest(eb.ref('assets.last_seen_ms'), eb.ref('excluded.last_seen_ms')),
              record: pick('record'),
              role: pick('role'),
              sensor_id: pick('sensor_id'),
              province: pick('province'),
              updated_ms: eb.ref('excluded.updated_ms'),
            };
          }),
        )
        .execute();
    }
  }

  private async insertChanges(tx: Kysely<Database>, changes: PendingChange[], results: IngestResult[]): Promise<void> {
    if (changes.length === 0) return;
    changes.sort((a, b) => compare(a.row.sensor_id, b.row.sensor_id) || compare(a.row.event_id, b.row.event_id));
    const byUid = new Map<string, PendingChange>();
    for (const c of changes) byUid.set(c.row.uid, c);
    for (const chunk of this.chunks(changes.map((c) => c.row))) {
      const rows = await tx
        .insertInto('asset_changes')
        .values(chunk)
        .onConflict((oc) => oc.columns(['sensor_id', 'event_id']).doNothing())
        .returning('uid')
        .execute();
      for (const r of rows) {
        const c = byUid.get(r.uid);
        const result = c === undefined ? undefined : results[c.request];
        if (result !== undefined) result.assetChangesInserted++;
      }
    }
  }

  private async insertHealth(
    tx: Kysely<Database>,
    rows: Row<Database['sensor_health']>[],
    requestOf: number[],
    results: IngestResult[],
  ): Promise<void> {
    // Health batches hold at most 10 reports: one statement per report keeps the per-request attribution simple.
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i];
      if (row === undefined) continue;
      const inserted = await tx
        .insertInto('sensor_health')
        .values(row)
        .onConflict((oc) => oc.columns(['sensor_id', 'ts_ms']).doNothing())
        .returning('sensor_id')
        .execute();
      const result = results[requestOf[i] ?? -1];
      if (result !== undefined) result.healthStored += inserted.length;
    }
  }

  private async insertStats(
    tx: Kysely<Database>,
    reports: Row<Database['stats_reports']>[],
    requestOf: number[],
    traffic: Row<Database['traffic']>[],
    results: IngestResult[],
  ): Promise<void> {
    for (let i = 0; i < reports.length; i++) {
      const row = reports[i];
      if (row === undefined) continue;
      const inserted = await tx
        .insertInto('stats_reports')
        .values(row)
        .onConflict((oc) => oc.columns(['sensor_id', 'from_ms']).doNothing())
        .returning('sensor_id')
        .execute();
      const result = results[requestOf[i] ?? -1];
      if (result !== undefined) result.statsStored += inserted.length;
    }
    traffic.sort(
      (a, b) => compare(a.sensor_id, b.sensor_id) || a.from_ms - b.from_ms || compare(a.protocol, b.protocol),
    );
    for (const chunk of this.chunks(traffic)) {
      await tx
        .insertInto('traffic')
        .values(chunk)
        .onConflict((oc) => oc.columns(['sensor_id', 'from_ms', 'protocol']).doNothing())
        .execute();
    }
  }

  private async updateSensors(tx: Kysely<Database>, updates: SensorUpdate[]): Promise<void> {
    // Sorted by sensor id: PostgreSQL instances lock sensor rows in one order. A sensor may appear more than once
    // (batches grouped into one transaction); each update only ever moves its row forward.
    const sorted = [...updates].sort((a, b) => compare(a.sensor, b.sensor));
    for (const u of sorted) {
      const id = u.sensor;
      await tx
        .updateTable('sensors')
        .set((eb) => ({ last_seq: this.greatest(eb.ref('last_seq'), sql.val(u.maxSeq)) }))
        .where('id', '=', id)
        .execute();
      if (u.health === null) continue;
      // Reports can arrive out of order (outbox replay): only a newer one replaces lastHealth.
      await tx
        .updateTable('sensors')
        .set({ last_health: u.health, last_health_ms: u.healthMs, last_seen_ms: u.seenMs })
        .where('id', '=', id)
        .where((eb) => eb.or([eb('last_health_ms', 'is', null), eb('last_health_ms', '<', u.healthMs)]))
        .execute();
    }
  }

  // ---- registry --------------------------------------------------------------------------------------------------

  async upsertEnterprise(e: Omit<Enterprise, 'createdAt' | 'updatedAt'>): Promise<Enterprise> {
    checkToken(e.id, 'enterprise id');
    checkToken(e.province, 'province');
    if (!ENTERPRISE_CLASSES.includes(e.class)) throw new StoreInputError(`unknown enterprise class '${e.class}'`);
    if (e.grade !== 1 && e.grade !== 2 && e.grade !== 3) throw new StoreInputError('grade must be 1, 2 or 3');
    const now = Date.now();
    const values = {
      id: e.id,
      name: e.name,
      province: e.province,
      city: e.city,
      industry: e.industry,
      class: e.class,
      grade: e.grade,
      contacts: JSON.stringify(e.contacts),
      maintenance_windows: JSON.stringify(e.maintenanceWindows),
      created_ms: now,
      updated_ms: now,
    };
    return await withWriteTransaction(this.db, this.backend, async (tx) => {
      const { id: _id, created_ms: _created, ...changes } = values;
      await tx
        .insertInto('enterprises')
        .values(values)
        .onConflict((oc) => oc.column('id').doUpdateSet(changes))
        .execute();
      // A sensor's province follows its enterprise (scopes filter sensors by it).
      await tx.updateTable('sensors').set({ province: e.province }).where('enterprise_id', '=', e.id).execute();
      const row = await tx.selectFrom('enterprises').selectAll().where('id', '=', e.id).executeTakeFirstOrThrow();
      return this.toEnterprise(row);
    });
  }

  private toEnterprise(row: Row<Database['enterprises']>): Enterprise {
    return {
      id: row.id,
      name: row.name,
      province: row.province,
      city: row.city,
      industry: row.industry,
      class: row.class as Enterprise['class'],
      grade: Number(row.grade) as Enterprise['grade'],
      contacts: JSON.parse(row.contacts) as Enterprise['contacts'],
      maintenanceWindows: JSON.parse(row.maintenance_windows) as string[],
      createdAt: iso(row.created_ms),
      updatedAt: iso(row.updated_ms),
    };
  }

  async getEnterprise(id: string, scope: Scope): Promise<Enterprise | null> {
    const row = await this.db
      .selectFrom('enterprises')
      .selectAll()
      .where('id', '=', id)
      .where(scopeCondition(scope, 'province', 'id'))
      .executeTakeFirst();
    return row === undefined ? null : this.toEnterprise(row);
  }

  async listEnterprises(
    scope: Scope,
    filter: { city?: string; industry?: string; grade?: number } = {},
  ): Promise<Enterprise[]> {
    let q = this.db
      .selectFrom('enterprises')
      .selectAll()
      .where(scopeCondition(scope, 'province', 'id'));
    if (filter.city !== undefined) q = q.where('city', '=', filter.city);
    if (filter.industry !== undefined) q = q.where('industry', '=', filter.industry);
    if (filter.grade !== undefined) q = q.where('grade', '=', filter.grade);
    const rows = await q.orderBy('id').execute();
    return rows.map((r) => this.toEnterprise(r));
  }

  async upsertSensor(s: { id: string; enterpriseId: string; name?: string }): Promise<Sensor> {
    checkToken(s.id, 'sensor id');
    return await withWriteTransaction(this.db, this.backend, async (tx) => {
      const enterprise = await tx
        .selectFrom('enterprises')
        .select(['id', 'province'])
        .where('id', '=', s.enterpriseId)
        .executeTakeFirst();
      if (enterprise === undefined) {
        throw new RegistryConflictError(`enterprise '${s.enterpriseId}' is not registered`);
      }
      await tx
        .insertInto('sensors')
        .values({
          id: s.id,
          enterprise_id: s.enterpriseId,
          province: enterprise.province,
          name: s.name ?? s.id,
          last_health: null,
          last_health_ms: null,
          last_seen_ms: null,
          last_seq: 0,
          created_ms: Date.now(),
        })
        .onConflict((oc) => oc.column('id').doNothing())
        .execute();
      const row = await tx.selectFrom('sensors').selectAll().where('id', '=', s.id).executeTakeFirstOrThrow();
      if (row.enterprise_id !== s.enterpriseId) {
        throw new RegistryConflictError(
          `sensor '${s.id}' is already registered to enterprise '${row.enterprise_id}'; a sensor id is unique across the province`,
        );
      }
      if (s.name !== undefined && row.name !== s.name) {
        await tx.updateTable('sensors').set({ name: s.name }).where('id', '=', s.id).execute();
        row.name = s.name;
      }
      return this.toSensor(row);
    });
  }

  private toSensor(row: Row<Database['sensors']>): Sensor {
    return {
      id: row.id,
      enterpriseId: row.enterprise_id,
      province: row.province,
      name: row.name,
      lastHealth: row.last_health === null ? null : (JSON.parse(row.last_health) as Sensor['lastHealth']),
      lastSeenAt: row.last_seen_ms === null ? null : iso(row.last_seen_ms),
      lastSeq: Number(row.last_seq),
      createdAt: iso(row.created_ms),
    };
  }

  async listSensors(scope: Scope, filter: { enterpriseId?: string } = {}): Promise<Sensor[]> {
    let q = this.db
      .selectFrom('sensors')
      .selectAll()
      .where(scopeCondition(scope, 'province', 'enterprise_id'));
    if (filter.enterpriseId !== undefined) q = q.where('enterprise_id', '=', filter.enterpriseId);
    const rows = await q.orderBy('enterprise_id').orderBy('id').execute();
    return rows.map((r) => this.toSensor(r));
  }

  // ---- alerts ----------------------------------------------------------------------------------------------------

  private toAlert(row: Row<AlertsTable> & ResolutionColumns): StoredAlert {
    return {
      uid: row.uid,
      eventId: row.event_id,
      enterpriseId: row.enterprise_id,
      sensorId: row.sensor_id,
      province: row.province,
      ts: iso(row.ts_ms),
      receivedAt: iso(row.received_ms),
      ruleId: row.rule_id,
      ruleTitle: row.rule_title,
      level: row.level as Level,
      tags: JSON.parse(row.tags) as string[],
      protocol: row.protocol,
      clientIp: row.client_ip,
      serverIp: row.server_ip,
      serverPort: Number(row.server_port),
      count: Number(row.count),
      drill: Number(row.drill) === 1,
      event: JSON.parse(row.event) as StoredAlert['event'],
      resolution:
        row.resolved_ms === null || row.resolved_ms === undefined
          ? null
          : { resolvedAt: iso(row.resolved_ms), resolvedBy: row.resolved_by ?? '', note: row.resolution_note ?? '' },
    };
  }

  /** Alerts with their resolution columns (null when unresolved). */
  private alertsWithResolution(db: Kysely<Database> = this.db) {
    return db
      .selectFrom('alerts')
      .leftJoin('alert_resolutions as res', 'res.uid', 'alerts.uid')
      .selectAll('alerts')
      .select(['res.resolved_ms as resolved_ms', 'res.resolved_by as resolved_by', 'res.note as resolution_note']);
  }

  async listAlerts(scope: Scope, filter: AlertFilter, page: Page): Promise<PageResult<StoredAlert>> {
    const limit = pageLimit(page);
    let q = this.alertsWithResolution().where(scopeCondition(scope, 'alerts.province', 'alerts.enterprise_id'));
    if (filter.enterpriseId !== undefined) q = q.where('alerts.enterprise_id', '=', filter.enterpriseId);
    if (filter.sensorId !== undefined) q = q.where('alerts.sensor_id', '=', filter.sensorId);
    const levels = levelsOf(filter);
    if (levels !== null) {
      q = levels.length === 0 ? q.where(sql<SqlBool>`1 = 0`) : q.where('alerts.level', 'in', levels);
    }
    if (filter.ruleId !== undefined) q = q.where('alerts.rule_id', '=', filter.ruleId);
    if (filter.protocol !== undefined) q = q.where('alerts.protocol', '=', filter.protocol);
    if (filter.from !== undefined) q = q.where('alerts.ts_ms', '>=', boundMs(filter.from, 'from'));
    if (filter.to !== undefined) q = q.where('alerts.ts_ms', '<', boundMs(filter.to, 'to'));
    if (filter.drillOnly === true) q = q.where('alerts.drill', '=', 1);
    else if (filter.includeDrill !== true) q = q.where('alerts.drill', '=', 0);
    if (filter.unresolved === true) q = q.where('res.uid', 'is', null);
    else if (filter.unresolved === false) q = q.where('res.uid', 'is not', null);
    if (page.cursor !== undefined) q = q.where('alerts.uid', '<', decodeCursor(page.cursor));
    const rows = await q
      .orderBy('alerts.uid', 'desc')
      .limit(limit + 1)
      .execute();
    return pageOf(
      rows,
      limit,
      (r) => r.uid,
      (r) => this.toAlert(r),
    );
  }

  async getAlert(scope: Scope, uid: string): Promise<StoredAlert | null> {
    const row = await this.alertsWithResolution()
      .where('alerts.uid', '=', uid)
      .where(scopeCondition(scope, 'alerts.province', 'alerts.enterprise_id'))
      .executeTakeFirst();
    return row === undefined ? null : this.toAlert(row);
  }

  async resolveAlert(scope: Scope, uid: string, by: string, note: string): Promise<StoredAlert | null> {
    if (typeof by !== 'string' || by.length === 0) throw new StoreInputError('resolvedBy is required');
    return await withWriteTransaction(this.db, this.backend, async (tx) => {
      const alert = await tx
        .selectFrom('alerts')
        .select(['uid', 'enterprise_id', 'province', 'ts_ms'])
        .where('uid', '=', uid)
        .where(scopeCondition(scope, 'province', 'enterprise_id'))
        .executeTakeFirst();
      if (alert === undefined) return null;
      // The first resolution stands: a second call (or a second instance) changes nothing.
      await tx
        .insertInto('alert_resolutions')
        .values({
          uid: alert.uid,
          enterprise_id: alert.enterprise_id,
          province: alert.province,
          alert_ts_ms: Number(alert.ts_ms),
          resolved_ms: Date.now(),
          resolved_by: by,
          note,
        })
        .onConflict((oc) => oc.column('uid').doNothing())
        .execute();
      const row = await this.alertsWithResolution(tx).where('alerts.uid', '=', uid).executeTakeFirstOrThrow();
      return this.toAlert(row);
    });
  }

  /**
   * Alerts grouped by (enterprise, rule, level, resolved, bucket of packet time). Scans the alerts in the time range
   * (`alerts_ts`/`alerts_enterprise_ts` indexes); used by risk scoring and warning evaluation on bounded windows.
   */
  async summarizeAlerts(scope: Scope, query: AlertSummaryQuery): Promise<AlertSummaryRow[]> {
    const bucketMs = query.bucketMs;
    if (bucketMs !== undefined && (!Number.isInteger(bucketMs) || bucketMs < 1000)) {
      throw new StoreInputError('bucketMs must be an integer of at least 1000');
    }
    const bucket = bucketMs === undefined ? sql<number>`0` : sql<number>`a.ts_ms - (a.ts_ms % ${sql.lit(bucketMs)})`;
    const resolved = sql<number>`case when res.uid is null then 0 else 1 end`;
    let q = this.db
      .selectFrom('alerts as a')
      .leftJoin('alert_resolutions as res', 'res.uid', 'a.uid')
      .select([
        'a.enterprise_id',
        'a.province',
        'a.rule_id',
        'a.level',
        sql<string>`max(a.rule_title)`.as('rule_title'),
        sql<string>`max(a.tags)`.as('tags'),
        resolved.as('resolved'),
        bucket.as('bucket'),
        sql<number>`count(*)`.as('n'),
        sql<number>`min(a.ts_ms)`.as('first_ms'),
        sql<number>`max(a.ts_ms)`.as('last_ms'),
        sql<string>`max(a.uid)`.as('last_uid'),
      ])
      .where(scopeCondition(scope, 'a.province', 'a.enterprise_id'));
    if (query.enterpriseId !== undefined) q = q.where('a.enterprise_id', '=', query.enterpriseId);
    const levels = levelsOf(query);
    if (levels !== null) q = levels.length === 0 ? q.where(sql<SqlBool>`1 = 0`) : q.where('a.level', 'in', levels);
    if (query.ruleIds !== undefined) {
      q = query.ruleIds.length === 0 ? q.where(sql<SqlBool>`1 = 0`) : q.where('a.rule_id', 'in', query.ruleIds);
    }
    if (query.protocol !== undefined) q = q.where('a.protocol', '=', query.protocol);
    if (query.from !== undefined) q = q.where('a.ts_ms', '>=', boundMs(query.from, 'from'));
    if (query.to !== undefined) q = q.where('a.ts_ms', '<', boundMs(query.to, 'to'));
    if (query.drillOnly === true) q = q.where('a.drill', '=', 1);
    else if (query.includeDrill !== true) q = q.where('a.drill', '=', 0);
    if (query.unresolved === true) q = q.where('res.uid', 'is', null);
    else if (query.unresolved === false) q = q.where('res.uid', 'is not', null);
    q = q.groupBy(['a.enterprise_id', 'a.province', 'a.rule_id', 'a.level']).groupBy(resolved);
    // A literal in GROUP BY would be read as a column position: group by the bucket only when there is one.
    if (bucketMs !== undefined) q = q.groupBy(bucket);
    const rows = await q.execute();
    return rows
      .map((r) => ({
        enterpriseId: r.enterprise_id,
        province: r.province,
        ruleId: r.rule_id,
        ruleTitle: r.rule_title,
        level: r.level as Level,
        tags: JSON.parse(r.tags) as string[],
        resolved: Number(r.resolved) === 1,
        bucketStart: iso(r.bucket),
        alerts: Number(r.n),
        firstTs: iso(r.first_ms),
        lastTs: iso(r.last_ms),
        lastUid: r.last_uid,
      }))
      .sort(
        (a, b) =>
          compare(a.enterpriseId, b.enterpriseId) ||
          compare(a.bucketStart, b.bucketStart) ||
          compare(a.ruleId, b.ruleId) ||
          compare(a.level, b.level) ||
          Number(a.resolved) - Number(b.resolved),
      );
  }

  /**
   * Counts from the hourly rollups. `from`/`to` select whole hours: an hour counts when it starts in
   * [hour of `from`, `to`), so hour-aligned bounds give exactly the alerts with `from <= ts < to`.
   */
  async aggregate(scope: Scope, query: AggregateQuery): Promise<AggregateRow[]> {
    const levels = levelsOf(query);
    const daily = this.aggregateDaily(scope, query, levels);
    if (daily !== null) return sortAggregate(query, await daily);
    const keyExpr = ((): RawBuilder<string | number> => {
      switch (query.by) {
        case 'day':
          return sql<number>`r.hour_ms - (r.hour_ms % ${sql.lit(DAY_MS)})`;
        case 'hour':
          return sql<number>`r.hour_ms`;
        case 'level':
          return sql<string>`r.level`;
        case 'rule':
          return sql<string>`r.rule_id`;
        case 'protocol':
          return sql<string>`r.protocol`;
        case 'enterprise':
          return sql<string>`r.enterprise_id`;
        case 'city':
          return sql<string>`coalesce(e.city, ${sql.lit(UNREGISTERED_KEY)})`;
        case 'industry':
          return sql<string>`coalesce(e.industry, ${sql.lit(UNREGISTERED_KEY)})`;
        default:
          throw new StoreInputError(`unknown aggregate '${String(query.by)}'`);
      }
    })();
    let q = this.db
      .selectFrom('alert_rollups as r')
      .leftJoin('enterprises as e', 'e.id', 'r.enterprise_id')
      .select([keyExpr.as('key'), sql<number>`sum(r.count)`.as('count')])
      .where(scopeCondition(scope, 'r.province', 'r.enterprise_id'))
      .where(rollupConditions('r', query, levels));
    if (query.enterpriseId !== undefined) q = q.where('r.enterprise_id', '=', query.enterpriseId);
    if (query.from !== undefined) {
      const from = boundMs(query.from, 'from');
      q = q.where('r.hour_ms', '>=', from - (((from % HOUR_MS) + HOUR_MS) % HOUR_MS));
    }
    if (query.to !== undefined) q = q.where('r.hour_ms', '<', boundMs(query.to, 'to'));
    const rows = await q.groupBy(keyExpr).execute();
    return sortAggregate(query, rows);
  }

  /**
   * The same aggregate from the daily province rollups, or null when they cannot answer it: they serve a province
   * or the whole store (not an enterprise list or one enterprise), keys without an enterprise dimension, and time
   * bounds on whole UTC days (the hourly rollups answer everything else).
   */
  private aggregateDaily(
    scope: Scope,
    query: AggregateQuery,
    levels: Level[] | null,
  ): Promise<{ key: string | number; count: number | string | bigint }[]> | null {
    if (scope.kind === 'enterprises' || query.enterpriseId !== undefined) return null;
    if (query.by !== 'day' && query.by !== 'level' && query.by !== 'rule' && query.by !== 'protocol') return null;
    const from = query.from === undefined ? undefined : boundMs(query.from, 'from');
    const to = query.to === undefined ? undefined : boundMs(query.to, 'to');
    if ((from !== undefined && from % DAY_MS !== 0) || (to !== undefined && to % DAY_MS !== 0)) return null;
    const column = { day: 'd.day_ms', level: 'd.level', rule: 'd.rule_id', protocol: 'd.protocol' }[query.by];
    const keyExpr = sql<string | number>`${sql.ref(column)}`;
    let q = this.db
      .selectFrom('alert_daily as d')
      .select([keyExpr.as('key'), sql<number>`sum(d.count)`.as('count')])
      .where(scopeCondition(scope, 'd.province', 'd.province'))
      .where(rollupConditions('d', query, levels));
    if (from !== undefined) q = q.where('d.day_ms', '>=', from);
    if (to !== undefined) q = q.where('d.day_ms', '<', to);
    return q.groupBy(keyExpr).execute();
  }

  // ---- assets and traffic ----------------------------------------------------------------------------------------

  async listAssets(scope: Scope, enterpriseId: string): Promise<StoredAsset[]> {
    const rows = await this.db
      .selectFrom('assets')
      .selectAll()
      .where('enterprise_id', '=', enterpriseId)
      .where(scopeCondition(scope, 'province', 'enterprise_id'))
      .orderBy('ip')
      .execute();
    return rows.map(toStoredAsset);
  }

  async listAllAssets(scope: Scope): Promise<StoredAsset[]> {
    const rows = await this.db
      .selectFrom('assets')
      .selectAll()
      .where(scopeCondition(scope, 'province', 'enterprise_id'))
      .orderBy('enterprise_id')
      .orderBy('ip')
      .execute();
    return rows.map(toStoredAsset);
  }

  // ---- risk scores -----------------------------------------------------------------------------------------------

  async insertRiskScores(scores: RiskScore[]): Promise<number> {
    if (scores.length === 0) return 0;
    const rows = scores.map((r) => {
      checkToken(r.enterpriseId, 'enterprise id');
      if (!Number.isFinite(r.score) || r.score < 0 || r.score > 100) {
        throw new StoreInputError(`risk score ${r.score} is outside 0..100`);
      }
      const ms = boundMs(r.computedAt, 'computedAt');
      return {
        id: uuidv7(ms),
        enterprise_id: r.enterpriseId,
        province: r.province,
        computed_ms: ms,
        score: r.score,
        contributions: JSON.stringify(r.contributions),
      };
    });
    return await withWriteTransaction(this.db, this.backend, async (tx) => {
      for (const chunk of this.chunks(rows)) await tx.insertInto('risk_scores').values(chunk).execute();
      return rows.length;
    });
  }

  private toRisk(row: Row<Database['risk_scores']>): RiskScore {
    return {
      enterpriseId: row.enterprise_id,
      province: row.province,
      score: Number(row.score),
      computedAt: iso(row.computed_ms),
      contributions: JSON.parse(row.contributions) as RiskContribution[],
    };
  }

  async latestRiskScores(scope: Scope): Promise<RiskScore[]> {
    const newest = this.db
      .selectFrom('risk_scores')
      .select(['enterprise_id', sql<string>`max(id)`.as('id')])
      .where(scopeCondition(scope, 'province', 'enterprise_id'))
      .groupBy('enterprise_id')
      .as('n');
    const rows = await this.db
      .selectFrom('risk_scores as s')
      .innerJoin(newest, 'n.id', 's.id')
      .selectAll('s')
      .execute();
    return rows.map((r) => this.toRisk(r)).sort((a, b) => b.score - a.score || compare(a.enterpriseId, b.enterpriseId));
  }

  async riskHistory(scope: Scope, enterpriseId: string, from?: string, to?: string): Promise<RiskScore[]> {
    let q = this.db
      .selectFrom('risk_scores')
      .selectAll()
      .where('enterprise_id', '=', enterpriseId)
      .where(scopeCondition(scope, 'province', 'enterprise_id'));
    if (from !== undefined) q = q.where('computed_ms', '>=', boundMs(from, 'from'));
    if (to !== undefined) q = q.where('computed_ms', '<', boundMs(to, 'to'));
    const rows = await q.orderBy('computed_ms').orderBy('id').execute();
    return rows.map((r) => this.toRisk(r));
  }

  // ---- warnings --------------------------------------------------------------------------------------------------

  /** Warnings visible to a scope: a province's own; for enterprises, those that target one of them. */
  private warningScope(scope: Scope): Expression<SqlBool> {
    if (scope.kind !== 'enterprises') return scopeCondition(scope, 'w.province', 'w.id');
    if (scope.enterprises.length === 0) return sql<SqlBool>`1 = 0`;
    return sql<SqlBool>`exists (select 1 from warning_targets t where t.warning_id = w.id and t.enterprise_id in (${sql.join([...scope.enterprises])}))`;
  }

  private async toWarnings(db: Kysely<Database>, rows: Row<Database['warnings']>[]): Promise<WarningRecord[]> {
    if (rows.length === 0) return [];
    const targets = await db
      .selectFrom('warning_targets')
      .selectAll()
      .where(
        'warning_id',
        'in',
        rows.map((r) => r.id),
      )
      .orderBy('warning_id')
      .orderBy('enterprise_id')
      .execute();
    const byWarning = new Map<string, WarningRecord['targets']>();
    for (const t of targets) {
      let list = byWarning.get(t.warning_id);
      if (list === undefined) {
        list = [];
        byWarning.set(t.warning_id, list);
      }
      list.push({
        enterpriseId: t.enterprise_id,
        ackAt: t.ack_ms === null ? null : iso(t.ack_ms),
        ackBy: t.ack_by,
        ackNote: t.ack_note,
      });
    }
    return rows.map((r) => ({
      id: r.id,
      dedupeKey: r.dedupe_key,
      ruleId: r.rule_id,
      title: { zh: r.title_zh, en: r.title_en },
      description: r.description,
      level: r.level as WarningRecord['level'],
      province: r.province,
      audience: JSON.parse(r.audience) as WarningRecord['audience'],
      targets: byWarning.get(r.id) ?? [],
      facts: JSON.parse(r.facts) as WarningRecord['facts'],
      issuedAt: iso(r.issued_ms),
      issuedBy: r.issued_by,
      state: r.state as WarningRecord['state'],
      closedAt: r.closed_ms === null ? null : iso(r.closed_ms),
      closedBy: r.closed_by,
      closeNote: r.close_note,
      drill: Number(r.drill) === 1,
    }));
  }

  private async warningIn(db: Kysely<Database>, scope: Scope, id: string): Promise<WarningRecord | null> {
    if (!isUuidv7(id)) return null;
    const row = await db
      .selectFrom('warnings as w')
      .selectAll('w')
      .where('w.id', '=', id)
      .where(this.warningScope(scope))
      .executeTakeFirst();
    if (row === undefined) return null;
    const [warning] = await this.toWarnings(db, [row]);
    return warning ?? null;
  }

  async issueWarning(w: NewWarning): Promise<{ warning: WarningRecord; created: boolean }> {
    if (!WARNING_LEVELS.includes(w.level)) throw new StoreInputError(`unknown warning level '${w.level}'`);
    checkToken(w.province, 'province');
    if (typeof w.dedupeKey !== 'string' || w.dedupeKey.length === 0 || w.dedupeKey.length > 512) {
      throw new StoreInputError('dedupeKey must be 1-512 characters');
    }
    for (const t of w.targets) checkToken(t, 'target enterprise id');
    const issuedMs = boundMs(w.issuedAt, 'issuedAt');
    const id = uuidv7(issuedMs);
    return await withWriteTransaction(this.db, this.backend, async (tx) => {
      const inserted = await tx
        .insertInto('warnings')
        .values({
          id,
          dedupe_key: w.dedupeKey,
          rule_id: w.ruleId,
          province: w.province,
          level: w.level,
          title_zh: w.title.zh,
          title_en: w.title.en,
          description: w.description,
          audience: JSON.stringify(w.audience),
          facts: JSON.stringify(w.facts),
          issued_ms: issuedMs,
          issued_by: w.issuedBy,
          state: 'issued',
          closed_ms: null,
          closed_by: null,
          close_note: null,
          drill: w.drill ? 1 : 0,
        })
        .onConflict((oc) => oc.column('dedupe_key').doNothing())
        .returning('id')
        .execute();
      const created = inserted.length > 0;
      if (created) {
        const targets = [...new Set(w.targets)].sort(compare).map((enterprise) => ({
          warning_id: id,
          enterprise_id: enterprise,
          province: w.province,
          ack_ms: null,
          ack_by: null,
          ack_note: null,
        }));
        for (const chunk of this.chunks(targets)) await tx.insertInto('warning_targets').values(chunk).execute();
      }
      const row = await tx
        .selectFrom('warnings')
        .selectAll()
        .where('dedupe_key', '=', w.dedupeKey)
        .executeTakeFirstOrThrow();
      const [warning] = await this.toWarnings(tx, [row]);
      if (warning === undefined) throw new Error('issued warning vanished');
      return { warning, created };
    });
  }

  async listWarnings(scope: Scope, filter: WarningFilter, page: Page): Promise<PageResult<WarningRecord>> {
    const limit = pageLimit(page);
    let q = this.db.selectFrom('warnings as w').selectAll('w').where(this.warningScope(scope));
    if (filter.state !== undefined) {
      if (!WARNING_STATES.includes(filter.state)) throw new StoreInputError(`unknown state '${filter.state}'`);
      q = q.where('w.state', '=', filter.state);
    }
    if (filter.level !== undefined) {
      if (!WARNING_LEVELS.includes(filter.level)) throw new StoreInputError(`unknown level '${filter.level}'`);
      q = q.where('w.level', '=', filter.level);
    }
    if (filter.ruleId !== undefined) q = q.where('w.rule_id', '=', filter.ruleId);
    if (filter.from !== undefined) q = q.where('w.issued_ms', '>=', boundMs(filter.from, 'from'));
    if (filter.to !== undefined) q = q.where('w.issued_ms', '<', boundMs(filter.to, 'to'));
    if (filter.drillOnly === true) q = q.where('w.drill', '=', 1);
    else if (filter.includeDrill !== true) q = q.where('w.drill', '=', 0);
    if (page.cursor !== undefined) q = q.where('w.id', '<', decodeCursor(page.cursor));
    const rows = await q
      .orderBy('w.id', 'desc')
      .limit(limit + 1)
      .execute();
    const more = rows.length > limit;
    const kept = more ? rows.slice(0, limit) : rows;
    const items = await this.toWarnings(this.db, kept);
    const last = more ? kept[kept.length - 1] : undefined;
    return { items, nextCursor: last === undefined ? null : encodeCursor(last.id) };
  }

  async getWarning(scope: Scope, id: string): Promise<WarningRecord | null> {
    return await this.warningIn(this.db, scope, id);
  }

  async ackWarning(
    scope: Scope,
    id: string,
    enterpriseId: string,
    by: string,
    note?: string,
  ): Promise<WarningRecord | null> {
    if (typeof by !== 'string' || by.length === 0) throw new StoreInputError('ackBy is required');
    return await withWriteTransaction(this.db, this.backend, async (tx) => {
      const warning = await this.warningIn(tx, scope, id);
      if (warning === null) return null;
      if (!warning.targets.some((t) => t.enterpriseId === enterpriseId)) return null;
      await tx
        .updateTable('warning_targets')
        .set({ ack_ms: Date.now(), ack_by: by, ack_note: note ?? null })
        .where('warning_id', '=', id)
        .where('enterprise_id', '=', enterpriseId)
        .where('ack_ms', 'is', null)
        .execute();
      const pending = await tx
        .selectFrom('warning_targets')
        .select(sql<number>`count(*)`.as('n'))
        .where('warning_id', '=', id)
        .where('ack_ms', 'is', null)
        .executeTakeFirstOrThrow();
      if (Number(pending.n) === 0) {
        await tx
          .updateTable('warnings')
          .set({ state: 'acknowledged' })
          .where('id', '=', id)
          .where('state', '=', 'issued')
          .execute();
      }
      return await this.warningIn(tx, { kind: 'all' }, id);
    });
  }

  async closeWarning(scope: Scope, id: string, by: string, note: string): Promise<WarningRecord | null> {
    if (typeof by !== 'string' || by.length === 0) throw new StoreInputError('closedBy is required');
    return await withWriteTransaction(this.db, this.backend, async (tx) => {
      const warning = await this.warningIn(tx, scope, id);
      if (warning === null) return null;
      await tx
        .updateTable('warnings')
        .set({ state: 'closed', closed_ms: Date.now(), closed_by: by, close_note: note })
        .where('id', '=', id)
        .where('state', '<>', 'closed')
        .execute();
      return await this.warningIn(tx, { kind: 'all' }, id);
    });
  }

  async listAssetChanges(scope: Scope, enterpriseId: string, page: Page): Promise<PageResult<StoredAssetChange>> {
    const limit = pageLimit(page);
    let q = this.db
      .selectFrom('asset_changes')
      .selectAll()
      .where('enterprise_id', '=', enterpriseId)
      .where(scopeCondition(scope, 'province', 'enterprise_id'));
    if (page.cursor !== undefined) q = q.where('uid', '<', decodeCursor(page.cursor));
    const rows = await q
      .orderBy('uid', 'desc')
      .limit(limit + 1)
      .execute();
    return pageOf(
      rows,
      limit,
      (r) => r.uid,
      (r) => ({
        enterpriseId: r.enterprise_id,
        sensorId: r.sensor_id,
        ip: r.ip,
        change: r.change,
        ts: iso(r.ts_ms),
        event: JSON.parse(r.event) as StoredAssetChange['event'],
      }),
    );
  }

  /** PDUs per protocol from stats reports that start in [from, to); drill traffic is left out. */
  async trafficByProtocol(
    scope: Scope,
    filter: { enterpriseId?: string; from?: string; to?: string },
  ): Promise<{ protocol: string; pdus: number }[]> {
    let q = this.db
      .selectFrom('traffic')
      .select(['protocol', sql<number>`sum(pdus)`.as('pdus')])
      .where(scopeCondition(scope, 'province', 'enterprise_id'))
      .where('drill', '=', 0);
    if (filter.enterpriseId !== undefined) q = q.where('enterprise_id', '=', filter.enterpriseId);
    if (filter.from !== undefined) q = q.where('from_ms', '>=', boundMs(filter.from, 'from'));
    if (filter.to !== undefined) q = q.where('from_ms', '<', boundMs(filter.to, 'to'));
    const rows = await q.groupBy('protocol').execute();
    return rows
      .map((r) => ({ protocol: r.protocol, pdus: Number(r.pdus) }))
      .sort((a, b) => b.pdus - a.pdus || compare(a.protocol, b.protocol));
  }

  // ---- tokens and audit ------------------------------------------------------------------------------------------

  private toToken(row: Row<Database['api_tokens']>): ApiToken {
    return {
      id: row.id,
      label: row.label,
      role: row.role as Role,
      province: row.province,
      enterprises: JSON.parse(row.enterprises) as string[],
      createdAt: iso(row.created_ms),
      revokedAt: row.revoked_ms === null ? null : iso(row.revoked_ms),
    };
  }

  async createToken(t: Omit<ApiToken, 'id' | 'createdAt' | 'revokedAt'>): Promise<{ token: ApiToken; secret: string }> {
    if (!ROLES.includes(t.role)) throw new StoreInputError(`unknown role '${t.role}'`);
    const secret = newTokenSecret();
    const row = {
      id: uuidv7(),
      label: t.label,
      role: t.role,
      province: t.province,
      enterprises: JSON.stringify(t.enterprises),
      secret_hash: hashSecret(secret),
      created_ms: Date.now(),
      revoked_ms: null,
    };
    await this.db.insertInto('api_tokens').values(row).execute();
    return { token: this.toToken(row), secret };
  }

  async authenticate(secret: string): Promise<ApiToken | null> {
    if (typeof secret !== 'string' || secret.length === 0 || secret.length > 256) return null;
    const row = await this.db
      .selectFrom('api_tokens')
      .selectAll()
      .where('secret_hash', '=', hashSecret(secret))
      .where('revoked_ms', 'is', null)
      .executeTakeFirst();
    return row === undefined ? null : this.toToken(row);
  }

  /** True when this call revoked the token; false when it is unknown or was already revoked. */
  async revokeToken(id: string): Promise<boolean> {
    const result = await this.db
      .updateTable('api_tokens')
      .set({ revoked_ms: Date.now() })
      .where('id', '=', id)
      .where('revoked_ms', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async listTokens(): Promise<ApiToken[]> {
    const rows = await this.db.selectFrom('api_tokens').selectAll().orderBy('id').execute();
    return rows.map((r) => this.toToken(r));
  }

  async appendAudit(entry: Omit<AuditEntry, 'id' | 'at'>): Promise<void> {
    await this.db
      .insertInto('audit_log')
      .values({
        id: uuidv7(),
        at_ms: Date.now(),
        token_id: entry.tokenId,
        role: entry.role,
        action: entry.action,
        enterprise_id: entry.enterpriseId,
        detail: JSON.stringify(entry.detail),
      })
      .execute();
  }

  async listAudit(
    page: Page,
    filter: { enterpriseId?: string; action?: string } = {},
  ): Promise<PageResult<AuditEntry>> {
    const limit = pageLimit(page);
    let q = this.db.selectFrom('audit_log').selectAll();
    if (filter.enterpriseId !== undefined) q = q.where('enterprise_id', '=', filter.enterpriseId);
    if (filter.action !== undefined) q = q.where('action', '=', filter.action);
    if (page.cursor !== undefined) q = q.where('id', '<', decodeCursor(page.cursor));
    const rows = await q
      .orderBy('id', 'desc')
      .limit(limit + 1)
      .execute();
    return pageOf(
      rows,
      limit,
      (r) => r.id,
      (r) => ({
        id: r.id,
        at: iso(r.at_ms),
        tokenId: r.token_id,
        role: r.role,
        action: r.action,
        enterpriseId: r.enterprise_id,
        detail: JSON.parse(r.detail) as Record<string, unknown>,
      }),
    );
  }

  // ---- retention and stats ---------------------------------------------------------------------------------------

  /**
   * Deletes alerts (by packet time), asset changes, health reports and stats reports older than `before`, in short
   * transactions of `retentionChunk` rows with a pause between them so ingest is not held up. Assets and the hourly
   * rollups stay: the inventory is current state, and the rollups are the long-term history the dashboards read.
   */
  async applyRetention(before: string): Promise<number> {
    const cutoff = boundMs(before, 'before');
    let removed = 0;
    const chunked = async (table: 'alerts' | 'asset_changes'): Promise<void> => {
      for (;;) {
        const n = await withWriteTransaction(this.db, this.backend, async (tx) => {
          const result = await tx
            .deleteFrom(table)
            .where(
              'uid',
              'in',
              tx.selectFrom(table).select('uid').where('ts_ms', '<', cutoff).limit(this.retentionChunk),
            )
            .executeTakeFirst();
          return Number(result.numDeletedRows);
        });
        removed += n;
        if (n < this.retentionChunk) return;
        await new Promise((resolve) => setImmediate(resolve));
      }
    };
    await chunked('alerts');
    await chunked('asset_changes');
    await withWriteTransaction(this.db, this.backend, async (tx) => {
      const h = await tx.deleteFrom('sensor_health').where('ts_ms', '<', cutoff).executeTakeFirst();
      const s = await tx.deleteFrom('stats_reports').where('to_ms', '<', cutoff).executeTakeFirst();
      const t = await tx.deleteFrom('traffic').where('to_ms', '<', cutoff).executeTakeFirst();
      removed += Number(h.numDeletedRows) + Number(s.numDeletedRows) + Number(t.numDeletedRows);
      // Resolutions go with their alerts; risk history goes, except each enterprise's newest score.
      const r = await tx.deleteFrom('alert_resolutions').where('alert_ts_ms', '<', cutoff).executeTakeFirst();
      const newest = tx.selectFrom('risk_scores').select(sql<string>`max(id)`.as('id')).groupBy('enterprise_id');
      const k = await tx
        .deleteFrom('risk_scores')
        .where('computed_ms', '<', cutoff)
        .where('id', 'not in', newest)
        .executeTakeFirst();
      removed += Number(r.numDeletedRows) + Number(k.numDeletedRows);
    });
    return removed;
  }

  async stats(): Promise<StoreStats> {
    const bytesQuery =
      this.backend === 'sqlite'
        ? sql<{ bytes: number }>`select page_count * page_size as bytes from pragma_page_count(), pragma_page_size()`
        : sql<{ bytes: number }>`select pg_database_size(current_database()) as bytes`;
    const bytes = await bytesQuery.execute(this.db);
    const count = async (table: 'alerts' | 'assets' | 'enterprises' | 'sensors'): Promise<number> => {
      const row = await this.db.selectFrom(table).select(sql<number>`count(*)`.as('n')).executeTakeFirstOrThrow();
      return Number(row.n);
    };
    return {
      backend: this.backend,
      bytes: Number(bytes.rows[0]?.bytes ?? 0),
      alerts: await count('alerts'),
      assets: await count('assets'),
      enterprises: await count('enterprises'),
      sensors: await count('sensors'),
    };
  }
}
