/**
 * Turns validated wire messages into store writes: one `store.ingest` transaction per consumer batch. Refuses a
 * message from a sensor the registry assigns to another enterprise (its credentials should make that impossible;
 * this catches mis-issued ones). Messages from sensors not in the registry are stored and flagged by the store, so
 * a province can register sensors after they start sending.
 */
import type { WireMessage } from '../../protocols/wire/messages.ts';
import { concatPrepared, type PreparedIngest, prepareIngest } from '../store/ingest-rows.ts';
import type { CollectorStore, IngestMessage } from '../store/types.ts';
import type { IngestEnvelope, IngestHandler } from './consumer.ts';

/** How long the sensor → enterprise map is trusted before it is read again (ms). */
const REGISTRY_TTL_MS = 30_000;

export class StoreIngestHandler implements IngestHandler {
  private registry = new Map<string, string>();
  private registryReadAt = 0;

  constructor(
    private readonly store: CollectorStore,
    private readonly log: (line: string) => void = () => undefined,
  ) {}

  /**
   * Builds the message's store rows on arrival and drops its parsed items (see IngestHandler.prepare): what waits
   * for the batch is the rows, with each alert's evidence as the bytes the sensor sent.
   */
  prepare(envelope: IngestEnvelope): void {
    const m = envelope.message;
    const now = Date.now();
    envelope.prepared = prepareIngest(
      [[toIngestMessage(m, new Date(now).toISOString(), envelope.itemBytes ?? null)]],
      now,
    );
    envelope.message = { ...m, items: [] } as WireMessage;
    envelope.itemBytes = null;
  }

  async handleBatch(batch: IngestEnvelope[]): Promise<{ refused: number[] }> {
    await this.refreshRegistry();
    const refused: number[] = [];
    const prepared: PreparedIngest[] = [];
    const messages: IngestMessage[] = [];
    const receivedAt = new Date().toISOString();
    batch.forEach((b, i) => {
      const m = b.message;
      const owner = this.registry.get(m.sensor);
      if (owner !== undefined && owner !== m.enterprise) {
        refused.push(i);
        return;
      }
      if (b.prepared !== undefined) prepared.push(b.prepared as PreparedIngest);
      else messages.push(toIngestMessage(m, receivedAt, b.itemBytes ?? null));
      // The envelope waits for the acks after the write; its rows need not (less for the GC to carry along).
      b.prepared = undefined;
    });
    if (messages.length > 0) prepared.push(prepareIngest([messages], Date.now()));
    if (prepared.length > 0) await this.store.ingestPrepared(concatPrepared(prepared));
    return { refused };
  }

  private async refreshRegistry(): Promise<void> {
    const now = Date.now();
    if (now - this.registryReadAt < REGISTRY_TTL_MS) return;
    try {
      const sensors = await this.store.listSensors({ kind: 'all' });
      this.registry = new Map(sensors.map((s) => [s.id, s.enterpriseId]));
      this.registryReadAt = now;
    } catch (err) {
      // Keep the previous map: a registry read failure must not stop ingest.
      this.log(`registry read failed: ${(err as Error).message}`);
    }
  }
}

export function toIngestMessage(
  m: WireMessage,
  receivedAt: string,
  itemBytes: Uint8Array[] | null = null,
): IngestMessage {
  const base = {
    province: m.province,
    enterprise: m.enterprise,
    sensor: m.sensor,
    seq: m.seq,
    drill: m.drill === true,
    receivedAt,
  };
  switch (m.kind) {
    case 'alert':
      return itemBytes === null
        ? { ...base, kind: 'alert', alerts: m.items }
        : { ...base, kind: 'alert', alerts: m.items, alertBytes: itemBytes };
    case 'asset':
      return { ...base, kind: 'asset', assets: m.items };
    case 'health':
      return { ...base, kind: 'health', health: m.items };
    case 'stats':
      return { ...base, kind: 'stats', stats: m.items };
  }
}
