/**
 * Role inference from what an asset did (activity counters, services served and used, identity). Each role comes
 * with a confidence (0..1) and the reasons, so an analyst can see why a host is called an engineering workstation.
 */
import { ROLE_NAMES, type RoleGuess, type RoleName, type ServiceRecord } from './types.ts';

export interface RoleOptions {
  /** Read requests a client must send before it counts as polling (HMI / historian). */
  pollMinReads: number;
  /** Reads without any write before a poller is also called historian-like. */
  historianMinReads: number;
}

export const DEFAULT_ROLE_OPTIONS: RoleOptions = { pollMinReads: 5, historianMinReads: 50 };

export interface RoleInput {
  activity: ReadonlyMap<string, number>;
  served: readonly ServiceRecord[];
  used: readonly ServiceRecord[];
  /** Controller identity seen (S7 order number / module type, Modbus device identification). */
  controllerIdentity: string | null;
}

const CONTROLLER_PROTOCOLS = new Set(['s7comm', 's7comm-plus', 'modbus']);

function sum(activity: ReadonlyMap<string, number>, keys: readonly string[]): number {
  let n = 0;
  for (const k of keys) n += activity.get(k) ?? 0;
  return n;
}

function describe(
  activity: ReadonlyMap<string, number>,
  keys: readonly string[],
  text: Record<string, string>,
): string[] {
  const out: string[] = [];
  for (const k of keys) {
    const n = activity.get(k) ?? 0;
    if (n > 0) out.push(`${text[k] ?? k} ×${n}`);
  }
  return out;
}

const ENGINEERING_STRONG = ['s7.download', 's7.upload', 's7.plc_stop', 's7.pi_service'] as const;
const ENGINEERING_MEDIUM = [
  's7.block_info',
  's7.programmer',
  's7.security',
  's7.set_clock',
  's7plus.explore',
  'tsap.es',
  'modbus.umas',
  'modbus.file_record',
] as const;
const IDENTITY_SCAN = ['s7.szl_identity', 'modbus.device_id', 'modbus.report_server_id'] as const;
const READS = ['s7.read', 'modbus.read', 's7plus.read', 'opcua.read', 'opcua.subscribe'] as const;
const WRITES = ['s7.write', 'modbus.write', 's7plus.write', 'opcua.write', 'opcua.call'] as const;

const TEXT: Record<string, string> = {
  's7.download': 'S7 block download (Request download / Download block / Download ended)',
  's7.upload': 'S7 block upload (Start upload / Upload / End upload)',
  's7.plc_stop': 'S7 PLC Stop',
  's7.pi_service': 'S7 PI service (start/stop, insert/delete/compress blocks)',
  's7.block_info': 'S7 block functions (list blocks, block info)',
  's7.programmer': 'S7 programmer commands (forces, variable tables)',
  's7.security': 'S7 security functions (password)',
  's7.set_clock': 'S7 set PLC clock',
  's7plus.explore': 'S7comm-plus Explore',
  'tsap.es': "COTP TSAP 'SIMATIC-ROOT-ES' (TIA Portal engineering connection)",
  'tsap.hmi': "COTP TSAP 'SIMATIC-ROOT-HMI' (HMI connection)",
  'cotp.pg': 'COTP PG (programming device) connection',
  'cotp.op': 'COTP OP (operator panel) connection',
  'modbus.umas': 'Modbus FC 90 (UMAS programming)',
  'modbus.file_record': 'Modbus file record access',
  's7.szl_identity': 'S7 SZL module/component identification reads',
  'modbus.device_id': 'Modbus FC43/14 device identification reads',
  'modbus.report_server_id': 'Modbus FC17 report server id',
  's7.read': 'S7 reads',
  'modbus.read': 'Modbus reads',
  's7plus.read': 'S7comm-plus reads',
  'opcua.read': 'OPC UA Read',
  'opcua.subscribe': 'OPC UA subscriptions/publish',
  's7.write': 'S7 writes',
  'modbus.write': 'Modbus writes',
  's7plus.write': 'S7comm-plus writes',
  'opcua.write': 'OPC UA Write',
  'opcua.call': 'OPC UA Call',
  's7.alarm': 'S7 alarm/notify functions',
  'opcua.history_read': 'OPC UA HistoryRead',
};

/** Roles best first; `unknown` (confidence 0) when nothing points anywhere. */
export function inferRoles(input: RoleInput, options: RoleOptions = DEFAULT_ROLE_OPTIONS): RoleGuess[] {
  const a = input.activity;
  const roles: RoleGuess[] = [];
  const add = (role: RoleName, confidence: number, reasons: string[]) => {
    roles.push({ role, confidence: Math.round(Math.min(confidence, 0.99) * 100) / 100, reasons });
  };

  // Controller: answers S7 / Modbus requests (or at least serves their ports).
  const answered = sum(a, ['s7.answered', 'modbus.answered', 's7plus.response']);
  const servedCtl = input.served.filter((s) => CONTROLLER_PROTOCOLS.has(s.proto));
  if (answered > 0 || servedCtl.length > 0) {
    const reasons = servedCtl.map((s) => `serves ${s.proto} on TCP ${s.port}`);
    if (answered > 0) reasons.push(`answered ${answered} S7/Modbus requests`);
    let c = answered > 0 ? 0.8 : 0.5;
    if (input.controllerIdentity !== null) {
      c += 0.15;
      reasons.push(`controller identity: ${input.controllerIdentity}`);
    }
    add('plc', c, reasons);
  }

  // Engineering workstation: program transfer and PLC control beat everything; identity scans alone are weaker.
  const strong = sum(a, ENGINEERING_STRONG);
  const medium = sum(a, ENGINEERING_MEDIUM);
  const scans = sum(a, IDENTITY_SCAN);
  const pg = a.get('cotp.pg') ?? 0;
  if (strong > 0 || medium > 0 || scans > 0) {
    const c = strong > 0 ? 0.9 : medium > 0 ? 0.75 : 0.6;
    add('engineering_workstation', c + (pg > 0 ? 0.05 : 0), [
      ...describe(a, [...ENGINEERING_STRONG, ...ENGINEERING_MEDIUM, ...IDENTITY_SCAN, 'cotp.pg'], TEXT),
    ]);
  } else if (pg > 0) {
    add('engineering_workstation', 0.3, describe(a, ['cotp.pg'], TEXT));
  }

  // HMI / SCADA client: polls reads (and usually writes setpoints), or says so in its TSAP.
  const reads = sum(a, READS);
  const writes = sum(a, WRITES);
  const hmiTsap = sum(a, ['tsap.hmi', 'cotp.op']);
  if (hmiTsap > 0 || reads >= options.pollMinReads) {
    let c = hmiTsap > 0 ? 0.85 : writes > 0 ? 0.75 : 0.6;
    if ((a.get('s7.alarm') ?? 0) > 0) c += 0.05;
    add('hmi', c, describe(a, ['tsap.hmi', 'cotp.op', ...READS, ...WRITES, 's7.alarm'], TEXT));
  }

  // Historian-like poller: many reads, never a write, no engineering.
  const history = a.get('opcua.history_read') ?? 0;
  if ((reads >= options.historianMinReads && writes === 0 && strong === 0 && medium === 0) || history > 0) {
    const reasons = describe(a, [...READS, 'opcua.history_read'], TEXT);
    if (writes === 0) reasons.push('never writes');
    add('historian', history > 0 ? 0.6 : 0.5, reasons);
  }

  // OPC UA server / client.
  const uaAnswered = a.get('opcua.answered') ?? 0;
  const uaServed = input.served.filter((s) => s.proto === 'opcua');
  if (uaAnswered > 0 || uaServed.length > 0) {
    const reasons = uaServed.map((s) => `serves OPC UA on TCP ${s.port}`);
    if (uaAnswered > 0) reasons.push(`answered ${uaAnswered} OPC UA service requests`);
    add('opcua_server', uaAnswered > 0 ? 0.9 : 0.6, reasons);
  }
  const uaUsed = input.used.filter((s) => s.proto === 'opcua');
  if (uaUsed.length > 0) {
    const services = [...a.entries()].filter(([k]) => k.startsWith('opcua.') && k !== 'opcua.answered');
    const onlyDiscovery = services.every(([k]) => k === 'opcua.discovery');
    const reasons = uaUsed.map((s) => `connects to OPC UA servers on TCP ${s.port}`);
    for (const [k, n] of services) reasons.push(`${k.slice(6)} ×${n}`);
    add('opcua_client', onlyDiscovery ? 0.6 : 0.85, reasons);
  }

  // Ties go to the role listed first in ROLE_NAMES (a controller that also scans itself stays a PLC).
  roles.sort((x, y) => y.confidence - x.confidence || ROLE_NAMES.indexOf(x.role) - ROLE_NAMES.indexOf(y.role));
  if (roles.length === 0)
    roles.push({ role: 'unknown', confidence: 0, reasons: ['no protocol activity that points to a role'] });
  return roles;
}
