/**
 * What the baseline cares about in one sensor event: the talker pair, the protocol, the function / service used (with
 * its name), the address ranges read and written, the S7 SZL ids, OPC UA nodes written and methods called. The
 * learner records these; the checker compares them with the learned file. One extractor for both, so what is learned
 * and what is checked cannot drift apart.
 *
 * Events are the pipeline's materialised JSON-shaped objects (protocols/wire/events.ts); protocol bodies are
 * `Record<string, unknown>`, so every field is read defensively (a missing field means "not known", never a crash).
 */
import type { SensorEvent } from '../../protocols/wire/events.ts';

export const BASELINE_PROTOCOLS = ['modbus', 's7comm', 's7comm-plus', 'opcua'] as const;
export type BaselineProtocol = (typeof BASELINE_PROTOCOLS)[number];

/** Which section of a protocol profile a function key lives in. */
export type FunctionSection = 'functions' | 'userdata';

/** One address range touched, in the address space's own units (Modbus: coils/registers, S7: bytes). */
export interface AddressUse {
  /** Modbus: coils / discrete / holding / input. S7: DB1, DI3, M, I, Q, P, C, T, L, V, area0xNN. */
  space: string;
  start: number;
  end: number;
}

export interface FunctionUse {
  section: FunctionSection;
  /** Modbus: function code; S7 Job: function code; S7 userdata: `group.subfunction`; OPC UA: service NodeId number;
   *  S7comm-plus: `opcode` or `opcode/function` in hex. */
  key: string;
  name: string;
  /** Changes process state or program (writes, control, download, node management): new ones alert at level high. */
  impacting: boolean;
  reads: AddressUse[];
  writes: AddressUse[];
  /** OPC UA node ids written or methods called (`objectId/methodId`); S7 PI service names. */
  targets: string[];
}

export interface Observation {
  proto: BaselineProtocol;
  client: string;
  server: string;
  serverPort: number;
  /** Counts toward the request rate (a transaction or frame, not a connect or transport event). */
  request: boolean;
  /** Packet time in seconds (fractional). */
  time: number;
  fn: FunctionUse | null;
  /** Modbus unit id, -1 when none. */
  unit: number;
  /** S7 SZL id requested (`0x0011`), '' when none. */
  szlId: string;
}

const MODBUS_IMPACTING = new Set([5, 6, 8, 15, 16, 21, 22, 23, 90]);
const S7_IMPACTING = new Set([0x05, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x28, 0x29]);
const OPCUA_IMPACTING = new Set([
  'WriteRequest',
  'CallRequest',
  'AddNodesRequest',
  'AddReferencesRequest',
  'DeleteNodesRequest',
  'DeleteReferencesRequest',
  'HistoryUpdateRequest',
]);

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

/** Packet time of an event in seconds: whole seconds from `ts`, the fraction from the exact `tsNs`. */
export function eventTime(event: SensorEvent): number {
  const whole = Date.parse(`${event.ts.slice(0, 19)}Z`) / 1000;
  return whole + event.tsNs / 1e9;
}

const OBSERVED_KINDS: ReadonlySet<string> = new Set([
  'modbus.transaction',
  's7comm.transaction',
  's7comm_plus.frame',
  'cotp.connect',
  'opcua.transaction',
  'opcua.transport',
  'opcua.secure_channel',
  'opcua.session',
]);

export function isBaselineProtocol(proto: string): proto is BaselineProtocol {
  return (BASELINE_PROTOCOLS as readonly string[]).includes(proto);
}

/** The baseline view of one event, or null for events the baseline does not model (flows, anomalies, other protocols). */
export function observe(event: SensorEvent): Observation | null {
  // An allow-list: alerts, asset changes, anomalies and flow records describe traffic, they are not traffic.
  if (!OBSERVED_KINDS.has(event.kind) || !isBaselineProtocol(event.proto)) return null;
  const obs: Observation = {
    proto: event.proto,
    client: event.client.ip,
    server: event.server.ip,
    serverPort: event.server.port,
    request: false,
    time: eventTime(event),
    fn: null,
    unit: -1,
    szlId: '',
  };
  switch (event.kind) {
    case 'modbus.transaction':
      obs.request = true;
      observeModbus(event.modbus, obs);
      break;
    case 's7comm.transaction':
      obs.request = true;
      observeS7(event.s7comm, obs);
      break;
    case 's7comm_plus.frame':
      obs.request = true;
      observeS7Plus(event.s7plus, obs);
      break;
    case 'opcua.transaction':
      obs.request = true;
      observeOpcua(event.opcua, obs);
      break;
    default:
      // cotp.connect, opcua.transport / secure_channel / session: the pair and protocol only.
      break;
  }
  return obs;
}

function newFunction(section: FunctionSection, key: string, name: string, impacting: boolean): FunctionUse {
  return { section, key, name, impacting, reads: [], writes: [], targets: [] };
}

// --- Modbus ------------------------------------------------------------------------------------------------------------

/** Data table a Modbus function reads (first) or writes (second); '' when none. */
const MODBUS_TABLES: Record<number, [read: string, write: string]> = {
  1: ['coils', ''],
  2: ['discrete', ''],
  3: ['holding', ''],
  4: ['input', ''],
  5: ['', 'coils'],
  6: ['', 'holding'],
  15: ['', 'coils'],
  16: ['', 'holding'],
  22: ['', 'holding'],
  23: ['holding', 'holding'],
};

function observeModbus(m: Record<string, unknown>, obs: Observation): void {
  const func = num(m.func);
  if (func === null) return;
  obs.unit = num(m.unit) ?? -1;
  const fn = newFunction('functions', String(func), str(m.funcName) ?? '?', MODBUS_IMPACTING.has(func));
  obs.fn = fn;
  const req = isRecord(m.request) ? m.request : null;
  const tables = MODBUS_TABLES[func];
  if (!req || !tables) return;
  if (func === 23) {
    pushRange(fn.reads, 'holding', num(req.readAddress), num(req.readQuantity));
    pushRange(fn.writes, 'holding', num(req.writeAddress), num(req.writeQuantity));
    return;
  }
  // FC 5 / 6 / 22 address one coil or register; the others carry a quantity.
  const quantity = func === 5 || func === 6 || func === 22 ? 1 : num(req.quantity);
  if (tables[0]) pushRange(fn.reads, tables[0], num(req.address), quantity);
  if (tables[1]) pushRange(fn.writes, tables[1], num(req.address), quantity);
}

function pushRange(into: AddressUse[], space: string, start: number | null, count: number | null): void {
  if (start === null || count === null || count < 1) return;
  into.push({ space, start, end: start + count - 1 });
}

// --- S7comm -----------------------------------------------------------------------------------------------------------

/** Bytes per element of an S7ANY item's transport size (BIT addresses one byte's bit: counted as that byte). */
const S7_ELEMENT_BYTES: Record<number, number> = {
  1: 0, // BIT
  2: 1,
  3: 1,
  4: 2,
  5: 2,
  6: 4,
  7: 4,
  8: 4,
  9: 2,
  10: 4,
  11: 4,
  12: 2,
  15: 8,
  28: 2,
  29: 2,
  30: 2,
  31: 2,
  32: 4,
};

const S7_AREA_KEYS: Record<number, string> = {
  28: 'C',
  29: 'T',
  128: 'P',
  129: 'I',
  130: 'Q',
  131: 'M',
  134: 'L',
  135: 'V',
};

/** Address-space key of an S7 item: `DB12`, `DI3`, `M`, `I`, ...; `area0xNN` for areas without a letter. */
export function s7Space(area: number, dbNumber: number): string {
  if (area === 132) return `DB${dbNumber}`;
  if (area === 133) return `DI${dbNumber}`;
  return S7_AREA_KEYS[area] ?? `area0x${area.toString(16).padStart(2, '0')}`;
}

function s7Items(items: unknown, into: AddressUse[]): void {
  if (!Array.isArray(items)) return;
  for (const item of items) {
    if (!isRecord(item)) continue;
    const area = num(item.area);
    const byteAddress = num(item.byteAddress);
    const length = num(item.length);
    const ts = num(item.transportSize);
    if (area === null || byteAddress === null || length === null || ts === null) continue; // not S7ANY
    const size = S7_ELEMENT_BYTES[ts] ?? 1;
    const bytes = size === 0 ? 1 : Math.max(1, length * size);
    into.push({ space: s7Space(area, num(item.dbNumber) ?? 0), start: byteAddress, end: byteAddress + bytes - 1 });
  }
}

function observeS7(s: Record<string, unknown>, obs: Observation): void {
  const req = isRecord(s.request) ? s.request : null;
  const group = num(s.group);
  const sub = num(s.subfunction);
  if (group !== null && sub !== null) {
    // Userdata that changes the process or its protection: group 1 (programmer commands: force, modify variable),
    // group 5 (security: PLC password), group 7 subfunction 2 (set clock).
    const name = `${str(s.groupName) ?? '?'} / ${str(s.subfunctionName) ?? '?'}`;
    const impacting = group === 1 || group === 5 || (group === 7 && sub === 2);
    obs.fn = newFunction('userdata', `${group}.${sub}`, name, impacting);
    const ud = req && isRecord(req.userdata) ? req.userdata : null;
    const szl = ud ? str(ud.szlId) : null;
    if (szl !== null) obs.szlId = szl;
    return;
  }
  const func = num(s.func);
  if (func === null) return;
  const fn = newFunction('functions', String(func), str(s.funcName) ?? '?', S7_IMPACTING.has(func));
  obs.fn = fn;
  if (!req) return;
  if (func === 0x04) s7Items(req.items, fn.reads);
  else if (func === 0x05) s7Items(req.items, fn.writes);
  const pi = isRecord(req.pi) ? str(req.pi.service) : null;
  if (pi !== null) fn.targets.push(pi);
}

// --- S7comm-plus ------------------------------------------------------------------------------------------------------

function observeS7Plus(p: Record<string, unknown>, obs: Observation): void {
  const opcode = num(p.opcode);
  if (opcode === null) return; // encrypted or not decodable: the pair and protocol only
  const func = num(p.function);
  const hex = (n: number, w: number) => `0x${n.toString(16).padStart(w, '0')}`;
  const key = func === null ? hex(opcode, 2) : `${hex(opcode, 2)}/${hex(func, 4)}`;
  obs.fn = newFunction(
    'functions',
    key,
    `opcode ${hex(opcode, 2)}${func === null ? '' : ` function ${hex(func, 4)}`}`,
    false,
  );
}

// --- OPC UA -----------------------------------------------------------------------------------------------------------

function observeOpcua(o: Record<string, unknown>, obs: Observation): void {
  const service = num(o.service);
  if (service === null) return;
  const name = str(o.serviceName) ?? '?';
  const fn = newFunction('functions', String(service), name, OPCUA_IMPACTING.has(name));
  obs.fn = fn;
  const req = isRecord(o.request) ? o.request : null;
  if (!req) return;
  if (Array.isArray(req.nodesToWrite)) {
    for (const n of req.nodesToWrite) {
      const id = isRecord(n) ? str(n.nodeId) : null;
      if (id !== null) fn.targets.push(id);
    }
  }
  if (Array.isArray(req.methodsToCall)) {
    for (const m of req.methodsToCall) {
      if (!isRecord(m)) continue;
      const method = str(m.methodId);
      if (method !== null) fn.targets.push(`${str(m.objectId) ?? '?'}/${method}`);
    }
  }
}
