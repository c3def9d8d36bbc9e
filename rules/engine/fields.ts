/**
 * The field registry: for each event kind (service/category), the fields a rule may name, their type, and a getter
 * over that kind's subject. Rules compile to direct getter calls, and a field missing here is a load-time error.
 * docs/rules.md lists the same fields for rule writers (a test keeps the two in step).
 *
 * Getters return `undefined` when the event does not carry the field; an absent field never matches.
 */
import type { FunctionCategory } from '../../protocols/modbus/constants.ts';
import type { ModbusDecoded, ModbusTransactionKind, ModbusTransactionReason } from '../../protocols/modbus/types.ts';
import { BINARY_ENCODING_NAMES } from '../../protocols/opcua/generated/object-ids.ts';
import type { OpcuaTransactionKind, OpcuaTransactionReason } from '../../protocols/opcua/types.ts';
import {
  errorClassName,
  rosctrName,
  userdataGroupName,
  userdataSubfunctionName,
} from '../../protocols/s7comm/constants.ts';
import type { S7Decoded } from '../../protocols/s7comm/decode.ts';
import type { S7TransactionKind, S7TransactionReason } from '../../protocols/s7comm/types.ts';
import {
  type AnomalySubject,
  K_ANOMALY_COTP,
  K_ANOMALY_MODBUS,
  K_ANOMALY_OPCUA,
  K_ANOMALY_S7COMM,
  K_COTP_CONNECT,
  K_MODBUS_TX,
  K_OPCUA_CHANNEL,
  K_OPCUA_SESSION,
  K_OPCUA_TRANSPORT,
  K_OPCUA_TX,
  K_S7_TX,
  K_S7PLUS_FRAME,
  KIND_COUNT,
  type ModbusTxSubject,
  type OpcuaTxSubject,
  type RecordSubject,
  S7_PART_BLOCK,
  S7_PART_ITEM_COUNT,
  S7_PART_ITEMS,
  S7_PART_PI,
  S7_PART_USERDATA,
  type S7PlusSubject,
  type S7TxSubject,
  type Subject,
  WORD_ADDRESS,
  WORD_QUANTITY,
  WORD_VALUE,
} from './subjects.ts';

export type FieldType = 'number' | 'string' | 'boolean' | 'ip';

export interface FieldDef {
  type: FieldType;
  /** The value is an array of `type` (a rule matches when any element matches). */
  list: boolean;
  /** 1 when reading the field decodes (allocates) on first use: such tests run after the cheap ones. */
  cost: 0 | 1;
  /** The value depends only on the flow (addresses, ports, VLAN): correlation keys cache it per flow. */
  flowScoped?: boolean;
  /**
   * Every value is an integer 0–255 (a protocol byte): value_count correlations on it keep last-seen times in a
   * 256-entry array indexed by the value instead of a Map.
   */
  byteDomain?: boolean;
  /**
   * The kind's dispatch field (DISPATCH_FIELDS) has one of these values whenever this field has a value: a rule
   * testing this field is evaluated only for those values (S7 `request.pi.*` exists only for PI service / PLC stop
   * jobs, whose `func` is 0x28 / 0x29).
   */
  impliesDispatch?: readonly number[];
  /** For a boolean field: the dispatch values it is `true` for (Modbus `isWrite` ⇔ `func` is a write code). */
  trueForDispatch?: readonly number[];
  /**
   * A string field whose every value is one of the parser's lower-case ASCII constants (`kind`, `reason`, Modbus
   * `category`): a case-insensitive equality is then exactly `===` on the rule's value lower-cased, and generated
   * code tests it so (no case-folding branch, which also first ran on a rare value and deoptimised the rule).
   */
  lowerOnly?: true;
  // biome-ignore lint/suspicious/noExplicitAny: each registry's getters take that kind's subject class
  get: (s: any) => unknown;
}

export type FieldRegistry = Readonly<Record<string, FieldDef>>;

function f<S>(type: FieldType, get: (s: S) => unknown, cost: 0 | 1 = 0): FieldDef {
  return { type, list: false, cost, get };
}
/**
 * A `lowerOnly` string field. `T` is the union of its values: the type only accepts unions of lower-case literals
 * (`Lowercase<T>` is T itself), so a value with a capital letter added to a parser's union fails to compile here.
 */
function lowerEnum<S, T extends string>(get: (s: S) => (Lowercase<T> extends T ? T : never) | undefined): FieldDef {
  return { type: 'string', list: false, cost: 0, lowerOnly: true, get };
}
function list<S>(type: FieldType, get: (s: S) => unknown, cost: 0 | 1 = 1): FieldDef {
  return { type, list: true, cost, get };
}

/** `undefined` for the "absent" encodings of the parser records (-1, '', null). */
function num(n: number): number | undefined {
  return n >= 0 ? n : undefined;
}
function str(s: string | null | undefined): string | undefined {
  return s === null || s === undefined || s === '' ? undefined : s;
}
function pluck(items: readonly unknown[] | undefined, key: string): unknown[] | undefined {
  if (items === undefined) return undefined;
  const out: unknown[] = [];
  for (const it of items) {
    const v = (it as Record<string, unknown> | null)?.[key];
    if (v !== undefined && v !== null) out.push(v);
  }
  return out;
}

/** A field whose values are always one protocol byte (see FieldDef.byteDomain). */
function byteField<S>(get: (s: S) => unknown): FieldDef {
  return { type: 'number', list: false, cost: 0, byteDomain: true, get };
}

function flowField(type: FieldType, get: (s: Subject) => unknown): FieldDef {
  return { type, list: false, cost: 0, flowScoped: true, get };
}

const COMMON: FieldRegistry = {
  'client.ip': flowField('ip', (s) => s.flow.clientIp),
  'client.port': flowField('number', (s) => s.flow.clientPort),
  'server.ip': flowField('ip', (s) => s.flow.serverIp),
  'server.port': flowField('number', (s) => s.flow.serverPort),
  vlan: flowField('number', (s) => num(s.flow.vlanOuter)),
};

// --- Modbus -------------------------------------------------------------------------------------------------------
const MODBUS_WRITES = new Set([5, 6, 15, 16, 21, 22, 23]);
type MS = ModbusTxSubject;
const mreq = (k: keyof ModbusDecoded) => (s: MS) => s.request()?.[k];
const mresp = (k: keyof ModbusDecoded) => (s: MS) => s.response()?.[k];

function lastAddress(s: MS): number | undefined {
  const address = s.requestWord(WORD_ADDRESS);
  if (address === undefined || s.tx === null) return undefined;
  const f = s.tx.func;
  if (f === 5 || f === 6 || f === 22) return address;
  const quantity = s.requestWord(WORD_QUANTITY);
  return quantity === undefined ? undefined : address + Math.max(0, quantity - 1);
}

const MODBUS_TX: FieldRegistry = {
  ...COMMON,
  kind: lowerEnum<MS, ModbusTransactionKind>((s) => s.tx?.kind),
  reason: lowerEnum<MS, ModbusTransactionReason>((s) => s.tx?.reason),
  tid: f<MS>('number', (s) => s.tx?.tid),
  unit: byteField<MS>((s) => s.tx?.unit),
  func: byteField<MS>((s) => s.tx?.func),
  funcName: f<MS>('string', (s) => s.tx?.funcName),
  category: lowerEnum<MS, FunctionCategory>((s) => s.tx?.category),
  isWrite: {
    ...f<MS>('boolean', (s) => (s.tx === null ? undefined : MODBUS_WRITES.has(s.tx.func))),
    trueForDispatch: [...MODBUS_WRITES],
  },
  isException: f<MS>('boolean', (s) => s.tx?.isException),
  exceptionCode: f<MS>('number', (s) => (s.tx?.isException ? num(s.tx.exceptionCode) : undefined)),
  exceptionName: f<MS>('string', (s) => (s.tx?.isException ? str(s.tx.exceptionName) : undefined)),
  rttUs: f<MS>('number', (s) => (s.tx !== null && s.tx.rttNs >= 0 ? Math.round(s.tx.rttNs / 1000) : undefined)),
  'request.address': f<MS>('number', (s) => s.requestWord(WORD_ADDRESS)),
  'request.quantity': f<MS>('number', (s) => s.requestWord(WORD_QUANTITY)),
  'request.lastAddress': f<MS>('number', lastAddress),
  'request.value': f<MS>('number', (s) => s.requestWord(WORD_VALUE)),
  'request.values': list<MS>('number', mreq('values')),
  'request.byteCount': f<MS>('number', mreq('byteCount'), 1),
  'request.subFunction': f<MS>('number', mreq('subFunction'), 1),
  'request.subFunctionName': f<MS>('string', mreq('subFunctionName'), 1),
  'request.readAddress': f<MS>('number', mreq('readAddress'), 1),
  'request.readQuantity': f<MS>('number', mreq('readQuantity'), 1),
  'request.writeAddress': f<MS>('number', mreq('writeAddress'), 1),
  'request.writeQuantity': f<MS>('number', mreq('writeQuantity'), 1),
  'request.andMask': f<MS>('number', mreq('andMask'), 1),
  'request.orMask': f<MS>('number', mreq('orMask'), 1),
  'request.meiType': f<MS>('number', mreq('meiType'), 1),
  'request.meiName': f<MS>('string', mreq('meiName'), 1),
  'request.readDeviceIdCode': f<MS>('number', mreq('readDeviceIdCode'), 1),
  'request.objectId': f<MS>('number', mreq('objectId'), 1),
  'request.umasFunction': f<MS>('number', mreq('umasFunction'), 1),
  'request.umasFunctionName': f<MS>('string', mreq('umasFunctionName'), 1),
  'request.malformed': f<MS>('string', mreq('malformed'), 1),
  'response.byteCount': f<MS>('number', mresp('byteCount'), 1),
  'response.values': list<MS>('number', mresp('values')),
  'response.malformed': f<MS>('string', mresp('malformed'), 1),
};

// --- S7comm -------------------------------------------------------------------------------------------------------
type SS = S7TxSubject;
const sreq =
  <T>(pick: (d: S7Decoded) => T) =>
  (s: SS): T | undefined => {
    const d = s.request();
    return d === null ? undefined : pick(d);
  };
/** `sreq` for a part decodeS7 sets only for some requests: undefined without decoding for the others. */
const spart =
  <T>(part: number, pick: (d: S7Decoded) => T) =>
  (s: SS): T | undefined => {
    if (!s.requestMayHave(part)) return undefined;
    const d = s.request();
    return d === null ? undefined : pick(d);
  };

const S7_TX: FieldRegistry = {
  ...COMMON,
  kind: lowerEnum<SS, S7TransactionKind>((s) => s.tx?.kind),
  reason: lowerEnum<SS, S7TransactionReason>((s) => s.tx?.reason),
  pduRef: f<SS>('number', (s) => num(s.tx?.pduRef ?? -1)),
  rosctr: f<SS>('number', (s) => num(s.tx?.rosctr ?? -1)),
  rosctrName: f<SS>('string', sreqOrNone('rosctrName')),
  func: f<SS>('number', (s) => (s.tx !== null && s.tx.rosctr === 1 ? num(s.tx.func) : undefined)),
  funcName: f<SS>('string', (s) => (s.tx !== null && s.tx.rosctr === 1 ? s.request()?.funcName : undefined), 1),
  group: f<SS>('number', (s) => num(s.tx?.udGroup ?? -1)),
  groupName: f<SS>('string', (s) => (s.tx !== null && s.tx.udGroup >= 0 ? groupName(s) : undefined), 1),
  subfunction: f<SS>('number', (s) => (s.tx !== null && s.tx.udGroup >= 0 ? s.tx.udSub : undefined)),
  subfunctionName: f<SS>('string', (s) => (s.tx !== null && s.tx.udGroup >= 0 ? subName(s) : undefined), 1),
  errorClass: f<SS>('number', (s) =>
    s.tx !== null && s.tx.errorClass + s.tx.errorCode > 0 ? s.tx.errorClass : undefined,
  ),
  errorCode: f<SS>('number', (s) =>
    s.tx !== null && s.tx.errorClass + s.tx.errorCode > 0 ? s.tx.errorCode : undefined,
  ),
  errorName: f<SS>('string', (s) => (s.tx !== null && s.tx.errorClass + s.tx.errorCode > 0 ? errName(s) : undefined)),
  rttUs: f<SS>('number', (s) => (s.tx !== null && s.tx.rttNs >= 0 ? Math.round(s.tx.rttNs / 1000) : undefined)),
  'request.itemCount': f<SS>(
    'number',
    spart(S7_PART_ITEM_COUNT, (d) => d.itemCount),
    1,
  ),
  'request.items.area': list<SS>('number', (s) => s.itemAreas(), 0),
  'request.items.areaName': list<SS>(
    'string',
    spart(S7_PART_ITEMS, (d) => pluck(d.items, 'areaName')),
  ),
  'request.items.dbNumber': list<SS>(
    'number',
    spart(S7_PART_ITEMS, (d) => pluck(d.items, 'dbNumber')),
  ),
  'request.items.byteAddress': list<SS>(
    'number',
    spart(S7_PART_ITEMS, (d) => pluck(d.items, 'byteAddress')),
  ),
  'request.items.address': list<SS>(
    'string',
    spart(S7_PART_ITEMS, (d) => pluck(d.items, 'address')),
  ),
  'request.pi.service': f<SS>(
    'string',
    spart(S7_PART_PI, (d) => str(d.pi?.service)),
    1,
  ),
  'request.pi.parameters': f<SS>(
    'string',
    spart(S7_PART_PI, (d) => str(d.pi?.parameters)),
    1,
  ),
  'request.pi.blocks.name': list<SS>(
    'string',
    spart(S7_PART_PI, (d) => pluck(d.pi?.blocks, 'name')),
  ),
  'request.block.name': f<SS>(
    'string',
    spart(S7_PART_BLOCK, (d) => d.block?.name),
    1,
  ),
  'request.block.blockType': f<SS>(
    'string',
    spart(S7_PART_BLOCK, (d) => d.block?.blockType),
    1,
  ),
  'request.block.blockNumber': f<SS>(
    'number',
    spart(S7_PART_BLOCK, (d) => d.block?.blockNumber),
    1,
  ),
  'request.userdata.szlId': f<SS>(
    'string',
    spart(S7_PART_USERDATA, (d) => d.userdata?.szlId),
    1,
  ),
  'request.userdata.szlIndex': f<SS>(
    'string',
    spart(S7_PART_USERDATA, (d) => d.userdata?.szlIndex),
    1,
  ),
  'request.userdata.passwordPresent': f<SS>(
    'boolean',
    spart(S7_PART_USERDATA, (d) => d.userdata?.passwordPresent),
    1,
  ),
  'request.userdata.clock': f<SS>(
    'string',
    spart(S7_PART_USERDATA, (d) => d.userdata?.clock),
    1,
  ),
  'request.malformed': f<SS>(
    'string',
    sreq((d) => d.malformed),
    1,
  ),
};

/** S7 `func` values of the jobs for which decodeS7 fills each request part (see S7TxSubject.requestMayHave). */
const S7_IMPLIED: readonly [string, readonly number[]][] = [
  ['request.pi.', [0x28, 0x29]],
  ['request.block.', [0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f]],
  ['request.items.', [0x04, 0x05]],
];
for (const [name, def] of Object.entries(S7_TX)) {
  for (const [prefix, funcs] of S7_IMPLIED) {
    if (name.startsWith(prefix)) (S7_TX as Record<string, FieldDef>)[name] = { ...def, impliesDispatch: funcs };
  }
}

function sreqOrNone(_k: 'rosctrName'): (s: SS) => string | undefined {
  return (s) => (s.tx !== null && s.tx.rosctr >= 0 ? rosctrName(s.tx.rosctr) : undefined);
}
function groupName(s: SS): string | undefined {
  return s.tx === null ? undefined : userdataGroupName(s.tx.udGroup);
}
function subName(s: SS): string | undefined {
  return s.tx === null ? undefined : userdataSubfunctionName(s.tx.udGroup, s.tx.udSub);
}
function errName(s: SS): string | undefined {
  return s.tx === null ? undefined : errorClassName(s.tx.errorClass);
}

// --- S7comm-plus, COTP ----------------------------------------------------------------------------------------------
type PS = S7PlusSubject;
const S7PLUS_FRAME: FieldRegistry = {
  ...COMMON,
  dir: f<PS>('number', (s) => s.frame?.dir),
  version: f<PS>('number', (s) => num(s.frame?.version ?? -1)),
  length: f<PS>('number', (s) => s.frame?.len),
  integrity: f<PS>('boolean', (s) => s.frame?.hasIntegrity),
  decodable: f<PS>('boolean', (s) => (s.frame === null ? undefined : !s.frame.opaque)),
  opcode: f<PS>('number', (s) => num(s.frame?.opcode ?? -1)),
  function: f<PS>('number', (s) => num(s.frame?.function ?? -1)),
  seq: f<PS>('number', (s) => num(s.frame?.seq ?? -1)),
  sessionId: f<PS>('number', (s) => num(s.frame?.sessionId ?? -1)),
};

type RS = RecordSubject;
function rec(type: FieldType, key: string): FieldDef {
  return f<RS>(type, (s) => {
    const v = s.data[key];
    return v === null ? undefined : v;
  });
}
function recs(spec: Record<string, FieldType>): FieldRegistry {
  const out: Record<string, FieldDef> = { ...COMMON };
  for (const [k, t] of Object.entries(spec)) out[k] = rec(t, k);
  return out;
}

const COTP_CONNECT = recs({
  kind: 'string',
  type: 'number',
  typeName: 'string',
  srcRef: 'number',
  dstRef: 'number',
  srcTsap: 'string',
  dstTsap: 'string',
  tpduSize: 'number',
  connectionType: 'number',
  rack: 'number',
  slot: 'number',
});

// --- OPC UA -------------------------------------------------------------------------------------------------------
/** Short name of a security policy URI (`...#Basic256Sha256` → `Basic256Sha256`). */
export function policyShortName(uri: string | null | undefined): string | undefined {
  if (uri === null || uri === undefined || uri === '') return undefined;
  const hash = uri.lastIndexOf('#');
  return hash >= 0 ? uri.slice(hash + 1) : uri;
}

type OS = OpcuaTxSubject;
function oreq(pick: (d: Record<string, unknown>) => unknown): (s: OS) => unknown {
  return (s) => {
    const d = s.tx?.request;
    return d === null || d === undefined ? undefined : pick(d as Record<string, unknown>);
  };
}
const arr = (v: unknown): readonly unknown[] | undefined => (Array.isArray(v) ? v : undefined);

const OPCUA_TX: FieldRegistry = {
  ...COMMON,
  kind: lowerEnum<OS, OpcuaTransactionKind>((s) => s.tx?.kind),
  reason: lowerEnum<OS, OpcuaTransactionReason>((s) => s.tx?.reason),
  requestId: f<OS>('number', (s) => num(s.tx?.requestId ?? -1)),
  service: f<OS>('number', (s) => num(s.tx?.requestServiceId ?? -1)),
  serviceName: f<OS>('string', (s) =>
    s.tx !== null && s.tx.requestServiceId >= 0 ? str(s.tx.requestServiceName) : undefined,
  ),
  responseService: f<OS>('number', (s) => num(s.tx?.responseServiceId ?? -1)),
  responseServiceName: f<OS>('string', (s) =>
    s.tx !== null && s.tx.responseServiceId >= 0 ? str(s.tx.responseServiceName) : undefined,
  ),
  serviceResult: f<OS>('number', (s) => num(s.tx?.serviceResult ?? -1)),
  serviceResultName: f<OS>('string', (s) =>
    s.tx !== null && s.tx.serviceResult >= 0 ? str(s.tx.serviceResultName) : undefined,
  ),
  rttUs: f<OS>('number', (s) => (s.tx !== null && s.tx.rttNs >= 0 ? Math.round(s.tx.rttNs / 1000) : undefined)),
  securityPolicyUri: f<OS>('string', (s) => str(s.posture?.policyUri)),
  securityPolicy: f<OS>('string', (s) => policyShortName(s.posture?.policyUri)),
  securityMode: f<OS>('string', (s) => str(s.posture?.securityMode)),
  identityTokenType: f<OS>('string', (s) => str(s.posture?.identityTokenType)),
  'request.nodeCount': f<OS>(
    'number',
    oreq((d) => d.nodeCount),
  ),
  'request.nodesToWrite.nodeId': list<OS>(
    'string',
    oreq((d) => pluck(arr(d.nodesToWrite), 'nodeId')),
    0,
  ),
  'request.nodesToWrite.attributeName': list<OS>(
    'string',
    oreq((d) => pluck(arr(d.nodesToWrite), 'attributeName')),
    0,
  ),
  'request.nodesToRead.nodeId': list<OS>(
    'string',
    oreq((d) => pluck(arr(d.nodesToRead), 'nodeId')),
    0,
  ),
  'request.nodesToBrowse.nodeId': list<OS>(
    'string',
    oreq((d) => pluck(arr(d.nodesToBrowse), 'nodeId')),
    0,
  ),
  'request.methodCount': f<OS>(
    'number',
    oreq((d) => d.methodCount),
  ),
  'request.methodsToCall.methodId': list<OS>(
    'string',
    oreq((d) => pluck(arr(d.methodsToCall), 'methodId')),
    0,
  ),
  'request.methodsToCall.objectId': list<OS>(
    'string',
    oreq((d) => pluck(arr(d.methodsToCall), 'objectId')),
    0,
  ),
  'request.endpointUrl': f<OS>(
    'string',
    oreq((d) => (typeof d.endpointUrl === 'string' ? d.endpointUrl : undefined)),
  ),
};

const OPCUA_CHANNEL = recs({
  dir: 'number',
  messageType: 'string',
  secureChannelId: 'number',
  securityPolicyUri: 'string',
  securityPolicy: 'string',
  securityMode: 'string',
  requestTypeName: 'string',
  encrypted: 'boolean',
  serviceName: 'string',
  'senderCertificate.present': 'boolean',
  'senderCertificate.selfSigned': 'boolean',
  'senderCertificate.expired': 'boolean',
  'senderCertificate.subject': 'string',
  'senderCertificate.issuer': 'string',
  'senderCertificate.thumbprint': 'string',
  'senderCertificate.keyBits': 'number',
  'senderCertificate.validTo': 'string',
});

const OPCUA_SESSION = recs({
  securityPolicyUri: 'string',
  securityPolicy: 'string',
  securityMode: 'string',
  identityTokenType: 'string',
  policyId: 'string',
  userName: 'string',
  passwordPresent: 'boolean',
  encryptionAlgorithm: 'string',
  serviceResult: 'number',
  serviceResultName: 'string',
  activated: 'boolean',
});

const OPCUA_TRANSPORT = recs({
  messageType: 'string',
  dir: 'number',
  endpointUrl: 'string',
  protocolVersion: 'number',
  receiveBufferSize: 'number',
  sendBufferSize: 'number',
  maxMessageSize: 'number',
  maxChunkCount: 'number',
  error: 'number',
  errorName: 'string',
  reason: 'string',
});

// --- Anomalies ----------------------------------------------------------------------------------------------------
type AS = AnomalySubject;
const ANOMALY: FieldRegistry = {
  ...COMMON,
  name: f<AS>('string', (s) => s.name),
  protocol: f<AS>('string', (s) => s.protocol),
  dir: f<AS>('number', (s) => num(s.dir)),
  detail: f<AS>('string', (s) => str(s.detail)),
  value: f<AS>('number', (s) => num(s.value)),
  tid: f<AS>('number', (s) => num(s.tid)),
  unit: f<AS>('number', (s) => num(s.unit)),
  func: f<AS>('number', (s) => num(s.func)),
  pduRef: f<AS>('number', (s) => num(s.pduRef)),
  requestId: f<AS>('number', (s) => num(s.requestId)),
  service: f<AS>('number', (s) => num(s.service)),
  serviceName: f<AS>('string', (s) => str(s.serviceName)),
};

/** Registry per kind (index = K_*). */
export const FIELD_REGISTRIES: readonly FieldRegistry[] = (() => {
  const r: FieldRegistry[] = new Array(KIND_COUNT);
  r[K_MODBUS_TX] = MODBUS_TX;
  r[K_S7_TX] = S7_TX;
  r[K_COTP_CONNECT] = COTP_CONNECT;
  r[K_S7PLUS_FRAME] = S7PLUS_FRAME;
  r[K_OPCUA_TX] = OPCUA_TX;
  r[K_OPCUA_CHANNEL] = OPCUA_CHANNEL;
  r[K_OPCUA_SESSION] = OPCUA_SESSION;
  r[K_OPCUA_TRANSPORT] = OPCUA_TRANSPORT;
  r[K_ANOMALY_MODBUS] = ANOMALY;
  r[K_ANOMALY_S7COMM] = ANOMALY;
  r[K_ANOMALY_COTP] = ANOMALY;
  r[K_ANOMALY_OPCUA] = ANOMALY;
  return r;
})();

/**
 * Per kind, a numeric field most rules test for equality (Modbus / S7 function code, OPC UA service id): rules
 * that require given values of it are evaluated only for events carrying one of those values.
 */
export const DISPATCH_FIELDS: readonly (string | null)[] = (() => {
  const d: (string | null)[] = new Array(KIND_COUNT).fill(null);
  d[K_MODBUS_TX] = 'func';
  d[K_S7_TX] = 'func';
  d[K_OPCUA_TX] = 'service';
  return d;
})();

/**
 * Per kind, a second numeric field to split each dispatch list by (plain equality tests only): S7 userdata rules
 * test `group`, which read/write jobs do not have, so those rules are not evaluated for them at all.
 */
export const SECOND_DISPATCH_FIELDS: readonly (string | null)[] = (() => {
  const d: (string | null)[] = new Array(KIND_COUNT).fill(null);
  d[K_S7_TX] = 'group';
  return d;
})();

/**
 * Per kind, a string field that names the dispatch field's value one to one, and the values a name (compared without
 * case, as a rule's plain string test does) stands for: `serviceName: WriteRequest` dispatches like `service: 673`.
 * OPC UA `serviceName` is `encodingName(service)` (empty, hence absent, for unknown ids).
 */
export const DISPATCH_NAME_FIELDS: readonly ({ field: string; values: (name: string) => number[] | null } | null)[] =
  (() => {
    const d: ({ field: string; values: (name: string) => number[] | null } | null)[] = new Array(KIND_COUNT).fill(null);
    const byLower = new Map<string, number[]>();
    for (const [id, name] of Object.entries(BINARY_ENCODING_NAMES as Record<string, string>)) {
      if (name === '') continue;
      const key = name.toLowerCase();
      const ids = byLower.get(key) ?? [];
      ids.push(Number(id));
      byLower.set(key, ids);
    }
    d[K_OPCUA_TX] = { field: 'serviceName', values: (name) => byLower.get(name.toLowerCase()) ?? null };
    return d;
  })();
