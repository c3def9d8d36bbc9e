/**
 * The PostgreSQL bulk alert insert's parameters: one binary array per column of `alerts` (pg-binary-arrays.ts says
 * why binary), and the statement's column list in the same order.
 */
import { ALERT_NUMBER_COLUMNS, ALERT_TEXT_COLUMNS, type PendingAlert } from './ingest-rows.ts';
import { int4Array, int8Array, textArray } from './pg-binary-arrays.ts';
import type { AlertsTable } from './schema.ts';

type NumberColumn = (typeof ALERT_NUMBER_COLUMNS)[number];

/** The numeric columns' PostgreSQL types (migrations.ts): times are `bigint`, the rest `integer`. */
const NUMBER_TYPES: Record<NumberColumn, 'int8[]' | 'int4[]'> = {
  ts_ms: 'int8[]',
  received_ms: 'int8[]',
  server_port: 'int4[]',
  count: 'int4[]',
  drill: 'int4[]',
};

type Covered = (typeof ALERT_TEXT_COLUMNS)[number] | NumberColumn | 'event';
/** Fails to compile when `alerts` gains a column the arrays do not carry. */
const everyColumnCovered: Record<Exclude<keyof AlertsTable, Covered>, never> = {};
void everyColumnCovered;

/** Every column of `alerts`, in the order of `alertArrays`' parameters (the casts say each array's type). */
export const ALERT_ARRAY_COLUMNS: readonly { name: keyof AlertsTable; type: string }[] = [
  ...ALERT_TEXT_COLUMNS.map((name) => ({ name, type: 'text[]' })),
  ...ALERT_NUMBER_COLUMNS.map((name) => ({ name, type: NUMBER_TYPES[name] })),
  { name: 'event', type: 'text[]' },
];

/**
 * The rows as column arrays. A row's event goes in as the bytes the sensor sent when it still has them
 * (`eventBytes`), so they are never decoded into a string on the way.
 */
export function alertArrays(alerts: readonly PendingAlert[]): Buffer[] {
  const rows = alerts.map((a) => a.row);
  return [
    ...ALERT_TEXT_COLUMNS.map((name) => textArray(rows.map((r) => r[name]))),
    ...ALERT_NUMBER_COLUMNS.map((name) => {
      const values = rows.map((r) => r[name]);
      return NUMBER_TYPES[name] === 'int8[]' ? int8Array(values) : int4Array(values);
    }),
    textArray(alerts.map((a) => (a.eventBytes !== undefined && a.row.event === '' ? a.eventBytes : a.row.event))),
  ];
}
