/**
 * The SQLite writer's direct path for the two statements ingest runs once per alert: the alert insert and the
 * hourly rollup increment. Through Kysely each multi-row insert was rebuilt, compiled to SQL text and bound value
 * by value on every batch, which cost more than SQLite's own work; here each is one statement prepared once and run
 * per row with its values bound positionally. Same SQL semantics as the Kysely path (PostgreSQL still uses that):
 * a duplicate (sensor, event id) inserts nothing, and a rollup row adds the new alerts' count.
 *
 * Runs on the writer's connection inside the transaction the store opened: better-sqlite3 is synchronous and the
 * writer thread owns the only read-write connection, so these statements belong to that transaction.
 */
import type Database from 'better-sqlite3';
import type { AlertDailyTable, AlertRollupsTable, AlertsTable } from './schema.ts';
import { uuidv7 } from './uuidv7.ts';

export interface SqliteRowWriter {
  /**
   * Inserts each alert unless its (sensor, event id) is stored; returns which rows were new. An alert's event is
   * taken from `eventBytes` (UTF-8) when set, else from `row.event`; a row without a uid gets a new UUIDv7.
   */
  insertAlerts(alerts: readonly { row: AlertsTable; eventBytes?: Uint8Array }[]): boolean[];
  /** Adds each row's count to its hourly rollup (creating it). */
  addRollups(rows: readonly AlertRollupsTable[]): void;
  /** Adds each row's count to its daily province rollup (creating it). */
  addDaily(rows: readonly AlertDailyTable[]): void;
}

export function sqliteRowWriter(db: Database.Database): SqliteRowWriter {
  // Prepared on first use: the writer starts before migrations have created the tables.
  let statements: {
    insertAlert: Database.Statement;
    addRollup: Database.Statement;
    addDaily: Database.Statement;
  } | null = null;
  const prepare = () => {
    statements ??= {
      insertAlert: prepareInsertAlert(db),
      addRollup: prepareAddRollup(db),
      addDaily: db.prepare(
        `insert into alert_daily (day_ms, province, rule_id, level, protocol, drill, count) values (?, ?, ?, ?, ?, ?, ?)
         on conflict (province, day_ms, rule_id, level, protocol, drill)
         do update set count = alert_daily.count + excluded.count`,
      ),
    };
    return statements;
  };
  return {
    insertAlerts(alerts) {
      const { insertAlert } = prepare();
      const inserted: boolean[] = new Array(alerts.length);
      const now = Date.now();
      for (let i = 0; i < alerts.length; i++) {
        const a = alerts[i] as { row: AlertsTable; eventBytes?: Uint8Array };
        const r = a.row;
        const { changes } = insertAlert.run(
          // Made here when the row has none (assignAlertUids says why): the string is garbage right after the bind.
          r.uid === '' ? uuidv7(now) : r.uid,
          r.event_id,
          r.enterprise_id,
          r.sensor_id,
          r.province,
          r.ts_ms,
          r.received_ms,
          r.rule_id,
          r.rule_title,
          r.level,
          r.tags,
          r.protocol,
          r.client_ip,
          r.server_ip,
          r.server_port,
          r.count,
          r.drill,
          a.eventBytes ?? r.event,
        );
        inserted[i] = changes > 0;
      }
      return inserted;
    },
    addRollups(rows) {
      const { addRollup } = prepare();
      for (const r of rows) {
        addRollup.run(r.hour_ms, r.enterprise_id, r.province, r.rule_id, r.level, r.protocol, r.drill, r.count);
      }
    },
    addDaily(rows) {
      const { addDaily } = prepare();
      for (const r of rows) addDaily.run(r.day_ms, r.province, r.rule_id, r.level, r.protocol, r.drill, r.count);
    },
  };
}

function prepareInsertAlert(db: Database.Database): Database.Statement {
  return db.prepare(
    `insert into alerts (uid, event_id, enterprise_id, sensor_id, province, ts_ms, received_ms, rule_id, rule_title,
       level, tags, protocol, client_ip, server_ip, server_port, count, drill, event)
     values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, cast(? as text))
     on conflict (sensor_id, event_id) do nothing`,
  );
}

function prepareAddRollup(db: Database.Database): Database.Statement {
  return db.prepare(
    `insert into alert_rollups (hour_ms, enterprise_id, province, rule_id, level, protocol, drill, count)
     values (?, ?, ?, ?, ?, ?, ?, ?)
     on conflict (hour_ms, enterprise_id, province, rule_id, level, protocol, drill)
     do update set count = alert_rollups.count + excluded.count`,
  );
}
