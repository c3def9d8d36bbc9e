/**
 * Every Modbus name table in one place: function codes, exception codes, diagnostics sub-functions, MEI types,
 * device identification objects and Schneider UMAS sub-functions.
 *
 * Source: MODBUS Application Protocol Specification V1.1b3 (§5.1 public function codes, §6 function descriptions,
 * §7 exception codes, Annex A reserved codes) and MODBUS Messaging on TCP/IP Implementation Guide V1.0b (§3.1.3 MBAP).
 * Tables are dense arrays indexed by the raw code so a lookup on the per-PDU path is one array read, no allocation.
 */

/** MBAP header: transaction id (2) + protocol id (2) + length (2) + unit id (1). */
export const MBAP_HEADER_LEN = 7;
/** Smallest useful look-ahead: MBAP header plus the function code byte. */
export const MBAP_PROBE_LEN = 8;
/** MBAP length counts unit id + PDU; the PDU is at least a function code byte. */
export const MBAP_MIN_LENGTH = 2;
/** Largest PDU is 253 bytes (serial-line heritage), so unit id + PDU is at most 254. */
export const MBAP_MAX_LENGTH = 254;
/**
 * Longest MBAP length we still frame and decode (flagged `invalid_length`): real Schneider PLCs answer UMAS requests
 * with MBAP length 255 (iti__modicon_test.pcap), and tshark decodes them. Beyond this the header is treated as
 * garbage and the framer resynchronises.
 */
export const MBAP_TOLERATED_MAX_LENGTH = 256;
/** Largest ADU we buffer: 6 header bytes before the length-counted part + the tolerated length. */
export const MAX_ADU_LEN = 6 + MBAP_TOLERATED_MAX_LENGTH;

/** Category of a function code (what the specification says the code is for). */
export const FC_INVALID = 0;
export const FC_PUBLIC = 1;
export const FC_USER_DEFINED = 2;
export const FC_VENDOR = 3;
export const FC_RESERVED = 4;
export const FC_UNKNOWN = 5;
export type FunctionCategory = 'invalid' | 'public' | 'user_defined' | 'vendor' | 'reserved' | 'unknown';
export const FUNCTION_CATEGORY_NAMES: readonly FunctionCategory[] = [
  'invalid',
  'public',
  'user_defined',
  'vendor',
  'reserved',
  'unknown',
];

/** The one function-code table: code → [name, category]. Codes not listed are 'unknown'. */
const FUNCTION_TABLE: ReadonlyArray<readonly [number, string, number]> = [
  [1, 'Read Coils', FC_PUBLIC],
  [2, 'Read Discrete Inputs', FC_PUBLIC],
  [3, 'Read Holding Registers', FC_PUBLIC],
  [4, 'Read Input Registers', FC_PUBLIC],
  [5, 'Write Single Coil', FC_PUBLIC],
  [6, 'Write Single Register', FC_PUBLIC],
  [7, 'Read Exception Status', FC_PUBLIC],
  [8, 'Diagnostics', FC_PUBLIC],
  [11, 'Get Comm Event Counter', FC_PUBLIC],
  [12, 'Get Comm Event Log', FC_PUBLIC],
  [15, 'Write Multiple Coils', FC_PUBLIC],
  [16, 'Write Multiple Registers', FC_PUBLIC],
  [17, 'Report Server ID', FC_PUBLIC],
  [20, 'Read File Record', FC_PUBLIC],
  [21, 'Write File Record', FC_PUBLIC],
  [22, 'Mask Write Register', FC_PUBLIC],
  [23, 'Read/Write Multiple Registers', FC_PUBLIC],
  [24, 'Read FIFO Queue', FC_PUBLIC],
  [43, 'Encapsulated Interface Transport', FC_PUBLIC],
  // Annex A: reserved for legacy products (no public definition).
  [9, 'Reserved (Program 484)', FC_RESERVED],
  [10, 'Reserved (Poll 484)', FC_RESERVED],
  [13, 'Reserved (Program Controller)', FC_RESERVED],
  [14, 'Reserved (Poll Controller)', FC_RESERVED],
  [41, 'Reserved', FC_RESERVED],
  [42, 'Reserved', FC_RESERVED],
  [91, 'Reserved', FC_RESERVED],
  [125, 'Reserved (Modicon Program)', FC_RESERVED],
  [126, 'Reserved (Modicon Program)', FC_RESERVED],
  [127, 'Reserved', FC_RESERVED],
  // 90 is reserved by the specification but in practice carries Schneider Electric UMAS.
  [90, 'UMAS (Schneider Electric)', FC_VENDOR],
];

const FUNCTION_NAMES: string[] = new Array<string>(128).fill('Unknown');
const FUNCTION_CATEGORIES = new Uint8Array(128).fill(FC_UNKNOWN);
FUNCTION_NAMES[0] = 'Invalid';
FUNCTION_CATEGORIES[0] = FC_INVALID;
for (let c = 65; c <= 72; c++) {
  FUNCTION_NAMES[c] = 'User Defined';
  FUNCTION_CATEGORIES[c] = FC_USER_DEFINED;
}
for (let c = 100; c <= 110; c++) {
  FUNCTION_NAMES[c] = 'User Defined';
  FUNCTION_CATEGORIES[c] = FC_USER_DEFINED;
}
for (const [code, name, cat] of FUNCTION_TABLE) {
  FUNCTION_NAMES[code] = name;
  FUNCTION_CATEGORIES[code] = cat;
}

/** Name of a function code (0..127; the exception bit must already be masked off). */
export function functionName(func: number): string {
  return FUNCTION_NAMES[func & 0x7f] ?? 'Unknown';
}

/** FC_* category of a function code (0..127). */
export function functionCategory(func: number): number {
  return FUNCTION_CATEGORIES[func & 0x7f] ?? FC_UNKNOWN;
}

/** True for codes a Modbus device may legitimately use (public, user-defined or known vendor). */
export function isPlausibleFunction(func: number): boolean {
  const cat = FUNCTION_CATEGORIES[func & 0x7f] ?? FC_UNKNOWN;
  return cat === FC_PUBLIC || cat === FC_USER_DEFINED || cat === FC_VENDOR;
}

/** §7 exception codes. */
const EXCEPTION_TABLE: ReadonlyArray<readonly [number, string]> = [
  [1, 'Illegal Function'],
  [2, 'Illegal Data Address'],
  [3, 'Illegal Data Value'],
  [4, 'Server Device Failure'],
  [5, 'Acknowledge'],
  [6, 'Server Device Busy'],
  [8, 'Memory Parity Error'],
  [10, 'Gateway Path Unavailable'],
  [11, 'Gateway Target Device Failed to Respond'],
];
const EXCEPTION_NAMES: string[] = new Array<string>(256).fill('Unknown');
for (const [code, name] of EXCEPTION_TABLE) EXCEPTION_NAMES[code] = name;

export function exceptionName(code: number): string {
  return EXCEPTION_NAMES[code & 0xff] ?? 'Unknown';
}

/** §6.8 diagnostics (FC 8) sub-function codes. */
const DIAGNOSTIC_TABLE: ReadonlyArray<readonly [number, string]> = [
  [0, 'Return Query Data'],
  [1, 'Restart Communications Option'],
  [2, 'Return Diagnostic Register'],
  [3, 'Change ASCII Input Delimiter'],
  [4, 'Force Listen Only Mode'],
  [10, 'Clear Counters and Diagnostic Register'],
  [11, 'Return Bus Message Count'],
  [12, 'Return Bus Communication Error Count'],
  [13, 'Return Bus Exception Error Count'],
  [14, 'Return Server Message Count'],
  [15, 'Return Server No Response Count'],
  [16, 'Return Server NAK Count'],
  [17, 'Return Server Busy Count'],
  [18, 'Return Bus Character Overrun Count'],
  [20, 'Clear Overrun Counter and Flag'],
];
const DIAGNOSTIC_NAMES = new Map<number, string>(DIAGNOSTIC_TABLE.map(([c, n]) => [c, n]));

export function diagnosticName(sub: number): string {
  return DIAGNOSTIC_NAMES.get(sub) ?? 'Reserved';
}

/** §6.19–6.21 MEI types carried by FC 43. */
export const MEI_CANOPEN = 13;
export const MEI_READ_DEVICE_ID = 14;
export function meiName(mei: number): string {
  if (mei === MEI_CANOPEN) return 'CANopen General Reference';
  if (mei === MEI_READ_DEVICE_ID) return 'Read Device Identification';
  return 'Reserved';
}

/** §6.21 Read Device ID codes. */
const READ_DEVICE_ID_CODES: readonly string[] = [
  'Reserved',
  'Basic Stream',
  'Regular Stream',
  'Extended Stream',
  'Specific Object',
];
export function readDeviceIdCodeName(code: number): string {
  return READ_DEVICE_ID_CODES[code] ?? 'Reserved';
}

/** §6.21 conformity level (bit 7 = individual access supported). */
export function conformityLevelName(level: number): string {
  const base = level & 0x7f;
  const stream = base === 1 ? 'Basic' : base === 2 ? 'Regular' : base === 3 ? 'Extended' : 'Reserved';
  if (stream === 'Reserved') return 'Reserved';
  return (level & 0x80) !== 0 ? `${stream} (stream and individual access)` : `${stream} (stream access only)`;
}

/** §6.21 standard device identification objects 0x00..0x06 (0x07..0x7F reserved, 0x80..0xFF private). */
const DEVICE_OBJECT_NAMES: readonly string[] = [
  'VendorName',
  'ProductCode',
  'MajorMinorRevision',
  'VendorUrl',
  'ProductName',
  'ModelName',
  'UserApplicationName',
];
export function deviceObjectName(id: number): string {
  const std = DEVICE_OBJECT_NAMES[id];
  if (std !== undefined) return std;
  return id >= 0x80 ? 'Private' : 'Reserved';
}

/**
 * Schneider Electric UMAS (FC 90) sub-functions, as published by public protocol research (no official spec).
 * PDU layout: 0x5A, session key (1), UMAS function (1), data.
 */
const UMAS_TABLE: ReadonlyArray<readonly [number, string]> = [
  [0x01, 'Initialize Communication'],
  [0x02, 'Read ID'],
  [0x03, 'Read Project Info'],
  [0x04, 'Read PLC Info'],
  [0x06, 'Read Memory Card Info'],
  [0x0a, 'Repeat'],
  [0x10, 'Take PLC Reservation'],
  [0x11, 'Release PLC Reservation'],
  [0x12, 'Keep Alive'],
  [0x20, 'Read Memory Block'],
  [0x22, 'Read Variables'],
  [0x23, 'Write Variables'],
  [0x24, 'Read Coils Registers'],
  [0x25, 'Write Coils Registers'],
  [0x26, 'Enable/Disable Data Dictionary'],
  [0x30, 'Initialize Strategy Upload'],
  [0x31, 'Upload Strategy Block'],
  [0x32, 'End Strategy Upload'],
  [0x33, 'Initialize Strategy Download'],
  [0x34, 'Download Strategy Block'],
  [0x35, 'End Strategy Download'],
  [0x39, 'Read Ethernet Master Data'],
  [0x40, 'Start PLC'],
  [0x41, 'Stop PLC'],
  [0x50, 'Monitor PLC'],
  [0x58, 'Check PLC'],
  [0x70, 'Read IO Object'],
  [0x71, 'Write IO Object'],
  [0x73, 'Get Status Module'],
  [0xfd, 'Response Error'],
  [0xfe, 'Response OK'],
];
const UMAS_NAMES = new Map<number, string>(UMAS_TABLE.map(([c, n]) => [c, n]));
export function umasFunctionName(code: number): string {
  return UMAS_NAMES.get(code) ?? 'Unknown';
}

/** Anomaly kinds (also the suffix of the `modbus.*` event name). */
export type ModbusAnomalyKind =
  | 'invalid_length'
  | 'invalid_protocol_id'
  | 'unknown_function'
  | 'unsolicited_response'
  | 'request_unanswered'
  | 'too_many_open_transactions'
  | 'malformed_pdu'
  | 'function_mismatch';

export const ANOMALY_KINDS: readonly ModbusAnomalyKind[] = [
  'invalid_length',
  'invalid_protocol_id',
  'unknown_function',
  'unsolicited_response',
  'request_unanswered',
  'too_many_open_transactions',
  'malformed_pdu',
  'function_mismatch',
];
