/**
 * Builders of wire items and ingest messages for the store's tests and measurements: realistic shapes (the same
 * fields the sensor sends, see protocols/wire/messages.ts), deterministic content.
 */
import type { AlertItem, AssetItem, HealthItem, StatsItem } from '../../protocols/wire/messages.ts';
import type { Enterprise, IngestMessage, Level } from './types.ts';

export function enterprise(
  id: string,
  province: string,
  more: Partial<Omit<Enterprise, 'id' | 'province' | 'createdAt' | 'updatedAt'>> = {},
): Omit<Enterprise, 'createdAt' | 'updatedAt'> {
  return {
    id,
    name: more.name ?? `企业 ${id}`,
    province,
    city: more.city ?? `${province}-city`,
    industry: more.industry ?? 'chemicals',
    class: more.class ?? 'networked_industrial',
    grade: more.grade ?? 2,
    contacts: more.contacts ?? [{ name: '张三', role: '安全负责人', phone: '13800000000' }],
    maintenanceWindows: more.maintenanceWindows ?? ['Sat 02:00-06:00'],
  };
}

/** Packet time in the sensor's format (ISO with microseconds). */
export function eventTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 23)}000Z`;
}

export interface AlertSpec {
  sensor: string;
  /** Makes the event id (`<rule>@<flow>:<n>`). */
  n: number;
  tsMs: number;
  rule?: string;
  level?: Level;
  proto?: string;
  serverIp?: string;
}

export function alertItem(spec: AlertSpec): AlertItem {
  const rule = spec.rule ?? 'modbus-write';
  const flow = `f${spec.n % 97}`;
  return {
    v: 1,
    kind: 'alert',
    id: `${rule}@${flow}:${spec.n}`,
    sensor: spec.sensor,
    flow,
    ts: eventTime(spec.tsMs),
    tsNs: (spec.tsMs % 1000) * 1_000_000,
    client: { ip: '10.0.0.5', port: 40000 + (spec.n % 20000) },
    server: { ip: spec.serverIp ?? '10.0.0.10', port: 502 },
    proto: spec.proto ?? 'modbus',
    alert: {
      rule: {
        id: rule,
        title: `Rule ${rule}`,
        level: spec.level ?? 'high',
        status: 'stable',
        tags: ['attack.ics', 'attack.t0836'],
      },
      count: 1,
      matched: { func: 6, funcName: 'Write Single Register', address: spec.n % 100 },
    },
  };
}

export function assetItem(
  sensor: string,
  ip: string,
  firstSeenMs: number,
  lastSeenMs: number,
  opts: { role?: string; vendor?: string; changeIds?: string[] } = {},
): AssetItem {
  return {
    asset: {
      ip,
      role: opts.role ?? 'plc',
      firstSeen: eventTime(firstSeenMs),
      lastSeen: eventTime(lastSeenMs),
      identity: { vendor: { value: opts.vendor ?? 'Siemens', evidence: 'szl 0x0011' } },
    },
    changes: (opts.changeIds ?? []).map((id) => ({
      v: 1 as const,
      kind: 'asset.change' as const,
      id,
      sensor,
      flow: 'f1',
      ts: eventTime(lastSeenMs),
      tsNs: 0,
      client: { ip: '10.0.0.5', port: 40000 },
      server: { ip, port: 102 },
      proto: 's7comm',
      asset: { ip, change: 'new' },
    })),
  };
}

export function healthItem(tsMs: number, packets = 1000): HealthItem {
  return {
    ts: eventTime(tsMs),
    uptimeSec: 60,
    versions: { sensor: '0.1.0', wire: 1, events: 1, node: 'v20' },
    capture: { source: 'live', name: 'eth1', packets, bytes: packets * 80, drops: 0, kernelDrops: 0 },
    parse: { modbus: { pdus: packets, malformed: 0, gapBytes: 0 } },
    flows: { active: 3, evicted: 0 },
    outbox: {
      depthMessages: 0,
      depthBytes: 0,
      capBytes: 1 << 20,
      dropped: {},
      droppedSinceLast: {},
      published: 10,
      acked: 10,
      retries: 0,
    },
    rules: { loaded: 40, alerts: 2 },
    clock: { offsetMs: 1, rttMs: 2 },
  };
}

export function statsItem(fromMs: number, toMs: number, protocols: Record<string, number>): StatsItem {
  return {
    from: eventTime(fromMs),
    to: eventTime(toMs),
    packets: 100,
    bytes: 8000,
    protocols: Object.fromEntries(Object.entries(protocols).map(([p, pdus]) => [p, { pdus, functions: {} }])),
  };
}

export interface Identity {
  province: string;
  enterprise: string;
  sensor: string;
}

export function message(
  id: Identity,
  seq: number,
  body: Pick<IngestMessage, 'alerts' | 'assets' | 'health' | 'stats'>,
  opts: { drill?: boolean; receivedAt?: string } = {},
): IngestMessage {
  const kind = body.alerts ? 'alert' : body.assets ? 'asset' : body.health ? 'health' : 'stats';
  return {
    ...id,
    seq,
    drill: opts.drill ?? false,
    receivedAt: opts.receivedAt ?? new Date().toISOString(),
    kind,
    ...body,
  };
}
