/** The work behind `otsensor read` and `otsensor live` (argument parsing lives in main.ts). */
import { stat } from 'node:fs/promises';
import type { SensorEvent } from '../../protocols/wire/events.ts';
import type { AlertSink } from '../alerts.ts';
import { alertEvent, alertSummary, mergeCounts } from '../alerts.ts';
import { RuleReloader } from '../alerts-reload.ts';
import { analyseFile, drainSource } from '../analyse-file.ts';
import { openLiveCapture } from '../capture/live-source.ts';
import { openPcapLive } from '../capture/pcap-live-source.ts';
import { CaptureError, type CaptureSource } from '../capture/source.ts';
import type { EventSink } from '../event-factory.ts';
import { DEFAULT_MODULES, Pipeline } from '../pipeline.ts';
import { buildReport, type RunReport } from '../run-report.ts';
import { ModbusCounters, mergeModbusCounters } from '../summary.ts';
import { BaselineSink } from './learn.ts';
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
}

/** Alerts into the same JSON-lines stream as events (when printed), counted either way. */
function alertSinkFor(sink: JsonLinesSink | null, sensorId: string): AlertSink {
  if (sink === null) return { alert(): void {} };
  return { alert: (a) => sink.emit(alertEvent(a, sensorId)) };
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
  const wantRules = options.alerts === true || (options.rules?.length ?? 0) > 0;
  const loaded = wantRules ? await loadRulesOrReport(options.rules ?? []) : null;
  if (wantRules && loaded === null) return 2;
  const sink = options.events || options.alerts || options.baseline !== undefined ? new JsonLinesSink() : null;
  const events = options.events ? sink : null;
  const baseline =
    sink && options.baseline !== undefined ? await BaselineSink.open(options.baseline, events, sink) : null;
  if (options.baseline !== undefined && baseline === null) return 2;
  const alerts = loaded === null ? null : alertSinkFor(options.alerts ? sink : null, options.sensorId);
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
      { sensorId: options.sensorId, events: baseline ?? events, rules: loaded?.set ?? null, alerts },
      {
        afterBatch: async (source) => {
          if (sink) await sink.flush();
          const s = source.stats();
          // For .gz files the byte count is of decompressed data, so there is no total to show a percentage of.
          const gz = 'compressed' in source && source.compressed === true;
          progress?.update(s.inputBytes, s.packets, gz ? null : size);
        },
      },
    );
    if (sink) await sink.flush();
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
  const wantRules = options.alerts === true || (options.rules?.length ?? 0) > 0;
  const loaded = wantRules ? await loadRulesOrReport(options.rules ?? []) : null;
  if (wantRules && loaded === null) return 2;
  const sink = options.events || options.alerts || options.baseline !== undefined ? new JsonLinesSink() : null;
  const events = options.events ? sink : null;
  const baseline =
    sink && options.baseline !== undefined ? await BaselineSink.open(options.baseline, events, sink) : null;
  if (options.baseline !== undefined && baseline === null) return 2;
  const alerts = loaded === null ? null : alertSinkFor(options.alerts ? sink : null, options.sensorId);
  const pipeline = new Pipeline({
    sensorId: options.sensorId,
    events: baseline ?? events,
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
  const report = { iface: options.iface, ...buildReport(pipeline, source.stats()) };
  process.stdout.write(`${JSON.stringify(report, null, options.events ? 0 : 2)}\n`);
  if (failure) {
    process.stderr.write(`otsensor: ${failure.message}\n`);
    return 1;
  }
  return 0;
}
