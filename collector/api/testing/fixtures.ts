/**
 * A small province for the API tests, stored in a real SQLite store through the store's own methods and
 * `store.ingest()`: two enterprises in province `zhejiang` (A: acme-chem, B: bolt-power), one in `jiangsu`
 * (C: coast-port), a sensor each, alerts, assets with changes, health and stats, and one token per role.
 *
 * The alert and asset items are modelled on what `otsensor read ../shared/pcaps/icsnpp-s7comm__snap7.pcap --alerts`
 * and `icsnpp-modbus__modbus_example.pcap` print (rule ids, titles, levels, tags, matched fields, inventory record
 * shape), re-addressed per enterprise so that every enterprise's rows are recognisable in a response body.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AlertItem, AssetItem, HealthItem, StatsItem } from '../../../protocols/wire/messages.ts';
import { openStore } from '../../store/open.ts';
import type { ApiToken, CollectorStore, IngestMessage, Role } from '../../store/types.ts';

export interface TestStore {
  store: CollectorStore;
  dir: string;
  close(): Promise<void>;
}

/** A real SQLite store in a fresh temporary directory (migrated). */
export async function openTestStore(): Promise<TestStore> {
  const dir = mkdtempSync(join(tmpdir(), 'otcollector-api-'));
  const store = await openStore(`sqlite:${join(dir, 'store.db')}`);
  return {
    store,
    dir,
    async close() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface EnterpriseFixture {
  id: string;
  province: string;
  city: string;
  industry: string;
  sensor: string;
  /** Network the enterprise's devices sit in (distinct per enterprise, so asset IPs identify their owner). */
  net: string;
}

export const A: EnterpriseFixture = {
  id: 'acme-chem',
  province: 'zhejiang',
  city: 'hangzhou',
  industry: 'chemicals',
  sensor: 'acme-s1',
  net: '10.11.0',
};
export const B: EnterpriseFixture = {
  id: 'bolt-power',
  province: 'zhejiang',
  city: 'ningbo',
  industry: 'power',
  sensor: 'bolt-s1',
  net: '10.22.0',
};
export const C: EnterpriseFixture = {
  id: 'coast-port',
  province: 'jiangsu',
  city: 'nantong',
  industry: 'ports',
  sensor: 'coast-s1',
  net: '10.33.0',
};

const BASE_MS = Date.parse('2024-05-06T08:00:00Z');

function time(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 23)}000Z`;
}

/** S7 SZL identification read (rule ot.s7.szl_identification, as the snap7 capture raises it). */
function s7SzlAlert(e: EnterpriseFixture, n: number, tsMs: number): AlertItem {
  const flow = `${e.id}-f${n}`;
  return {
    v: 1,
    kind: 'alert',
    id: `ot.s7.szl_identification@${flow}:${n}`,
    sensor: e.sensor,
    flow,
    ts: time(tsMs),
    tsNs: (tsMs % 1000) * 1_000_000,
    client: { ip: `${e.net}.131`, port: 51212, mac: '00:0c:29:c1:49:92' },
    server: { ip: `${e.net}.211`, port: 102, mac: '00:0e:8c:d0:f9:cb' },
    proto: 's7comm',
    alert: {
      rule: {
        id: 'ot.s7.szl_identification',
        title: 'S7 SZL identification read',
        level: 'low',
        status: 'stable',
        tags: ['attack.t0888', 'attack.t0846'],
      },
      count: 1,
      matched: { 'request.userdata.szlId': '0x0011' },
    },
  };
}

/** S7 PLC stop (a high-level engineering action), same capture family. */
function s7StopAlert(e: EnterpriseFixture, n: number, tsMs: number): AlertItem {
  const flow = `${e.id}-f${n}`;
  return {
    v: 1,
    kind: 'alert',
    id: `ot.s7.plc_stop@${flow}:${n}`,
    sensor: e.sensor,
    flow,
    ts: time(tsMs),
    tsNs: (tsMs % 1000) * 1_000_000,
    client: { ip: `${e.net}.131`, port: 51213 },
    server: { ip: `${e.net}.211`, port: 102 },
    proto: 's7comm',
    alert: {
      rule: { id: 'ot.s7.plc_stop', title: 'S7 PLC stop', level: 'high', status: 'stable', tags: ['attack.t0881'] },
      count: 1,
      matched: { func: 41 },
    },
  };
}

/** Modbus Write Single Coil (rule ot.modbus.write_single_coil, as the modbus_example capture raises it). */
function modbusWriteAlert(e: EnterpriseFixture, n: number, tsMs: number): AlertItem {
  const flow = `${e.id}-m${n}`;
  return {
    v: 1,
    kind: 'alert',
    id: `ot.modbus.write_single_coil@${flow}:${n}`,
    sensor: e.sensor,
    flow,
    ts: time(tsMs),
    tsNs: (tsMs % 1000) * 1_000_000,
    client: { ip: `${e.net}.50`, port: 47785 },
    server: { ip: `${e.net}.60`, port: 502 },
    proto: 'modbus',
    alert: {
      rule: {
        id: 'ot.modbus.write_single_coil',
        title: 'Modbus Write Single Coil (FC 5)',
        level: 'medium',
        status: 'stable',
        tags: ['attack.t0855', 'attack.t0831'],
      },
      count: 1,
      matched: { func: 5 },
    },
  };
}

/** The PLC of the snap7 capture as the inventory describes it, with the change that made it new. */
function plcAsset(e: EnterpriseFixture, tsMs: number): AssetItem {
  const ip = `${e.net}.211`;
  // Built apart from the item: the wire schema leaves the record open, so the fields past ip/role/times/identity are
  // not in its static type.
  const record = {
    ip,
    mac: '00:0e:8c:d0:f9:cb',
    macVendor: 'Siemens AG',
    role: 'plc',
    roles: [{ role: 'plc', confidence: 0.95, reasons: ['serves s7comm on TCP 102'] }],
    protocols: ['s7comm'],
    firstSeen: time(tsMs),
    lastSeen: time(tsMs + 60_000),
    identity: {
      orderNumber: { value: '6ES7 315-2EH14-0AB0', evidence: 'S7 SZL 0x0011 index 0x0001 response' },
      firmware: { value: 'V3.2.7', evidence: 'S7 SZL 0x0011 index 0x0007 response' },
    },
  };
  return {
    asset: record,
    changes: [
      {
        v: 1,
        kind: 'asset.change',
        id: `asset.new@${e.id}-f1:1`,
        sensor: e.sensor,
        flow: `${e.id}-f1`,
        ts: time(tsMs),
        tsNs: 0,
        client: { ip: `${e.net}.131`, port: 51212 },
        server: { ip, port: 102 },
        proto: 's7comm',
        asset: { ip, change: 'new' },
      },
    ],
  };
}

function engineeringWorkstation(e: EnterpriseFixture, tsMs: number): AssetItem {
  return {
    asset: {
      ip: `${e.net}.131`,
      role: 'engineering_workstation',
      firstSeen: time(tsMs),
      lastSeen: time(tsMs + 60_000),
      identity: {},
    },
    changes: [],
  };
}

function health(tsMs: number): HealthItem {
  return {
    ts: time(tsMs),
    uptimeSec: 3600,
    versions: { sensor: '0.1.0', wire: 1, events: 1, node: 'v20.20.2' },
    capture: { source: 'live', name: 'eth1', packets: 120_000, bytes: 9_600_000, drops: 0, kernelDrops: 0 },
    parse: { s7comm: { pdus: 3300, malformed: 0, gapBytes: 0 }, modbus: { pdus: 800, malformed: 1, gapBytes: 0 } },
    flows: { active: 12, evicted: 0 },
    outbox: {
      depthMessages: 0,
      depthBytes: 0,
      capBytes: 256 * 1024 * 1024,
      dropped: {},
      droppedSinceLast: {},
      published: 40,
      acked: 40,
      retries: 0,
    },
    rules: { loaded: 62, alerts: 4 },
    clock: { offsetMs: 3, rttMs: 1 },
  };
}

function stats(fromMs: number): StatsItem {
  return {
    from: time(fromMs),
    to: time(fromMs + 60_000),
    packets: 5200,
    bytes: 410_000,
    protocols: {
      s7comm: { pdus: 3300, functions: { 'Read Var': 3000, 'Setup communication': 300 } },
      modbus: { pdus: 800, functions: { '5 Write Single Coil': 20, '3 Read Holding Registers': 780 } },
    },
  };
}

/** Every kind of message one enterprise's sensor sends. */
function messagesFor(e: EnterpriseFixture, offsetMs: number): IngestMessage[] {
  const id = { province: e.province, enterprise: e.id, sensor: e.sensor };
  const t = BASE_MS + offsetMs;
  const receivedAt = new Date(t + 2_000).toISOString();
  return [
    {
      ...id,
      seq: 1,
      drill: false,
      receivedAt,
      kind: 'alert',
      alerts: [s7SzlAlert(e, 1, t), s7StopAlert(e, 2, t + 1_000), modbusWriteAlert(e, 3, t + 3_600_000)],
    },
    { ...id, seq: 2, drill: false, receivedAt, kind: 'asset', assets: [plcAsset(e, t), engineeringWorkstation(e, t)] },
    { ...id, seq: 3, drill: false, receivedAt, kind: 'health', health: [health(t + 10_000)] },
    { ...id, seq: 4, drill: false, receivedAt, kind: 'stats', stats: [stats(t)] },
    // A drill alert: never counted unless asked for.
    { ...id, seq: 5, drill: true, receivedAt, kind: 'alert', alerts: [s7StopAlert(e, 9, t + 5_000)] },
  ];
}

export const ROLE_NAMES = [
  'admin',
  'analyst',
  'analyst-other',
  'admin-other',
  'enterprise-a',
  'enterprise-b',
  'assessor-a',
  'revoked',
] as const;
export type TokenName = (typeof ROLE_NAMES)[number];

export interface SeededWorld {
  tokens: Record<TokenName, { token: ApiToken; secret: string }>;
  /** Alert uids per enterprise id (real alerts, then drills). */
  alertUids: Record<string, string[]>;
  drillUids: Record<string, string[]>;
  enterprises: EnterpriseFixture[];
}

const TOKEN_SPECS: Record<TokenName, { role: Role; province: string | null; enterprises: string[] }> = {
  admin: { role: 'province-admin', province: A.province, enterprises: [] },
  analyst: { role: 'province-analyst', province: A.province, enterprises: [] },
  'analyst-other': { role: 'province-analyst', province: C.province, enterprises: [] },
  'admin-other': { role: 'province-admin', province: C.province, enterprises: [] },
  'enterprise-a': { role: 'enterprise', province: A.province, enterprises: [A.id] },
  'enterprise-b': { role: 'enterprise', province: B.province, enterprises: [B.id] },
  'assessor-a': { role: 'assessor', province: A.province, enterprises: [A.id] },
  revoked: { role: 'enterprise', province: A.province, enterprises: [A.id] },
};

/** Registers the enterprises and sensors, ingests their messages, issues one token per role (one revoked). */
export async function seedWorld(store: CollectorStore): Promise<SeededWorld> {
  const enterprises = [A, B, C];
  for (const [i, e] of enterprises.entries()) {
    await store.upsertEnterprise({
      id: e.id,
      name: `${e.city} ${e.industry} 有限公司`,
      province: e.province,
      city: e.city,
      industry: e.industry,
      class: i === 1 ? 'platform' : 'networked_industrial',
      grade: i === 0 ? 3 : 2,
      contacts: [{ name: '王工', role: '网络安全负责人', phone: '13900000000', email: `security@${e.id}.example.cn` }],
      maintenanceWindows: ['Sat 02:00-06:00'],
    });
    await store.upsertSensor({ id: e.sensor, enterpriseId: e.id, name: `${e.id} core switch SPAN` });
  }
  const messages = enterprises.flatMap((e, i) => messagesFor(e, i * 60_000));
  const result = await store.ingest(messages);
  if (result.alertsInserted !== 12) throw new Error(`fixture ingest stored ${result.alertsInserted} alerts, not 12`);

  const alertUids: Record<string, string[]> = {};
  const drillUids: Record<string, string[]> = {};
  for (const e of enterprises) {
    const scope = { kind: 'all' } as const;
    const real = await store.listAlerts(scope, { enterpriseId: e.id }, { limit: 100 });
    const drills = await store.listAlerts(scope, { enterpriseId: e.id, drillOnly: true }, { limit: 100 });
    alertUids[e.id] = real.items.map((a) => a.uid);
    drillUids[e.id] = drills.items.map((a) => a.uid);
  }

  const tokens = {} as SeededWorld['tokens'];
  for (const name of ROLE_NAMES) {
    tokens[name] = await store.createToken({ label: `test ${name}`, ...TOKEN_SPECS[name] });
  }
  await store.revokeToken(tokens.revoked.token.id);
  return { tokens, alertUids, drillUids, enterprises };
}

/** Header for a token's secret. */
export function bearer(secret: string): { authorization: string } {
  return { authorization: `Bearer ${secret}` };
}
