/**
 * The JetStream layout the sensor → collector contract relies on: one stream holding every kind of every sensor,
 * one durable pull consumer the collector instances share. `ensureStreams` creates or checks both idempotently
 * (safe to run at every start of every collector, and by `deploy/`'s tooling); it is given a JetStream manager, so
 * this module does no I/O of its own.
 *
 * Works on nats-server 2.9 (Debian 12): no multi-filter consumers, no per-message TTL, no compression.
 */
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from '@nats-io/jetstream';
import { MESSAGE_KINDS, SUBJECT_ROOT } from './messages.ts';

export const STREAM_NAME = 'OT_V1';
export const COLLECTOR_CONSUMER = 'collector';

export interface StreamLimits {
  /** Oldest message kept (ms). Default 14 days: a collector outage of two weeks loses nothing. */
  maxAgeMs: number;
  /** Bytes kept; oldest messages go first when it is reached. Default 8 GiB. */
  maxBytes: number;
  /** JetStream's `Nats-Msg-Id` dedupe window (ms). Default 10 min: longer than any sensor retry backoff. */
  duplicateWindowMs: number;
  /** Replicas (3 in the provincial cluster, 1 for a pilot). */
  replicas: number;
}

export const DEFAULT_STREAM_LIMITS: StreamLimits = {
  maxAgeMs: 14 * 24 * 3600 * 1000,
  maxBytes: 8 * 1024 ** 3,
  duplicateWindowMs: 10 * 60 * 1000,
  replicas: 1,
};

/** The stream's subjects: every kind, any province / enterprise / sensor token. */
export const STREAM_SUBJECTS: string[] = MESSAGE_KINDS.map((kind) => `${SUBJECT_ROOT}.*.*.*.${kind}`);

const NS_PER_MS = 1_000_000;

export function streamConfig(limits: StreamLimits): Partial<StreamConfig> & { name: string } {
  return {
    name: STREAM_NAME,
    subjects: STREAM_SUBJECTS,
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    max_age: limits.maxAgeMs * NS_PER_MS,
    max_bytes: limits.maxBytes,
    // One message is one batch; the sensor keeps them under 900 KiB (messages.ts MAX_MESSAGE_BYTES).
    max_msg_size: 1024 * 1024,
    duplicate_window: limits.duplicateWindowMs * NS_PER_MS,
    num_replicas: limits.replicas,
  };
}

export interface EnsureResult {
  stream: 'created' | 'updated' | 'unchanged';
  consumer: 'created' | 'unchanged';
}

/** Creates the stream and the collector's durable consumer, or brings their limits up to date. */
export async function ensureStreams(
  jsm: JetStreamManager,
  limits: StreamLimits = DEFAULT_STREAM_LIMITS,
): Promise<EnsureResult> {
  const wanted = streamConfig(limits);
  let stream: EnsureResult['stream'];
  const existing = await jsm.streams.info(STREAM_NAME).catch((err: unknown) => {
    if (isNotFound(err)) return null;
    throw err;
  });
  if (existing === null) {
    await jsm.streams.add(wanted);
    stream = 'created';
  } else {
    const c = existing.config;
    const same =
      c.max_age === wanted.max_age &&
      c.max_bytes === wanted.max_bytes &&
      c.duplicate_window === wanted.duplicate_window &&
      c.max_msg_size === wanted.max_msg_size &&
      JSON.stringify([...(c.subjects ?? [])].sort()) === JSON.stringify([...STREAM_SUBJECTS].sort());
    if (same) stream = 'unchanged';
    else {
      // Replicas and storage cannot change in place on 2.9; only the limits and subjects are brought up to date.
      const { name: _name, storage: _storage, num_replicas: _replicas, retention: _retention, ...update } = wanted;
      await jsm.streams.update(STREAM_NAME, update);
      stream = 'updated';
    }
  }
  let consumer: EnsureResult['consumer'] = 'unchanged';
  const info = await jsm.consumers.info(STREAM_NAME, COLLECTOR_CONSUMER).catch((err: unknown) => {
    if (isNotFound(err)) return null;
    throw err;
  });
  if (info === null) {
    await jsm.consumers.add(STREAM_NAME, {
      durable_name: COLLECTOR_CONSUMER,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      // A message not acked in 30 s (collector crashed mid-write) is redelivered to another instance.
      ack_wait: 30_000 * NS_PER_MS,
      max_ack_pending: 20_000,
    });
    consumer = 'created';
  }
  return { stream, consumer };
}

function isNotFound(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown; api_error?: { err_code?: number } };
  const code = e.api_error?.err_code;
  return code === 10059 || code === 10014 || /not found/i.test(String(e.message ?? ''));
}
