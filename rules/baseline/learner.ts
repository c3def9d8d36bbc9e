/**
 * Learns a baseline from sensor events: per client → server → protocol the functions / services used, the address
 * ranges read and written, SZL ids, OPC UA nodes written and methods called, and request rates on packet time.
 * Pure: feed events with `observe`, take the result with `baseline()`. Memory is bounded by constructor caps; what a
 * cap leaves out is counted in `stats` and written into the file's `learned.dropped`.
 */
import type { SensorEvent } from '../../protocols/wire/events.ts';
import { type AddressUse, type BaselineProtocol, type FunctionUse, observe } from './features.ts';
import {
  BASELINE_FILE_VERSION,
  type Baseline,
  type BaselineSettings,
  DEFAULT_SETTINGS,
  emptyFunctionProfile,
  type FunctionProfile,
  type ProtocolProfile,
} from './model.ts';
import { addRange, type Range } from './ranges.ts';
import { RateWindow } from './rate-window.ts';

export interface LearnerOptions {
  /** Client/server/protocol profiles tracked. */
  maxProfiles?: number;
  /** Functions (and userdata functions) per profile. */
  maxFunctions?: number;
  /** Address spaces (Modbus tables, S7 areas/DBs) per function and direction. */
  maxSpaces?: number;
  /** Ranges per address space before the closest ones merge. */
  maxRanges?: number;
  /** OPC UA nodes / methods / PI services per function. */
  maxTargets?: number;
  maxSzlIds?: number;
  maxUnits?: number;
  maxPorts?: number;
  /** Enforcement settings written into the file (defaults: DEFAULT_SETTINGS). */
  settings?: Partial<BaselineSettings>;
}

export interface LearnerStats {
  events: number;
  /** Events that carried something the baseline models. */
  observed: number;
  profilesDropped: number;
  functionsDropped: number;
  spacesDropped: number;
  rangesMerged: number;
  targetsDropped: number;
  szlIdsDropped: number;
  unitsDropped: number;
  portsDropped: number;
}

interface LearningProfile {
  profile: ProtocolProfile;
  window: RateWindow;
  firstTime: number;
  lastTime: number;
}

export interface BaselineMeta {
  sensor: string;
  files: string[];
  iface?: string;
  /** The learning period when no event marked it (live learning on a quiet link): ISO-8601 times. */
  from?: string;
  to?: string;
}

export class BaselineLearner {
  readonly stats: LearnerStats = {
    events: 0,
    observed: 0,
    profilesDropped: 0,
    functionsDropped: 0,
    spacesDropped: 0,
    rangesMerged: 0,
    targetsDropped: 0,
    szlIdsDropped: 0,
    unitsDropped: 0,
    portsDropped: 0,
  };
  private readonly profiles = new Map<string, LearningProfile>();
  private readonly settings: BaselineSettings;
  private readonly maxProfiles: number;
  private readonly maxFunctions: number;
  private readonly maxSpaces: number;
  private readonly maxRanges: number;
  private readonly maxTargets: number;
  private readonly maxSzlIds: number;
  private readonly maxUnits: number;
  private readonly maxPorts: number;
  private from = '';
  private to = '';
  private sensor = '';

  constructor(options: LearnerOptions = {}) {
    this.maxProfiles = options.maxProfiles ?? 4096;
    this.maxFunctions = options.maxFunctions ?? 256;
    this.maxSpaces = options.maxSpaces ?? 256;
    this.maxRanges = options.maxRanges ?? 64;
    this.maxTargets = options.maxTargets ?? 1024;
    this.maxSzlIds = options.maxSzlIds ?? 256;
    this.maxUnits = options.maxUnits ?? 256;
    this.maxPorts = options.maxPorts ?? 16;
    this.settings = { ...DEFAULT_SETTINGS, ...options.settings };
  }

  observe(event: SensorEvent): void {
    this.stats.events++;
    const obs = observe(event);
    if (!obs) return;
    this.stats.observed++;
    // ISO-8601 strings of one format order like the times they name.
    if (this.from === '' || event.ts < this.from) this.from = event.ts;
    if (event.ts > this.to) this.to = event.ts;
    if (this.sensor === '') this.sensor = event.sensor;
    const key = `${obs.client}|${obs.server}|${obs.proto}`;
    let lp = this.profiles.get(key);
    if (!lp) {
      if (this.profiles.size >= this.maxProfiles) {
        this.stats.profilesDropped++;
        return;
      }
      lp = {
        profile: {
          ports: [],
          units: [],
          requests: 0,
          firstSeen: event.ts,
          lastSeen: event.ts,
          rate: { typicalPerMin: 0, peakPerMin: 0 },
          functions: new Map(),
          userdata: new Map(),
          szlIds: [],
        },
        window: new RateWindow(this.settings.rateWindowSec),
        firstTime: obs.time,
        lastTime: obs.time,
      };
      this.profiles.set(key, lp);
    }
    const p = lp.profile;
    if (event.ts < p.firstSeen) p.firstSeen = event.ts;
    if (event.ts > p.lastSeen) p.lastSeen = event.ts;
    if (!addUnique(p.ports, obs.serverPort, this.maxPorts)) this.stats.portsDropped++;
    if (obs.unit >= 0 && !addUnique(p.units, obs.unit, this.maxUnits)) this.stats.unitsDropped++;
    if (obs.szlId !== '' && !addUnique(p.szlIds, obs.szlId, this.maxSzlIds)) this.stats.szlIdsDropped++;
    if (obs.request) {
      p.requests++;
      if (obs.time < lp.firstTime) lp.firstTime = obs.time;
      if (obs.time > lp.lastTime) lp.lastTime = obs.time;
      const inWindow = lp.window.add(obs.time);
      if (inWindow > p.rate.peakPerMin) p.rate.peakPerMin = inWindow;
    }
    if (obs.fn) this.learnFunction(p, obs.fn);
  }

  private learnFunction(p: ProtocolProfile, fn: FunctionUse): void {
    const table = fn.section === 'userdata' ? p.userdata : p.functions;
    let f = table.get(fn.key);
    if (!f) {
      if (p.functions.size + p.userdata.size >= this.maxFunctions) {
        this.stats.functionsDropped++;
        return;
      }
      f = emptyFunctionProfile(fn.name);
      table.set(fn.key, f);
    }
    f.count++;
    this.learnRanges(f.read, fn.reads);
    this.learnRanges(f.write, fn.writes);
    for (const t of fn.targets) {
      if (!addUnique(f.targets, t, this.maxTargets)) this.stats.targetsDropped++;
    }
  }

  private learnRanges(spaces: Map<string, Range[]>, uses: readonly AddressUse[]): void {
    for (const u of uses) {
      let ranges = spaces.get(u.space);
      if (!ranges) {
        if (spaces.size >= this.maxSpaces) {
          this.stats.spacesDropped++;
          continue;
        }
        ranges = [];
        spaces.set(u.space, ranges);
      }
      if (addRange(ranges, u.start, u.end, this.maxRanges)) this.stats.rangesMerged++;
    }
  }

  /** The learned baseline (a snapshot: learning may continue afterwards). */
  baseline(meta: BaselineMeta): Baseline {
    const talkers: Baseline['talkers'] = new Map();
    for (const [key, lp] of this.profiles) {
      const [client, server, proto] = key.split('|') as [string, string, BaselineProtocol];
      let servers = talkers.get(client);
      if (!servers) {
        servers = new Map();
        talkers.set(client, servers);
      }
      let protos = servers.get(server);
      if (!protos) {
        protos = new Map();
        servers.set(server, protos);
      }
      const p = lp.profile;
      // Mean per window over the active span; a span shorter than one window counts as one window.
      const span = Math.max(lp.lastTime - lp.firstTime, this.settings.rateWindowSec);
      const typical = p.requests === 0 ? 0 : (p.requests * this.settings.rateWindowSec) / span;
      protos.set(proto, {
        ...p,
        ports: [...p.ports],
        units: [...p.units],
        szlIds: [...p.szlIds],
        rate: { typicalPerMin: Math.round(typical * 10) / 10, peakPerMin: p.rate.peakPerMin },
        functions: copyFunctions(p.functions),
        userdata: copyFunctions(p.userdata),
      });
    }
    const dropped: Record<string, number> = {};
    for (const [k, v] of Object.entries(this.stats)) {
      if (k !== 'events' && k !== 'observed' && v > 0) dropped[k] = v;
    }
    const learned: Baseline['learned'] = {
      from: this.from || (meta.from ?? ''),
      to: this.to || (meta.to ?? ''),
      files: [...meta.files],
      events: this.stats.observed,
      dropped,
    };
    if (meta.iface !== undefined) learned.iface = meta.iface;
    return {
      version: BASELINE_FILE_VERSION,
      sensor: meta.sensor || this.sensor || 'local',
      learned,
      settings: { ...this.settings },
      talkers,
    };
  }
}

function copyFunctions(src: Map<string, FunctionProfile>): Map<string, FunctionProfile> {
  const out = new Map<string, FunctionProfile>();
  for (const [k, f] of src) {
    out.set(k, {
      name: f.name,
      count: f.count,
      read: copySpaces(f.read),
      write: copySpaces(f.write),
      targets: [...f.targets],
    });
  }
  return out;
}

function copySpaces(src: Map<string, Range[]>): Map<string, Range[]> {
  const out = new Map<string, Range[]>();
  for (const [k, rs] of src)
    out.set(
      k,
      rs.map((r) => [r[0], r[1]] as Range),
    );
  return out;
}

/** Adds `v` unless present; false when the list is full (the value is then left out). */
function addUnique<T>(list: T[], v: T, max: number): boolean {
  if (list.includes(v)) return true;
  if (list.length >= max) return false;
  list.push(v);
  return true;
}
