/**
 * `otsensor read FILE... --inventory` / `--inventory-csv`: runs the files through pipelines whose event sink feeds
 * one asset inventory (assets seen across all files), then prints it as JSON or CSV.
 */
import { analyseFile } from '../analyse-file.ts';
import type { EventSink } from '../event-factory.ts';
import { inventoryToCsv } from '../inventory/csv.ts';
import { InventorySink } from '../inventory/sink.ts';

export interface InventoryRunOptions {
  sensorId: string;
  format: 'json' | 'csv';
  /** Also receives every event and change event (e.g. the `--events` JSON-lines writer); null for none. */
  events: (EventSink & { flush(): Promise<void> }) | null;
}

export async function runInventory(files: string[], options: InventoryRunOptions): Promise<number> {
  const sink = new InventorySink(options.events);
  let failed = 0;
  for (const file of files) {
    const { error, report } = await analyseFile(
      file,
      { sensorId: options.sensorId, events: sink },
      { afterBatch: async () => options.events?.flush() },
    );
    await options.events?.flush();
    if (error) {
      failed++;
      const before = report.frames > 0 ? ` (${report.frames} packets before it were processed)` : '';
      process.stderr.write(`otsensor: ${error.message}${before}\n`);
    }
  }
  sink.finish();
  await options.events?.flush();
  const snapshot = sink.inventory.snapshot();
  const text = options.format === 'csv' ? inventoryToCsv(snapshot) : `${JSON.stringify(snapshot, null, 2)}\n`;
  if (!process.stdout.write(text)) await new Promise<void>((resolve) => process.stdout.once('drain', resolve));
  return failed > 0 ? 1 : 0;
}
