/**
 * Ingest → metrics: wraps the ingest handler so every batch the store accepted is also recorded as metrics. The
 * recording is synchronous and only fills an in-memory batch, and any error in it is swallowed and counted: metrics
 * can never slow down or fail ingest. Redelivered messages may be counted twice in the alert rate (the store
 * deduplicates, the rate does not); traffic and health points are idempotent (same series and time).
 */
import type { IngestEnvelope, IngestHandler } from '../ingest/consumer.ts';
import type { CollectorStore } from '../store/types.ts';
import type { InfluxMetrics } from './influx.ts';

export class MeteredIngestHandler implements IngestHandler {
  recordErrors = 0;

  constructor(
    private readonly inner: IngestHandler,
    private readonly metrics: InfluxMetrics,
  ) {}

  async handleBatch(batch: IngestEnvelope[]): Promise<{ refused?: number[] } | undefined> {
    const result = await this.inner.handleBatch(batch);
    try {
      const refused = new Set(result?.refused ?? []);
      this.metrics.recordMessages(batch.filter((_, i) => !refused.has(i)).map((b) => b.message));
    } catch {
      this.recordErrors++;
    }
    return result;
  }
}

/** Writes newly computed risk scores every `intervalMs` (default 60 s); returns a stop function. */
export function startRiskMetrics(
  store: CollectorStore,
  metrics: InfluxMetrics,
  opts: { intervalMs?: number; log?: (line: string) => void } = {},
): () => void {
  let running = false;
  const tick = async () => {
    if (running) return;
    running = true;
    try {
      metrics.recordRiskScores(await store.latestRiskScores({ kind: 'all' }));
    } catch (err) {
      opts.log?.(`metrics: reading risk scores failed: ${(err as Error).message}`);
    } finally {
      running = false;
    }
  };
  void tick();
  const timer = setInterval(() => void tick(), opts.intervalMs ?? 60_000);
  timer.unref();
  return () => clearInterval(timer);
}
