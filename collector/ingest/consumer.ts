/**
 * The collector's side of the sensor → collector contract: pulls from the shared durable JetStream consumer (several
 * collector instances may pull from it at once; JetStream hands each message to one of them), validates every
 * message against the wire schemas and the subject it arrived on, hands valid ones to the store in batches (one
 * transaction per batch), and acknowledges them only after the store said the write is durable. A message that
 * fails validation is terminated (never redelivered), counted per reason, and logged once per sensor and reason. A
 * failed batch write is retried message by message: what the store takes is acked, the rest is nak'ed to come back
 * (the store's writes are idempotent, so a partial earlier attempt or a crash between write and ack cannot duplicate
 * anything), and a message the working store still fails on its third delivery is terminated (`store_rejected`).
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

/**
 * `registry_mismatch`: the handler refused the message (its sensor belongs to another enterprise). `store_rejected`:
 * the store failed the message, written alone, on its third delivery while other writes succeeded (so the store was
 * working and the message is what it cannot take); terminated so it does not come back and fail again for ever.
 */
export type IngestRejectReason = RejectReason | 'registry_mismatch' | 'store_rejected';

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

/** Deliveries after which a message the working store still fails is terminated (`store_rejected`). */
const POISON_DELIVERIES = 3;
/** How recent a successful write must be for the store to count as working. */
const POISON_WINDOW_MS = 10_000;
const MAX_RETRY_DELAY_MS = 30_000;

export class IngestConsumer {
  readonly stats: IngestStats = {
    received: 0,
    accepted: 0,
    redelivered: 0,
    rejected: Object.fromEntries(
      [...REJECT_REASONS, 'registry_mismatch', 'store_rejected'].map((r) => [r, 0]),
    ) as Record<IngestRejectReason, number>,
    handlerErrors: 0,
    batches: 0,
    lastStoredAtMs: null,
  };
  private readonly logged = new Set<string>();
  private stopped = false;
  private messages: { stop(): void } | null = null;
  private loop: Promise<void> | null = null;
  private pending: Pending[] = [];
  private pendingItems = 0;
  private readonly inflight = new Set<Promise<void>>();
  /** Acks sent whose confirmation has not come back yet (stop() waits for them). */
  private readonly acking = new Set<Promise<unknown>>();
  private timer: NodeJS.Timeout | null = null;
  /** When a store write last succeeded (ms): tells a message the store cannot take from a store that is down. */
  private lastWriteOkMs: number | null = null;
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
    const envelope = this.envelopeOf(m);
    if (envelope === null) return;
    this.pendingItems += envelope.message.items.length;
    this.pending.push({ m, envelope });
    if (this.timer === null) {
      this.timer = setTimeout(() => {
        this.timer = null;
        void this.flush();
      }, this.options.lingerMs ?? 20);
    }
  }

  /** The validated and prepared envelope of a message, or null when it was rejected (and terminated). */
  private envelopeOf(m: JsMsg): IngestEnvelope | null {
    const result = validateMessage(m.subject, m.data);
    if (!result.ok) {
      this.reject(m, result.reason, result.detail, result.subject);
      return null;
    }
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
    return envelope;
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

  private async write(batch: Pending[]): Promise<void> {
    let refused: number[] = [];
    try {
      const result = await this.handler.handleBatch(batch.map((b) => b.envelope));
      refused = result?.refused ?? [];
    } catch (err) {
      this.stats.handlerErrors++;
      if (batch.length > 1) await this.isolate(batch, err as Error);
      else this.failed(batch, err as Error, this.storeWorks());
      return;
    }
    this.lastWriteOkMs = Date.now();
    this.stats.batches++;
    const refusedSet = new Set(refused);
    const acks: Promise<unknown>[] = [];
    batch.forEach((b, i) => {
      if (refusedSet.has(i)) this.refuse(b);
      else acks.push(this.acknowledge(b));
    });
    // The batch's slot is free once the write is durable: waiting here for the server to confirm each ack (a round
    // trip per message) kept the next batch out of the store for that long and left the writer idle between
    // batches. The confirmations are still awaited, by stop().
    this.confirmLater(Promise.all(acks));
  }

  /** A message the handler refused (its sensor belongs to another enterprise): terminated and counted. */
  private refuse(b: Pending): void {
    this.reject(b.m, 'registry_mismatch', 'sensor registered to another enterprise', b.envelope.message);
  }

  /**
   * Counts a stored message and acks it. Acked after the durable write: a crash between the two redelivers the
   * message, and the store's writes are idempotent by item id, so the second delivery changes nothing.
   */
  private acknowledge(b: Pending): Promise<unknown> {
    this.stats.accepted++;
    const t = b.envelope.meta.storedAtMs;
    if (this.stats.lastStoredAtMs === null || t > this.stats.lastStoredAtMs) this.stats.lastStoredAtMs = t;
    return b.m.ackAck().catch(() => b.m.ack());
  }

  private confirmLater(confirmed: Promise<unknown>): void {
    this.acking.add(confirmed);
    void confirmed.finally(() => this.acking.delete(confirmed));
  }

  /**
   * A batch the store failed as a whole: each message is written alone, from its bytes again (the handler's
   * `prepare` may have dropped the parsed items). Nak-ing the whole batch, as before, brought one message the store
   * cannot take (a value its column cannot hold, say) back with its batch for ever, and the good messages with it.
   */
  private async isolate(batch: Pending[], batchError: Error): Promise<void> {
    const failed: Pending[] = [];
    let error = batchError;
    let stored = 0;
    for (const b of batch) {
      const envelope = this.envelopeOf(b.m);
      if (envelope === null) continue; // rejected and terminated (it validated before: a changed schema)
      const one = { m: b.m, envelope };
      try {
        await this.write1(one);
        stored++;
      } catch (e) {
        failed.push(one);
        error = e as Error;
      }
    }
    this.failed(failed, error, stored > 0);
  }

  /**
   * Messages the store failed. While the store works (other messages were stored alone beside them, or within the
   * last POISON_WINDOW_MS), a message failing on its POISON_DELIVERIES-th delivery is what the store cannot take:
   * terminated and counted as `store_rejected`, so it stops coming back. Otherwise (the store itself is failing: a
   * lost connection, a full disk; or a first failure that may be passing) each is nak'ed, with a delay that doubles
   * per delivery up to 30 s, and nothing is dropped.
   */
  private failed(messages: Pending[], error: Error, storeWorks: boolean): void {
    if (messages.length === 0) return;
    const retryMs = this.options.retryDelayMs ?? 1000;
    let redelivered = 0;
    for (const b of messages) {
      const deliveries = b.m.info.deliveryCount;
      if (storeWorks && deliveries >= POISON_DELIVERIES) {
        // The store's message (e.g. a column's range), not the message's content: nothing of the payload in logs.
        this.reject(b.m, 'store_rejected', error.message.slice(0, 200), b.envelope.message);
        continue;
      }
      b.m.nak(Math.min(MAX_RETRY_DELAY_MS, retryMs * 2 ** Math.max(0, deliveries - 1)));
      redelivered++;
    }
    if (redelivered > 0) this.log(`store failed, ${redelivered} messages will be redelivered: ${error.message}`);
  }

  /** True when a write succeeded within the last POISON_WINDOW_MS. */
  private storeWorks(): boolean {
    return this.lastWriteOkMs !== null && Date.now() - this.lastWriteOkMs < POISON_WINDOW_MS;
  }

  /** Writes one message as its own batch and acks it (or terminates it when refused); throws what the store threw. */
  private async write1(b: Pending): Promise<void> {
    const result = await this.handler.handleBatch([b.envelope]);
    this.lastWriteOkMs = Date.now();
    this.stats.batches++;
    if (result?.refused?.includes(0)) this.refuse(b);
    else this.confirmLater(this.acknowledge(b));
  }
}

interface Pending {
  m: JsMsg;
  envelope: IngestEnvelope;
}
