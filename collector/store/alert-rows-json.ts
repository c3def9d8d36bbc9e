/**
 * The JSON parameter of PostgreSQL's bulk alert insert (`json_populate_recordset(null::alerts, $1::json)`), with each
 * alert's event spliced in as it is, not escaped into a JSON string.
 *
 * Why: `JSON.stringify(rows)` escaped every 1.6 kB event a second time (each quote becomes `\"`), and that escaping
 * and its garbage were most of the collector's CPU on PostgreSQL (65 µs per alert on the main thread, one pinned
 * core). Given a nested JSON object for a `text` column, `json_populate_recordset` over `json` (not `jsonb`) stores
 * the object's original text, byte for byte, so the event is stored exactly as before.
 *
 * The event text must be one JSON value: it is the item the sensor sent, which `JSON.parse` accepted at ingest, or
 * `JSON.stringify` of the parsed item. An empty event (no text) is sent as the empty string, as before.
 */
import type { AlertsTable } from './schema.ts';

const EVENT_TAIL = '"event":null}';

export function alertRowsJson(rows: readonly AlertsTable[]): string {
  const parts: string[] = new Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i] as AlertsTable;
    if (row.event === '') {
      parts[i] = JSON.stringify(row);
      continue;
    }
    // The row with its event last and null: every other field is serialised as usual, then the null is replaced.
    const head = JSON.stringify(withoutEvent(row));
    if (!head.endsWith(EVENT_TAIL)) throw new Error('alert row: event is not the last field');
    parts[i] = `${head.slice(0, head.length - 5)}${row.event}}`;
  }
  return `[${parts.join(',')}]`;
}

function withoutEvent(row: AlertsTable): Record<string, unknown> {
  const copy: Record<string, unknown> = {};
  for (const key in row) if (key !== 'event') copy[key] = row[key as keyof AlertsTable];
  copy.event = null;
  return copy;
}
