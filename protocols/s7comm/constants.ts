/**
 * S7comm / COTP / TPKT constants and name tables: the one place codes get their names.
 *
 * Names follow the Wireshark 4.0 S7comm dissector where the `.truth.json` files use them (ROSCTR, Job functions),
 * and the truth generator's own userdata table otherwise (e.g. group 2 "Cyclic data", group 1 subfunction 2
 * "VarTab"), so summary keys compare string for string. Unknown codes are named '?', as in the truth files.
 */

export const S7_PORT = 102;

// --- TPKT (RFC 1006) -----------------------------------------------------------------------------------------------
export const TPKT_VERSION = 3;
export const TPKT_HEADER_LEN = 4;
/** Smallest TPKT that carries a COTP header: 4 (TPKT) + 1 (LI) + 2 (DT: type, EOT/number). */
export const TPKT_MIN_LEN = 7;

// --- COTP (ISO 8073 / X.224) ---------------------------------------------------------------------------------------
export const COTP_ED = 0x10;
export const COTP_EA = 0x20;
export const COTP_UD = 0x40;
export const COTP_RJ = 0x50;
export const COTP_AK = 0x60;
export const COTP_ER = 0x70;
export const COTP_DR = 0x80;
export const COTP_DC = 0xc0;
export const COTP_CC = 0xd0;
export const COTP_CR = 0xe0;
export const COTP_DT = 0xf0;
/** COTP parameter codes inside CR/CC. */
export const COTP_PARAM_TPDU_SIZE = 0xc0;
export const COTP_PARAM_SRC_TSAP = 0xc1;
export const COTP_PARAM_DST_TSAP = 0xc2;

/** Is `code` (upper nibble of the COTP type byte) a TPDU type? Allocation-free. */
export function isCotpType(code: number): boolean {
  switch (code) {
    case COTP_ED:
    case COTP_EA:
    case COTP_UD:
    case COTP_RJ:
    case COTP_AK:
    case COTP_ER:
    case COTP_DR:
    case COTP_DC:
    case COTP_CC:
    case COTP_CR:
    case COTP_DT:
      return true;
    default:
      return false;
  }
}

const COTP_TYPE_NAMES: Record<number, string> = {
  [COTP_ED]: 'ED Expedited Data',
  [COTP_EA]: 'EA Expedited Data Acknowledgement',
  [COTP_UD]: 'UD User Data',
  [COTP_RJ]: 'RJ Reject',
  [COTP_AK]: 'AK Data Acknowledgement',
  [COTP_ER]: 'ER TPDU Error',
  [COTP_DR]: 'DR Disconnect Request',
  [COTP_DC]: 'DC Disconnect Confirm',
  [COTP_CC]: 'CC Connect Confirm',
  [COTP_CR]: 'CR Connect Request',
  [COTP_DT]: 'DT Data',
};

export function cotpTypeName(code: number): string {
  return COTP_TYPE_NAMES[code] ?? '?';
}

// --- S7comm header ---------------------------------------------------------------------------------------------------
export const S7_PROTOCOL_ID = 0x32;
export const S7PLUS_PROTOCOL_ID = 0x72;
export const ROSCTR_JOB = 1;
export const ROSCTR_ACK = 2;
export const ROSCTR_ACK_DATA = 3;
export const ROSCTR_USERDATA = 7;

const ROSCTR_NAMES: Record<number, string> = {
  [ROSCTR_JOB]: 'Job',
  [ROSCTR_ACK]: 'Ack',
  [ROSCTR_ACK_DATA]: 'Ack_Data',
  [ROSCTR_USERDATA]: 'Userdata',
};

export function rosctrName(rosctr: number): string {
  return ROSCTR_NAMES[rosctr] ?? '?';
}

export function isRosctr(rosctr: number): boolean {
  return rosctr === ROSCTR_JOB || rosctr === ROSCTR_ACK || rosctr === ROSCTR_ACK_DATA || rosctr === ROSCTR_USERDATA;
}

/** Header length by ROSCTR: Ack and Ack_Data carry error class and code (2 more bytes). */
export function s7HeaderLength(rosctr: number): number {
  return rosctr === ROSCTR_ACK || rosctr === ROSCTR_ACK_DATA ? 12 : 10;
}

const ERROR_CLASS_NAMES: Record<number, string> = {
  0: 'No error',
  129: 'Application relationship',
  130: 'Object definition',
  131: 'No resources available',
  132: 'Error on service processing',
  133: 'Error on supplies',
  135: 'Access error',
  210: 'Block functions / PI service error',
};

export function errorClassName(cls: number): string {
  return ERROR_CLASS_NAMES[cls] ?? '?';
}

// --- Job / Ack_Data functions -----------------------------------------------------------------------------------------
export const FN_CPU_SERVICES = 0x00;
export const FN_READ_VAR = 0x04;
export const FN_WRITE_VAR = 0x05;
export const FN_REQUEST_DOWNLOAD = 0x1a;
export const FN_DOWNLOAD_BLOCK = 0x1b;
export const FN_DOWNLOAD_ENDED = 0x1c;
export const FN_START_UPLOAD = 0x1d;
export const FN_UPLOAD = 0x1e;
export const FN_END_UPLOAD = 0x1f;
export const FN_PI_SERVICE = 0x28;
export const FN_PLC_STOP = 0x29;
export const FN_SETUP_COMMUNICATION = 0xf0;

const FUNCTION_NAMES: Record<number, string> = {
  [FN_CPU_SERVICES]: 'CPU services',
  [FN_READ_VAR]: 'Read Var',
  [FN_WRITE_VAR]: 'Write Var',
  [FN_REQUEST_DOWNLOAD]: 'Request download',
  [FN_DOWNLOAD_BLOCK]: 'Download block',
  [FN_DOWNLOAD_ENDED]: 'Download ended',
  [FN_START_UPLOAD]: 'Start upload',
  [FN_UPLOAD]: 'Upload',
  [FN_END_UPLOAD]: 'End upload',
  [FN_PI_SERVICE]: 'PI-Service',
  [FN_PLC_STOP]: 'PLC Stop',
  [FN_SETUP_COMMUNICATION]: 'Setup communication',
};

export function functionName(fn: number): string {
  return FUNCTION_NAMES[fn] ?? '?';
}

export function hex2(n: number): string {
  return `0x${(n & 0xff).toString(16).padStart(2, '0')}`;
}

export function hex4(n: number): string {
  return `0x${(n & 0xffff).toString(16).padStart(4, '0')}`;
}

/** Summary key of a Job/Ack_Data function, as in the truth files: "0x04 Read Var (Job)". */
export function functionKey(fn: number, rosctr: number): string {
  return `${hex2(fn)} ${functionName(fn)} (${rosctr === ROSCTR_JOB ? 'Job' : 'Ack_Data'})`;
}

// --- Read/Write Var items ----------------------------------------------------------------------------------------------
const AREA_NAMES: Record<number, string> = {
  1: 'Data record',
  3: 'System info of 200 family',
  5: 'System flags of 200 family',
  6: 'Analog inputs of 200 family',
  7: 'Analog outputs of 200 family',
  28: 'S7 counters (C)',
  29: 'S7 timers (T)',
  30: 'IEC counters (200 family)',
  31: 'IEC timers (200 family)',
  128: 'Direct peripheral access (P)',
  129: 'Inputs (I)',
  130: 'Outputs (Q)',
  131: 'Flags (M)',
  132: 'Data blocks (DB)',
  133: 'Instance data blocks (DI)',
  134: 'Local data (L)',
  135: 'Unknown yet (V)',
};

export function areaName(area: number): string {
  return AREA_NAMES[area] ?? '?';
}

const TRANSPORT_SIZE_NAMES: Record<number, string> = {
  1: 'BIT',
  2: 'BYTE',
  3: 'CHAR',
  4: 'WORD',
  5: 'INT',
  6: 'DWORD',
  7: 'DINT',
  8: 'REAL',
  10: 'TOD',
  11: 'TIME',
  12: 'S5TIME',
  15: 'DATE_AND_TIME',
  28: 'COUNTER',
  29: 'TIMER',
  30: 'IEC TIMER',
  31: 'IEC COUNTER',
  32: 'HS COUNTER',
};

export function transportSizeName(ts: number): string {
  return TRANSPORT_SIZE_NAMES[ts] ?? '?';
}

const SYNTAX_ID_NAMES: Record<number, string> = {
  16: 'S7ANY',
  19: 'PBC-R_ID',
  21: 'ALARM_LOCKFREE',
  22: 'ALARM_IND',
  25: 'ALARM_ACK',
  26: 'ALARM_QUERYREQ',
  28: 'NOTIFY_IND',
  130: 'NCK',
  131: 'NCK_M',
  132: 'NCK_I',
  162: 'DRIVEESANY',
  176: 'DBREAD',
  178: '1200SYM',
};

export function syntaxIdName(id: number): string {
  return SYNTAX_ID_NAMES[id] ?? '?';
}

/** Transport size in the data part of items (how the length field counts: bits or bytes). */
export const DATA_TS_NULL = 0x00;
export const DATA_TS_BIT = 0x03;
export const DATA_TS_BYTE = 0x04;
export const DATA_TS_INT = 0x05;
export const DATA_TS_DINT = 0x06;
export const DATA_TS_REAL = 0x07;
export const DATA_TS_OCTET = 0x09;

const DATA_TRANSPORT_SIZE_NAMES: Record<number, string> = {
  0: 'NULL',
  3: 'BIT',
  4: 'BYTE/WORD/DWORD',
  5: 'INTEGER',
  6: 'DINTEGER',
  7: 'REAL',
  9: 'OCTET STRING',
  17: 'NCK ADDRESS1',
  18: 'NCK ADDRESS2',
};

export function dataTransportSizeName(ts: number): string {
  return DATA_TRANSPORT_SIZE_NAMES[ts] ?? '?';
}

const RETURN_CODE_NAMES: Record<number, string> = {
  0: 'Reserved',
  1: 'Hardware error',
  3: 'Accessing the object not allowed',
  5: 'Invalid address',
  6: 'Data type not supported',
  7: 'Data type inconsistent',
  10: 'Object does not exist',
  255: 'Success',
};

export function returnCodeName(rc: number): string {
  return RETURN_CODE_NAMES[rc] ?? '?';
}

// --- Blocks -------------------------------------------------------------------------------------------------------------
/** Block type as ASCII pair in upload/download file names ("_0A00001P": "0A" = DB). */
const BLOCK_TYPE_ASCII: Record<string, string> = {
  '08': 'OB',
  '0A': 'DB',
  '0B': 'SDB',
  '0C': 'FC',
  '0D': 'SFC',
  '0E': 'FB',
  '0F': 'SFB',
};

export function blockTypeFromAscii(code: string): string {
  return BLOCK_TYPE_ASCII[code.toUpperCase()] ?? '?';
}

/** Block type as the 16-bit code of userdata block functions (0x3038 = "08" = OB, ...). */
export function blockTypeFromWord(word: number): string {
  const s = String.fromCharCode((word >> 8) & 0xff, word & 0xff);
  return blockTypeFromAscii(s);
}

// --- PI services ----------------------------------------------------------------------------------------------------
const PI_SERVICE_DESCRIPTIONS: Record<string, string> = {
  P_PROGRAM: 'PI-Service for start/stop of the program (RUN, STOP, warm/hot restart)',
  _INSE: 'Activates a PLC module (insert block)',
  _DELE: 'Removes module from the PLC passive file system (delete block)',
  _GARB: 'Compress PLC memory',
  _MODU: 'Copy RAM to ROM',
  _EXEC: 'Execute',
  _N_LOGIN_: 'Login',
  _N_LOGOUT: 'Logout',
  _N_CANCEL: 'Cancel NC alarm',
  _N_DASAVE: 'PI-Service for copying data from SRAM to FLASH',
  _N_DIGIOF: 'Turn off digitizing',
  _N_DIGION: 'Turn on digitizing',
  _N_DZERO_: 'Set all D nos. invalid for function "unique D no."',
  _N_ENDEXT: 'External program end',
  _N_F_OPER: 'Opens a file read-only',
  _N_OST_OF: 'Overstore OFF',
  _N_OST_ON: 'Overstore ON',
  _N_SCALE_: 'Unit of measurement setting (metric<->INCH)',
  _N_SETUFR: 'Activates user frame',
  _N_STRTLK: 'The global start disable is set',
  _N_STRTUL: 'The global start disable is reset',
  _N_TMRASS: 'Resets the Active status',
  _N_F_DELE: 'Deletes file',
  _N_EXTERN: 'Selects external program for execution',
  _N_EXTMOD: 'Selects external program for execution',
  _N_F_DELR: 'Delete file even without access rights',
  _N_F_XFER: 'Selects file for uploading',
  _N_LOCKE_: 'Locks the active file for editing',
  _N_SELECT: 'Selects program for execution',
  _N_SRTLOG: 'Starts logging',
  _N_F_CLOS: 'Closes file',
  _N_F_OPEN: 'Opens file',
  _N_F_SEEK: 'Position the file search pointer',
  _N_ASUP__: 'Assigns interrupt',
  _N_CHEKDM: 'Start uniqueness check on D numbers',
  _N_CHKDNO: 'Check whether the tools have unique D numbers',
  _N_CONFIG: 'Reconfigures machine data',
  _N_CRCEDN: 'Creates a cutting edge by specifying an edge no.',
  _N_DELECE: 'Deletes a cutting edge',
  _N_CREACE: 'Creates a cutting edge',
  _N_CREATO: 'Creates a tool',
  _N_DELETO: 'Deletes tool',
  _N_CRTOCE: 'Generate tool with specified edge number',
  _N_DELVAR: 'Delete data block',
  _N_F_COPY: 'Copies file within the NCK',
  _N_F_DMDA: 'Deletes MDA memory',
  _N_F_PROR: 'Protects file',
  _N_F_PROT: 'Assigns a protection level to a file',
  _N_F_RENA: 'Renames file',
  _N_FINDBL: 'Activates search',
  _N_IBN_SS: 'Sets the set-up switch',
  _N_MMCSEM: 'MMC-Semaphore',
  _N_NCKMOD: 'The mode in which the NCK will work is being set',
  _N_NEWPWD: 'New password',
  _N_SEL_BL: 'Selects a new block',
  _N_SETTST: 'Activate tools for replacement tool group',
  _N_TMAWCO: 'Set the active wear group in one magazine',
  _N_TMCRTC: 'Create tool with specified edge number',
  _N_TMCRTO: 'Creates tool in the tool management',
  _N_TMFDPL: 'Searches an empty place for loading',
  _N_TMFPBP: 'Searches for empty location',
  _N_TMGETT: 'Determines T-number for specific toolID with Duplono',
  _N_TMMVTL: 'Loads or unloads a tool',
  _N_TMPCIT: 'Sets increment value of the piece counter',
  _N_TMPOSM: 'Positions a magazine or tool',
  _N_TRESMO: 'Reset monitoring values',
  _N_TSEARC: 'Complex search via search screenforms',
};

export function piServiceDescription(name: string): string {
  return PI_SERVICE_DESCRIPTIONS[name] ?? '?';
}

// --- Userdata --------------------------------------------------------------------------------------------------------
export const UD_TYPE_PUSH = 0x0;
export const UD_TYPE_REQUEST = 0x4;
export const UD_TYPE_RESPONSE = 0x8;

export const UD_GROUP_MODE_TRANSITION = 0;
export const UD_GROUP_PROGRAMMER = 1;
export const UD_GROUP_CYCLIC = 2;
export const UD_GROUP_BLOCK = 3;
export const UD_GROUP_CPU = 4;
export const UD_GROUP_SECURITY = 5;
export const UD_GROUP_PBC = 6;
export const UD_GROUP_TIME = 7;
export const UD_GROUP_NC = 15;
export const UD_SUB_READ_SZL = 1;

const UD_TYPE_NAMES: Record<number, string> = {
  0: 'push',
  4: 'request',
  8: 'response',
  3: 'nc push',
  7: 'nc request',
  11: 'nc response',
};

export function userdataTypeName(type: number): string {
  return UD_TYPE_NAMES[type] ?? '?';
}

const UD_GROUP_NAMES: Record<number, string> = {
  0: 'Mode-transition',
  1: 'Programmer commands',
  2: 'Cyclic data',
  3: 'Block functions',
  4: 'CPU functions',
  5: 'Security',
  6: 'PBC BSEND/BRECV',
  7: 'Time functions',
  15: 'NC programming',
};

export function userdataGroupName(group: number): string {
  return UD_GROUP_NAMES[group] ?? '?';
}

/** Subfunction names per function group (index = group). */
const UD_SUBFUNC_NAMES: Record<number, Record<number, string>> = {
  0: {
    0: 'STOP',
    1: 'Warm Restart',
    2: 'RUN',
    3: 'Hot Restart',
    4: 'HOLD',
    6: 'Cold Restart',
    9: 'RUN_R (H-System redundant)',
    11: 'LINK-UP',
    12: 'UPDATE',
  },
  1: {
    1: 'Request diag data (Type 1)',
    2: 'VarTab',
    12: 'Erase',
    14: 'Read diag data',
    15: 'Remove diag data',
    16: 'Forces',
    19: 'Request diag data (Type 2)',
  },
  2: { 1: 'Memory', 4: 'Unsubscribe', 5: 'Memory2' },
  3: { 1: 'List blocks', 2: 'List blocks of type', 3: 'Get block info' },
  4: {
    1: 'Read SZL',
    2: 'Message service',
    3: 'Diagnostic message',
    5: 'ALARM_8 indication',
    6: 'NOTIFY indication',
    7: 'ALARM_8 lock',
    8: 'ALARM_8 unlock',
    9: 'SCAN indication',
    11: 'ALARM ack',
    12: 'ALARM ack indication',
    13: 'ALARM lock indication',
    14: 'ALARM unlock indication',
    17: 'ALARM_SQ indication',
    18: 'ALARM_S indication',
    19: 'ALARM query',
    22: 'NOTIFY_8 indication',
  },
  5: { 1: 'PLC password' },
  7: { 1: 'Read clock', 2: 'Set clock', 3: 'Read clock (following)', 4: 'Set clock' },
  15: {
    1: 'Request download',
    2: 'Download block',
    3: 'Continue download',
    4: 'Download ended',
    6: 'Start upload',
    7: 'Upload',
    8: 'Continue upload',
  },
};

export function userdataSubfunctionName(group: number, sub: number): string {
  return UD_SUBFUNC_NAMES[group]?.[sub] ?? '?';
}

/** Summary key as in the truth files: "4 CPU functions / 1 Read SZL (request)". */
export function userdataKey(group: number, sub: number, type: number): string {
  return `${group} ${userdataGroupName(group)} / ${sub} ${userdataSubfunctionName(group, sub)} (${userdataTypeName(type)})`;
}

const MODE_TRANSITION_NAMES = UD_SUBFUNC_NAMES[0] ?? {};

export function cpuModeName(mode: number): string {
  return MODE_TRANSITION_NAMES[mode] ?? '?';
}

// --- SZL --------------------------------------------------------------------------------------------------------------
const SZL_0011_INDEX_NAMES: Record<number, string> = {
  1: 'Identification of the module',
  6: 'Identification of the basic hardware',
  7: 'Identification of the basic firmware',
  129: 'Identification of the firmware-extension',
};

export function szl0011IndexName(index: number): string {
  return SZL_0011_INDEX_NAMES[index] ?? '?';
}

/** SZL 0x001C component identification: index → summary/identity key suffix (the truth files' names). */
const SZL_001C_KEYS: Record<number, string> = {
  1: 'plc_name',
  2: 'module_name',
  3: 'plant_id',
  4: 'copyright',
  5: 'serial',
  7: 'module_type',
  8: 'mmc_serial',
  9: 'manufacturer_profile',
  10: 'oem_id',
  11: 'location_id',
};

export function szl001cKey(index: number): string {
  return SZL_001C_KEYS[index] ?? `index_${hex4(index)}`;
}

// --- Setup communication, errors ---------------------------------------------------------------------------------------
export const DEFAULT_MAX_PDU_BYTES = 65536;
export const DEFAULT_MAX_OPEN_REQUESTS = 256;
export const DEFAULT_REQUEST_TIMEOUT_SEC = 30;

export type S7AnomalyKind =
  | 'cotp.invalid_tpkt'
  | 'cotp.pdu_too_large'
  | 's7comm.invalid_header'
  | 's7comm.invalid_length'
  | 's7comm.unknown_function'
  | 's7comm.unsolicited_response'
  | 's7comm.request_unanswered'
  | 's7comm.too_many_open_requests'
  | 's7comm.error_response';
