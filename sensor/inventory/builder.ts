/**
 * The passive asset inventory: a pure class fed with schema-v1 events (in packet-time order), building one record
 * per IP with MACs, vendor (OUI), VLANs, services served and used, peers per protocol, first/last seen, identity
 * with evidence, OPC UA applications and certificates, roles and advisory matches. Changes (new asset, new MAC,
 * identity changed, new master, not seen, advisory match) are handed to `onChange` as `asset.change` events.
 *
 * It runs on the event path (only when someone wants events or an inventory), not per packet: plain Maps are fine.
 */
import type { AssetChangeEvent, SensorEvent } from '../../protocols/wire/events.ts';
import { activityOf } from './activity.ts';
import { type Advisory, AdvisoryMatcher, loadAdvisories, type MatchSubject } from './advisories.ts';
import { identityOf } from './identity.ts';
import { isNullMac, lookupMacVendor } from './oui.ts';
import { DEFAULT_ROLE_OPTIONS, inferRoles, type RoleOptions } from './roles.ts';
import type {
  AdvisoryMatch,
  AssetRecord,
  CertificateFacts,
  Evidence,
  IdentityValue,
  InventorySnapshot,
  InventoryStats,
  OpcuaApplication,
  RoleGuess,
  ServiceRecord,
} from './types.ts';

export interface InventoryOptions {
  /** Most assets kept; events about further IPs are counted in `stats.assetsDropped` and otherwise ignored. */
  maxAssets?: number;
  /** Most peers remembered per asset (further ones counted in `stats.peersDropped`). */
  maxPeersPerAsset?: number;
  /** Most OPC UA applications / certificates / discovered applications kept per asset. */
  maxApplicationsPerAsset?: number;
  /** A MAC seen in front of this many IPs of one address family is a router/gateway's, attributed to none. */
  gatewayMacMinIps?: number;
  /** Seconds without any event after which an asset is reported `not_seen` (once, until it shows up again). */
  notSeenAfterSec?: number;
  /** Masters seen within this many seconds of a controller's first sighting are its baseline, not `new_master`. */
  newMasterLearningSec?: number;
  /** Advisories to match (default: data/advisories/advisories.json). */
  advisories?: readonly Advisory[];
  roles?: RoleOptions;
  /** Receives every change event (ids are deterministic: `<cause event id>:asset:<n>`). */
  onChange?: (event: AssetChangeEvent) => void;
}

/** Fields whose change is reported as `identity_changed` (single-valued facts of one device). */
const TRACKED_FIELDS = new Set([
  'orderNumber',
  'firmwareVersion',
  'hardwareVersion',
  'moduleName',
  'moduleType',
  'plcName',
  'serialNumber',
  'vendor',
  'productCode',
  'revision',
  'productName',
  'modelName',
  'serverId',
]);

/** Fields that mark a controller (used for the PLC role's confidence and the advisory match). */
const CONTROLLER_FIELDS = ['orderNumber', 'moduleType', 'productCode', 'modelName', 'productName'] as const;

const CONTROLLER_PROTOCOLS = new Set(['s7comm', 's7comm-plus', 'modbus']);

interface MacSighting {
  firstSeen: string;
  lastSeen: string;
}

class AssetState {
  firstSeen: string;
  lastSeen: string;
  firstSec: number;
  lastSec: number;
  lastEvent: SensorEvent;
  readonly macs = new Map<string, MacSighting>();
  readonly vlans = new Set<number>();
  readonly served = new Map<string, ServiceRecord>();
  readonly used = new Map<string, ServiceRecord>();
  readonly peers = new Map<string, Map<string, number>>();
  readonly identity = new Map<string, IdentityValue>();
  readonly applications = new Map<string, OpcuaApplication>();
  readonly certificates = new Map<string, CertificateFacts>();
  readonly activity = new Map<string, number>();
  /** Protocol → client IPs that sent it requests (controllers only). */
  readonly masters = new Map<string, Set<string>>();
  advisories: AdvisoryMatch[] = [];
  notSeenReported = false;

  constructor(
    readonly ip: string,
    e: SensorEvent,
    sec: number,
  ) {
    this.firstSeen = e.ts;
    this.lastSeen = e.ts;
    this.firstSec = sec;
    this.lastSec = sec;
    this.lastEvent = e;
  }
}

function eventSec(ts: string): number {
  const ms = Date.parse(ts);
  return Number.isNaN(ms) ? 0 : ms / 1000;
}

function isIpv6(ip: string): boolean {
  return ip.includes(':');
}

/** Private, loopback or link-local: an address that is on this site's own networks. */
export function isLocalAddress(ip: string): boolean {
  if (isIpv6(ip)) {
    const l = ip.toLowerCase();
    return l === '::1' || l.startsWith('fe80') || l.startsWith('fc') || l.startsWith('fd');
  }
  const p = ip.split('.').map(Number);
  const [a = 0, b = 0] = p;
  return (
    a === 10 ||
    a === 127 ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 169 && b === 254) ||
    (a === 100 && b >= 64 && b <= 127)
  );
}

export class InventoryBuilder {
  private readonly assets = new Map<string, AssetState>();
  /** MAC → IPs seen behind it (per family), capped at the gateway threshold. */
  private readonly macIps = new Map<string, { v4: Set<string>; v6: Set<string> }>();
  /** MACs seen in front of a global address talking to a local one: a router's, not the remote host's. */
  private readonly routedMacs = new Set<string>();
  private readonly discovered = new Map<string, InventorySnapshot['discoveredApplications'][number]>();
  private readonly matcher: AdvisoryMatcher;
  private readonly vendorCache = new Map<string, string | null>();
  private readonly maxAssets: number;
  private readonly maxPeers: number;
  private readonly maxApps: number;
  private readonly gatewayMinIps: number;
  private readonly notSeenAfterSec: number;
  private readonly learningSec: number;
  private readonly roleOptions: RoleOptions;
  private readonly onChange: ((event: AssetChangeEvent) => void) | null;
  private changeCounter = new Map<string, number>();
  private lastTs: string | null = null;
  private lastSec = 0;

  readonly stats: InventoryStats = {
    events: 0,
    assets: 0,
    assetsDropped: 0,
    peersDropped: 0,
    applicationsDropped: 0,
    changeEvents: 0,
  };

  constructor(options: InventoryOptions = {}) {
    this.maxAssets = options.maxAssets ?? 10_000;
    this.maxPeers = options.maxPeersPerAsset ?? 256;
    this.maxApps = options.maxApplicationsPerAsset ?? 32;
    this.gatewayMinIps = options.gatewayMacMinIps ?? 2;
    this.notSeenAfterSec = options.notSeenAfterSec ?? 3600;
    this.learningSec = options.newMasterLearningSec ?? 60;
    this.roleOptions = options.roles ?? DEFAULT_ROLE_OPTIONS;
    this.onChange = options.onChange ?? null;
    this.matcher = new AdvisoryMatcher(options.advisories ?? loadAdvisories());
  }

  /** Feeds one event (its own `asset.change` events are ignored). */
  ingest(e: SensorEvent): void {
    if (e.kind === 'asset.change') return;
    this.stats.events++;
    const sec = eventSec(e.ts);
    if (this.lastTs === null || e.ts > this.lastTs) {
      this.lastTs = e.ts;
      this.lastSec = sec;
    }
    const proto = e.proto;
    const client = this.touch(e.client.ip, e, sec);
    const server = e.server.ip === e.client.ip ? client : this.touch(e.server.ip, e, sec);
    this.noteMac(client, e.client.mac, e.server.ip, e);
    if (server !== client) this.noteMac(server, e.server.mac, e.client.ip, e);

    if (server !== null) this.addService(server.served, proto, e.server.port);
    if (client !== null) this.addService(client.used, proto, e.server.port);
    if (client !== null && server !== null && client !== server) {
      this.addPeer(client, e.server.ip, proto);
      this.addPeer(server, e.client.ip, proto);
    }

    const act = activityOf(e);
    if (act.client !== null && client !== null)
      client.activity.set(act.client, (client.activity.get(act.client) ?? 0) + 1);
    if (act.server !== null && server !== null)
      server.activity.set(act.server, (server.activity.get(act.server) ?? 0) + 1);
    if (act.client !== null && server !== null && client !== server && CONTROLLER_PROTOCOLS.has(proto)) {
      this.noteMaster(server, e.client.ip, proto, e, sec);
    }

    this.applyIdentity(e, client, server);
    if (sec - this.lastSweepSec >= 60) this.sweep(sec, e.ts);
  }

  private lastSweepSec = 0;

  /** Reports assets silent for longer than `notSeenAfterSec` at packet time `nowSec` (once each). */
  sweep(nowSec: number = this.lastSec, nowTs: string | null = this.lastTs): void {
    this.lastSweepSec = nowSec;
    if (nowTs === null) return;
    for (const a of this.assets.values()) {
      if (a.notSeenReported || nowSec - a.lastSec < this.notSeenAfterSec) continue;
      a.notSeenReported = true;
      const silent = Math.round(nowSec - a.lastSec);
      this.change(a.lastEvent, `asset:${a.ip}:not_seen:${nowTs}`, nowTs, {
        change: 'not_seen',
        ip: a.ip,
        role: this.topRole(a).role,
        lastSeen: a.lastSeen,
        silentSec: silent,
        detail: `${a.ip} not seen for ${silent} s (threshold ${this.notSeenAfterSec} s)`,
      });
    }
  }

  private touch(ip: string, e: SensorEvent, sec: number): AssetState | null {
    let a = this.assets.get(ip);
    if (a === undefined) {
      if (this.assets.size >= this.maxAssets) {
        this.stats.assetsDropped++;
        return null;
      }
      a = new AssetState(ip, e, sec);
      this.assets.set(ip, a);
      this.stats.assets++;
      const side = e.client.ip === ip ? e.client : e.server;
      this.emitFor(e, {
        change: 'new_asset',
        ip,
        mac: side.mac !== undefined && !isNullMac(side.mac) ? side.mac : null,
        macVendor: side.mac !== undefined ? this.vendorOf(side.mac) : null,
        side: e.client.ip === ip ? 'client' : 'server',
        protocol: e.proto,
        port: e.server.port,
        detail: `new asset ${ip} (${e.proto} ${e.client.ip === ip ? 'client' : 'server'})`,
      });
    } else {
      if (e.ts > a.lastSeen) {
        a.lastSeen = e.ts;
        a.lastSec = sec;
        a.lastEvent = e;
      }
      if (e.ts < a.firstSeen) {
        a.firstSeen = e.ts;
        a.firstSec = sec;
      }
      a.notSeenReported = false;
    }
    if (e.vlan !== undefined) a.vlans.add(e.vlan);
    return a;
  }

  private vendorOf(mac: string): string | null {
    let v = this.vendorCache.get(mac);
    if (v === undefined) {
      v = lookupMacVendor(mac);
      this.vendorCache.set(mac, v);
    }
    return v;
  }

  private isGatewayMac(mac: string): boolean {
    if (this.routedMacs.has(mac)) return true;
    const s = this.macIps.get(mac);
    return s !== undefined && (s.v4.size >= this.gatewayMinIps || s.v6.size >= this.gatewayMinIps);
  }

  private noteMac(a: AssetState | null, mac: string | undefined, peerIp: string, e: SensorEvent): void {
    if (a === null || mac === undefined || isNullMac(mac)) return;
    let ips = this.macIps.get(mac);
    if (ips === undefined) {
      ips = { v4: new Set(), v6: new Set() };
      this.macIps.set(mac, ips);
    }
    const fam = isIpv6(a.ip) ? ips.v6 : ips.v4;
    // Once a MAC is known to front several IPs, more of them add nothing: cap the set.
    if (fam.size < this.gatewayMinIps) fam.add(a.ip);
    if (!isLocalAddress(a.ip) && isLocalAddress(peerIp)) this.routedMacs.add(mac);
    const known = a.macs.get(mac);
    if (known !== undefined) {
      if (e.ts > known.lastSeen) known.lastSeen = e.ts;
      return;
    }
    const previous = [...a.macs.keys()].filter((m) => !this.isGatewayMac(m));
    a.macs.set(mac, { firstSeen: e.ts, lastSeen: e.ts });
    if (previous.length > 0 && !this.isGatewayMac(mac)) {
      this.emitFor(e, {
        change: 'new_mac',
        ip: a.ip,
        role: this.topRole(a).role,
        mac,
        macVendor: this.vendorOf(mac),
        previousMacs: previous,
        detail: `${a.ip} now seen with MAC ${mac} (before: ${previous.join(', ')})`,
      });
    }
  }

  private addService(map: Map<string, ServiceRecord>, proto: string, port: number): void {
    const key = `${proto}/${port}`;
    if (!map.has(key)) map.set(key, { proto, port });
  }

  private addPeer(a: AssetState, peer: string, proto: string): void {
    let m = a.peers.get(peer);
    if (m === undefined) {
      if (a.peers.size >= this.maxPeers) {
        this.stats.peersDropped++;
        return;
      }
      m = new Map();
      a.peers.set(peer, m);
    }
    m.set(proto, (m.get(proto) ?? 0) + 1);
  }

  private noteMaster(plc: AssetState, master: string, proto: string, e: SensorEvent, sec: number): void {
    let set = plc.masters.get(proto);
    if (set === undefined) {
      set = new Set();
      plc.masters.set(proto, set);
    }
    if (set.has(master)) return;
    const known = [...set];
    if (set.size < this.maxPeers) set.add(master);
    if (sec - plc.firstSec <= this.learningSec) return;
    this.emitFor(e, {
      change: 'new_master',
      ip: plc.ip,
      role: this.topRole(plc).role,
      master,
      protocol: proto,
      knownMasters: known,
      detail: `new ${proto} master ${master} talking to ${plc.ip}${known.length > 0 ? ` (known: ${known.join(', ')})` : ''}`,
    });
  }

  private evidence(e: SensorEvent, protocol: string, message: string): Evidence {
    return { protocol, message, sensor: e.sensor, ts: e.ts, flow: e.flow, event: e.id };
  }

  private applyIdentity(e: SensorEvent, client: AssetState | null, server: AssetState | null): void {
    const id = identityOf(e);
    if (
      id.facts.length === 0 &&
      id.applications.length === 0 &&
      id.discovered.length === 0 &&
      id.certificates.length === 0
    )
      return;
    const touched = new Set<AssetState>();
    for (const f of id.facts) {
      const a = f.side === 'server' ? server : client;
      if (a === null) continue;
      touched.add(a);
      const ev = this.evidence(e, f.protocol, f.message);
      // Modbus identity is per unit: a gateway answers for several devices; keep other units' facts apart.
      let key = f.field;
      const existing = a.identity.get(key);
      if (f.unit !== undefined && existing !== undefined && existing.unit !== undefined && existing.unit !== f.unit)
        key = `${f.field}#unit${f.unit}`;
      const cur = a.identity.get(key);
      if (cur === undefined) {
        a.identity.set(key, {
          value: f.value,
          evidence: ev,
          lastSeen: ev.ts,
          seen: 1,
          ...(f.unit !== undefined ? { unit: f.unit } : {}),
        });
      } else if (cur.value === f.value) {
        cur.seen++;
        if (ev.ts > cur.lastSeen) cur.lastSeen = ev.ts;
      } else {
        const previous = { value: cur.value, evidence: cur.evidence, lastSeen: cur.lastSeen };
        a.identity.set(key, {
          value: f.value,
          evidence: ev,
          lastSeen: ev.ts,
          seen: 1,
          previous,
          ...(f.unit !== undefined ? { unit: f.unit } : {}),
        });
        if (TRACKED_FIELDS.has(f.field)) {
          this.emitFor(e, {
            change: 'identity_changed',
            ip: a.ip,
            role: this.topRole(a).role,
            field: key,
            previous: cur.value,
            current: f.value,
            evidence: ev,
            detail: `${a.ip} ${key} changed from '${cur.value}' to '${f.value}' (${f.message})`,
          });
        }
      }
    }
    for (const app of id.applications) {
      const a = app.side === 'server' ? server : client;
      if (a === null) continue;
      const key = `${app.side}|${app.app.applicationUri}`;
      if (a.applications.has(key)) continue;
      if (a.applications.size >= this.maxApps) {
        this.stats.applicationsDropped++;
        continue;
      }
      a.applications.set(key, { ...app.app, side: app.side, evidence: this.evidence(e, 'opcua', app.message) });
      touched.add(a);
    }
    for (const d of id.discovered) {
      if (this.discovered.has(d.app.applicationUri)) continue;
      if (this.discovered.size >= this.maxApps * 8) {
        this.stats.applicationsDropped++;
        continue;
      }
      this.discovered.set(d.app.applicationUri, {
        ...d.app,
        side: 'server',
        evidence: this.evidence(e, 'opcua', d.message),
        reportedBy: e.server.ip,
        discoveryUrls: d.discoveryUrls,
      });
    }
    for (const c of id.certificates) {
      const a = c.side === 'server' ? server : client;
      if (a === null || a.certificates.has(c.cert.thumbprint)) continue;
      if (a.certificates.size >= this.maxApps) {
        this.stats.applicationsDropped++;
        continue;
      }
      const expired =
        c.cert.validFrom !== null && c.cert.validTo !== null ? e.ts < c.cert.validFrom || e.ts > c.cert.validTo : null;
      a.certificates.set(c.cert.thumbprint, {
        ...c.cert,
        expiredWhenSeen: expired,
        evidence: this.evidence(e, 'opcua', c.message),
      });
    }
    for (const a of touched) this.rematch(a, e);
  }

  private matchSubject(a: AssetState): MatchSubject {
    const values = (fields: readonly string[]) => {
      const out: string[] = [];
      for (const [k, v] of a.identity) if (fields.includes(k.split('#')[0] ?? k)) out.push(v.value);
      return out;
    };
    const apps = [...a.applications.values()].filter((x) => x.side === 'server');
    const version = a.identity.get('firmwareVersion')?.value ?? a.identity.get('revision')?.value ?? null;
    return {
      orderNumbers: values(['orderNumber', 'hardwareOrderNumber']),
      vendorNames: values(['vendor']),
      productNames: [
        ...values(['productCode', 'productName', 'modelName', 'moduleType']),
        ...apps.map((x) => x.applicationName ?? '').filter((x) => x !== ''),
      ],
      productUris: apps.map((x) => x.productUri ?? '').filter((x) => x !== ''),
      version,
    };
  }

  private rematch(a: AssetState, e: SensorEvent): void {
    const matches = this.matcher.match(this.matchSubject(a));
    const before = new Map(a.advisories.map((m) => [m.advisory, m.status]));
    a.advisories = matches;
    for (const m of matches) {
      if (before.get(m.advisory) === m.status) continue;
      this.emitFor(e, {
        change: 'advisory_match',
        ip: a.ip,
        role: this.topRole(a).role,
        advisory: m.advisory,
        cve: m.cve,
        cnvd: m.cnvd,
        severity: m.severity,
        status: m.status,
        product: m.product,
        version: m.version,
        matchedOn: m.matchedOn,
        source: m.source,
        detail: `${a.ip} ${m.status === 'affected' ? 'runs a version affected by' : 'may be affected by'} ${m.advisory} (${m.cve.join(', ')}; ${m.severity})`,
      });
    }
  }

  private controllerIdentity(a: AssetState): string | null {
    for (const f of CONTROLLER_FIELDS) {
      const v = a.identity.get(f);
      if (v !== undefined) return `${f} ${v.value} (${v.evidence.message})`;
    }
    return null;
  }

  private rolesOf(a: AssetState): RoleGuess[] {
    return inferRoles(
      {
        activity: a.activity,
        served: [...a.served.values()],
        used: [...a.used.values()],
        controllerIdentity: this.controllerIdentity(a),
      },
      this.roleOptions,
    );
  }

  private topRole(a: AssetState): RoleGuess {
    return this.rolesOf(a)[0] ?? { role: 'unknown', confidence: 0, reasons: [] };
  }

  private emitFor(cause: SensorEvent, asset: Record<string, unknown>): void {
    const n = (this.changeCounter.get(cause.id) ?? 0) + 1;
    this.changeCounter.set(cause.id, n);
    // Only the latest cause's counter matters for unique ids; drop older ones so the map stays small.
    if (this.changeCounter.size > 64) this.changeCounter = new Map([[cause.id, n]]);
    this.change(cause, `${cause.id}:asset:${n}`, cause.ts, asset);
  }

  private change(cause: SensorEvent, id: string, ts: string, asset: Record<string, unknown>): void {
    this.stats.changeEvents++;
    if (this.onChange === null) return;
    const event: AssetChangeEvent = {
      v: cause.v,
      kind: 'asset.change',
      id,
      sensor: cause.sensor,
      flow: cause.flow,
      ts,
      tsNs: ts === cause.ts ? cause.tsNs : Number(ts.slice(20, 26)) * 1000 || 0,
      client: cause.client,
      server: cause.server,
      ...(cause.vlan !== undefined ? { vlan: cause.vlan } : {}),
      proto: cause.proto,
      asset,
    };
    this.onChange(event);
  }

  /** One asset's current record (the shape `snapshot()` lists), or null when the address is not (or no longer) known. */
  record(ip: string): AssetRecord | null {
    const a = this.assets.get(ip);
    return a === undefined ? null : this.recordOf(a);
  }

  private recordOf(a: AssetState): AssetRecord {
    const macs = [...a.macs.entries()].map(([mac, s]) => ({
      mac,
      vendor: this.vendorOf(mac),
      gateway: this.isGatewayMac(mac),
      firstSeen: s.firstSeen,
      lastSeen: s.lastSeen,
    }));
    const own = macs.filter((m) => !m.gateway).sort((x, y) => (x.lastSeen < y.lastSeen ? 1 : -1))[0];
    const roles = this.rolesOf(a);
    const protocols = new Set<string>();
    for (const s of a.served.values()) protocols.add(s.proto);
    for (const s of a.used.values()) protocols.add(s.proto);
    const peers: Record<string, Record<string, number>> = {};
    for (const ip of [...a.peers.keys()].sort(compareIps)) peers[ip] = Object.fromEntries(a.peers.get(ip) ?? []);
    return {
      ip: a.ip,
      mac: own?.mac ?? null,
      macVendor: own?.vendor ?? null,
      macs,
      vlans: [...a.vlans].sort((x, y) => x - y),
      firstSeen: a.firstSeen,
      lastSeen: a.lastSeen,
      role: roles[0]?.role ?? 'unknown',
      roles,
      protocols: [...protocols].sort(),
      served: sortServices(a.served),
      used: sortServices(a.used),
      peers,
      identity: Object.fromEntries([...a.identity.entries()].sort(([x], [y]) => x.localeCompare(y))),
      applications: [...a.applications.values()],
      certificates: [...a.certificates.values()],
      advisories: a.advisories,
      activity: Object.fromEntries([...a.activity.entries()].sort(([x], [y]) => x.localeCompare(y))),
    };
  }

  /** The inventory as plain JSON-ready records, assets sorted by address. */
  snapshot(): InventorySnapshot {
    const assets: AssetRecord[] = [];
    for (const a of this.assets.values()) assets.push(this.recordOf(a));
    assets.sort((x, y) => compareIps(x.ip, y.ip));
    const gatewayMacs: InventorySnapshot['gatewayMacs'] = [];
    for (const [mac, ips] of this.macIps) {
      if (!this.isGatewayMac(mac)) continue;
      gatewayMacs.push({ mac, vendor: this.vendorOf(mac), ips: [...ips.v4, ...ips.v6].sort(compareIps) });
    }
    return {
      generatedAt: this.lastTs,
      assets,
      gatewayMacs,
      discoveredApplications: [...this.discovered.values()],
      stats: { ...this.stats },
    };
  }
}

function sortServices(m: Map<string, ServiceRecord>): ServiceRecord[] {
  return [...m.values()].sort((x, y) => x.proto.localeCompare(y.proto) || x.port - y.port);
}

/** Orders IPv4 numerically, then IPv6 as text. */
export function compareIps(x: string, y: string): number {
  const a = x.split('.');
  const b = y.split('.');
  if (a.length === 4 && b.length === 4) {
    for (let i = 0; i < 4; i++) {
      const d = Number(a[i]) - Number(b[i]);
      if (d !== 0) return d;
    }
    return 0;
  }
  if (a.length === 4) return -1;
  if (b.length === 4) return 1;
  return x.localeCompare(y);
}
