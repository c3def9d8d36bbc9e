/**
 * Names for numeric OPC UA codes, from the generated tables (never typed by hand): service / structure binary
 * encoding NodeIds and StatusCodes.
 */
import { BINARY_ENCODING_NAMES } from './generated/object-ids.ts';
import { STATUS_CODE_NAMES } from './generated/status-codes.ts';

const byName = new Map<string, number>();
for (const [id, name] of Object.entries(BINARY_ENCODING_NAMES)) byName.set(name, Number(id));

/** Type name of a namespace-0 binary encoding NodeId (`631` → `ReadRequest`), or '' when unknown. */
export function encodingName(id: number): string {
  return BINARY_ENCODING_NAMES[id] ?? '';
}

/** Binary encoding NodeId of a standard type (`ReadRequest` → 631); throws on an unknown name (a bug, at load). */
export function encodingId(name: string): number {
  const id = byName.get(name);
  if (id === undefined) throw new Error(`OPC UA: no binary encoding id for ${name}`);
  return id;
}

/** True when `id` names a service request or response (or ServiceFault). Allocation-free. */
export function isServiceId(id: number): boolean {
  return serviceKinds.has(id);
}

/** Symbolic name of a StatusCode (info bits ignored), or '' when unknown. */
export function statusCodeName(code: number): string {
  return STATUS_CODE_NAMES[(code & 0xffff0000) >>> 0] ?? '';
}

/** `0x80020000`, the form tshark prints and the truth files use as keys. */
export function statusCodeHex(code: number): string {
  return `0x${(code >>> 0).toString(16).padStart(8, '0')}`;
}

/** Severity from the top two bits: 'Good' | 'Uncertain' | 'Bad'. */
export function statusSeverity(code: number): 'Good' | 'Uncertain' | 'Bad' {
  const top = code >>> 30;
  return top === 0 ? 'Good' : top === 1 ? 'Uncertain' : 'Bad';
}

/** 1 = service request, 2 = service response (incl. ServiceFault), 0 = neither. Built once from the table. */
const serviceKinds = new Map<number, 1 | 2>();
for (const [id, name] of Object.entries(BINARY_ENCODING_NAMES)) {
  // Structures that end in Request/Response but are not services (parts of a service body).
  if (/^(MonitoredItem(Create|Modify)Request|CallMethodRequest|ReadValueId)$/.test(name)) continue;
  if (name.endsWith('Request')) serviceKinds.set(Number(id), 1);
  else if (name.endsWith('Response') || name === 'ServiceFault') serviceKinds.set(Number(id), 2);
}

/** 1 = request, 2 = response, 0 = not a service message type. Allocation-free. */
export function serviceKind(id: number): 0 | 1 | 2 {
  return serviceKinds.get(id) ?? 0;
}
