/**
 * The collector's side of the sensor → collector contract: pulls from the shared durable JetStream consumer (several
 * collector instances may pull from it at once; JetStream hands each message to one of them), validates every
 * message against the wire schemas and the subject it arrived on, hands valid ones to the store in batches (one
 * transaction per batch), and acknowledges them only after the store said the write is durable. A message that
 * fails validation is terminated (never redelivered), counted per reason, and logged once per sensor and reason; a
 * failed write naks the batch so it comes back (the store's writes are idempotent, so a partial earlier attempt or
 * a crash between write and ack cannot duplicate anything).
 */
import type { JetStreamClient, JsMsg } from '@nats-io/jetstream';
import type { WireMessage } from '../../protocols/wire/messages.ts';
import { COLLECTOR_CONSUMER, STREAM_NAME } from '../../protocols/wire/streams.ts';
import { REJECT_REASONS, type RejectReason, validateMessage } from '../../protocols/wire/validate.ts';

export interface IngestMeta {
  subject: string;
  /** The message's sequence in the stream. */
  streamSeq: number;
  redelivered: boolean;
  /** Time the server stored the message (ms since the epoch). */
  storedAtMs: number;
}

export interface IngestEnvelope {
  message: WireMessage;
  meta: IngestMeta;
  /** Each item's bytes as received (see `validateMessage`), when the validation kept them. */
  itemBytes?: Uint8Array[] | null;
  /** What the handler's `prepare` made of the message at arrival (opaque to the consumer). */
  prepared?: unknown;
}

/**
 * Where valid messages go. Resolve only once the batch is durable; reject to have the whole batch redelivered.
 * Return the indexes of envelopes the handler refuses on grounds the wire check cannot see (e.g. a sensor the
 * registry assigns to another enterprise): those are terminated and counted as `registry_mismatch`.
 */
export interface IngestHandler {
  handleBatch(batch: IngestEnvelope[]): Promise<{ refused?: number[] } | undefined>;
  /**
   * Called once per valid message as it arrives, before it waits for its batch: lets the handler turn the parsed
   * message into the compact form it writes (and drop the parsed items) while they are still young garbage.
   * Parsed alerts kept for a whole batch outlived V8's young generation and cost more in GC than their parse.
   */
  prepare?(envelope: IngestEnvelope): void;
}

export type IngestRejectReason = RejectReason | 'registry_mismatch';

export interface IngestStats {
  received: number;
  accepted: number;
  redelivered: number;
  rejected: Record<IngestRejectReason, number>;
  /** Failed batch writes (their messages were nak'ed and come back). */
  handlerErrors: number;
  batches: number;
  /** Stored-at time of the newest message written (ms), for the ingest lag. */
  lastStoredAtMs: number | null;
}

export interface IngestOptions {
  stream?: string;
  consumer?: string;
  /** Messages per store transaction at most (default 200). */
  batch?: number;
  /**
   * Items (alerts, assets, reports) per batch at most (default 4000; a message is never split). A sensor packs
   * hundreds of alerts into one message: without this bound one batch could hold 100k alerts, and the validation of
   * the next batch would wait for its whole write instead of overlapping with it.
   */
  batchItems?: number;
  /** Bytes requested from the server per pull (default 32 MiB; at least the largest message, 1 MiB). */
  pullBytes?: number;
  /** How long a partial batch waits for more messages (ms, default 20). */
  lingerMs?: number;
  /**
   * Batches being written at once (default 4). Writes are idempotent and acked per batch, so order does not matter;
   * several in flight let the store group them into one commit (one fsync) instead of waiting for each in turn.
   */
  concurrency?: number;
  /** Delay before a failed write is retried (ms, default 1000). */
  retryDelayMs?: number;
  log?: (line: string) => void;
  /** Distinct (sensor, reason) pairs logged at most (the rest are only counted). */
  maxLoggedRejections?: number;
}

export class IngestConsumer {
  readonly stats: IngestStats = {
    received: 0,
    accepted: 0,
    redelivered: 0,
    rejected: Object.fromEntries([...REJECT_REASONS, 'registry_mismatch'].map((r) => [r, 0])) as Record<
      IngestRejectReason,
      number
    >,
    handlerErrors: 0,
    batches: 0,
    lastStoredAtMs: null,
  };
  private readonly logged = new Set<string>();
  private stopped = false;
  private messages: { stop(): void } | null = null;
  private loop: Promise<void> | null = null;
  private pending: { m: JsMsg; envelope: IngestEnvelope }[] = [];
  private pendingItems = 0;
  private readonly inflight = new Set<Promise<void>>();
  /** Acks sent whose confirmation has not come back yet (stop() waits for them). */
  private readonly acking = new Set<Promise<unknown>>();
  private timer: NodeJS.Timeout | null = null;
  private readonly log: (line: string) => void;
  private readonly batchSize: number;
  private readonly batchItems: number;

  constructor(
    private readonly js: JetStreamClient,
    private readonly handler: IngestHandler,
    private readonly options: IngestOptions = {},
  ) {
    this.log = options.log ?? ((line) => process.stderr.write(`otcollector: ${line}\n`));
    this.batchSize = options.batch ?? 200;
    this.batchItems = options.batchItems ?? 4000;
  }

  /** Starts pulling (returns once the consumer is bound); `stop()` ends it. */
  async start(): Promise<void> {
    const consumer = await this.js.consumers.get(
      this.options.stream ?? STREAM_NAME,
      this.options.consumer ?? COLLECTOR_CONSUMER,
    );
    // Pull by bytes, not by message count: sensor messages reach 1 MiB each, and a count-based pull of a few thousand
    // of them asked the server for gigabytes at once. While the store was busy the client fell behind, the server
    // cut it off as a slow consumer, and ingest stalled until it reconnected and the unacked messages came back.
    const messages = await consumer.consume({ max_bytes: this.options.pullBytes ?? 32 * 1024 * 1024 });
    this.messages = messages;
    this.loop = (async () => {
      for await (const m of messages) {
        if (this.stopped) break;
        this.accept(m);
        // Backpressure: while the store is behind, stop taking messages (they stay unacked on the server).
        if (this.pending.length >= this.batchSize || this.pendingItems >= this.batchItems) await this.flush();
      }
    })();
  }

  /** Stops pulling; what was received is written and acked first. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.messages?.stop();
    await this.loop?.catch(() => undefined);
    await this.flush();
    await Promise.all(this.inflight);
    await Promise.all(this.acking);
  }

  private accept(m: JsMsg): void {
    this.stats.received++;
    if (m.redelivered) this.stats.redelivered++;
    const result = validateMessage(m.subject, m.data);
    if (!result.ok) {
      this.reject(m, result.reason, result.detail, result.subject);
      return;
    }
    this.pendingItems += result.message.items.length;
    const envelope: IngestEnvelope = {
      message: result.message,
      itemBytes: result.itemBytes,
      meta: {
        subject: m.subject,
        streamSeq: m.seq,
        redelivered: m.redelivered,
        storedAtMs: Number(BigInt(m.info.timestampNanos) / 1_000_000n),
      },
    };
    try {
      this.handler.prepare?.(envelope);
    } catch (err) {
      // The batch write gets the message as it came and handles (or fails) it there.
      this.log(`could not prepare a message from ${m.subject}: ${(err as Error).message}`);
    }
    this.pending.push({ m, envelope });
    if (this.timer === null) {
      this.timer = setTimeout(() => {
        this.timer = null;
        void this.flush();
      }, this.options.lingerMs ?? 20);
    }
  }

  private reject(
    m: JsMsg,
    reason: IngestRejectReason,
    detail: string,
    subject: { enterprise: string; sensor: string } | null,
  ): void {
    this.stats.rejected[reason]++;
    const who = subject ? `${subject.enterprise}/${subject.sensor}` : 'unknown subject';
    const key = `${who}|${reason}`;
    if (!this.logged.has(key) && this.logged.size < (this.options.maxLoggedRejections ?? 10_000)) {
      this.logged.add(key);
      // The detail never quotes message content beyond a short schema path: no secrets or payload in logs.
      this.log(`rejected message from ${who} (${reason}: ${detail}); further ones are only counted`);
    }
    m.term();
  }

  /**
   * Writes what is pending as one batch, then acks it. Up to `concurrency` batches are in flight; at the limit this
   * waits for one to finish (which is how a slow store slows the pull down).
   */
  private async flush(): Promise<void> {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    while (this.inflight.size >= (this.options.concurrency ?? 4)) await Promise.race(this.inflight);
    const batch = this.pending;
    if (batch.length > 0) {
      this.pending = [];
      this.pendingItems = 0;
      const write = this.write(batch).finally(() => this.inflight.delete(write));
      this.inflight.add(write);
    }
    if (this.stopped) await Promise.all(this.inflight);
  }

  private async write(batch: { m: JsMsg; envelope: IngestEnvelope }[]): Promise<void> {
    let refused: number[] = [];
    try {
      const result = await this.handler.handleBatch(batch.map((b) => b.envelope));
      refused = result?.refused ?? [];
    } catch (err) {
      this.stats.handlerErrors++;
      this.log(`store failed, ${batch.length} messages will be redelivered: ${(err as Error).message}`);
      for (const b of batch) b.m.nak(this.options.retryDelayMs ?? 1000);
      return;
    }
    this.stats.batches++;
    const refusedSet = new Set(refused);
    const acks: Promise<unknown>[] = [];
    batch.forEach((b, i) => {
      if (refusedSet.has(i)) {
        this.reject(b.m, 'registry_mismatch', 'sensor registered to another enterprise', b.envelope.message);
        return;
      }
      this.stats.accepted++;
      const t = b.envelope.meta.storedAtMs;
      if (this.stats.lastStoredAtMs === null || t > this.stats.lastStoredAtMs) this.stats.lastStoredAtMs = t;
      // Acked after the durable write: a crash between the two redelivers the message, and the store's writes
      // are idempotent by item id, so the second delivery changes nothing.
      acks.push(b.m.ackAck().catch(() => b.m.ack()));
    });
    // The batch's slot is free once the write is durable: waiting here for the server to confirm each ack (a round
    // trip per message) kept the next batch out of the store for that long and left the writer idle between
    // batches. The confirmations are still awaited, by stop().
    const confirmed = Promise.all(acks);
    this.acking.add(confirmed);
    void confirmed.finally(() => this.acking.delete(confirmed));
  }
}
