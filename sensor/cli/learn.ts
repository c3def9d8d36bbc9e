/**
 * The CLI side of baselines (rules/baseline): `otsensor learn` (from capture files or a live interface for a while)
 * writes a baseline file; `BaselineSink` checks events against one for `read --baseline` / `live --baseline` and
 * prints the deviations as `alert` JSON lines.
 *
 *   otsensor learn FILE... [--out baseline.yml] [--sensor-id ID]
 *   otsensor learn --iface IF --for DURATION [--bpf EXPR] [--snaplen N] [--out baseline.yml] [--sensor-id ID]
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { SensorEvent } from '../../protocols/wire/events.ts';
import { BaselineFileError, formatBaseline, parseBaseline } from '../../rules/baseline/baseline-file.ts';
import { BaselineChecker } from '../../rules/baseline/checker.ts';
import { BaselineLearner, type BaselineMeta } from '../../rules/baseline/learner.ts';
import { analyseFile, drainSource } from '../analyse-file.ts';
import { CaptureError, type CaptureSource } from '../capture/source.ts';
import type { EventSink } from '../event-factory.ts';
import { Pipeline } from '../pipeline.ts';
import { openLive } from './commands.ts';

export const LEARN_USAGE = `  otsensor learn FILE... [--out FILE] [--sensor-id ID]
  otsensor learn --iface IF --for DURATION [--bpf EXPR] [--snaplen N] [--out FILE] [--sensor-id ID]
      Learn a baseline (per client → server → protocol: functions, address ranges, SZL ids, rates) and write it
      as YAML to --out (default: stdout). DURATION like 90s, 30m, 2h, 1d. Review it, then enforce it with
      read/live --baseline FILE. See docs/baseline.md.
`;

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** `90s`, `30m`, `2h`, `1d` (or plain seconds) → seconds; null when malformed or not positive. */
export function parseDuration(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)\s*([smhd]?)$/.exec(text.trim());
  if (!m) return null;
  const sec = Number(m[1]) * (UNITS[m[2] || 's'] ?? 1);
  return sec > 0 && Number.isFinite(sec) ? sec : null;
}

/** Feeds every event to the learner (the pipeline materialises events only when it has a sink). */
class LearningSink implements EventSink {
  constructor(readonly learner: BaselineLearner) {}
  emit(event: SensorEvent): void {
    this.learner.observe(event);
  }
}

function usageError(message: string): number {
  process.stderr.write(`otsensor learn: ${message}\nusage:\n${LEARN_USAGE}`);
  return 2;
}

/** `otsensor learn ...`: returns the exit status (0 ok, 1 a capture failed, 2 usage). */
export async function runLearnCommand(args: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseLearnArgs>;
  try {
    parsed = parseLearnArgs(args);
  } catch (err) {
    if (err instanceof TypeError) return usageError(err.message);
    throw err;
  }
  const { values, positionals } = parsed;
  const sensorId = values['sensor-id'];
  const learner = new BaselineLearner();
  const sink = new LearningSink(learner);
  let failed = 0;
  let meta: BaselineMeta;

  if (values.iface !== undefined) {
    if (positionals.length > 0) return usageError('give capture files or --iface, not both');
    const durationSec = values.for === undefined ? null : parseDuration(values.for);
    if (durationSec === null) return usageError('--iface needs --for DURATION (like 30m, 2h, 1d)');
    const snaplen = values.snaplen === undefined ? 65535 : Number(values.snaplen);
    if (!Number.isInteger(snaplen) || snaplen < 64) return usageError('--snaplen must be an integer ≥ 64');
    let source: CaptureSource;
    try {
      source = openLive({
        iface: values.iface,
        bpf: values.bpf ?? '',
        events: false,
        durationSec,
        snaplen,
        sensorId,
      });
    } catch (err) {
      if (!(err instanceof CaptureError)) throw err;
      process.stderr.write(`otsensor: ${err.message}\n`);
      return 1;
    }
    process.stderr.write(
      `otsensor: learning on ${values.iface} for ${values.for}; Ctrl-C stops early (the baseline is still written)\n`,
    );
    const stop = () => void source.close();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    const timer = setTimeout(stop, durationSec * 1000);
    const started = new Date().toISOString();
    const failure = await drainSource(source, new Pipeline({ sensorId, events: sink }));
    clearTimeout(timer);
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    if (failure) {
      failed++;
      process.stderr.write(`otsensor: ${failure.message}\n`);
    }
    meta = { sensor: sensorId, files: [], iface: values.iface, from: started, to: new Date().toISOString() };
  } else {
    if (positionals.length === 0) return usageError('give at least one capture file (or --iface IF --for DURATION)');
    for (const file of positionals) {
      const { error, report } = await analyseFile(file, { sensorId, events: sink });
      if (error) {
        failed++;
        const before = report.frames > 0 ? ` (${report.frames} packets before it were learned)` : '';
        process.stderr.write(`otsensor: ${error.message}${before}\n`);
      }
    }
    meta = { sensor: sensorId, files: positionals };
  }

  const baseline = learner.baseline(meta);
  const text = formatBaseline(baseline);
  if (values.out === undefined) {
    process.stdout.write(text);
  } else {
    // Write-then-rename: a reader (or a crash) never sees half a baseline.
    const tmp = `${values.out}.tmp-${process.pid}`;
    await writeFile(tmp, text);
    await rename(tmp, values.out);
  }
  const s = learner.stats;
  let profiles = 0;
  for (const servers of baseline.talkers.values()) for (const protos of servers.values()) profiles += protos.size;
  process.stderr.write(
    `otsensor: learned ${profiles} client/server/protocol profiles from ${s.observed} events` +
      `${values.out === undefined ? '' : ` → ${values.out}`}\n`,
  );
  return failed > 0 ? 1 : 0;
}

function parseLearnArgs(args: string[]) {
  return parseArgs({
    args,
    allowPositionals: true,
    options: {
      out: { type: 'string', short: 'o' },
      iface: { type: 'string' },
      for: { type: 'string' },
      bpf: { type: 'string' },
      snaplen: { type: 'string' },
      'sensor-id': { type: 'string', default: 'local' },
    },
  });
}

/**
 * Checks every event against a baseline: the event goes on to `events` (the `--events` printer, or nothing), each
 * deviation goes to `out` as an `alert` event (the same JSON-lines stream as events and rule alerts, so one batch's
 * lines stay in order).
 */
export class BaselineSink implements EventSink {
  constructor(
    readonly checker: BaselineChecker,
    private readonly events: EventSink | null,
    private readonly out: EventSink,
  ) {}

  /** Loads the baseline file; on a bad or unreadable file prints `otsensor: FILE:LINE:COL: problem` and returns null. */
  static async open(file: string, events: EventSink | null, out: EventSink): Promise<BaselineSink | null> {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      process.stderr.write(`otsensor: cannot read baseline ${file}: ${(err as Error).message}\n`);
      return null;
    }
    try {
      return new BaselineSink(new BaselineChecker(parseBaseline(text, file)), events, out);
    } catch (err) {
      if (!(err instanceof BaselineFileError)) throw err;
      process.stderr.write(`otsensor: bad baseline: ${err.message}\n`);
      return null;
    }
  }

  emit(event: SensorEvent): void {
    this.events?.emit(event);
    const alerts = this.checker.check(event);
    for (let i = 0; i < alerts.length; i++) this.out.emit(alerts[i] as SensorEvent);
  }

  /** One line on stderr: how many deviations, by rule. */
  report(): void {
    const s = this.checker.stats;
    const byRule = Object.entries(s.byRule)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    process.stderr.write(`otsensor: baseline: ${s.alerts} deviation alerts${byRule ? ` (${byRule})` : ''}\n`);
  }
}
