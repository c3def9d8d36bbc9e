/**
 * Shapes the dashboard reads from the API (docs/api.md). Declared here rather than imported from the collector so
 * the browser bundle never pulls server code; the browser tests run against the real API, which keeps them honest.
 */
export const LEVELS = ['informational', 'low', 'medium', 'high', 'critical'] as const;
export type Level = (typeof LEVELS)[number];
export type Role = 'province-admin' | 'province-analyst' | 'enterprise' | 'assessor';

export type Scope =
  | { kind: 'all' }
  | { kind: 'province'; province: string }
  | { kind: 'enterprises'; enterprises: string[] };

export interface Me {
  token: { id: string; label: string; role: Role; province: string | null; enterprises: string[] };
  scope: Scope;
}

export interface Enterprise {
  id: string;
  name: string;
  province: string;
  city: string;
  industry: string;
  class: string;
  classZh: string;
  grade: 1 | 2 | 3;
}

export interface Endpoint {
  ip: string;
  port: number;
  mac?: string;
}

export interface AlertEvent {
  id: string;
  sensor: string;
  flow: string;
  ts: string;
  tsNs?: number;
  client: Endpoint;
  server: Endpoint;
  proto: string;
  alert: {
    rule: { id: string; title: string; level: Level; status: string; tags: string[] };
    count: number;
    matched: Record<string, unknown>;
  };
  [field: string]: unknown;
}

export interface Alert {
  uid: string;
  eventId: string;
  enterpriseId: string;
  sensorId: string;
  province: string;
  ts: string;
  receivedAt: string;
  ruleId: string;
  ruleTitle: string;
  level: Level;
  tags: string[];
  protocol: string;
  clientIp: string;
  serverIp: string;
  serverPort: number;
  count: number;
  drill: boolean;
  /** Absent on live events (fetched with the alert detail). */
  event?: AlertEvent;
  /** Set once the enterprise (or its province admin) resolved the alert. */
  resolution?: { resolvedAt: string; resolvedBy: string; note: string } | null;
}

export interface Evidence {
  protocol: string;
  message: string;
  sensor: string;
  ts: string;
  flow: string;
  event: string;
}

export interface IdentityValue {
  value: string;
  evidence: Evidence;
  lastSeen: string;
  seen: number;
  unit?: number;
}

export interface AssetRecord {
  ip: string;
  mac: string | null;
  macVendor: string | null;
  role: string;
  roles: { role: string; confidence: number; reasons: string[] }[];
  protocols: string[];
  served: { proto: string; port: number }[];
  used: { proto: string; port: number }[];
  peers: Record<string, Record<string, number>>;
  identity: Record<string, IdentityValue>;
  advisories: {
    advisory: string;
    title: string;
    cve: string[];
    cnvd: string[];
    severity: string;
    status: string;
  }[];
  activity: Record<string, number>;
  firstSeen: string;
  lastSeen: string;
}

export interface Asset {
  enterpriseId: string;
  ip: string;
  sensorId: string;
  role: string;
  firstSeen: string;
  lastSeen: string;
  record: AssetRecord;
}

export interface Health {
  ts: string;
  uptimeSec: number;
  versions: { sensor: string; wire: number; events: number; node: string };
  capture: { source: string; name: string; packets: number; bytes: number; drops: number; kernelDrops: number | null };
  parse: Record<string, { pdus: number; malformed: number; gapBytes: number }>;
  flows: { active: number; evicted: number };
  outbox: {
    depthMessages: number;
    depthBytes: number;
    capBytes: number;
    dropped: Record<string, { messages: number; items: number }>;
    published: number;
    acked: number;
    retries: number;
  };
  clock: { offsetMs: number | null; rttMs: number | null };
}

export interface Sensor {
  id: string;
  enterpriseId: string;
  province: string;
  name: string;
  lastHealth: Health | null;
  lastSeenAt: string | null;
  lastSeq: number;
}

export interface PageResult<T> {
  items: T[];
  nextCursor: string | null;
}

export interface AggregateRow {
  key: string;
  count: number;
}
