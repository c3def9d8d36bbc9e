/**
 * The named, parameterised queries every bulletin figure comes from. A figure in a bulletin is `{id, query: {name,
 * params}, value}`, and `value` is exactly what `runQuery(store, query)` returns: anyone holding the store can re-run
 * the query and get the number again (the bulletin test does, for every figure). Nothing in a bulletin is computed
 * outside these functions except the trend arrows, which compare two named figures and say which.
 *
 * Params are plain JSON. The audience (`province`, optional `city`, `industry` or `enterprise`) becomes a store
 * `Scope`: the province itself, or the list of its enterprises in that city / industry / that one enterprise. Drill
 * data is left out unless `drill: true`, which selects drill data only (a drill bulletin).
 */
import {
  type AlertFilter,
  type AlertSummaryRow,
  type CollectorStore,
  type Enterprise,
  LEVELS,
  type Level,
  type Scope,
  type WarningLevel,
  type WarningState,
} from '../store/types.ts';
import { CST_OFFSET_MS } from './period.ts';

export interface QueryParams {
  province: string;
  city?: string;
  industry?: string;
  enterprise?: string;
  /** [from, to), ISO. */
  from: string;
  to: string;
  /** Drill data only (a drill bulletin); absent or false: real data only. */
  drill?: boolean;
  /** Rows kept by the top-N queries. */
  limit?: number;
  /** Sensor coverage: the instant coverage is judged at, and how long without a report makes a sensor silent. */
  asOf?: string;
  silentAfterHours?: number;
}

export interface LevelCounts extends Record<Level, number> {
  total: number;
}

export interface DayCount {
  /** Beijing-time calendar day. */
  day: string;
  count: number;
}

export interface RuleCount {
  ruleId: string;
  title: string;
  level: Level;
  count: number;
  enterprises: number;
}

export interface TechniqueCount {
  /** ATT&CK for ICS technique id, e.g. T0843. */
  technique: string;
  count: number;
  rules: string[];
}

export interface UnresolvedCritical {
  enterpriseId: string;
  name: string | null;
  city: string | null;
  alerts: number;
  lastTs: string;
  lastUid: string;
  rules: string[];
}

export interface AdvisoryExposure {
  advisory: string;
  title: string;
  severity: string;
  cve: string[];
  cnvd: string[];
  assets: number;
  enterprises: number;
  enterpriseIds: string[];
}

export interface SensorCoverage {
  registered: number;
  reporting: number;
  asOf: string;
  silentAfterHours: number;
  silent: { sensorId: string; enterpriseId: string; lastSeenAt: string | null }[];
}

export interface RiskTop {
  enterpriseId: string;
  name: string | null;
  score: number;
  computedAt: string;
  contributions: { factor: string; points: number; detail: string; detailZh: string }[];
}

export interface WarningRow {
  id: string;
  level: WarningLevel;
  title: { zh: string; en: string };
  /**
   * What this warning is about (its first fact: the rule and city, the enterprise, the sensor, the advisory), so
   * that warnings of one rule - which share its title - can be told apart.
   */
  subject: { zh: string; en: string };
  ruleId: string;
  state: WarningState;
  issuedAt: string;
  targets: number;
  acknowledged: number;
}

export interface ProtocolTraffic {
  protocol: string;
  pdus: number;
}

/** Default thresholds (also the values a bulletin passes explicitly, so its params are complete). */
export const DEFAULT_TOP = 10;
export const DEFAULT_SILENT_AFTER_HOURS = 24;
/** Alerts scanned per page by the summary queries. */
const PAGE = 1000;

/** The audience of the params as a store scope (an unknown enterprise gives the empty scope). */
export async function scopeOfParams(store: CollectorStore, p: QueryParams): Promise<Scope> {
  const province: Scope = { kind: 'province', province: p.province };
  if (p.enterprise !== undefined) {
    const e = await store.getEnterprise(p.enterprise, province);
    return { kind: 'enterprises', enterprises: e ? [e.id] : [] };
  }
  if (p.city === undefined && p.industry === undefined) return province;
  const filter: { city?: string; industry?: string } = {};
  if (p.city !== undefined) filter.city = p.city;
  if (p.industry !== undefined) filter.industry = p.industry;
  const list = await store.listEnterprises(province, filter);
  return { kind: 'enterprises', enterprises: list.map((e) => e.id) };
}

/** The registered enterprises the params cover. */
async function enterprisesOf(store: CollectorStore, p: QueryParams): Promise<Enterprise[]> {
  const scope = await scopeOfParams(store, p);
  return store.listEnterprises(scope);
}

function drillFilter(p: QueryParams): Pick<AlertFilter, 'drillOnly'> {
  return p.drill === true ? { drillOnly: true } : {};
}

function cstDayOf(ms: number): string {
  return new Date(ms + CST_OFFSET_MS).toISOString().slice(0, 10);
}

async function summary(
  store: CollectorStore,
  p: QueryParams,
  extra: { level?: Level[]; unresolved?: boolean } = {},
): Promise<AlertSummaryRow[]> {
  const scope = await scopeOfParams(store, p);
  return store.summarizeAlerts(scope, { from: p.from, to: p.to, ...drillFilter(p), ...extra });
}

/** The inventory's change kind for a first sighting (`new` in older test fixtures). */
const NEW_ASSET_CHANGES = new Set(['new_asset', 'new']);

const TECHNIQUE_TAG = /^attack\.(t\d{4}(?:\.\d{3})?)$/i;

/** Each query, by name. Add a query here (and to docs/bulletins.md) before a bulletin may show a new figure. */
export const QUERIES = {
  /** Alerts in [from, to) per level, from the hourly rollups (whole hours: all bulletin bounds are hour-aligned). */
  'alerts.byLevel': async (store: CollectorStore, p: QueryParams): Promise<LevelCounts> => {
    const scope = await scopeOfParams(store, p);
    const rows = await store.aggregate(scope, { by: 'level', from: p.from, to: p.to, ...drillFilter(p) });
    const out = { total: 0 } as LevelCounts;
    for (const l of LEVELS) out[l] = 0;
    for (const r of rows) {
      if ((LEVELS as readonly string[]).includes(r.key)) out[r.key as Level] += r.count;
      out.total += r.count;
    }
    return out;
  },

  /** Alerts per Beijing-time day of the period (every day listed, zero included). */
  'alerts.byDay': async (store: CollectorStore, p: QueryParams): Promise<DayCount[]> => {
    const scope = await scopeOfParams(store, p);
    const rows = await store.aggregate(scope, { by: 'hour', from: p.from, to: p.to, ...drillFilter(p) });
    const days = new Map<string, number>();
    for (let t = Date.parse(p.from); t < Date.parse(p.to); t += 86_400_000) days.set(cstDayOf(t), 0);
    for (const r of rows) {
      const day = cstDayOf(Date.parse(r.key));
      days.set(day, (days.get(day) ?? 0) + r.count);
    }
    return [...days.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([day, count]) => ({ day, count }));
  },

  /** Enterprises with at least one alert in the period. */
  'alerts.enterprisesAffected': async (store: CollectorStore, p: QueryParams): Promise<number> => {
    const scope = await scopeOfParams(store, p);
    const rows = await store.aggregate(scope, { by: 'enterprise', from: p.from, to: p.to, ...drillFilter(p) });
    return rows.filter((r) => r.count > 0).length;
  },

  /** The rules that fired most (alert rows), with how many enterprises each touched. */
  'alerts.topRules': async (store: CollectorStore, p: QueryParams): Promise<RuleCount[]> => {
    const byRule = new Map<string, RuleCount & { ents: Set<string> }>();
    for (const r of await summary(store, p)) {
      let c = byRule.get(r.ruleId);
      if (!c) {
        c = { ruleId: r.ruleId, title: r.ruleTitle, level: r.level, count: 0, enterprises: 0, ents: new Set() };
        byRule.set(r.ruleId, c);
      }
      c.count += r.alerts;
      c.ents.add(r.enterpriseId);
      if (LEVELS.indexOf(r.level) > LEVELS.indexOf(c.level)) c.level = r.level;
    }
    return [...byRule.values()]
      .map(({ ents, ...c }) => ({ ...c, enterprises: ents.size }))
      .sort((a, b) => b.count - a.count || (a.ruleId < b.ruleId ? -1 : 1))
      .slice(0, p.limit ?? DEFAULT_TOP);
  },

  /** ATT&CK for ICS techniques (from the rules' `attack.tNNNN` tags), counted over the alerts that carry them. */
  'alerts.topTechniques': async (store: CollectorStore, p: QueryParams): Promise<TechniqueCount[]> => {
    const byTechnique = new Map<string, { count: number; rules: Set<string> }>();
    for (const r of await summary(store, p)) {
      for (const tag of r.tags) {
        const m = TECHNIQUE_TAG.exec(tag);
        if (!m?.[1]) continue;
        const id = m[1].toUpperCase();
        const t = byTechnique.get(id) ?? { count: 0, rules: new Set<string>() };
        t.count += r.alerts;
        t.rules.add(r.ruleId);
        byTechnique.set(id, t);
      }
    }
    return [...byTechnique.entries()]
      .map(([technique, t]) => ({ technique, count: t.count, rules: [...t.rules].sort() }))
      .sort((a, b) => b.count - a.count || (a.technique < b.technique ? -1 : 1))
      .slice(0, p.limit ?? DEFAULT_TOP);
  },

  /** Enterprises with critical alerts from the period that nobody has resolved yet. */
  'alerts.unresolvedCritical': async (store: CollectorStore, p: QueryParams): Promise<UnresolvedCritical[]> => {
    const rows = await summary(store, p, { level: ['critical'], unresolved: true });
    const names = new Map((await enterprisesOf(store, p)).map((e) => [e.id, e]));
    const byEnterprise = new Map<string, UnresolvedCritical & { ruleSet: Set<string> }>();
    for (const r of rows) {
      let u = byEnterprise.get(r.enterpriseId);
      if (!u) {
        const e = names.get(r.enterpriseId);
        u = {
          enterpriseId: r.enterpriseId,
          name: e?.name ?? null,
          city: e?.city ?? null,
          alerts: 0,
          lastTs: r.lastTs,
          lastUid: r.lastUid,
          rules: [],
          ruleSet: new Set(),
        };
        byEnterprise.set(r.enterpriseId, u);
      }
      u.alerts += r.alerts;
      u.ruleSet.add(r.ruleId);
      if (r.lastTs > u.lastTs) {
        u.lastTs = r.lastTs;
        u.lastUid = r.lastUid;
      }
    }
    return [...byEnterprise.values()]
      .map(({ ruleSet, ...u }) => ({ ...u, rules: [...ruleSet].sort() }))
      .sort((a, b) => b.alerts - a.alerts || (a.enterpriseId < b.enterpriseId ? -1 : 1));
  },

  /** Assets first reported in the period (inventory `new_asset` changes with a packet time in [from, to)). */
  'assets.new': async (store: CollectorStore, p: QueryParams): Promise<number> => {
    const scope = await scopeOfParams(store, p);
    const from = Date.parse(p.from);
    const to = Date.parse(p.to);
    let n = 0;
    for (const e of await store.listEnterprises(scope)) {
      let cursor: string | undefined;
      for (;;) {
        const page = await store.listAssetChanges(scope, e.id, { limit: PAGE, ...(cursor ? { cursor } : {}) });
        for (const c of page.items) {
          const ts = Date.parse(c.ts);
          if (NEW_ASSET_CHANGES.has(c.change) && ts >= from && ts < to) n++;
        }
        if (page.nextCursor === null) break;
        cursor = page.nextCursor;
      }
    }
    return n;
  },

  /**
   * Assets seen during the period whose firmware falls in a published advisory's affected range (`affected`
   * matches only; a product match without a version is not counted), grouped by advisory, most assets first.
   */
  'assets.vulnerableFirmware': async (store: CollectorStore, p: QueryParams): Promise<AdvisoryExposure[]> => {
    const scope = await scopeOfParams(store, p);
    const byAdvisory = new Map<string, AdvisoryExposure & { ents: Set<string> }>();
    for (const a of await store.listAllAssets(scope)) {
      if (a.lastSeen < p.from || a.firstSeen >= p.to) continue;
      const advisories = (a.record as { advisories?: AdvisoryLike[] }).advisories ?? [];
      for (const adv of advisories) {
        if (adv.status !== 'affected') continue;
        let x = byAdvisory.get(adv.advisory);
        if (!x) {
          x = {
            advisory: adv.advisory,
            title: adv.title,
            severity: adv.severity,
            cve: [...(adv.cve ?? [])],
            cnvd: [...(adv.cnvd ?? [])],
            assets: 0,
            enterprises: 0,
            enterpriseIds: [],
            ents: new Set(),
          };
          byAdvisory.set(adv.advisory, x);
        }
        x.assets++;
        x.ents.add(a.enterpriseId);
      }
    }
    return [...byAdvisory.values()]
      .map(({ ents, ...x }) => ({ ...x, enterprises: ents.size, enterpriseIds: [...ents].sort() }))
      .sort((a, b) => b.assets - a.assets || (a.advisory < b.advisory ? -1 : 1));
  },

  /**
   * Registered sensors, and which of them reported (any message) within `silentAfterHours` before `asOf`. This is a
   * registry snapshot: re-running it later gives the same answer only while no sensor has reported since.
   */
  'sensors.coverage': async (store: CollectorStore, p: QueryParams): Promise<SensorCoverage> => {
    const scope = await scopeOfParams(store, p);
    const asOf = p.asOf ?? p.to;
    const hours = p.silentAfterHours ?? DEFAULT_SILENT_AFTER_HOURS;
    const since = Date.parse(asOf) - hours * 3_600_000;
    const sensors = await store.listSensors(scope);
    const silent = sensors
      .filter((s) => s.lastSeenAt === null || Date.parse(s.lastSeenAt) < since)
      .map((s) => ({ sensorId: s.id, enterpriseId: s.enterpriseId, lastSeenAt: s.lastSeenAt }));
    return {
      registered: sensors.length,
      reporting: sensors.length - silent.length,
      asOf,
      silentAfterHours: hours,
      silent,
    };
  },

  /** The enterprises with the highest current risk score, each with its largest contributions (why). */
  'risk.top': async (store: CollectorStore, p: QueryParams): Promise<RiskTop[]> => {
    const scope = await scopeOfParams(store, p);
    const names = new Map((await store.listEnterprises(scope)).map((e) => [e.id, e.name]));
    const scores = await store.latestRiskScores(scope);
    return scores.slice(0, p.limit ?? DEFAULT_TOP).map((s) => ({
      enterpriseId: s.enterpriseId,
      name: names.get(s.enterpriseId) ?? null,
      score: s.score,
      computedAt: s.computedAt,
      contributions: s.contributions
        .filter((c) => c.points > 0)
        .sort((a, b) => b.points - a.points)
        .slice(0, 3)
        .map((c) => ({ factor: c.factor, points: c.points, detail: c.detail, detailZh: c.detailZh })),
    }));
  },

  /** Warnings (预警) issued in the period to this audience, with their lifecycle state now. */
  'warnings.issued': async (store: CollectorStore, p: QueryParams): Promise<WarningRow[]> => {
    const scope = await scopeOfParams(store, p);
    const out: WarningRow[] = [];
    let cursor: string | undefined;
    for (;;) {
      const page = await store.listWarnings(
        scope,
        { from: p.from, to: p.to, ...(p.drill === true ? { drillOnly: true } : {}) },
        { limit: PAGE, ...(cursor ? { cursor } : {}) },
      );
      for (const w of page.items) {
        out.push({
          id: w.id,
          level: w.level,
          title: w.title,
          subject: { zh: w.facts[0]?.textZh ?? '', en: w.facts[0]?.text ?? '' },
          ruleId: w.ruleId,
          state: w.state,
          issuedAt: w.issuedAt,
          targets: w.targets.length,
          acknowledged: w.targets.filter((t) => t.ackAt !== null).length,
        });
      }
      if (page.nextCursor === null) break;
      cursor = page.nextCursor;
    }
    return out;
  },

  /** PDUs per protocol from the sensors' stats reports starting in the period (drill traffic never counted). */
  'traffic.byProtocol': async (store: CollectorStore, p: QueryParams): Promise<ProtocolTraffic[]> => {
    const scope = await scopeOfParams(store, p);
    return store.trafficByProtocol(scope, { from: p.from, to: p.to });
  },
} as const;

interface AdvisoryLike {
  advisory: string;
  title: string;
  severity: string;
  status: string;
  cve?: string[];
  cnvd?: string[];
}

export type QueryName = keyof typeof QUERIES;
export const QUERY_NAMES = Object.keys(QUERIES) as QueryName[];

export interface QueryRef {
  name: QueryName;
  params: QueryParams;
}

export type QueryResult<N extends QueryName> = Awaited<ReturnType<(typeof QUERIES)[N]>>;

export class UnknownQueryError extends Error {}

/** Runs a named query (what a bulletin figure cites). */
export async function runQuery(store: CollectorStore, ref: { name: string; params: QueryParams }): Promise<unknown> {
  if (!Object.hasOwn(QUERIES, ref.name)) throw new UnknownQueryError(`unknown bulletin query '${ref.name}'`);
  const fn = QUERIES[ref.name as QueryName] as (s: CollectorStore, p: QueryParams) => Promise<unknown>;
  return fn(store, ref.params);
}
