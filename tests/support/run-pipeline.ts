/**
 * Runs a capture file through a Pipeline in process, the way `otsensor read` does (open, feed every batch, finish),
 * collecting every event the pipeline emits.
 */
import type { SensorEvent } from '../../protocols/wire/events.ts';
import { openCaptureFile } from '../../sensor/capture/file-source.ts';
import { CaptureError } from '../../sensor/capture/source.ts';
import type { EventSink } from '../../sensor/event-factory.ts';
import { Pipeline, type PipelineOptions } from '../../sensor/pipeline.ts';

/** Keeps every event, plus its JSON text taken at emit time (to catch events mutated after they were handed over). */
export class CollectingSink implements EventSink {
  readonly events: SensorEvent[] = [];
  readonly json: string[] = [];

  emit(event: SensorEvent): void {
    this.events.push(event);
    this.json.push(JSON.stringify(event));
  }
}

export interface PipelineRun {
  pipeline: Pipeline;
  events: SensorEvent[];
  json: string[];
  error: CaptureError | null;
}

export async function runCaptureThroughPipeline(
  path: string,
  options: Omit<PipelineOptions, 'events'> = {},
): Promise<PipelineRun> {
  const sink = new CollectingSink();
  const pipeline = new Pipeline({ ...options, events: sink });
  const source = await openCaptureFile(path);
  let error: CaptureError | null = null;
  try {
    for await (const batch of source.batches()) pipeline.processBatch(batch);
  } catch (err) {
    if (!(err instanceof CaptureError)) throw err;
    error = err;
  } finally {
    await source.close();
  }
  pipeline.finish();
  return { pipeline, events: sink.events, json: sink.json, error };
}
