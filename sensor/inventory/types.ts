/**
 * The asset inventory's record shapes (what `otsensor read --inventory` prints and the collector will store).
 * Every identity fact carries its evidence: which message of which protocol, which sensor, when, on which flow.
 */

/** Where a fact came from. */
export interface Evidence {
  protocol: string;
  /** The message that carried it, e.g. "S7 SZL 0x0011 index 0x0001 response". */
  message: string;
  sensor: string;
  /** Packet time (ISO-8601 UTC, microseconds). */
  ts: string;
  flow: string;
  /** Id of the event that carried it. */
  event: string;
}

/** One identity field: its current value, the evidence of its first sighting, and how often it was confirmed. */
export interface IdentityValue {
  value: string;
  evidence: Evidence;
  /** Packet time of the latest sighting of the same value. */
  lastSeen: string;
  seen: number;
  /** Modbus unit id the value was read from (Modbus identity only). */
  unit?: number;
  /** The value it replaced, when it changed. */
  previous?: { value: string; evidence: Evidence; lastSeen: string };
}

/** An OPC UA ApplicationDescription seen for this asset. */
export interface OpcuaApplication {
  applicationUri: string;
  productUri: string | null;
  applicationName: string | null;
  applicationType: string | null;
  /** Whether the asset was the server or the client of the flow that described it. */
  side: 'server' | 'client';
  evidence: Evidence;
}

/** Facts of an X.509 certificate the asset presented (OPC UA OpenSecureChannel). */
export interface CertificateFacts {
  thumbprint: string;
  subject: string | null;
  issuer: string | null;
  validFrom: string | null;
  validTo: string | null;
  serialNumber: string | null;
  applicationUri: string | null;
  selfSigned: boolean | null;
  keyType: string | null;
  keyBits: number | null;
  /** Outside its validity at the packet time it was seen. */
  expiredWhenSeen: boolean | null;
  evidence: Evidence;
}

export const ROLE_NAMES = [
  'plc',
  'hmi',
  'engineering_workstation',
  'opcua_server',
  'opcua_client',
  'historian',
  'unknown',
] as const;
export type RoleName = (typeof ROLE_NAMES)[number];

export interface RoleGuess {
  role: RoleName;
  /** 0..1 */
  confidence: number;
  reasons: string[];
}

export interface ServiceRecord {
  proto: string;
  port: number;
}

export interface AdvisoryMatch {
  advisory: string;
  title: string;
  vendor: string;
  product: string;
  cve: string[];
  cnvd: string[];
  severity: string;
  /** `affected`: product and version in the range; `version_unknown`: product matches, no version seen. */
  status: 'affected' | 'version_unknown';
  matchedOn: Record<string, string>;
  version: string | null;
  affected: string;
  source: string;
  confidence: string;
}

export interface AssetRecord {
  ip: string;
  /** Attributed MAC (null when unseen, all-zero, or only a gateway's MAC was seen in front of this IP). */
  mac: string | null;
  /** Vendor of `mac` from the IEEE OUI registry. */
  macVendor: string | null;
  macs: { mac: string; vendor: string | null; gateway: boolean; firstSeen: string; lastSeen: string }[];
  vlans: number[];
  firstSeen: string;
  lastSeen: string;
  role: RoleName;
  roles: RoleGuess[];
  protocols: string[];
  served: ServiceRecord[];
  used: ServiceRecord[];
  /** Peer IP → protocol → event count. */
  peers: Record<string, Record<string, number>>;
  identity: Record<string, IdentityValue>;
  applications: OpcuaApplication[];
  certificates: CertificateFacts[];
  advisories: AdvisoryMatch[];
  /** Activity counters the roles were inferred from (as client / as server). */
  activity: Record<string, number>;
}

export interface InventorySnapshot {
  generatedAt: string | null;
  assets: AssetRecord[];
  /** MACs seen in front of several IPs (routers / gateways): not attributed to those IPs. */
  gatewayMacs: { mac: string; vendor: string | null; ips: string[] }[];
  /** Applications a discovery server listed (FindServers), not tied to an IP. */
  discoveredApplications: (OpcuaApplication & { reportedBy: string; discoveryUrls: string[] })[];
  stats: InventoryStats;
}

export interface InventoryStats {
  events: number;
  assets: number;
  assetsDropped: number;
  peersDropped: number;
  applicationsDropped: number;
  changeEvents: number;
}
