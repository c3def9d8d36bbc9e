/**
 * Turns ingest messages into the rows the store writes, without touching the database: pure and synchronous.
 *
 * Split from the write itself so the SQLite store can build rows on the calling thread and hand the writer thread
 * flat rows of strings and numbers (cheap to copy between threads) instead of the nested alert objects, whose
 * structured clone cost more than the insert. PostgreSQL builds them in-process the same way. Alert uids (UUIDv7,
 * time-ordered) are taken when the rows are written (`assignAlertUids`), not here: see there.
 */

import type { AlertItem } from '../../protocols/wire/messages.ts';
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
  /** The event as UTF-8 bytes, set (and `row.event` emptied) when the rows crossed to the SQLite writer packed. */
  eventBytes?: Uint8Array;
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

/**
 * Gives every alert row without a uid its UUIDv7, at write time, in the write transaction (the Kysely paths; the
 * SQLite row writer makes each uid as it binds the row). Why not when the row is built: the row then waits for its
 * batch holding a fresh 36-character string, one more object per alert for V8's scavenges to copy and promote; made
 * in the writer's rows, it was copied there instead (the writer's rows live through the whole transaction). It also
 * makes uid order the order of writing. A row that turns out to be a duplicate never uses its uid.
 */
export function assignAlertUids(p: PreparedIngest, now: number): void {
  for (const a of p.alerts) if (a.row.uid === '') a.row.uid = uuidv7(now);
}

/** Distinct address texts remembered at most (beyond it the table starts afresh). */
const MAX_ADDRESSES = 65_536;
const addresses = new Map<string, string>();

/**
 * One string object per distinct address text, for the same reason as `ruleTextsOf`: an address repeats across
 * thousands of alerts, and a fresh copy per waiting row is GC work. Short texts are often shared by the JSON parser
 * already; an IPv4 address longer than ten characters or any IPv6 address is not.
 */
export function sharedAddress(ip: string): string {
  const known = addresses.get(ip);
  if (known !== undefined) return known;
  if (addresses.size >= MAX_ADDRESSES) addresses.clear();
  addresses.set(ip, ip);
  return ip;
}

/** A rule's row texts as last seen, shared by every row of that rule while they do not change. */
interface RuleTexts {
  id: string;
  title: string;
  level: string;
  tags: readonly string[];
  tagsJson: string;
}

/** Rules remembered at most (beyond it the table starts afresh; rows stay correct, only sharing is lost). */
const MAX_RULE_TEXTS = 4096;
const ruleTexts = new Map<string, RuleTexts>();

/**
 * The title, level and tags text of an alert's rule, as string objects shared by every row of the rule. Why: each
 * alert row waits for its batch and so outlives V8's young generation; a fresh title and tags text per row were
 * copied by every scavenge and then promoted, GC work in proportion to the ingest rate for text that repeats.
 * A rule whose title, level or tags change (a new rule pack) gets its new texts; nothing is taken on trust.
 */
export function ruleTextsOf(rule: { id: string; title: string; level: string; tags: readonly string[] }): RuleTexts {
  const known = ruleTexts.get(rule.id);
  if (
    known !== undefined &&
    known.title === rule.title &&
    known.level === rule.level &&
    sameStrings(known.tags, rule.tags)
  ) {
    return known;
  }
  if (ruleTexts.size >= MAX_RULE_TEXTS) ruleTexts.clear();
  const texts: RuleTexts = {
    id: rule.id,
    title: rule.title,
    level: rule.level,
    tags: [...rule.tags],
    tagsJson: JSON.stringify(rule.tags),
  };
  ruleTexts.set(rule.id, texts);
  return texts;
}

function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
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

      const alerts = m.alerts ?? [];
      const raw = m.alertBytes !== undefined && m.alertBytes.length === alerts.length ? m.alertBytes : null;
      for (let k = 0; k < alerts.length; k++) {
        const a = alerts[k] as AlertItem;
        const rule = ruleTextsOf(a.alert.rule);
        const eventBytes = raw?.[k];
        const row: AlertsTable = {
          uid: '',
          event_id: a.id,
          enterprise_id: m.enterprise,
          sensor_id: m.sensor,
          province: m.province,
          ts_ms: timeMs(a.ts, receivedMs),
          received_ms: receivedMs,
          rule_id: rule.id,
          rule_title: rule.title,
          level: rule.level,
          tags: rule.tagsJson,
          protocol: a.proto,
          client_ip: sharedAddress(a.client.ip),
          server_ip: sharedAddress(a.server.ip),
          server_port: a.server.port,
          count: a.alert.count,
          drill,
          // The sent bytes when there are any (row.event stays empty until a store needs the text).
          event: eventBytes === undefined ? JSON.stringify(a) : '',
        };
        out.alerts.push(eventBytes === undefined ? { request, row } : { request, row, eventBytes });
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
    for (const a of p.alerts) {
      out.alerts.push(
        a.eventBytes === undefined
          ? { request: a.request + base, row: a.row }
          : { request: a.request + base, row: a.row, eventBytes: a.eventBytes },
      );
    }
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

/** Alert columns whose values are strings (every other column is a number). */
export const ALERT_TEXT_COLUMNS = [
  'uid',
  'event_id',
  'enterprise_id',
  'sensor_id',
  'province',
  'rule_id',
  'rule_title',
  'level',
  'tags',
  'protocol',
  'client_ip',
  'server_ip',
] as const;
export const ALERT_NUMBER_COLUMNS = ['ts_ms', 'received_ms', 'server_port', 'count', 'drill'] as const;

/**
 * A prepared batch's alerts by column, for the trip to the SQLite writer thread: the events (about 1.6 kB each, most
 * of a batch's bytes) in one UTF-8 buffer, the numbers in one Float64Array, both transferred rather than copied; the
 * short strings in one array per column.
 */
export interface PackedAlerts {
  count: number;
  requests: Uint32Array;
  texts: string[][];
  numbers: Float64Array;
  events: Uint8Array;
  eventEnds: Uint32Array;
}

/**
 * Takes the alerts out of a prepared batch, packed by column (see PackedAlerts); `unpackAlerts` puts them back on the
 * other side. Why: structured clone copied each event text at about 4 µs per alert on each side and rebuilt every
 * row object field by field, together more than the insert itself. Copying the sent bytes (or encoding the text)
 * once and moving the buffers costs a fraction of that.
 */
export function packAlerts(p: PreparedIngest): PackedAlerts {
  const alerts = p.alerts;
  p.alerts = [];
  const n = alerts.length;
  const eventEnds = new Uint32Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const a = alerts[i] as PendingAlert;
    total += a.eventBytes?.length ?? Buffer.byteLength(a.row.event, 'utf8');
    eventEnds[i] = total;
  }
  const buffer = Buffer.allocUnsafeSlow(total);
  // Copies go through a plain Uint8Array view: `set` on a Buffer takes a generic path about 5× slower.
  const events = new Uint8Array(buffer.buffer, buffer.byteOffset, total);
  const requests = new Uint32Array(n);
  const texts = ALERT_TEXT_COLUMNS.map(() => new Array<string>(n));
  const numbers = new Float64Array(n * ALERT_NUMBER_COLUMNS.length);
  let at = 0;
  for (let i = 0; i < n; i++) {
    const a = alerts[i] as PendingAlert;
    const row = a.row;
    requests[i] = a.request;
    if (a.eventBytes !== undefined) {
      events.set(a.eventBytes, at);
      at += a.eventBytes.length;
    } else at += buffer.write(row.event, at, 'utf8');
    for (let c = 0; c < ALERT_TEXT_COLUMNS.length; c++) {
      (texts[c] as string[])[i] = row[ALERT_TEXT_COLUMNS[c] as (typeof ALERT_TEXT_COLUMNS)[number]];
    }
    const base = i * ALERT_NUMBER_COLUMNS.length;
    for (let c = 0; c < ALERT_NUMBER_COLUMNS.length; c++) {
      numbers[base + c] = row[ALERT_NUMBER_COLUMNS[c] as (typeof ALERT_NUMBER_COLUMNS)[number]];
    }
  }
  return { count: n, requests, texts, numbers, events, eventEnds };
}

/** Puts packed alerts back into their prepared batch; each event is a view into the packed buffer (no copy). */
export function unpackAlerts(p: PreparedIngest, packed: PackedAlerts): void {
  const width = ALERT_NUMBER_COLUMNS.length;
  const alerts: PendingAlert[] = new Array(packed.count);
  let start = 0;
  for (let i = 0; i < packed.count; i++) {
    // Filled from the same column lists packAlerts read, in the same order (every row gets one shape).
    const row: Record<string, string | number> = {};
    for (let c = 0; c < ALERT_TEXT_COLUMNS.length; c++) {
      row[ALERT_TEXT_COLUMNS[c] as string] = (packed.texts[c] as string[])[i] ?? '';
    }
    for (let c = 0; c < width; c++) row[ALERT_NUMBER_COLUMNS[c] as string] = packed.numbers[i * width + c] ?? 0;
    row.event = '';
    const end = packed.eventEnds[i] ?? start;
    alerts[i] = {
      request: packed.requests[i] ?? 0,
      row: row as unknown as AlertsTable,
      eventBytes: Buffer.from(packed.events.buffer, packed.events.byteOffset + start, end - start),
    };
    start = end;
  }
  p.alerts = alerts;
}

const eventDecoder = new TextDecoder('utf-8', { ignoreBOM: true });

/** Gives alerts whose event travelled as bytes their text again (for stores that bind the text). */
export function materializeEvents(p: PreparedIngest): void {
  for (const a of p.alerts) {
    if (a.eventBytes !== undefined && a.row.event === '') a.row.event = eventDecoder.decode(a.eventBytes);
  }
}
