/**
 * Computes risk scores from the store (drill data excluded: every query leaves drill alerts out), keeps their
 * history, and rolls them up per city, industry or grade. `RiskEngine.recompute` runs periodically inside
 * `otcollector serve` and on demand (`otcollector risk`, warnings evaluation).
 */
import type { CollectorStore, Enterprise, RiskScore, Scope } from '../store/types.ts';
import type { RiskConfig } from './config.ts';
import { type EnterpriseFacts, isEngineering, round2, scoreEnterprise } from './score.ts';

const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;

export interface RecomputeOptions {
  now?: number;
  enterpriseId?: string;
  /** Store the scores in the history (default true; rows are thinned, see `history` in the configuration). */
  persist?: boolean;
}

export interface RiskStats {
  runs: number;
  scored: number;
  stored: number;
  failures: number;
  lastRunMs: number | null;
}

export class RiskEngine {
  readonly stats: RiskStats = { runs: 0, scored: 0, stored: 0, failures: 0, lastRunMs: null };

  constructor(
    private readonly store: CollectorStore,
    readonly config: RiskConfig,
  ) {}

  /** Gathers the facts of every enterprise in scope (or one) and scores them. */
  async compute(scope: Scope, options: RecomputeOptions = {}): Promise<RiskScore[]> {
    const now = options.now ?? Date.now();
    const enterprises = (await this.store.listEnterprises(scope)).filter(
      (e) => options.enterpriseId === undefined || e.id === options.enterpriseId,
    );
    if (enterprises.length === 0) return [];
    const from = new Date(now - this.config.alerts.lookbackDays * 24 * HOUR_MS).toISOString();
    const to = new Date(now + 1).toISOString();
    const base = options.enterpriseId === undefined ? {} : { enterpriseId: options.enterpriseId };
    const alerts = await this.store.summarizeAlerts(scope, { ...base, from, to, bucketMs: HOUR_MS });
    // Engineering actions are checked against the windows at one-minute resolution, for their rules only.
    const engineeringRules = [...new Set(alerts.filter((r) => isEngineering(this.config, r)).map((r) => r.ruleId))];
    const engineering =
      engineeringRules.length === 0
        ? []
        : await this.store.summarizeAlerts(scope, {
            ...base,
            from,
            to,
            bucketMs: MINUTE_MS,
            ruleIds: engineeringRules,
          });
    const assets = await this.store.listAllAssets(scope);
    const sensors = await this.store.listSensors(scope, base);
    const facts = new Map<string, EnterpriseFacts>();
    for (const e of enterprises)
      facts.set(e.id, { enterprise: e, alerts: [], engineering: [], assets: [], sensors: [] });
    for (const r of alerts) facts.get(r.enterpriseId)?.alerts.push(r);
    for (const r of engineering) facts.get(r.enterpriseId)?.engineering.push(r);
    for (const a of assets) facts.get(a.enterpriseId)?.assets.push(a);
    for (const s of sensors) facts.get(s.enterpriseId)?.sensors.push(s);
    return [...facts.values()].map((f) => scoreEnterprise(f, this.config, now));
  }

  /** Computes and stores (thinned: a row when the score moved or the last row is old). */
  async recompute(scope: Scope, options: RecomputeOptions = {}): Promise<RiskScore[]> {
    this.stats.runs++;
    try {
      const scores = await this.compute(scope, options);
      this.stats.scored += scores.length;
      if (options.persist !== false && scores.length > 0) {
        const latest = new Map((await this.store.latestRiskScores(scope)).map((s) => [s.enterpriseId, s]));
        const minInterval = this.config.history.minIntervalMinutes * MINUTE_MS;
        const fresh = scores.filter((s) => {
          const last = latest.get(s.enterpriseId);
          if (last === undefined) return true;
          if (Math.abs(last.score - s.score) >= this.config.history.minChange) return true;
          return Date.parse(s.computedAt) - Date.parse(last.computedAt) >= minInterval;
        });
        this.stats.stored += await this.store.insertRiskScores(fresh);
      }
      this.stats.lastRunMs = options.now ?? Date.now();
      return scores.sort((a, b) => b.score - a.score || (a.enterpriseId < b.enterpriseId ? -1 : 1));
    } catch (error) {
      this.stats.failures++;
      throw error;
    }
  }
}

export const ROLLUP_BY = ['city', 'industry', 'grade'] as const;
export type RollupBy = (typeof ROLLUP_BY)[number];

export interface RiskRollupRow {
  key: string;
  enterprises: number;
  mean: number;
  max: number;
  /** The enterprise with the highest score of the group. */
  top: { enterpriseId: string; score: number } | null;
}

/** Groups the latest scores by city, industry or grade (enterprises without a score are left out). */
export function rollupRisk(scores: RiskScore[], enterprises: Enterprise[], by: RollupBy): RiskRollupRow[] {
  const byId = new Map(enterprises.map((e) => [e.id, e]));
  const groups = new Map<string, RiskScore[]>();
  for (const s of scores) {
    const e = byId.get(s.enterpriseId);
    if (e === undefined) continue;
    const key = by === 'grade' ? String(e.grade) : e[by];
    let list = groups.get(key);
    if (list === undefined) {
      list = [];
      groups.set(key, list);
    }
    list.push(s);
  }
  return [...groups.entries()]
    .map(([key, list]) => {
      const top = list.reduce<RiskScore | null>((best, s) => (best === null || s.score > best.score ? s : best), null);
      return {
        key,
        enterprises: list.length,
        mean: round2(list.reduce((n, s) => n + s.score, 0) / list.length),
        max: top?.score ?? 0,
        top: top === null ? null : { enterpriseId: top.enterpriseId, score: top.score },
      };
    })
    .sort((a, b) => b.mean - a.mean || (a.key < b.key ? -1 : 1));
}
