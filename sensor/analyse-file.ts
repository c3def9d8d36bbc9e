/**
 * Runs one capture file through a fresh pipeline: the in-process equivalent of `otsensor read FILE`, used by the
 * CLI, the golden tests and the benchmark. Damage in the file ends the input but keeps every packet before it.
 */
import { openCaptureFile } from './capture/file-source.ts';
import { CaptureError, type CaptureSource, type PacketBatch } from './capture/source.ts';
import { Pipeline, type PipelineOptions } from './pipeline.ts';
import { buildReport, type RunReport } from './run-report.ts';

export interface AnalyseHooks {
  /** Called after each batch (flush events, draw progress). */
  afterBatch?: (source: CaptureSource) => void | Promise<void>;
  /** Called once the file is open, before its first batch (publishing sessions attach to the pipeline here). */
  started?: (pipeline: Pipeline, source: CaptureSource) => void;
  /** Called with each batch before the pipeline sees it (`--retime` shifts its packet times here). */
  beforeBatch?: (batch: PacketBatch) => void;
}

export interface FileAnalysis {
  pipeline: Pipeline;
  report: RunReport;
  /** The input problem that ended (or prevented) reading, if any. */
  error: CaptureError | null;
  compressed: boolean;
}

/** Feeds every batch of `source` to `pipeline`, then ends all flows. Returns the capture problem, if any. */
export async function drainSource(
  source: CaptureSource,
  pipeline: Pipeline,
  hooks: AnalyseHooks = {},
): Promise<CaptureError | null> {
  let failure: CaptureError | null = null;
  try {
    for await (const batch of source.batches()) {
      hooks.beforeBatch?.(batch);
      pipeline.processBatch(batch);
      if (hooks.afterBatch) await hooks.afterBatch(source);
    }
  } catch (err) {
    if (!(err instanceof CaptureError)) throw err;
    failure = err;
  } finally {
    await source.close();
  }
  pipeline.finish();
  return failure;
}

export async function analyseFile(
  path: string,
  options: PipelineOptions = {},
  hooks: AnalyseHooks = {},
): Promise<FileAnalysis> {
  const pipeline = new Pipeline(options);
  let source: Awaited<ReturnType<typeof openCaptureFile>>;
  try {
    source = await openCaptureFile(path);
  } catch (err) {
    if (!(err instanceof CaptureError)) throw err;
    const report: RunReport = { file: path, ...buildReport(pipeline, null) };
    report.error = { code: err.code, message: err.message, byteOffset: err.byteOffset };
    return { pipeline, report, error: err, compressed: false };
  }
  hooks.started?.(pipeline, source);
  const error = await drainSource(source, pipeline, hooks);
  const report: RunReport = { file: path, format: source.format, ...buildReport(pipeline, source.stats()) };
  if (error) report.error = { code: error.code, message: error.message, byteOffset: error.byteOffset };
  return { pipeline, report, error, compressed: source.compressed };
}
