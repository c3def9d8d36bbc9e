/**
 * Versioned schema migrations, run by `CollectorStore.migrate()`. The whole run is one transaction under a lock
 * (SQLite: `BEGIN IMMEDIATE`, the database write lock; PostgreSQL: `pg_advisory_xact_lock`), and DDL is
 * transactional on both, so several collector instances starting at once apply each migration exactly once: the
 * first takes the lock and migrates, the others wait, then find every version recorded and do nothing.
 *
 * Append new migrations at the end; never edit one that has shipped.
 */
import { type Expression, type Kysely, sql } from 'kysely';
import type { Database } from './schema.ts';
import { type Backend, withWriteTransaction } from './transaction.ts';

export interface Migration {
  version: number;
  name: string;
  up(db: Kysely<Database>, backend: Backend): Promise<void>;
}

/** PostgreSQL advisory lock key of the migration run ('otwatch' in ASCII, fits a bigint). */
const MIGRATION_LOCK_KEY = 0x6f74776174636863n.toString();

/**
 * Type of the UUIDv7 paging keys. PostgreSQL compares text with the database's collation, which for most locales
 * is not byte order: `collate "C"` keeps `ORDER BY uid` equal to creation order. SQLite's default is binary.
 */
function keyType(backend: Backend): 'text' | Expression<unknown> {
  return backend === 'postgres' ? sql`text collate "C"` : 'text';
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'registry, alerts, rollups, assets, health, stats, tokens, audit',
    async up(db, backend) {
      const s = db.schema;
      await s
        .createTable('enterprises')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('province', 'text', (c) => c.notNull())
        .addColumn('city', 'text', (c) => c.notNull())
        .addColumn('industry', 'text', (c) => c.notNull())
        .addColumn('class', 'text', (c) => c.notNull())
        .addColumn('grade', 'integer', (c) => c.notNull())
        .addColumn('contacts', 'text', (c) => c.notNull())
        .addColumn('maintenance_windows', 'text', (c) => c.notNull())
        .addColumn('created_ms', 'bigint', (c) => c.notNull())
        .addColumn('updated_ms', 'bigint', (c) => c.notNull())
        .execute();
      await s.createIndex('enterprises_province').on('enterprises').columns(['province', 'id']).execute();

      await s
        .createTable('sensors')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('enterprise_id', 'text', (c) => c.notNull().references('enterprises.id'))
        .addColumn('province', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('last_health', 'text')
        .addColumn('last_health_ms', 'bigint')
        .addColumn('last_seen_ms', 'bigint')
        .addColumn('last_seq', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('created_ms', 'bigint', (c) => c.notNull())
        .execute();
      await s.createIndex('sensors_enterprise').on('sensors').columns(['enterprise_id', 'id']).execute();
      await s.createIndex('sensors_province').on('sensors').columns(['province', 'id']).execute();

      await s
        .createTable('alerts')
        .addColumn('uid', keyType(backend), (c) => c.primaryKey())
        .addColumn('event_id', 'text', (c) => c.notNull())
        .addColumn('enterprise_id', 'text', (c) => c.notNull())
        .addColumn('sensor_id', 'text', (c) => c.notNull())
        .addColumn('province', 'text', (c) => c.notNull())
        .addColumn('ts_ms', 'bigint', (c) => c.notNull())
        .addColumn('received_ms', 'bigint', (c) => c.notNull())
        .addColumn('rule_id', 'text', (c) => c.notNull())
        .addColumn('rule_title', 'text', (c) => c.notNull())
        .addColumn('level', 'text', (c) => c.notNull())
        .addColumn('tags', 'text', (c) => c.notNull())
        .addColumn('protocol', 'text', (c) => c.notNull())
        .addColumn('client_ip', 'text', (c) => c.notNull())
        .addColumn('server_ip', 'text', (c) => c.notNull())
        .addColumn('server_port', 'integer', (c) => c.notNull())
        .addColumn('count', 'integer', (c) => c.notNull())
        .addColumn('drill', 'integer', (c) => c.notNull())
        .addColumn('event', 'text', (c) => c.notNull())
        .addUniqueConstraint('alerts_sensor_event', ['sensor_id', 'event_id'])
        .execute();
      // Newest-first keyset paging per scope and filter: every index ends with uid.
      await s.createIndex('alerts_enterprise_uid').on('alerts').columns(['enterprise_id', 'uid']).execute();
      await s.createIndex('alerts_enterprise_ts').on('alerts').columns(['enterprise_id', 'ts_ms']).execute();
      await s.createIndex('alerts_province_uid').on('alerts').columns(['province', 'uid']).execute();
      await s.createIndex('alerts_level_uid').on('alerts').columns(['level', 'uid']).execute();
      await s.createIndex('alerts_rule_uid').on('alerts').columns(['rule_id', 'uid']).execute();
      await s.createIndex('alerts_protocol_uid').on('alerts').columns(['protocol', 'uid']).execute();
      // Retention deletes by packet time.
      await s.createIndex('alerts_ts').on('alerts').column('ts_ms').execute();

      await s
        .createTable('alert_rollups')
        .addColumn('hour_ms', 'bigint', (c) => c.notNull())
        .addColumn('enterprise_id', 'text', (c) => c.notNull())
        .addColumn('province', 'text', (c) => c.notNull())
        .addColumn('rule_id', 'text', (c) => c.notNull())
        .addColumn('level', 'text', (c) => c.notNull())
        .addColumn('protocol', 'text', (c) => c.notNull())
        .addColumn('drill', 'integer', (c) => c.notNull())
        .addColumn('count', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('alert_rollups_pk', [
          'hour_ms',
          'enterprise_id',
          'province',
          'rule_id',
          'level',
          'protocol',
          'drill',
        ])
        .execute();
      await s.createIndex('alert_rollups_province').on('alert_rollups').columns(['province', 'hour_ms']).execute();
      await s
        .createIndex('alert_rollups_enterprise')
        .on('alert_rollups')
        .columns(['enterprise_id', 'hour_ms'])
        .execute();

      await s
        .createTable('assets')
        .addColumn('enterprise_id', 'text', (c) => c.notNull())
        .addColumn('ip', 'text', (c) => c.notNull())
        .addColumn('province', 'text', (c) => c.notNull())
        .addColumn('sensor_id', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('first_seen_ms', 'bigint', (c) => c.notNull())
        .addColumn('last_seen_ms', 'bigint', (c) => c.notNull())
        .addColumn('record', 'text', (c) => c.notNull())
        .addColumn('updated_ms', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('assets_pk', ['enterprise_id', 'ip'])
        .execute();

      await s
        .createTable('asset_changes')
        .addColumn('uid', keyType(backend), (c) => c.primaryKey())
        .addColumn('event_id', 'text', (c) => c.notNull())
        .addColumn('enterprise_id', 'text', (c) => c.notNull())
        .addColumn('sensor_id', 'text', (c) => c.notNull())
        .addColumn('province', 'text', (c) => c.notNull())
        .addColumn('ip', 'text', (c) => c.notNull())
        .addColumn('change', 'text', (c) => c.notNull())
        .addColumn('ts_ms', 'bigint', (c) => c.notNull())
        .addColumn('event', 'text', (c) => c.notNull())
        .addUniqueConstraint('asset_changes_sensor_event', ['sensor_id', 'event_id'])
        .execute();
      await s
        .createIndex('asset_changes_enterprise_uid')
        .on('asset_changes')
        .columns(['enterprise_id', 'uid'])
        .execute();
      await s.createIndex('asset_changes_ts').on('asset_changes').column('ts_ms').execute();

      await s
        .createTable('sensor_health')
        .addColumn('sensor_id', 'text', (c) => c.notNull())
        .addColumn('ts_ms', 'bigint', (c) => c.notNull())
        .addColumn('enterprise_id', 'text', (c) => c.notNull())
        .addColumn('province', 'text', (c) => c.notNull())
        .addColumn('received_ms', 'bigint', (c) => c.notNull())
        .addColumn('report', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('sensor_health_pk', ['sensor_id', 'ts_ms'])
        .execute();
      await s.createIndex('sensor_health_ts').on('sensor_health').column('ts_ms').execute();

      await s
        .createTable('stats_reports')
        .addColumn('sensor_id', 'text', (c) => c.notNull())
        .addColumn('from_ms', 'bigint', (c) => c.notNull())
        .addColumn('to_ms', 'bigint', (c) => c.notNull())
        .addColumn('enterprise_id', 'text', (c) => c.notNull())
        .addColumn('province', 'text', (c) => c.notNull())
        .addColumn('packets', 'bigint', (c) => c.notNull())
        .addColumn('bytes', 'bigint', (c) => c.notNull())
        .addColumn('drill', 'integer', (c) => c.notNull())
        .addColumn('protocols', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('stats_reports_pk', ['sensor_id', 'from_ms'])
        .execute();
      await s.createIndex('stats_reports_to').on('stats_reports').column('to_ms').execute();

      await s
        .createTable('traffic')
        .addColumn('sensor_id', 'text', (c) => c.notNull())
        .addColumn('from_ms', 'bigint', (c) => c.notNull())
        .addColumn('protocol', 'text', (c) => c.notNull())
        .addColumn('to_ms', 'bigint', (c) => c.notNull())
        .addColumn('enterprise_id', 'text', (c) => c.notNull())
        .addColumn('province', 'text', (c) => c.notNull())
        .addColumn('pdus', 'bigint', (c) => c.notNull())
        .addColumn('drill', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('traffic_pk', ['sensor_id', 'from_ms', 'protocol'])
        .execute();
      await s.createIndex('traffic_enterprise').on('traffic').columns(['enterprise_id', 'from_ms']).execute();
      await s.createIndex('traffic_province').on('traffic').columns(['province', 'from_ms']).execute();
      await s.createIndex('traffic_to').on('traffic').column('to_ms').execute();

      await s
        .createTable('api_tokens')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('label', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('province', 'text')
        .addColumn('enterprises', 'text', (c) => c.notNull())
        .addColumn('secret_hash', 'text', (c) => c.notNull().unique())
        .addColumn('created_ms', 'bigint', (c) => c.notNull())
        .addColumn('revoked_ms', 'bigint')
        .execute();

      await s
        .createTable('audit_log')
        .addColumn('id', keyType(backend), (c) => c.primaryKey())
        .addColumn('at_ms', 'bigint', (c) => c.notNull())
        .addColumn('token_id', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('enterprise_id', 'text')
        .addColumn('detail', 'text', (c) => c.notNull())
        .execute();
      await s.createIndex('audit_log_enterprise').on('audit_log').columns(['enterprise_id', 'id']).execute();
      await s.createIndex('audit_log_action').on('audit_log').columns(['action', 'id']).execute();
    },
  },
  {
    version: 2,
    name: 'alert resolutions, risk score history, warnings and their targets',
    async up(db, backend) {
      const s = db.schema;
      await s
        .createTable('alert_resolutions')
        .addColumn('uid', keyType(backend), (c) => c.primaryKey())
        .addColumn('enterprise_id', 'text', (c) => c.notNull())
        .addColumn('province', 'text', (c) => c.notNull())
        .addColumn('alert_ts_ms', 'bigint', (c) => c.notNull())
        .addColumn('resolved_ms', 'bigint', (c) => c.notNull())
        .addColumn('resolved_by', 'text', (c) => c.notNull())
        .addColumn('note', 'text', (c) => c.notNull())
        .execute();
      await s.createIndex('alert_resolutions_ts').on('alert_resolutions').column('alert_ts_ms').execute();

      await s
        .createTable('risk_scores')
        .addColumn('id', keyType(backend), (c) => c.primaryKey())
        .addColumn('enterprise_id', 'text', (c) => c.notNull())
        .addColumn('province', 'text', (c) => c.notNull())
        .addColumn('computed_ms', 'bigint', (c) => c.notNull())
        .addColumn('score', backend === 'postgres' ? 'double precision' : 'real', (c) => c.notNull())
        .addColumn('contributions', 'text', (c) => c.notNull())
        .execute();
      await s
        .createIndex('risk_scores_enterprise')
        .on('risk_scores')
        .columns(['enterprise_id', 'computed_ms'])
        .execute();
      await s.createIndex('risk_scores_province').on('risk_scores').columns(['province', 'computed_ms']).execute();

      await s
        .createTable('warnings')
        .addColumn('id', keyType(backend), (c) => c.primaryKey())
        .addColumn('dedupe_key', 'text', (c) => c.notNull())
        .addColumn('rule_id', 'text', (c) => c.notNull())
        .addColumn('province', 'text', (c) => c.notNull())
        .addColumn('level', 'text', (c) => c.notNull())
        .addColumn('title_zh', 'text', (c) => c.notNull())
        .addColumn('title_en', 'text', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('audience', 'text', (c) => c.notNull())
        .addColumn('facts', 'text', (c) => c.notNull())
        .addColumn('issued_ms', 'bigint', (c) => c.notNull())
        .addColumn('issued_by', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('closed_ms', 'bigint')
        .addColumn('closed_by', 'text')
        .addColumn('close_note', 'text')
        .addColumn('drill', 'integer', (c) => c.notNull())
        .execute();
      // The idempotency of issuing across collector instances rests on this index.
      await s.createIndex('warnings_dedupe').on('warnings').column('dedupe_key').unique().execute();
      await s.createIndex('warnings_province_id').on('warnings').columns(['province', 'id']).execute();
      await s.createIndex('warnings_issued').on('warnings').column('issued_ms').execute();

      await s
        .createTable('warning_targets')
        .addColumn('warning_id', keyType(backend), (c) => c.notNull())
        .addColumn('enterprise_id', 'text', (c) => c.notNull())
        .addColumn('province', 'text', (c) => c.notNull())
        .addColumn('ack_ms', 'bigint')
        .addColumn('ack_by', 'text')
        .addColumn('ack_note', 'text')
        .addPrimaryKeyConstraint('warning_targets_pk', ['warning_id', 'enterprise_id'])
        .execute();
      await s
        .createIndex('warning_targets_enterprise')
        .on('warning_targets')
        .columns(['enterprise_id', 'warning_id'])
        .execute();
    },
  },
  {
    version: 3,
    name: 'daily alert rollups per province',
    async up(db) {
      await db.schema
        .createTable('alert_daily')
        .addColumn('day_ms', 'bigint', (c) => c.notNull())
        .addColumn('province', 'text', (c) => c.notNull())
        .addColumn('rule_id', 'text', (c) => c.notNull())
        .addColumn('level', 'text', (c) => c.notNull())
        .addColumn('protocol', 'text', (c) => c.notNull())
        .addColumn('drill', 'integer', (c) => c.notNull())
        .addColumn('count', 'bigint', (c) => c.notNull())
        // Province first: every read is one province (or all of them) over a range of days.
        .addPrimaryKeyConstraint('alert_daily_pk', ['province', 'day_ms', 'rule_id', 'level', 'protocol', 'drill'])
        .execute();
      // Stores migrated from version 2 already have alerts: their days come from the hourly rollups.
      await sql`insert into alert_daily (day_ms, province, rule_id, level, protocol, drill, count)
        select hour_ms - hour_ms % 86400000, province, rule_id, level, protocol, drill, sum(count)
        from alert_rollups group by 1, 2, 3, 4, 5, 6`.execute(db);
    },
  },
];

/** Applies the migrations not yet recorded; returns the versions it applied (empty when already current). */
export async function runMigrations(db: Kysely<Database>, backend: Backend): Promise<number[]> {
  return await withWriteTransaction(db, backend, async (tx) => {
    if (backend === 'postgres')
      await sql`select pg_advisory_xact_lock(${sql.lit(MIGRATION_LOCK_KEY)}::bigint)`.execute(tx);
    await tx.schema
      .createTable('schema_migrations')
      .ifNotExists()
      .addColumn('version', 'integer', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('applied_ms', 'bigint', (c) => c.notNull())
      .execute();
    const rows = await tx.selectFrom('schema_migrations').select('version').execute();
    const done = new Set(rows.map((r) => Number(r.version)));
    const applied: number[] = [];
    for (const migration of MIGRATIONS) {
      if (done.has(migration.version)) continue;
      await migration.up(tx, backend);
      await tx
        .insertInto('schema_migrations')
        .values({ version: migration.version, name: migration.name, applied_ms: Date.now() })
        .execute();
      applied.push(migration.version);
    }
    return applied;
  });
}
