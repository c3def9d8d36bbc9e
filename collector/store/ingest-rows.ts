/**
 * Turns ingest messages into the rows the store writes, without touching the database: pure and synchronous.
 *
 * Split from the write itself so the SQLite store can build rows on the calling thread and hand the writer thread
 * flat rows of strings and numbers (cheap to copy between threads) instead of the nested alert objects, whose
 * structured clone cost more than the insert. PostgreSQL builds them in-process the same way. Uids are taken here
 * (UUIDv7, time-ordered): a row that turns out to be a duplicate simply never uses its uid.
 */
import type {
  AlertsTable,
  AssetChangesTable,
  AssetsTable,
  SensorHealthTable,
  StatsReportsTable,
  TrafficTable,
} from './schema.ts';
import type { IngestMessage } from './types.ts';
import { uuidv7 } from './uuidv7.ts';

export interface PendingAlert {
  /** Index of the ingest call (within one prepared batch) the row belongs to: results are per call. */
  request: number;
  row: AlertsTable;
}

export interface PendingChange {
  request: number;
  row: AssetChangesTable;
}

/** What a sensor's messages in this batch say about it; applied only if the registry assigns it to `enterprise`. */
export interface SensorUpdate {
  sensor: string;
  enterprise: string;
  maxSeq: number;
  health: string | null;
  healthMs: number;
  seenMs: number;
}

export interface PreparedIngest {
  /** Ingest calls the rows come from (results are returned per call, in order). */
  requests: number;
  /** One entry per message: the registry check counts unregistered messages per call. */
  senders: { request: number; sensor: string; enterprise: string }[];
  alerts: PendingAlert[];
  changes: PendingChange[];
  /** Asset reports in arrival order (merged per enterprise and address when written). */
  assets: AssetsTable[];
  assetsPerRequest: number[];
  health: { request: number; row: SensorHealthTable }[];
  reports: { request: number; row: StatsReportsTable }[];
  traffic: TrafficTable[];
  /** Keyed by sensor and enterprise: messages naming another enterprise must not update the sensor. */
  sensorUpdates: SensorUpdate[];
}

/** Milliseconds of an ISO time, or `fallback` when it does not parse (the original text stays in the evidence). */
export function timeMs(iso: string, fallback: number): number {
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? ms : fallback;
}

export function prepareIngest(requests: IngestMessage[][], now: number): PreparedIngest {
  const out: PreparedIngest = {
    requests: requests.length,
    senders: [],
    alerts: [],
    changes: [],
    assets: [],
    assetsPerRequest: requests.map(() => 0),
    health: [],
    reports: [],
    traffic: [],
    sensorUpdates: [],
  };
  const updates = new Map<string, SensorUpdate>();

  requests.forEach((messages, request) => {
    for (const m of messages) {
      out.senders.push({ request, sensor: m.sensor, enterprise: m.enterprise });
      const receivedMs = timeMs(m.receivedAt, now);
      const drill = m.drill ? 1 : 0;
      const updateKey = `${m.sensor}\u0000${m.enterprise}`;
      let update = updates.get(updateKey);
      if (update === undefined) {
        update = {
          sensor: m.sensor,
          enterprise: m.enterprise,
          maxSeq: m.seq,
          health: null,
          healthMs: -1,
          seenMs: receivedMs,
        };
        updates.set(updateKey, update);
      } else if (m.seq > update.maxSeq) update.maxSeq = m.seq;

      for (const a of m.alerts ?? []) {
        const rule = a.alert.rule;
        out.alerts.push({
          request,
          row: {
            uid: uuidv7(now),
            event_id: a.id,
            enterprise_id: m.enterprise,
            sensor_id: m.sensor,
            province: m.province,
            ts_ms: timeMs(a.ts, receivedMs),
            received_ms: receivedMs,
            rule_id: rule.id,
            rule_title: rule.title,
            level: rule.level,
            tags: JSON.stringify(rule.tags),
            protocol: a.proto,
            client_ip: a.client.ip,
            server_ip: a.server.ip,
            server_port: a.server.port,
            count: a.alert.count,
            drill,
            event: JSON.stringify(a),
          },
        });
      }

      for (const item of m.assets ?? []) {
        out.assetsPerRequest[request] = (out.assetsPerRequest[request] ?? 0) + 1;
        const record = item.asset;
        out.assets.push({
          enterprise_id: m.enterprise,
          ip: record.ip,
          province: m.province,
          sensor_id: m.sensor,
          role: record.role,
          first_seen_ms: timeMs(record.firstSeen, receivedMs),
          last_seen_ms: timeMs(record.lastSeen, receivedMs),
          record: JSON.stringify(record),
          updated_ms: now,
        });
        for (const c of item.changes) {
          out.changes.push({
            request,
            row: {
              uid: uuidv7(now),
              event_id: c.id,
              enterprise_id: m.enterprise,
              sensor_id: m.sensor,
              province: m.province,
              ip: c.asset.ip,
              change: c.asset.change,
              ts_ms: timeMs(c.ts, receivedMs),
              event: JSON.stringify(c),
            },
          });
        }
      }

      for (const h of m.health ?? []) {
        const tsMs = timeMs(h.ts, receivedMs);
        const report = JSON.stringify(h);
        out.health.push({
          request,
          row: {
            sensor_id: m.sensor,
            ts_ms: tsMs,
            enterprise_id: m.enterprise,
            province: m.province,
            received_ms: receivedMs,
            report,
          },
        });
        if (tsMs > update.healthMs) {
          update.health = report;
          update.healthMs = tsMs;
          update.seenMs = receivedMs;
        }
      }

      for (const s of m.stats ?? []) {
        const fromMs = timeMs(s.from, receivedMs);
        const toMs = timeMs(s.to, receivedMs);
        out.reports.push({
          request,
          row: {
            sensor_id: m.sensor,
            from_ms: fromMs,
            to_ms: toMs,
            enterprise_id: m.enterprise,
            province: m.province,
            packets: s.packets,
            bytes: s.bytes,
            drill,
            protocols: JSON.stringify(s.protocols),
          },
        });
        for (const [protocol, p] of Object.entries(s.protocols)) {
          out.traffic.push({
            sensor_id: m.sensor,
            from_ms: fromMs,
            protocol,
            to_ms: toMs,
            enterprise_id: m.enterprise,
            province: m.province,
            pdus: p.pdus,
            drill,
          });
        }
      }
    }
  });
  out.sensorUpdates = [...updates.values()];
  return out;
}

/**
 * Several prepared batches as one (request indexes shifted), so one transaction can write them with one set of
 * multi-row statements; results come back per original call in order.
 */
export function concatPrepared(list: PreparedIngest[]): PreparedIngest {
  if (list.length === 1 && list[0] !== undefined) return list[0];
  const out: PreparedIngest = {
    requests: 0,
    senders: [],
    alerts: [],
    changes: [],
    assets: [],
    assetsPerRequest: [],
    health: [],
    reports: [],
    traffic: [],
    sensorUpdates: [],
  };
  for (const p of list) {
    const base = out.requests;
    out.requests += p.requests;
    for (const s of p.senders) out.senders.push({ ...s, request: s.request + base });
    for (const a of p.alerts) out.alerts.push({ request: a.request + base, row: a.row });
    for (const c of p.changes) out.changes.push({ request: c.request + base, row: c.row });
    for (const a of p.assets) out.assets.push(a);
    for (const n of p.assetsPerRequest) out.assetsPerRequest.push(n);
    for (const h of p.health) out.health.push({ request: h.request + base, row: h.row });
    for (const r of p.reports) out.reports.push({ request: r.request + base, row: r.row });
    for (const t of p.traffic) out.traffic.push(t);
    for (const u of p.sensorUpdates) out.sensorUpdates.push(u);
  }
  return out;
}
