/** The work behind `otsensor read` and `otsensor live` (argument parsing lives in main.ts). */
import { stat } from 'node:fs/promises';
import type { SensorEvent } from '../../protocols/wire/events.ts';
import type { AlertSink } from '../alerts.ts';
import { alertEvent, alertSummary, mergeCounts } from '../alerts.ts';
import { RuleReloader } from '../alerts-reload.ts';
import { analyseFile, drainSource } from '../analyse-file.ts';
import { openLiveCapture } from '../capture/live-source.ts';
import { openPcapLive } from '../capture/pcap-live-source.ts';
import { latestPacketTime, Retimer } from '../capture/retime.ts';
import { CaptureError, type CaptureSource, type PacketBatch } from '../capture/source.ts';
import type { EventSink } from '../event-factory.ts';
import { DEFAULT_MODULES, Pipeline } from '../pipeline.ts';
import { type PublishConfig, PublishSession } from '../publish/session.ts';
import { buildReport, type RunReport } from '../run-report.ts';
import { ModbusCounters, mergeModbusCounters } from '../summary.ts';
import { BaselineSink } from './learn.ts';
import type { LimitOptions } from './limits.ts';
import { ProgressBar } from './progress.ts';
import { loadRulesOrReport } from './rules-commands.ts';

export interface ReadOptions {
  summary: boolean;
  events: boolean;
  sensorId: string;
  progress: boolean;
  /** Print alerts as JSON lines (loads the bundled rules plus `rules`). */
  alerts?: boolean;
  /** Extra rule directories (`--rules DIR`, repeatable); giving any loads rules even without --alerts. */
  rules?: string[];
  /** Baseline file to enforce: deviations print as alert lines (docs/baseline.md). */
  baseline?: string | undefined;
  /** Publish alerts, assets, health and stats over NATS JetStream (null: do not). */
  publish?: (PublishConfig & { drainTimeoutSec: number }) | null;
  /** Pace the replay to at most this many packets per second (drills, outage tests). */
  pps?: number | null;
  /** Shift packet times so that the run's last packet is now (`--retime`, drills). */
  retime?: boolean;
  /** Memory caps from `--limit` (limits.ts). */
  limits?: LimitOptions;
}

/** Alerts into the same JSON-lines stream as events (when printed), counted either way. */
function alertSinkFor(sink: JsonLinesSink | null, sensorId: string, session: PublishSession | null): AlertSink {
  if (session !== null && sink !== null) {
    return {
      alert: (a) => {
        sink.emit(alertEvent(a, sensorId));
        session.alertSink.alert(a);
      },
    };
  }
  if (session !== null) return session.alertSink;
  if (sink === null) return { alert(): void {} };
  return { alert: (a) => sink.emit(alertEvent(a, sensorId)) };
}

/** Baseline deviations (alert events) go to the printed stream and, when publishing, to the collector. */
function deviationSink(sink: JsonLinesSink, session: PublishSession | null, print: boolean): EventSink {
  return {
    emit: (event: SensorEvent) => {
      if (print) sink.emit(event);
      if (session !== null && event.kind === 'alert') session.publisher.add('alert', event);
    },
  };
}

/** Opens the publishing session (after checking the outbox directory can be used), or null. */
function openSession(config: PublishConfig | null | undefined): PublishSession | null {
  if (config === null || config === undefined) return null;
  const session = new PublishSession(config);
  process.stderr.write(
    `otsensor: publishing to ${config.url} as ${config.identity.province}/${config.identity.enterprise}/` +
      `${config.identity.sensor} (outbox ${config.outboxDir})\n`,
  );
  return session;
}

/** Sends what is left, waits for acknowledgements, and says how it went on stderr. */
async function closeSession(session: PublishSession | null, timeoutSec: number): Promise<boolean> {
  if (session === null) return true;
  const { drained, left } = await session.close(timeoutSec * 1000);
  const items = session.counts();
  const p = session.publisher.stats();
  const o = session.outbox.stats();
  const dropped = Object.entries(o.dropped)
    .filter(([, d]) => d.messages > 0)
    .map(([k, d]) => `${k} ${d.messages} messages/${d.items} items`)
    .join(', ');
  process.stderr.write(
    `otsensor: published ${items.alert} alerts, ${items.asset} asset updates, ${items.health} health and ` +
      `${items.stats} stats reports in ${p.acked} acknowledged messages (${p.retries} retries)` +
      `${dropped ? `; outbox dropped ${dropped}` : ''}` +
      `${drained ? '' : `; ${left} messages still in the outbox (sent on the next start)`}\n`,
  );
  return drained;
}

/** Sleeps as needed so `packets` since `startMs` stay at or below `pps` per second. */
async function pace(startMs: number, packets: number, pps: number | null | undefined): Promise<void> {
  if (!pps) return;
  const due = startMs + (packets / pps) * 1000;
  const wait = due - Date.now();
  if (wait > 1) await new Promise((r) => setTimeout(r, wait));
}

/** Collects events as JSON lines between batches, then writes them with backpressure. */
class JsonLinesSink implements EventSink {
  private lines: string[] = [];

  emit(event: SensorEvent): void {
    this.lines.push(JSON.stringify(event));
  }

  async flush(): Promise<void> {
    if (this.lines.length === 0) return;
    const text = `${this.lines.join('\n')}\n`;
    this.lines = [];
    if (!process.stdout.write(text)) {
      await new Promise<void>((resolve) => process.stdout.once('drain', resolve));
    }
  }
}

export async function runRead(files: string[], options: ReadOptions): Promise<number> {
  const publishing = options.publish !== null && options.publish !== undefined;
  const wantRules = options.alerts === true || (options.rules?.length ?? 0) > 0 || publishing;
  const loaded = wantRules ? await loadRulesOrReport(options.rules ?? []) : null;
  if (wantRules && loaded === null) return 2;
  const printing = options.events || options.alerts || options.baseline !== undefined;
  const sink = printing || options.baseline !== undefined ? new JsonLinesSink() : null;
  const events = options.events ? sink : null;
  const session = openSession(options.publish);
  if (session !== null) session.rulesLoaded = loaded?.set.rules.length ?? 0;
  const baseline =
    sink && options.baseline !== undefined
      ? await BaselineSink.open(options.baseline, events, deviationSink(sink, session, true))
      : null;
  if (options.baseline !== undefined && baseline === null) return 2;
  const alerts = loaded === null ? null : alertSinkFor(options.alerts ? sink : null, options.sensorId, session);
  const pipelineEvents = session !== null ? session.eventSink(baseline ?? events) : (baseline ?? events);
  const startMs = Date.now();
  let pacedPackets = 0;
  // One shift for the whole run, so that its last packet is now: several files keep their relative spacing.
  const latest = options.retime === true ? await latestPacketTime(files) : null;
  const retimer = latest === null ? null : Retimer.endingAt(latest, Date.now() / 1000);
  const alertsByLevel = new Map<string, number>();
  const alertsByRule = new Map<string, number>();
  const reports: RunReport[] = [];
  const totals = new ModbusCounters();
  const modules = DEFAULT_MODULES;
  const moduleTotals = modules.map((m) => m.createCounters());
  let frames = 0;
  let failed = 0;
  for (const file of files) {
    let size: number | null = null;
    try {
      size = (await stat(file)).size;
    } catch {
      // analyseFile reports the unreadable file below
    }
    const progress = options.progress ? new ProgressBar(file, size) : null;
    const { pipeline, report, error } = await analyseFile(
      file,
      { ...options.limits, sensorId: options.sensorId, events: pipelineEvents, rules: loaded?.set ?? null, alerts },
      {
        started: (p, source) =>
          session?.beginInput({ source: 'file', name: file, pipeline: p, capture: () => source.stats() }),
        ...(retimer === null ? {} : { beforeBatch: (batch: PacketBatch) => retimer.apply(batch) }),
        afterBatch: async (source) => {
          if (sink) await sink.flush();
          const s = source.stats();
          await pace(startMs, pacedPackets + s.packets, options.pps);
          // For .gz files the byte count is of decompressed data, so there is no total to show a percentage of.
          const gz = 'compressed' in source && source.compressed === true;
          progress?.update(s.inputBytes, s.packets, gz ? null : size);
        },
      },
    );
    if (sink) await sink.flush();
    pacedPackets += report.frames;
    await session?.finishInput();
    progress?.done();
    if (error) {
      failed++;
      const before = report.frames > 0 ? ` (${report.frames} packets before it were processed)` : '';
      process.stderr.write(`otsensor: ${error.message}${before}\n`);
    }
    frames += report.frames;
    mergeModbusCounters(totals, pipeline.modbus);
    if (pipeline.ruleHook !== null) {
      const c = pipeline.ruleHook.alertCounts();
      mergeCounts(alertsByLevel, c.byLevel);
      mergeCounts(alertsByRule, c.byRule);
    }
    modules.forEach((m, i) => {
      m.merge(moduleTotals[i], pipeline.moduleCounters[i]);
    });
    reports.push(report);
  }
  baseline?.report();
  if (retimer !== null) process.stderr.write(`otsensor: --retime: packet times moved by ${retimer.shiftSec} s\n`);
  const drained = await closeSession(session, options.publish?.drainTimeoutSec ?? 0);
  if (!drained) failed++;
  if (options.summary) {
    const sections: Record<string, unknown> = {};
    modules.forEach((m, i) => {
      Object.assign(sections, m.summarise(moduleTotals[i]));
    });
    const summary: Record<string, unknown> = { frames, modbus: totals.toJSON(), ...sections, files: reports, failed };
    if (loaded !== null) summary.alerts = alertSummary(alertsByLevel, alertsByRule);
    process.stdout.write(`${JSON.stringify(summary, null, options.events || options.alerts || baseline ? 0 : 2)}\n`);
  }
  return failed > 0 ? 1 : 0;
}

export interface LiveOptions {
  iface: string;
  bpf: string;
  events: boolean;
  durationSec: number | null;
  snaplen: number;
  sensorId: string;
  alerts?: boolean;
  rules?: string[];
  /** Baseline file to enforce: deviations print as alert lines (docs/baseline.md). */
  baseline?: string | undefined;
  /** Publish alerts, assets, health and stats over NATS JetStream (null: do not). */
  publish?: (PublishConfig & { drainTimeoutSec: number }) | null;
  /** Memory caps from `--limit` (limits.ts). */
  limits?: LimitOptions;
}

/**
 * Our batched libpcap binding first (libpcap timestamps, kernel drop counts, no loss measured up to ~290k packets/s
 * here); the `cap` package only when the addon was not built (it loses packets above ~50k/s and hides the loss).
 */
export function openLive(options: LiveOptions): CaptureSource {
  const capture = { iface: options.iface, bpf: options.bpf, snaplen: options.snaplen };
  try {
    return openPcapLive(capture);
  } catch (err) {
    if (!(err instanceof CaptureError) || err.code !== 'LIVE_NO_ADDON') throw err;
    process.stderr.write(
      'otsensor: the libpcap addon is not built (npm run build:native); falling back to the cap package: ' +
        'no kernel drop counts, arrival-time timestamps\n',
    );
    return openLiveCapture(capture);
  }
}

export async function runLive(options: LiveOptions): Promise<number> {
  const publishing = options.publish !== null && options.publish !== undefined;
  const wantRules = options.alerts === true || (options.rules?.length ?? 0) > 0 || publishing;
  const loaded = wantRules ? await loadRulesOrReport(options.rules ?? []) : null;
  if (wantRules && loaded === null) return 2;
  const sink = options.events || options.alerts || options.baseline !== undefined ? new JsonLinesSink() : null;
  const events = options.events ? sink : null;
  const session = openSession(options.publish);
  if (session !== null) session.rulesLoaded = loaded?.set.rules.length ?? 0;
  const baseline =
    sink && options.baseline !== undefined
      ? await BaselineSink.open(options.baseline, events, deviationSink(sink, session, true))
      : null;
  if (options.baseline !== undefined && baseline === null) return 2;
  const alerts = loaded === null ? null : alertSinkFor(options.alerts ? sink : null, options.sensorId, session);
  const pipeline = new Pipeline({
    ...options.limits,
    sensorId: options.sensorId,
    events: session !== null ? session.eventSink(baseline ?? events) : (baseline ?? events),
    rules: loaded?.set ?? null,
    alerts,
  });
  // Rule edits recompile off the packet path; the new set is swapped in between batches.
  const reloader = loaded === null ? null : new RuleReloader(loaded, { dirs: options.rules ?? [] });
  reloader?.start();
  let source: CaptureSource;
  try {
    source = openLive(options);
  } catch (err) {
    if (!(err instanceof CaptureError)) throw err;
    process.stderr.write(`otsensor: ${err.message}\n`);
    return 1;
  }
  process.stderr.write(
    `otsensor: capturing on ${options.iface}${options.bpf ? ` (filter: ${options.bpf})` : ''}; Ctrl-C stops\n`,
  );
  const liveSource = source;
  session?.beginInput({ source: 'live', name: options.iface, pipeline, capture: () => liveSource.stats() });
  const stop = () => void source.close();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const timer = options.durationSec === null ? null : setTimeout(stop, options.durationSec * 1000);
  const failure = await drainSource(source, pipeline, {
    afterBatch: () => {
      const next = reloader?.take() ?? null;
      if (next !== null) pipeline.setRules(next);
      return sink?.flush();
    },
  });
  reloader?.stop();
  if (sink) await sink.flush();
  if (timer) clearTimeout(timer);
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);
  baseline?.report();
  await session?.finishInput();
  await closeSession(session, options.publish?.drainTimeoutSec ?? 10);
  const report = { iface: options.iface, ...buildReport(pipeline, source.stats()) };
  process.stdout.write(`${JSON.stringify(report, null, options.events ? 0 : 2)}\n`);
  if (failure) {
    process.stderr.write(`otsensor: ${failure.message}\n`);
    return 1;
  }
  return 0;
}

/** `otsensor flush`: publishes what an outbox holds (e.g. after a crash) and exits when it is empty. */
export async function runFlush(config: PublishConfig & { drainTimeoutSec: number }): Promise<number> {
  const session = openSession(config);
  // A health report goes with it: drop counts of the previous run (kept in the outbox state) reach the collector.
  await session?.finishInput();
  const drained = await closeSession(session, config.drainTimeoutSec);
  return drained ? 0 : 1;
}
