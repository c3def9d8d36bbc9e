/**
 * A publishing sensor run: connects the pipeline's outputs to the publisher. Alerts go out as they fire; the asset
 * inventory is fed by every event and the assets touched since the last round go out every `assetIntervalSec`
 * (with the change events that concern them); health every `healthIntervalSec`, traffic stats every
 * `statsIntervalSec`, all on the wall clock (timers run between capture batches, never inside one).
 */
import type { AssetChangeEvent, SensorEvent } from '../../protocols/wire/events.ts';
import type { HealthItem, MessageKind, SensorIdentity } from '../../protocols/wire/messages.ts';
import { type AlertSink, alertEvent, type RuleAlert } from '../alerts.ts';
import type { CaptureStats } from '../capture/source.ts';
import type { EventSink } from '../event-factory.ts';
import { InventoryBuilder } from '../inventory/builder.ts';
import type { Pipeline } from '../pipeline.ts';
import { Outbox } from './outbox.ts';
import { Publisher, type PublisherOptions } from './publisher.ts';
import { addParse, buildHealth, diffCounts, functionCounts, parseHealth } from './reports.ts';
import { type ClockSample, type JetStreamTransport, NatsTransport, type NatsTransportOptions } from './transport.ts';

export interface PublishConfig {
  url: string;
  identity: SensorIdentity;
  nkeySeedFile?: string | undefined;
  tls?: NatsTransportOptions['tls'];
  outboxDir: string;
  outboxMaxBytes?: number | undefined;
  healthIntervalSec?: number;
  statsIntervalSec?: number;
  assetIntervalSec?: number;
  drill?: boolean;
  /** Publisher tuning (window, batch size, linger). */
  publisher?: Partial<Pick<PublisherOptions, 'window' | 'maxItems' | 'lingerMs' | 'retryMinMs' | 'retryMaxMs'>>;
  /** Where connection problems are reported (default stderr). */
  log?: (line: string) => void;
}

/** The current input, as the health report describes it. */
export interface InputInfo {
  source: 'file' | 'live';
  name: string;
  pipeline: Pipeline | null;
  capture: () => CaptureStats | null;
}

export class PublishSession {
  readonly outbox: Outbox;
  readonly publisher: Publisher;
  readonly transport: JetStreamTransport;
  readonly inventory: InventoryBuilder;
  private readonly startedAt = Date.now();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly dirty = new Set<string>();
  private changes = new Map<string, AssetChangeEvent[]>();
  private input: InputInfo | null = null;
  private readonly earlier = { packets: 0, bytes: 0, drops: 0, flowsEvicted: 0, parse: {} as HealthItem['parse'] };
  private statsBase: ReturnType<typeof functionCounts> = {};
  private statsPackets = 0;
  private statsBytes = 0;
  private statsFrom = new Date().toISOString();
  private clockSample: ClockSample | null = null;
  private alerts = 0;
  rulesLoaded = 0;
  private readonly log: (line: string) => void;

  constructor(
    readonly config: PublishConfig,
    transport?: JetStreamTransport,
  ) {
    this.log = config.log ?? ((line) => process.stderr.write(`otsensor: ${line}\n`));
    const seen = new Set<string>();
    this.transport =
      transport ??
      new NatsTransport({
        url: config.url,
        identity: config.identity,
        nkeySeedFile: config.nkeySeedFile,
        tls: config.tls,
        // Connection trouble is reported once per distinct message, so an outage does not flood the log.
        onStatus: (text) => {
          if (seen.has(text) || seen.size > 100) return;
          seen.add(text);
          this.log(text);
        },
      });
    this.outbox = new Outbox({
      dir: config.outboxDir,
      ...(config.outboxMaxBytes !== undefined ? { maxBytes: config.outboxMaxBytes } : {}),
    });
    const recovered = this.outbox.stats().recovered;
    if (recovered > 0) this.log(`outbox ${config.outboxDir}: ${recovered} messages from a previous run to publish`);
    this.publisher = new Publisher({
      identity: config.identity,
      outbox: this.outbox,
      transport: this.transport,
      drill: config.drill === true,
      ...config.publisher,
    });
    this.inventory = new InventoryBuilder({ onChange: (change) => this.noteChange(change) });
    const every = (sec: number | undefined, fallback: number, fn: () => void) => {
      const t = setInterval(fn, Math.max(0.05, sec ?? fallback) * 1000);
      t.unref();
      this.timers.push(t);
    };
    every(config.healthIntervalSec, 10, () => void this.sendHealth());
    every(config.statsIntervalSec, 60, () => this.sendStats());
    every(config.assetIntervalSec, 5, () => this.sendAssets());
  }

  /** The alert sink to give the pipeline. */
  readonly alertSink: AlertSink = {
    alert: (a: RuleAlert) => {
      this.alerts++;
      this.publisher.add('alert', alertEvent(a, this.config.identity.sensor));
    },
  };

  /** The event sink to give the pipeline: feeds the inventory, then passes events on to `next` (or nowhere). */
  eventSink(next: EventSink | null): EventSink {
    return {
      emit: (event: SensorEvent) => {
        next?.emit(event);
        if (event.kind === 'alert') return;
        this.inventory.ingest(event);
        this.dirty.add(event.client.ip);
        this.dirty.add(event.server.ip);
      },
    };
  }

  /** A new input (file or interface) starts; `finishInput` the previous one first. */
  beginInput(input: InputInfo): void {
    this.input = input;
    this.statsBase = {};
    this.statsPackets = 0;
    this.statsBytes = 0;
  }

  /** The current input ended: its stats, its assets and a health report go out now. */
  async finishInput(): Promise<void> {
    this.inventory.sweep();
    this.sendStats();
    this.sendAssets();
    const input = this.input;
    await this.sendHealth();
    if (input !== null) {
      const c = input.capture();
      this.earlier.packets += c?.packets ?? 0;
      this.earlier.bytes += c?.bytes ?? 0;
      this.earlier.drops += c?.sourceDrops ?? 0;
      this.earlier.flowsEvicted +=
        (input.pipeline?.flows.stats as { evictedLru?: number } | undefined)?.evictedLru ?? 0;
      if (input.pipeline !== null) this.earlier.parse = addParse(this.earlier.parse, parseHealth(input.pipeline));
    }
    this.input = null;
  }

  /** Sends what is left and waits up to `timeoutMs` for JetStream to acknowledge it all. */
  async close(timeoutMs: number): Promise<{ drained: boolean; left: number }> {
    for (const t of this.timers) clearInterval(t);
    const drained = await this.publisher.drain(timeoutMs);
    await this.publisher.stop();
    await this.transport.close();
    return { drained, left: this.outbox.depth };
  }

  private noteChange(change: AssetChangeEvent): void {
    const ip = String(change.asset.ip ?? '');
    if (ip === '') return;
    this.dirty.add(ip);
    let list = this.changes.get(ip);
    if (list === undefined) {
      list = [];
      this.changes.set(ip, list);
    }
    // Bounded: an asset that changes all the time keeps its latest 100 changes per round.
    if (list.length >= 100) list.shift();
    list.push(change);
  }

  private sendAssets(): void {
    if (this.dirty.size === 0) return;
    for (const ip of this.dirty) {
      const asset = this.inventory.record(ip);
      if (asset === null) continue;
      this.publisher.add('asset', { asset, changes: this.changes.get(ip) ?? [] });
    }
    this.dirty.clear();
    this.changes = new Map();
  }

  private sendStats(): void {
    const input = this.input;
    if (input === null || input.pipeline === null) return;
    const now = functionCounts(input.pipeline);
    const protocols = diffCounts(now, this.statsBase);
    const capture = input.capture();
    const packets = (capture?.packets ?? 0) - this.statsPackets;
    const bytes = (capture?.bytes ?? 0) - this.statsBytes;
    this.statsBase = now;
    this.statsPackets = capture?.packets ?? 0;
    this.statsBytes = capture?.bytes ?? 0;
    if (packets <= 0 && Object.keys(protocols).length === 0) return;
    const to = new Date().toISOString();
    this.publisher.add('stats', {
      from: this.statsFrom,
      to,
      packets: Math.max(0, packets),
      bytes: Math.max(0, bytes),
      protocols,
    });
    this.statsFrom = to;
  }

  private async sendHealth(): Promise<void> {
    const input = this.input;
    const sample = await this.transport.clock();
    if (sample !== null) this.clockSample = sample;
    const publisher = this.publisher.stats();
    const droppedSinceLast = this.outbox.unreportedDrops();
    this.outbox.markReported(droppedSinceLast);
    const outbox = this.outbox.stats();
    this.publisher.add(
      'health',
      buildHealth({
        startedAt: this.startedAt,
        source: input?.source ?? 'file',
        name: input?.name ?? '',
        pipeline: input?.pipeline ?? null,
        capture: input?.capture() ?? null,
        earlier: this.earlier,
        outbox,
        droppedSinceLast,
        publisher,
        rulesLoaded: this.rulesLoaded,
        alerts: this.alerts,
        clock: this.clockSample,
      }),
    );
  }

  /** Items published per kind so far (for the CLI's closing line). */
  counts(): Record<MessageKind, number> {
    return this.publisher.stats().items;
  }
}
