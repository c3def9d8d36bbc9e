/**
 * What one event says each side of its flow did, as activity counter names the role inference reads
 * (`s7.download`, `modbus.read`, `opcua.subscribe`, `tsap.hmi`, ...). Null when the event says nothing about a side.
 */
import type { SensorEvent } from '../../protocols/wire/events.ts';

export interface Activity {
  client: string | null;
  server: string | null;
}

type Obj = Record<string, unknown>;

function obj(v: unknown): Obj | null {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : null;
}

/** S7 job functions (S7comm header function codes). */
function s7JobActivity(func: number): string | null {
  switch (func) {
    case 0x04:
      return 's7.read';
    case 0x05:
      return 's7.write';
    case 0x1a:
    case 0x1b:
    case 0x1c:
      return 's7.download';
    case 0x1d:
    case 0x1e:
    case 0x1f:
      return 's7.upload';
    case 0x28:
      return 's7.pi_service';
    case 0x29:
      return 's7.plc_stop';
    default:
      return null;
  }
}

/** S7 userdata groups: 1 programmer commands, 2 cyclic data, 3 block functions, 4 CPU functions, 5 security, 7 time. */
function s7UserdataActivity(s7: Obj): string | null {
  const group = s7.group;
  const sub = s7.subfunction;
  switch (group) {
    case 1:
      return 's7.programmer';
    case 2:
      return 's7.read';
    case 3:
      return 's7.block_info';
    case 4: {
      if (sub !== 1) return 's7.alarm';
      const ud = obj(obj(s7.request)?.userdata);
      const id = typeof ud?.szlId === 'string' ? Number.parseInt(ud.szlId, 16) : Number.NaN;
      const list = id & 0xff;
      // Module identification (0x11) and component identification (0x1c) are what identity scans ask for.
      return list === 0x11 || list === 0x1c ? 's7.szl_identity' : 's7.szl_other';
    }
    case 5:
      return 's7.security';
    case 7:
      return sub === 2 || sub === 4 ? 's7.set_clock' : 's7.read';
    default:
      return null;
  }
}

function s7Activity(e: SensorEvent): Activity {
  const s7 = obj((e as { s7comm?: unknown }).s7comm);
  if (s7 === null) return { client: null, server: null };
  const answered = s7.kind === 'paired' && obj(s7.response) !== null ? 's7.answered' : null;
  if (obj(s7.request) === null) return { client: null, server: s7.kind === 'push' ? 's7.push' : answered };
  const client = s7.rosctr === 7 ? s7UserdataActivity(s7) : typeof s7.func === 'number' ? s7JobActivity(s7.func) : null;
  return { client, server: answered };
}

const MODBUS_READS = new Set([1, 2, 3, 4, 24]);
const MODBUS_WRITES = new Set([5, 6, 15, 16, 22]);

function modbusActivity(e: SensorEvent): Activity {
  const mb = obj((e as { modbus?: unknown }).modbus);
  if (mb === null || typeof mb.func !== 'number') return { client: null, server: null };
  const server = mb.kind === 'paired' && obj(mb.response) !== null ? 'modbus.answered' : null;
  if (obj(mb.request) === null) return { client: null, server };
  const f = mb.func;
  let client: string;
  if (MODBUS_READS.has(f)) client = 'modbus.read';
  else if (MODBUS_WRITES.has(f) || f === 23) client = 'modbus.write';
  else if (f === 43) client = 'modbus.device_id';
  else if (f === 17) client = 'modbus.report_server_id';
  else if (f === 8) client = 'modbus.diagnostics';
  else if (f === 90) client = 'modbus.umas';
  else if (f === 20 || f === 21) client = 'modbus.file_record';
  else client = 'modbus.other';
  return { client, server };
}

/**
 * S7comm-plus function codes (as named by the public Wireshark s7comm_plus dissector): reads, writes, explore.
 * 0x054c GetMultiVariables, 0x04fc GetVariable, 0x0586 GetVarSubStreamed; 0x0542 SetMultiVariables,
 * 0x04f2 SetVariable, 0x057c SetVarSubStreamed; 0x04bb Explore.
 */
function s7plusActivity(e: SensorEvent): Activity {
  const f = obj((e as { s7plus?: unknown }).s7plus);
  if (f === null) return { client: null, server: null };
  if (f.dir === 1) return { client: null, server: 's7plus.response' };
  switch (f.function) {
    case 0x054c:
    case 0x04fc:
    case 0x0586:
      return { client: 's7plus.read', server: null };
    case 0x0542:
    case 0x04f2:
    case 0x057c:
      return { client: 's7plus.write', server: null };
    case 0x04bb:
      return { client: 's7plus.explore', server: null };
    default:
      return { client: 's7plus.other', server: null };
  }
}

/** COTP connect: the TSAPs say what kind of station connects (TIA Portal names its ES and HMI connections). */
function cotpActivity(e: SensorEvent): Activity {
  const c = obj((e as { cotp?: unknown }).cotp);
  if (c === null || c.kind !== 'cotp.connect_request') return { client: null, server: null };
  const tsaps = `${String(c.srcTsap ?? '')} ${String(c.dstTsap ?? '')}`;
  if (tsaps.includes('SIMATIC-ROOT-HMI')) return { client: 'tsap.hmi', server: null };
  if (tsaps.includes('SIMATIC-ROOT-ES')) return { client: 'tsap.es', server: null };
  // Connection type from the TSAP's high byte: 1 = PG (programming device), 2 = OP (operator panel).
  if (c.connectionType === 1) return { client: 'cotp.pg', server: null };
  if (c.connectionType === 2) return { client: 'cotp.op', server: null };
  return { client: null, server: null };
}

function opcuaActivity(e: SensorEvent): Activity {
  const ua = obj((e as { opcua?: unknown }).opcua);
  if (ua === null || typeof ua.serviceName !== 'string') return { client: null, server: null };
  const server = ua.kind === 'paired' ? 'opcua.answered' : null;
  let client: string;
  switch (ua.serviceName) {
    case 'ReadRequest':
      client = 'opcua.read';
      break;
    case 'HistoryReadRequest':
      client = 'opcua.history_read';
      break;
    case 'WriteRequest':
    case 'HistoryUpdateRequest':
      client = 'opcua.write';
      break;
    case 'CallRequest':
      client = 'opcua.call';
      break;
    case 'CreateSubscriptionRequest':
    case 'CreateMonitoredItemsRequest':
    case 'PublishRequest':
      client = 'opcua.subscribe';
      break;
    case 'BrowseRequest':
    case 'BrowseNextRequest':
    case 'TranslateBrowsePathsToNodeIdsRequest':
      client = 'opcua.browse';
      break;
    case 'AddNodesRequest':
    case 'DeleteNodesRequest':
    case 'AddReferencesRequest':
    case 'DeleteReferencesRequest':
      client = 'opcua.node_management';
      break;
    case 'GetEndpointsRequest':
    case 'FindServersRequest':
    case 'FindServersOnNetworkRequest':
      client = 'opcua.discovery';
      break;
    default:
      client = 'opcua.other';
  }
  return { client, server };
}

const NONE: Activity = { client: null, server: null };

export function activityOf(e: SensorEvent): Activity {
  switch (e.kind) {
    case 's7comm.transaction':
      return s7Activity(e);
    case 'modbus.transaction':
      return modbusActivity(e);
    case 's7comm_plus.frame':
      return s7plusActivity(e);
    case 'cotp.connect':
      return cotpActivity(e);
    case 'opcua.transaction':
      return opcuaActivity(e);
    default:
      return NONE;
  }
}
