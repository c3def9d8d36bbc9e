/**
 * Metrics to any server that speaks the InfluxDB v2 write API (InfluxDB 2.x/3.x, VictoriaMetrics, …), through
 * @influxdata/influxdb-client's batching WriteApi. Written when configured (`--influx-url`):
 *
 * - `ot_alerts` count — alerts ingested per enterprise and level in each interval (the alert rate), at interval end;
 * - `ot_traffic` pdus — PDUs per protocol of each sensor stats report, at the report's start;
 * - `ot_sensor_health` packets, bytes, drops, kernel_drops, outbox_depth_messages, outbox_depth_bytes,
 *   clock_offset_ms, flows_active — from each health report, at its time;
 * - `ot_risk_score` score and one `<factor>` field per risk factor — each newly computed risk score.
 *
 * Never blocks ingest: recording builds points and hands them to the WriteApi's in-memory batch (synchronous, no
 * I/O); sending happens on the client's timer. Bounded: at most `maxPendingLines` lines may be waiting (batched,
 * in flight or in the retry buffer); beyond that new points are dropped and counted. Every failed write attempt is
 * counted, and the client's retry buffer is capped at `maxBufferLines` (lines evicted from it are counted as lost).
 * Drill traffic is never written.
 */
import { InfluxDB, Point, setLogger, type WriteApi } from '@influxdata/influxdb-client';
import type { WireMessage } from '../../protocols/wire/messages.ts';
import type { RiskScore } from '../store/types.ts';

export interface InfluxConfig {
  url: string;
  token: string;
  org: string;
  bucket: string;
  /** Lines per write request (default 1000). */
  batchSize?: number;
  /** How often buffered lines are sent and the alert rate is emitted (ms, default 10 000). */
  flushIntervalMs?: number;
  /** Lines waiting to be written at most before new points are dropped (default 100 000). */
  maxPendingLines?: number;
  /** The client's retry buffer (lines, default 50 000). */
  maxBufferLines?: number;
  /** Retries after a failed write (default 3). */
  maxRetries?: number;
  /** HTTP timeout per write (ms, default 10 000). */
  timeoutMs?: number;
  /** Where the client's warnings go (default: nowhere; failures are counted in `stats` either way). */
  log?: (line: string) => void;
}

export interface MetricsStats {
  /** Points handed to the client. */
  points: number;
  /** Lines the server accepted. */
  linesWritten: number;
  /** Failed write attempts (each retry counts). */
  writeFailures: number;
  /** Lines given up on: retries exhausted or evicted from the full retry buffer. */
  linesLost: number;
  /** Points not even queued because `maxPendingLines` were already waiting. */
  pointsDropped: number;
  lastError: string | null;
}

/** Health fields written (the wire field path → field name). */
function healthPoint(
  m: WireMessage & { kind: 'health' },
  h: (WireMessage & { kind: 'health' })['items'][number],
): Point {
  const p = new Point('ot_sensor_health')
    .tag('province', m.province)
    .tag('enterprise', m.enterprise)
    .tag('sensor', m.sensor)
    .intField('packets', h.capture.packets)
    .intField('bytes', h.capture.bytes)
    .intField('drops', h.capture.drops)
    .intField('outbox_depth_messages', h.outbox.depthMessages)
    .intField('outbox_depth_bytes', h.outbox.depthBytes)
    .intField('flows_active', h.flows.active)
    .timestamp(new Date(h.ts));
  if (h.capture.kernelDrops !== null) p.intField('kernel_drops', h.capture.kernelDrops);
  if (h.clock.offsetMs !== null) p.floatField('clock_offset_ms', h.clock.offsetMs);
  return p;
}

export class InfluxMetrics {
  readonly stats: MetricsStats = {
    points: 0,
    linesWritten: 0,
    writeFailures: 0,
    linesLost: 0,
    pointsDropped: 0,
    lastError: null,
  };
  private readonly writeApi: WriteApi;
  private readonly maxPending: number;
  private readonly maxRetries: number;
  private pending = 0;
  /** Alerts since the last emit: `province\0enterprise\0level` → count. */
  private alertCounts = new Map<string, number>();
  private timer: NodeJS.Timeout;
  private lastRisk = new Map<string, string>();
  private closed = false;

  constructor(config: InfluxConfig) {
    this.maxPending = config.maxPendingLines ?? 100_000;
    this.maxRetries = config.maxRetries ?? 3;
    const flushInterval = config.flushIntervalMs ?? 10_000;
    const stats = this.stats;
    const settle = (n: number) => {
      this.pending = Math.max(0, this.pending - n);
    };
    const maxRetries = this.maxRetries;
    // The client logs every failed attempt to the console by default; route it to our log (it is process-wide).
    const log = config.log ?? (() => undefined);
    setLogger({
      error: (message: string) => log(`metrics: ${message}`),
      warn: (message: string) => log(`metrics: ${message}`),
    });
    this.writeApi = new InfluxDB({
      url: config.url,
      token: config.token,
      timeout: config.timeoutMs ?? 10_000,
    }).getWriteApi(config.org, config.bucket, 'ms', {
      batchSize: config.batchSize ?? 1000,
      flushInterval,
      maxBufferLines: config.maxBufferLines ?? 50_000,
      maxRetries,
      maxRetryTime: 60_000,
      writeFailed(error, lines, attempt) {
        stats.writeFailures++;
        stats.lastError = error.message;
        // The last attempt failed: the client drops these lines.
        if (attempt > maxRetries) {
          stats.linesLost += lines.length;
          settle(lines.length);
        }
      },
      writeSuccess(lines) {
        stats.linesWritten += lines.length;
        settle(lines.length);
      },
      writeRetrySkipped(entry) {
        stats.linesLost += entry.lines.length;
        settle(entry.lines.length);
      },
    });
    this.timer = setInterval(() => this.emitAlertRates(), flushInterval);
    this.timer.unref();
  }

  private write(p: Point): void {
    if (this.closed) return;
    if (this.pending >= this.maxPending) {
      this.stats.pointsDropped++;
      return;
    }
    this.pending++;
    this.stats.points++;
    this.writeApi.writePoint(p);
  }

  /** Records what a batch of ingested messages says (call after the store accepted them). Synchronous. */
  recordMessages(messages: readonly WireMessage[]): void {
    for (const m of messages) {
      if (m.drill === true) continue;
      switch (m.kind) {
        case 'alert': {
          for (const a of m.items) {
            const key = `${m.province}\u0000${m.enterprise}\u0000${a.alert.rule.level}`;
            this.alertCounts.set(key, (this.alertCounts.get(key) ?? 0) + 1);
          }
          break;
        }
        case 'stats':
          for (const s of m.items) {
            for (const [protocol, x] of Object.entries(s.protocols)) {
              this.write(
                new Point('ot_traffic')
                  .tag('province', m.province)
                  .tag('enterprise', m.enterprise)
                  .tag('sensor', m.sensor)
                  .tag('protocol', protocol)
                  .intField('pdus', x.pdus)
                  .timestamp(new Date(s.from)),
              );
            }
          }
          break;
        case 'health':
          for (const h of m.items) this.write(healthPoint(m, h));
          break;
        case 'asset':
          break;
      }
    }
  }

  /** Writes risk scores not written before (same enterprise and computedAt are skipped). */
  recordRiskScores(scores: readonly RiskScore[]): number {
    let n = 0;
    for (const s of scores) {
      if (this.lastRisk.get(s.enterpriseId) === s.computedAt) continue;
      this.lastRisk.set(s.enterpriseId, s.computedAt);
      const p = new Point('ot_risk_score')
        .tag('province', s.province)
        .tag('enterprise', s.enterpriseId)
        .floatField('score', s.score)
        .timestamp(new Date(s.computedAt));
      for (const c of s.contributions) p.floatField(c.factor, c.points);
      this.write(p);
      n++;
    }
    return n;
  }

  /** Emits the alert counts gathered since the last call as `ot_alerts count` points at `now`. */
  emitAlertRates(now = Date.now()): void {
    if (this.alertCounts.size === 0) return;
    const counts = this.alertCounts;
    this.alertCounts = new Map();
    for (const [key, count] of counts) {
      const [province = '', enterprise = '', level = ''] = key.split('\u0000');
      this.write(
        new Point('ot_alerts')
          .tag('province', province)
          .tag('enterprise', enterprise)
          .tag('level', level)
          .intField('count', count)
          .timestamp(new Date(now)),
      );
    }
  }

  /** Sends everything buffered now (errors are counted, not thrown). */
  async flush(): Promise<void> {
    this.emitAlertRates();
    try {
      await this.writeApi.flush();
    } catch (err) {
      this.stats.lastError = (err as Error).message;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.emitAlertRates();
    this.closed = true;
    clearInterval(this.timer);
    try {
      await this.writeApi.close();
    } catch (err) {
      this.stats.lastError = (err as Error).message;
    }
  }
}
