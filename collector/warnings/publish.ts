/**
 * Where warning lifecycle events go: NATS (`ot.v1.warning.<province>.<level>`, core publish — the collector's
 * credentials allow `ot.v1.warning.>`) and configured webhooks (POST JSON, HMAC-SHA256 signed, retried with
 * exponential backoff from a bounded queue; every drop and failure is counted).
 */
import { createHmac } from 'node:crypto';
import type { NatsConnection } from '@nats-io/transport-node';
import { WARNING_SUBJECT_PREFIX } from '../../protocols/wire/messages.ts';
import type { WarningEvent } from './evaluator.ts';

export function warningSubject(province: string, level: string): string {
  return `${WARNING_SUBJECT_PREFIX}.${province}.${level}`;
}

/** The JSON every sink sends (docs/warnings.md): the event and the full record. */
export function warningPayload(event: WarningEvent): string {
  return JSON.stringify({ v: 1, type: event.type, at: event.at, warning: event.warning });
}

export interface NatsPublisherStats {
  published: number;
  failed: number;
}

export class NatsWarningPublisher {
  readonly stats: NatsPublisherStats = { published: 0, failed: 0 };
  constructor(private readonly nc: NatsConnection) {}

  publish(event: WarningEvent): void {
    try {
      this.nc.publish(warningSubject(event.warning.province, event.warning.level), warningPayload(event));
      this.stats.published++;
    } catch {
      this.stats.failed++;
    }
  }
}

/** Signature header value: `sha256=` + hex HMAC-SHA256 over `<timestamp>.<body>` with the shared secret. */
export function signWebhook(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export interface WebhookOptions {
  urls: readonly string[];
  /** HMAC-SHA256 secret; without one the requests carry no signature. */
  secret?: string | undefined;
  /** Deliveries waiting at most (default 1000); beyond that the oldest is dropped and counted. */
  maxQueue?: number;
  /** Attempts per delivery (default 6). */
  maxAttempts?: number;
  /** First retry delay (default 1000 ms), doubled per attempt up to `maxDelayMs` (default 60000). */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Per-request timeout (default 10000 ms). */
  timeoutMs?: number;
}

export interface WebhookStats {
  queued: number;
  delivered: number;
  retries: number;
  /** Deliveries given up after maxAttempts. */
  failed: number;
  /** Deliveries dropped because the queue was full. */
  dropped: number;
  /** Attempts that failed (network error, timeout, non-2xx). */
  attemptErrors: number;
}

interface Delivery {
  url: string;
  body: string;
  type: string;
  attempts: number;
  dueMs: number;
}

export class WebhookDispatcher {
  readonly stats: WebhookStats = { queued: 0, delivered: 0, retries: 0, failed: 0, dropped: 0, attemptErrors: 0 };
  private readonly queue: Delivery[] = [];
  private readonly maxQueue: number;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly timeoutMs: number;
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private closed = false;
  private idle: (() => void)[] = [];

  constructor(private readonly options: WebhookOptions) {
    this.maxQueue = options.maxQueue ?? 1000;
    this.maxAttempts = options.maxAttempts ?? 6;
    this.baseDelayMs = options.baseDelayMs ?? 1000;
    this.maxDelayMs = options.maxDelayMs ?? 60_000;
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  get pending(): number {
    return this.queue.length;
  }

  publish(event: WarningEvent): void {
    if (this.closed) return;
    const body = warningPayload(event);
    for (const url of this.options.urls) {
      if (this.queue.length >= this.maxQueue) {
        this.queue.shift();
        this.stats.dropped++;
      }
      this.queue.push({ url, body, type: event.type, attempts: 0, dueMs: Date.now() });
      this.stats.queued++;
    }
    this.schedule(0);
  }

  /** Resolves when nothing is queued (delivered or given up). */
  async drain(): Promise<void> {
    if (this.queue.length === 0 && !this.running) return;
    await new Promise<void>((resolve) => this.idle.push(resolve));
  }

  close(): void {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    for (const r of this.idle.splice(0)) r();
  }

  private schedule(delayMs: number): void {
    if (this.closed || this.running) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.run(), Math.max(0, delayMs));
    this.timer.unref();
  }

  private async run(): Promise<void> {
    this.timer = null;
    this.running = true;
    try {
      for (;;) {
        if (this.closed) return;
        const now = Date.now();
        const i = this.queue.findIndex((d) => d.dueMs <= now);
        if (i < 0) break;
        const d = this.queue[i] as Delivery;
        this.queue.splice(i, 1);
        if (await this.attempt(d)) this.stats.delivered++;
        else if (d.attempts >= this.maxAttempts) this.stats.failed++;
        else {
          this.stats.retries++;
          d.dueMs = Date.now() + Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (d.attempts - 1));
          this.queue.push(d);
        }
      }
    } finally {
      this.running = false;
    }
    if (this.queue.length === 0) {
      for (const r of this.idle.splice(0)) r();
      return;
    }
    const next = Math.min(...this.queue.map((d) => d.dueMs));
    this.schedule(next - Date.now());
  }

  private async attempt(d: Delivery): Promise<boolean> {
    d.attempts++;
    const timestamp = String(Date.now());
    const headers: Record<string, string> = {
      'content-type': 'application/json; charset=utf-8',
      'x-otwatch-event': d.type,
      'x-otwatch-timestamp': timestamp,
    };
    if (this.options.secret !== undefined)
      headers['x-otwatch-signature'] = signWebhook(this.options.secret, timestamp, d.body);
    try {
      const response = await fetch(d.url, {
        method: 'POST',
        headers,
        body: d.body,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      await response.arrayBuffer().catch(() => undefined);
      if (response.ok) return true;
    } catch {
      // counted below
    }
    this.stats.attemptErrors++;
    return false;
  }
}

/** Fans one event out to several sinks; a failing sink never stops the others. */
export function fanOut(
  ...sinks: ({ publish(event: WarningEvent): void } | null | undefined)[]
): (e: WarningEvent) => void {
  const live = sinks.filter((s): s is { publish(event: WarningEvent): void } => s !== null && s !== undefined);
  return (event) => {
    for (const s of live) {
      try {
        s.publish(event);
      } catch {
        // Each sink counts its own failures.
      }
    }
  };
}
