/**
 * The PostgreSQL bulk alert insert's parameters: one binary array per column of `alerts` (pg-binary-arrays.ts says
 * why binary), and the statement's column list in the same order.
 */
import type { PendingAlert } from './ingest-rows.ts';
import { int4Array, int8Array, textArray } from './pg-binary-arrays.ts';
import type { AlertsTable } from './schema.ts';

type TextColumn = Exclude<keyof AlertsTable, 'ts_ms' | 'received_ms' | 'server_port' | 'count' | 'drill' | 'event'>;

const TEXT_COLUMNS = [
  'uid',
  'event_id',
  'enterprise_id',
  'sensor_id',
  'province',
  'rule_id',
  'rule_title',
  'level',
  'tags',
  'protocol',
  'client_ip',
  'server_ip',
] as const satisfies readonly TextColumn[];
const INT8_COLUMNS = ['ts_ms', 'received_ms'] as const;
const INT4_COLUMNS = ['server_port', 'count', 'drill'] as const;

type Covered = (typeof TEXT_COLUMNS)[number] | (typeof INT8_COLUMNS)[number] | (typeof INT4_COLUMNS)[number] | 'event';
/** Fails to compile when `alerts` gains a column the arrays do not carry. */
const everyColumnCovered: Record<Exclude<keyof AlertsTable, Covered>, never> = {};
void everyColumnCovered;

/** Every column of `alerts`, in the order of `alertArrays`' parameters (the casts say each array's type). */
export const ALERT_ARRAY_COLUMNS = [
  ...TEXT_COLUMNS.map((name) => ({ name, type: 'text[]' })),
  ...INT8_COLUMNS.map((name) => ({ name, type: 'int8[]' })),
  ...INT4_COLUMNS.map((name) => ({ name, type: 'int4[]' })),
  { name: 'event', type: 'text[]' },
] as const;

/**
 * The rows as column arrays. A row's event goes in as the bytes the sensor sent when it still has them
 * (`eventBytes`), so they are never decoded into a string on the way.
 */
export function alertArrays(alerts: readonly PendingAlert[]): Buffer[] {
  const rows = alerts.map((a) => a.row);
  return [
    ...TEXT_COLUMNS.map((name) => textArray(rows.map((r) => r[name]))),
    ...INT8_COLUMNS.map((name) => int8Array(rows.map((r) => r[name]))),
    ...INT4_COLUMNS.map((name) => int4Array(rows.map((r) => r[name]))),
    textArray(alerts.map((a) => (a.eventBytes !== undefined && a.row.event === '' ? a.eventBytes : a.row.event))),
  ];
}
