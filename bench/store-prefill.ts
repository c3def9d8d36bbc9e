/**
 * Fills a collector store with N alerts inside the database, for the store benchmark at the scale of issue 8
 * (10 million alerts, 2,000 enterprises) without spending hours pushing them through JetStream first: the timed
 * part of the benchmark (ingest through JetStream, then the queries) runs on top of this.
 *
 * The rows are real alerts: the benchmark's sample alerts (the bundled rules on the bundled capture, with their
 * evidence) are the templates, and alert n is template n mod T for enterprise n mod E, with its packet time spread
 * evenly over the last `days` days and a UUIDv7 uid of that time (so uid order is time order, as at ingest). The
 * hourly and daily rollups are generated from the same series, so aggregates agree with the alerts exactly.
 *
 * Like a bulk load should, it drops the alerts table's secondary indexes, inserts in chunks, and builds the indexes
 * again from the database's own DDL (SQLite's `sqlite_master`, PostgreSQL's `pg_indexes`), so the store ends up with
 * exactly the schema the migrations made. The primary key and the (sensor, event id) unique constraint stay.
 */
import Database from 'better-sqlite3';
import pg from 'pg';
import type { AlertsTable } from '../collector/store/schema.ts';

export interface PrefillSpec {
  total: number;
  enterprises: number;
  days: number;
  province: string;
  /** Alert rows used as templates (their rule, level, protocol, addresses and evidence). */
  templates: AlertsTable[];
  /** Progress lines. */
  log: (line: string) => void;
}

const CHUNK = 1_000_000;
const HOUR_MS = 3_600_000;

interface Dialect {
  exec(sql: string, params?: unknown[]): Promise<void>;
  all(sql: string): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

function sqliteDialect(path: string): Dialect {
  const db = new Database(path);
  db.pragma('busy_timeout = 60000');
  db.pragma('cache_size = -262144');
  return {
    async exec(sql, params = []) {
      if (params.length === 0) db.exec(sql);
      else db.prepare(sql).run(...params);
    },
    async all(sql) {
      return db.prepare(sql).all() as Record<string, unknown>[];
    },
    async close() {
      db.close();
    },
  };
}

function postgresDialect(url: string): Dialect {
  const client = new pg.Client({ connectionString: url });
  const connected = client.connect();
  return {
    async exec(sql, params = []) {
      await connected;
      await client.query(sql, params);
    },
    async all(sql) {
      await connected;
      return (await client.query(sql)).rows as Record<string, unknown>[];
    },
    async close() {
      await connected;
      await client.end();
    },
  };
}

/** SQL that yields the generated series' columns; `$from`/`$to` bound per chunk. */
function series(backend: 'sqlite' | 'postgres', spec: PrefillSpec, startMs: number): string {
  const span = spec.days * 86_400_000;
  const ts = `(${startMs} + (n * ${span}) / ${spec.total})`;
  const t = spec.templates.length;
  if (backend === 'sqlite') {
    return `with recursive s(n) as (select ? union all select n + 1 from s where n < ?)
      select n, ${ts} as ts_ms, 'e' || printf('%04d', n % ${spec.enterprises}) as enterprise_id,
        printf('%08x-%04x-7%03x-%x%03x-%012x', ${ts} / 65536, ${ts} % 65536, (n / 4096) % 4096, 8 + (n % 4),
          n % 4096, n) as uid, t.*
      from s join bench_templates t on t.k = n % ${t}`;
  }
  return `select n, ${ts} as ts_ms, 'e' || lpad((n % ${spec.enterprises})::text, 4, '0') as enterprise_id,
      lpad(to_hex(${ts} / 65536), 8, '0') || '-' || lpad(to_hex(${ts} % 65536), 4, '0') || '-7' ||
        lpad(to_hex((n / 4096) % 4096), 3, '0') || '-' || to_hex(8 + n % 4) || lpad(to_hex(n % 4096), 3, '0') ||
        '-' || lpad(to_hex(n), 12, '0') as uid, t.*
      from generate_series($1::bigint, $2::bigint) n join bench_templates t on t.k = n % ${t}`;
}

export async function prefillStore(url: string, spec: PrefillSpec): Promise<{ seconds: number }> {
  const t0 = performance.now();
  const backend = url.startsWith('sqlite:') ? 'sqlite' : 'postgres';
  const db = backend === 'sqlite' ? sqliteDialect(url.replace(/^sqlite:(\/\/)?/, '')) : postgresDialect(url);
  const startMs = Date.now() - spec.days * 86_400_000 - HOUR_MS;
  try {
    await db.exec('drop table if exists bench_templates');
    await db.exec(
      `create ${backend === 'sqlite' ? 'temp ' : ''}table bench_templates (k bigint primary key, rule_id text,
        rule_title text, level text, tags text, protocol text, client_ip text, server_ip text, server_port integer,
        event text)`,
    );
    for (const [k, r] of spec.templates.entries()) {
      const p = backend === 'sqlite' ? Array(10).fill('?').join(', ') : '$1, $2, $3, $4, $5, $6, $7, $8, $9, $10';
      await db.exec(`insert into bench_templates values (${p})`, [
        k,
        r.rule_id,
        r.rule_title,
        r.level,
        r.tags,
        r.protocol,
        r.client_ip,
        r.server_ip,
        r.server_port,
        r.event,
      ]);
    }

    const indexes =
      backend === 'sqlite'
        ? await db.all(
            `select name, sql from sqlite_master where type = 'index' and tbl_name = 'alerts' and sql is not null`,
          )
        : await db.all(`select indexname as name, indexdef as sql from pg_indexes where tablename = 'alerts'
              and indexname not in (select conname from pg_constraint where conrelid = 'alerts'::regclass)`);
    for (const i of indexes) await db.exec(`drop index ${String(i.name)}`);
    spec.log(`prefill: dropped ${indexes.length} secondary indexes of alerts`);

    const gen = series(backend, spec, startMs);
    for (let from = 0; from < spec.total; from += CHUNK) {
      const to = Math.min(spec.total, from + CHUNK) - 1;
      const sql = `insert into alerts (uid, event_id, enterprise_id, sensor_id, province, ts_ms, received_ms, rule_id,
          rule_title, level, tags, protocol, client_ip, server_ip, server_port, count, drill, event)
        select uid, 'pf-' || n, enterprise_id, enterprise_id || 's', '${spec.province}', ts_ms, ts_ms, rule_id,
          rule_title, level, tags, protocol, client_ip, server_ip, server_port, 1, 0, event
        from (${gen}) g`;
      await db.exec('begin');
      await db.exec(sql, [from, to]);
      await db.exec('commit');
      spec.log(`prefill: ${to + 1} alerts (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
    }
    await db.exec('begin');
    await db.exec(
      `insert into alert_rollups (hour_ms, enterprise_id, province, rule_id, level, protocol, drill, count)
       select ts_ms - ts_ms % ${HOUR_MS}, enterprise_id, '${spec.province}', rule_id, level, protocol, 0, count(*)
       from (${gen}) g group by 1, 2, 3, 4, 5, 6, 7`,
      [0, spec.total - 1],
    );
    await db.exec(
      `insert into alert_daily (day_ms, province, rule_id, level, protocol, drill, count)
       select ts_ms - ts_ms % 86400000, '${spec.province}', rule_id, level, protocol, 0, count(*)
       from (${gen}) g group by 1, 2, 3, 4, 5, 6`,
      [0, spec.total - 1],
    );
    await db.exec('commit');
    spec.log(`prefill: rollups (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
    for (const i of indexes) {
      await db.exec(String(i.sql));
      spec.log(`prefill: index ${String(i.name)} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
    }
    await db.exec('drop table bench_templates');
    // PostgreSQL's autovacuum would analyze the table shortly after a load this size; do it now so the first
    // timed queries do not run on an empty-table plan. SQLite's store never runs ANALYZE, so neither does this.
    if (backend === 'postgres') await db.exec('analyze');
  } finally {
    await db.close();
  }
  return { seconds: (performance.now() - t0) / 1000 };
}
