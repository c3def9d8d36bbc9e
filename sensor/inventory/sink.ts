/**
 * An EventSink that feeds the inventory and passes every event on (with the inventory's `asset.change` events
 * right after the event that caused them), so rules and outputs see one stream.
 */
import type { AssetChangeEvent, SensorEvent } from '../../protocols/wire/events.ts';
import type { EventSink } from '../event-factory.ts';
import { InventoryBuilder, type InventoryOptions } from './builder.ts';

export class InventorySink implements EventSink {
  readonly inventory: InventoryBuilder;

  /** `next` receives every event and every change event; null keeps the inventory only. */
  constructor(
    private readonly next: EventSink | null,
    options: Omit<InventoryOptions, 'onChange'> = {},
  ) {
    this.inventory = new InventoryBuilder({
      ...options,
      onChange: (change: AssetChangeEvent) => this.next?.emit(change),
    });
  }

  emit(event: SensorEvent): void {
    this.next?.emit(event);
    this.inventory.ingest(event);
  }

  /** End of input: a last not-seen check at the latest packet time. */
  finish(): void {
    this.inventory.sweep();
  }
}
