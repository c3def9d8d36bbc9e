/**
 * The collector's side of the sensor → collector contract: pulls from the shared durable JetStream consumer (several
 * collector instances may pull from it at once; JetStream hands each message to one of them), validates every
 * message against the wire schemas and the subject it arrived on, hands valid ones to the store, and acknowledges
 * only after the store said the write is durable. A message that fails validation is terminated (never redelivered),
 * counted per reason, and logged once per sensor and reason; a store failure naks the message so it comes back.
 */
import type { JetStreamClient, JsMsg } from '@nats-io/jetstream';
import type { WireMessage } from '../../protocols/wire/messages.ts';
import { COLLECTOR_CONSUMER, STREAM_NAME } from '../../protocols/wire/streams.ts';
import { REJECT_REASONS, type RejectReason, validateMessage } from '../../protocols/wire/validate.ts';

export interface IngestMeta {
  subject: string;
  /** The message's sequence in the stream (unique per stream: a natural idempotency key for the message). */
  streamSeq: number;
  redelivered: boolean;
  /** Time the server stored the message (ms since the epoch). */
  storedAtMs: number;
}

/** Where valid messages go. Resolve only once the write is durable; reject to have the message redelivered. */
export interface IngestHandler {
  handle(message: WireMessage, meta: IngestMeta): Promise<void>;
}

export interface IngestStats {
  received: number;
  accepted: number;
  redelivered: number;
  rejected: Record<RejectReason, number>;
  /** Store failures (the message was nak'ed and comes back). */
  handlerErrors: number;
}

export interface IngestOptions {
  stream?: string;
  consumer?: string;
  /** Messages pulled per request (default 256). */
  batch?: number;
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
    rejected: Object.fromEntries(REJECT_REASONS.map((r) => [r, 0])) as Record<RejectReason, number>,
    handlerErrors: 0,
  };
  private readonly logged = new Set<string>();
  private stopped = false;
  private messages: { stop(): void } | null = null;
  private loop: Promise<void> | null = null;
  private readonly log: (line: string) => void;

  constructor(
    private readonly js: JetStreamClient,
    private readonly handler: IngestHandler,
    private readonly options: IngestOptions = {},
  ) {
    this.log = options.log ?? ((line) => process.stderr.write(`otcollector: ${line}\n`));
  }

  /** Starts pulling (returns once the consumer is bound); `stop()` ends it. */
  async start(): Promise<void> {
    const consumer = await this.js.consumers.get(
      this.options.stream ?? STREAM_NAME,
      this.options.consumer ?? COLLECTOR_CONSUMER,
    );
    const messages = await consumer.consume({ max_messages: this.options.batch ?? 256 });
    this.messages = messages;
    this.loop = (async () => {
      for await (const m of messages) {
        if (this.stopped) break;
        await this.process(m);
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.messages?.stop();
    await this.loop?.catch(() => undefined);
  }

  /** Validates, stores, acknowledges one message (exposed for tests of the decision logic). */
  async process(m: JsMsg): Promise<void> {
    this.stats.received++;
    if (m.redelivered) this.stats.redelivered++;
    const result = validateMessage(m.subject, m.data);
    if (!result.ok) {
      this.stats.rejected[result.reason]++;
      const who = result.subject ? `${result.subject.enterprise}/${result.subject.sensor}` : 'unknown subject';
      const key = `${who}|${result.reason}`;
      if (!this.logged.has(key) && this.logged.size < (this.options.maxLoggedRejections ?? 10_000)) {
        this.logged.add(key);
        // The detail never quotes message content beyond a short schema path: no secrets or payload in logs.
        this.log(`rejected message from ${who} (${result.reason}: ${result.detail}); further ones are only counted`);
      }
      m.term();
      return;
    }
    try {
      await this.handler.handle(result.message, {
        subject: m.subject,
        streamSeq: m.seq,
        redelivered: m.redelivered,
        storedAtMs: Number(BigInt(m.info.timestampNanos) / 1_000_000n),
      });
    } catch (err) {
      this.stats.handlerErrors++;
      this.log(`store failed, message will be redelivered: ${(err as Error).message}`);
      m.nak(this.options.retryDelayMs ?? 1000);
      return;
    }
    this.stats.accepted++;
    // Acked after the durable write: a crash between the two redelivers the message, and the store's writes are
    // idempotent by item id, so the second delivery changes nothing.
    await m.ackAck().catch(() => m.ack());
  }
}
