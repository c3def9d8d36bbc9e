/**
 * Exposure findings of one enterprise over a period, from its inventory and its alerts: who writes to its PLCs
 * (and from where), OPC UA used without security, firmware in published advisories' affected ranges, and
 * engineering actions (program download/upload, stop/start). Each finding cites its evidence (alert uids, asset
 * IPs, advisory ids), so an assessor can open every fact it rests on.
 */
import type { EvidenceRef, Level, StoredAlert, StoredAsset } from '../store/types.ts';

/** Rules whose alerts are writes or control commands to a device (the server of the flow). */
export const WRITE_RULE =
  /(write|download|insert|force|mask_write|control_over_none|add_nodes|delete|plc_stop|plc_start|cold_start|set_clock)/;
/** Rules whose alerts are engineering actions on a controller. */
export const ENGINEERING_RULE =
  /(download|upload|block_insert|block_delete|plc_stop|plc_start|cold_start|copy_ram_to_rom|memory_compress|force)/;
/** OPC UA used without message security (SecurityPolicy None) or with passwords in the clear. */
export const OPCUA_UNSECURED_RULE = /^ot\.opcua\.(.*_over_none|cleartext_password)$/;
/** …and carrying writes or method calls. */
export const OPCUA_WRITE_RULE = /^ot\.opcua\.(write|call|add_nodes|delete_nodes|control_over_none)/;

const SEVERITY_RANK: Record<string, number> = { low: 1, medium: 2, high: 3, critical: 4 };
/** Evidence refs kept per finding (the counts stay exact). */
const MAX_REFS = 20;

export interface PlcWriters {
  ip: string;
  role: string;
  writers: string[];
  /** Writers outside the PLC's network (other IPv4 /24 or IPv6 /64): the control zone as the sensor sees it. */
  outsideZone: string[];
  writes: number;
  evidence: EvidenceRef[];
}

export interface OpcuaUnsecured {
  ip: string;
  rules: string[];
  /** Writes/calls carried by the unsecured server. */
  writes: number;
  evidence: EvidenceRef[];
}

export interface VulnerableFirmware {
  ip: string;
  role: string;
  advisory: string;
  title: string;
  severity: string;
  cve: string[];
  version: string | null;
  evidence: EvidenceRef[];
}

export interface EngineeringAction {
  ruleId: string;
  title: string;
  level: Level;
  client: string;
  server: string;
  count: number;
  lastTs: string;
  evidence: EvidenceRef[];
}

export interface Findings {
  /** Assets the inventory classes as controllers (PLCs). */
  controllers: string[];
  plcWriters: PlcWriters[];
  opcuaUnsecured: OpcuaUnsecured[];
  vulnerableFirmware: VulnerableFirmware[];
  engineering: EngineeringAction[];
}

/** Same IPv4 /24 or IPv6 /64. */
export function sameZone(a: string, b: string): boolean {
  if (a.includes(':') !== b.includes(':')) return false;
  if (!a.includes(':')) return a.split('.').slice(0, 3).join('.') === b.split('.').slice(0, 3).join('.');
  const expand = (ip: string) => {
    const [head = '', tail = ''] = ip.split('::');
    const h = head ? head.split(':') : [];
    const t = tail ? tail.split(':') : [];
    return [...h, ...Array(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t].map((x) =>
      Number.parseInt(x || '0', 16),
    );
  };
  return expand(a).slice(0, 4).join(':') === expand(b).slice(0, 4).join(':');
}

function ref(a: StoredAlert): EvidenceRef {
  return { kind: 'alert', id: a.uid, label: `${a.ruleId} ${a.clientIp} → ${a.serverIp} ${a.ts}` };
}

interface AdvisoryLike {
  advisory: string;
  title: string;
  severity: string;
  status: string;
  cve?: string[];
  version?: string | null;
}

function isController(asset: StoredAsset): boolean {
  return asset.role === 'plc';
}

export function computeFindings(assets: StoredAsset[], alerts: StoredAlert[]): Findings {
  const byIp = new Map(assets.map((a) => [a.ip, a]));

  const writers = new Map<string, PlcWriters & { set: Set<string> }>();
  for (const a of alerts) {
    if (!WRITE_RULE.test(a.ruleId)) continue;
    const target = byIp.get(a.serverIp);
    if (!target || !isController(target)) continue;
    let w = writers.get(a.serverIp);
    if (!w) {
      w = { ip: a.serverIp, role: target.role, writers: [], outsideZone: [], writes: 0, evidence: [], set: new Set() };
      writers.set(a.serverIp, w);
    }
    w.writes++;
    if (!w.set.has(a.clientIp)) {
      w.set.add(a.clientIp);
      w.writers.push(a.clientIp);
      if (!sameZone(a.clientIp, a.serverIp)) w.outsideZone.push(a.clientIp);
    }
    if (w.evidence.length < MAX_REFS) w.evidence.push(ref(a));
  }

  const opcua = new Map<string, OpcuaUnsecured & { ruleSet: Set<string> }>();
  for (const a of alerts) {
    if (!OPCUA_UNSECURED_RULE.test(a.ruleId)) continue;
    let o = opcua.get(a.serverIp);
    if (!o) {
      o = { ip: a.serverIp, rules: [], writes: 0, evidence: [], ruleSet: new Set() };
      opcua.set(a.serverIp, o);
    }
    o.ruleSet.add(a.ruleId);
    if (o.evidence.length < MAX_REFS) o.evidence.push(ref(a));
  }
  for (const a of alerts) {
    const o = opcua.get(a.serverIp);
    if (o && OPCUA_WRITE_RULE.test(a.ruleId)) {
      o.writes++;
      if (o.evidence.length < MAX_REFS && !o.evidence.some((e) => e.id === a.uid)) o.evidence.push(ref(a));
    }
  }

  const vulnerable: VulnerableFirmware[] = [];
  for (const asset of assets) {
    const advisories = (asset.record as { advisories?: AdvisoryLike[] }).advisories ?? [];
    for (const adv of advisories) {
      if (adv.status !== 'affected') continue;
      vulnerable.push({
        ip: asset.ip,
        role: asset.role,
        advisory: adv.advisory,
        title: adv.title,
        severity: adv.severity,
        cve: [...(adv.cve ?? [])],
        version: adv.version ?? null,
        evidence: [
          { kind: 'asset', id: asset.ip, label: `${asset.role} ${asset.sensorId}` },
          { kind: 'advisory', id: adv.advisory, label: adv.title },
        ],
      });
    }
  }
  vulnerable.sort(
    (a, b) => (SEVERITY_RANK[b.severity] ?? 0) - (SEVERITY_RANK[a.severity] ?? 0) || (a.ip < b.ip ? -1 : 1),
  );

  const engineering = new Map<string, EngineeringAction>();
  for (const a of alerts) {
    if (!ENGINEERING_RULE.test(a.ruleId)) continue;
    const key = `${a.ruleId}\u0000${a.clientIp}\u0000${a.serverIp}`;
    let e = engineering.get(key);
    if (!e) {
      e = {
        ruleId: a.ruleId,
        title: a.ruleTitle,
        level: a.level,
        client: a.clientIp,
        server: a.serverIp,
        count: 0,
        lastTs: a.ts,
        evidence: [],
      };
      engineering.set(key, e);
    }
    e.count++;
    if (a.ts > e.lastTs) e.lastTs = a.ts;
    if (e.evidence.length < MAX_REFS) e.evidence.push(ref(a));
  }

  return {
    controllers: assets.filter(isController).map((a) => a.ip),
    plcWriters: [...writers.values()]
      .map(({ set, ...w }) => w)
      .sort((a, b) => b.writers.length - a.writers.length || (a.ip < b.ip ? -1 : 1)),
    opcuaUnsecured: [...opcua.values()].map(({ ruleSet, ...o }) => ({ ...o, rules: [...ruleSet].sort() })),
    vulnerableFirmware: vulnerable,
    engineering: [...engineering.values()].sort((a, b) => b.count - a.count || (a.ruleId < b.ruleId ? -1 : 1)),
  };
}

export { SEVERITY_RANK };
