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

export interface EvidenceRef {
  kind: string;
  id: string;
  label?: string;
}

export interface RiskContribution {
  factor: string;
  points: number;
  weight: number;
  measure: number;
  detail: string;
  detailZh: string;
  evidence: EvidenceRef[];
}

export interface RiskScore {
  enterpriseId: string;
  province: string;
  score: number;
  computedAt: string;
  contributions: RiskContribution[];
}

export const WARNING_LEVELS = ['blue', 'yellow', 'orange', 'red'] as const;
export type WarningLevel = (typeof WARNING_LEVELS)[number];
export const WARNING_STATES = ['issued', 'acknowledged', 'closed'] as const;
export type WarningState = (typeof WARNING_STATES)[number];

export interface WarningFact {
  kind: string;
  enterpriseId: string | null;
  text: string;
  textZh: string;
  evidence: EvidenceRef[];
}

export interface Warning {
  id: string;
  ruleId: string;
  title: { zh: string; en: string };
  description: string;
  level: WarningLevel;
  province: string;
  audience: { province: string; cities?: string[]; industries?: string[]; enterprises?: string[] };
  targets: { enterpriseId: string; ackAt: string | null; ackBy: string | null; ackNote: string | null }[];
  facts: WarningFact[];
  issuedAt: string;
  issuedBy: string;
  state: WarningState;
  closedAt: string | null;
  closedBy: string | null;
  closeNote: string | null;
  drill: boolean;
}

export const BULLETIN_PERIODS = ['daily', 'weekly', 'monthly', 'custom'] as const;
export type BulletinPeriod = (typeof BULLETIN_PERIODS)[number];

export interface BulletinSummary {
  id: string;
  lang: string;
  drill: boolean;
  audience: { province: string; city?: string; industry?: string; enterprise?: string };
  period: { kind: string; from: string; to: string };
  generatedAt: string;
  links: { json: string; md: string; html: string; pdf: string };
}

/** The signed evidence pack as one JSON file (docs/evidence-packs.md). */
export interface PackBundle {
  format: string;
  manifest: string;
  signature: string;
  files: Record<string, string>;
}

export interface GradingFlag {
  rule: string;
  title: { zh: string; en: string };
  declaredGrade: 1 | 2 | 3;
  suggestedGrade: 1 | 2 | 3 | null;
  declaredClass: string;
  suggestedClass: string | null;
  observed: { zh: string; en: string };
  evidence: EvidenceRef[];
}
