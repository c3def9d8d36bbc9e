/**
 * The publisher's view of NATS: publish one message to JetStream and learn whether it was stored, ask the collector
 * for its clock. Behind this interface so the batching/outbox logic can be unit-tested without a server; the real
 * implementation (NatsTransport) is what every integration test and the CLI use.
 */
import { readFileSync } from 'node:fs';
import { type JetStreamClient, jetstream } from '@nats-io/jetstream';
import { type ConnectionOptions, connect, type NatsConnection, nkeyAuthenticator } from '@nats-io/transport-node';
import { type SensorIdentity, sensorInboxPrefix, TIME_SUBJECT } from '../../protocols/wire/messages.ts';

export interface PublishResult {
  /** JetStream already had a message with this id (a retry after a lost ack): stored once, nothing to do. */
  duplicate: boolean;
}

export interface ClockSample {
  /** Sensor clock minus collector clock, ms. */
  offsetMs: number;
  rttMs: number;
}

export interface JetStreamTransport {
  publish(subject: string, body: Uint8Array, msgId: string): Promise<PublishResult>;
  /** One NTP-style sample against the collector's clock service; null when nobody answers. */
  clock(): Promise<ClockSample | null>;
  /** Connection state for the health report. */
  connected(): boolean;
  close(): Promise<void>;
}

export interface NatsTransportOptions {
  url: string;
  identity: SensorIdentity;
  /** File holding the sensor's nkey seed (deploy/: `otdeploy creds sensor`). */
  nkeySeedFile?: string | undefined;
  tls?: { caFile?: string | undefined; certFile?: string | undefined; keyFile?: string | undefined } | undefined;
  /** Ack timeout per publish (ms). */
  ackTimeoutMs?: number;
  /** Called (once per distinct text) when the connection reports a problem; never with secrets. */
  onStatus?: (text: string) => void;
}

/**
 * A NATS connection that keeps trying in the background: the sensor starts and captures even when the collector's
 * server is unreachable; until it connects, publishes fail fast and the messages wait in the outbox.
 */
export class NatsTransport implements JetStreamTransport {
  private nc: NatsConnection | null = null;
  private js: JetStreamClient | null = null;
  private closed = false;
  private readonly ackTimeoutMs: number;
  private readonly connecting: Promise<void>;

  constructor(private readonly options: NatsTransportOptions) {
    this.ackTimeoutMs = options.ackTimeoutMs ?? 5000;
    this.connecting = this.connectLoop();
  }

  private connectionOptions(): ConnectionOptions {
    const o = this.options;
    const opts: ConnectionOptions = {
      // A cluster is given as a comma-separated list; the client fails over between them.
      servers: o.url
        .split(',')
        .map((u) => u.trim())
        .filter(Boolean),
      name: `otsensor ${o.identity.province}/${o.identity.enterprise}/${o.identity.sensor}`,
      inboxPrefix: sensorInboxPrefix(o.identity),
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
      reconnectJitter: 250,
      pingInterval: 10_000,
    };
    if (o.nkeySeedFile !== undefined) {
      const seed = readFileSync(o.nkeySeedFile, 'utf8').trim();
      opts.authenticator = nkeyAuthenticator(new TextEncoder().encode(seed));
    }
    if (o.tls !== undefined) {
      opts.tls = {
        ...(o.tls.caFile !== undefined ? { caFile: o.tls.caFile } : {}),
        ...(o.tls.certFile !== undefined ? { certFile: o.tls.certFile } : {}),
        ...(o.tls.keyFile !== undefined ? { keyFile: o.tls.keyFile } : {}),
      };
    }
    return opts;
  }

  private async connectLoop(): Promise<void> {
    let delay = 250;
    while (!this.closed) {
      try {
        const nc = await connect(this.connectionOptions());
        if (this.closed) {
          await nc.close();
          return;
        }
        this.nc = nc;
        this.js = jetstream(nc, { timeout: this.ackTimeoutMs });
        void this.watchStatus(nc);
        return;
      } catch (err) {
        this.options.onStatus?.(`NATS connect to ${this.options.url} failed: ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 5000);
      }
    }
  }

  private async watchStatus(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (s.type === 'error' || s.type === 'disconnect' || s.type === 'reconnect') {
        const detail = 'error' in s && s.error instanceof Error ? `: ${s.error.message}` : '';
        this.options.onStatus?.(`NATS ${s.type}${detail}`);
      }
    }
  }

  connected(): boolean {
    return this.nc !== null && !this.nc.isClosed() && this.nc.info !== undefined && !this.closed && this.up();
  }

  private up(): boolean {
    // `status()` events are asynchronous; the protocol handler knows whether the socket is connected right now.
    const nc = this.nc as unknown as { protocol?: { connected?: boolean } } | null;
    return nc?.protocol?.connected !== false;
  }

  async publish(subject: string, body: Uint8Array, msgId: string): Promise<PublishResult> {
    const js = this.js;
    if (js === null || !this.connected()) throw new Error('not connected');
    const ack = await js.publish(subject, body, { msgID: msgId, timeout: this.ackTimeoutMs });
    return { duplicate: ack.duplicate };
  }

  async clock(): Promise<ClockSample | null> {
    const nc = this.nc;
    if (nc === null || !this.connected()) return null;
    const t0 = Date.now();
    try {
      const reply = await nc.request(TIME_SUBJECT, undefined, { timeout: 1000 });
      const t1 = Date.now();
      const now = (reply.json() as { now?: unknown }).now;
      if (typeof now !== 'number' || !Number.isFinite(now)) return null;
      return { offsetMs: (t0 + t1) / 2 - now, rttMs: t1 - t0 };
    } catch {
      return null;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.connecting.catch(() => undefined);
    const nc = this.nc;
    this.nc = null;
    this.js = null;
    if (nc !== null && !nc.isClosed()) await nc.close().catch(() => undefined);
  }
}
