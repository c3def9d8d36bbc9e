/** The work behind `otsensor read` and `otsensor live` (argument parsing lives in main.ts). */
import { stat } from 'node:fs/promises';
import type { SensorEvent } from '../../protocols/wire/events.ts';
import { openCaptureFile } from '../capture/file-source.ts';
import { openLiveCapture } from '../capture/live-source.ts';
import { CaptureError, type CaptureSource } from '../capture/source.ts';
import type { EventSink } from '../event-factory.ts';
import { Pipeline } from '../pipeline.ts';
import { buildReport, type RunReport } from '../run-report.ts';
import { ModbusCounters, mergeModbusCounters } from '../summary.ts';
import { ProgressBar } from './progress.ts';

export interface ReadOptions {
  summary: boolean;
  events: boolean;
  sensorId: string;
  progress: boolean;
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

/** Runs one capture source through a fresh pipeline; damage ends the input but keeps every packet before it. */
async function runSource(
  source: CaptureSource,
  pipeline: Pipeline,
  sink: JsonLinesSink | null,
  progress: ProgressBar | null,
): Promise<CaptureError | null> {
  let failure: CaptureError | null = null;
  try {
    for await (const batch of source.batches()) {
      pipeline.processBatch(batch);
      if (sink) await sink.flush();
      if (progress) {
        const s = source.stats();
        progress.update(s.inputBytes, s.packets);
      }
    }
  } catch (err) {
    if (!(err instanceof CaptureError)) throw err;
    failure = err;
  } finally {
    await source.close();
  }
  pipeline.finish();
  if (sink) await sink.flush();
  progress?.done();
  return failure;
}

export async function runRead(files: string[], options: ReadOptions): Promise<number> {
  const sink = options.events ? new JsonLinesSink() : null;
  const reports: RunReport[] = [];
  const totals = new ModbusCounters();
  let frames = 0;
  let failed = 0;
  for (const file of files) {
    const pipeline = new Pipeline({ sensorId: options.sensorId, events: sink });
    let report: RunReport;
    try {
      const source = await openCaptureFile(file);
      let size: number | null = null;
      if (!source.compressed) size = (await stat(file)).size;
      const progress = options.progress ? new ProgressBar(file, size) : null;
      const failure = await runSource(source, pipeline, sink, progress);
      report = { file, format: source.format, ...buildReport(pipeline, source.stats()) };
      if (failure) {
        failed++;
        report.error = { code: failure.code, message: failure.message, byteOffset: failure.byteOffset };
        process.stderr.write(
          `otsensor: ${failure.message} (${pipeline.stats.packets} packets before it were processed)\n`,
        );
      }
    } catch (err) {
      if (!(err instanceof CaptureError)) throw err;
      failed++;
      report = { file, ...buildReport(pipeline, null) };
      report.error = { code: err.code, message: err.message, byteOffset: err.byteOffset };
      process.stderr.write(`otsensor: ${err.message}\n`);
    }
    frames += report.frames;
    mergeModbusCounters(totals, pipeline.modbus);
    reports.push(report);
  }
  if (options.summary) {
    const summary = { frames, modbus: totals.toJSON(), files: reports, failed };
    process.stdout.write(`${JSON.stringify(summary, null, options.events ? 0 : 2)}\n`);
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
}

export async function runLive(options: LiveOptions): Promise<number> {
  const sink = options.events ? new JsonLinesSink() : null;
  const pipeline = new Pipeline({ sensorId: options.sensorId, events: sink });
  let source: CaptureSource;
  try {
    source = openLiveCapture({ iface: options.iface, bpf: options.bpf, snaplen: options.snaplen });
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
  const failure = await runSource(source, pipeline, sink, null);
  if (timer) clearTimeout(timer);
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);
  const report = { iface: options.iface, ...buildReport(pipeline, source.stats()) };
  process.stdout.write(`${JSON.stringify(report, null, options.events ? 0 : 2)}\n`);
  if (failure) {
    process.stderr.write(`otsensor: ${failure.message}\n`);
    return 1;
  }
  return 0;
}
