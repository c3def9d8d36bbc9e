/** What the route plugins share: the store, the ingest status source, and small mapping helpers. */
import { type CollectorStore, ENTERPRISE_CLASS_ZH, type Enterprise } from '../store/types.ts';
import { ApiError } from './errors.ts';

/** The ingest side's figures, as `/healthz` and `/api/v1/status` report them (collector/ingest supplies them). */
export interface IngestStatus {
  /** False when the consumer is stopped or disconnected: `/healthz` then says `degraded`. */
  running?: boolean;
  /** Age (ms) of the newest message processed, measured from when JetStream stored it; null before the first. */
  lagMs: number | null;
  /** Messages waiting in the durable consumer, null when unknown. */
  pending: number | null;
  received: number;
  accepted: number;
  redelivered: number;
  /** Store failures (the message was nak'ed and comes back). */
  handlerErrors: number;
  /** Rejected messages by reason (protocols/wire/validate.ts REJECT_REASONS). */
  rejected: Record<string, number>;
}

export interface ApiContext {
  store: CollectorStore;
  ingestStatus?: (() => IngestStatus) | undefined;
  /** Largest CSV import body (bytes). */
  importBodyLimit: number;
}

/** Drops undefined members so optional fields stay absent (exactOptionalPropertyTypes). */
export function compact<T extends object>(value: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = v;
  return out as { [K in keyof T]?: Exclude<T[K], undefined> };
}

/** Refuses a time range whose start is after its end (both already validated as ISO date-times). */
export function checkRange(from: string | undefined, to: string | undefined): void {
  if (from !== undefined && to !== undefined && Date.parse(from) > Date.parse(to)) {
    throw new ApiError(400, 'invalid_request', 'from must not be after to', [
      { path: 'querystring/from', message: 'is after to' },
    ]);
  }
}

export function enterpriseOut(e: Enterprise) {
  return { ...e, classZh: ENTERPRISE_CLASS_ZH[e.class] };
}
