/**
 * Builds a bulletin's data: the figures (each the result of one named query, with the query beside it) for the
 * period and, for the headline figures, the previous period too. Renderers (Markdown, HTML, PDF) only lay out these
 * figures; they never query the store themselves, so everything a reader sees is in the JSON with its query.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { CollectorStore } from '../store/types.ts';
import { cstDay, type Period, previousPeriod } from './period.ts';
import {
  DEFAULT_SILENT_AFTER_HOURS,
  DEFAULT_TOP,
  type QueryName,
  type QueryParams,
  type QueryRef,
  type QueryResult,
  runQuery,
} from './queries.ts';

export const BULLETIN_FORMAT = 'otwatch.bulletin/1';
export const LANGS = ['zh-CN', 'en'] as const;
export type Lang = (typeof LANGS)[number];

/** Who a bulletin is about and addressed to: a province, or one city, industry or enterprise of it. */
export interface BulletinAudience {
  province: string;
  city?: string;
  industry?: string;
  enterprise?: string;
}

export interface BulletinRequest {
  audience: BulletinAudience;
  period: Period;
  lang?: Lang;
  /** A drill bulletin (drill data only). */
  drill?: boolean;
  /** Rows in the top-N lists (default 10). */
  top?: number;
  /** Clock for `generatedAt` and the coverage snapshot (tests pin it). */
  now?: number;
}

export interface Figure<N extends QueryName = QueryName> {
  /** Stable id renderers look figures up by, e.g. `alerts.byLevel` or `alerts.byLevel.previous`. */
  id: string;
  query: QueryRef & { name: N };
  value: QueryResult<N>;
}

export interface BulletinData {
  format: typeof BULLETIN_FORMAT;
  id: string;
  lang: Lang;
  drill: boolean;
  audience: BulletinAudience;
  period: Period;
  previous: Period;
  generatedAt: string;
  figures: Figure[];
}

/** Figures of the period; the starred ones also for the previous period (the trends). */
const PLAN: { name: QueryName; trend: boolean }[] = [
  { name: 'alerts.byLevel', trend: true },
  { name: 'alerts.enterprisesAffected', trend: true },
  { name: 'assets.new', trend: true },
  { name: 'alerts.byDay', trend: false },
  { name: 'sensors.coverage', trend: false },
  { name: 'risk.top', trend: false },
  { name: 'alerts.topRules', trend: false },
  { name: 'alerts.topTechniques', trend: false },
  { name: 'warnings.issued', trend: false },
  { name: 'alerts.unresolvedCritical', trend: false },
  { name: 'assets.vulnerableFirmware', trend: false },
  { name: 'traffic.byProtocol', trend: true },
];

/** Only the params a query reads, so a figure's query says exactly what it depends on. */
function paramsFor(name: QueryName, base: QueryParams, extra: { limit: number; asOf: string }): QueryParams {
  const p: QueryParams = { ...base };
  if (name === 'alerts.topRules' || name === 'alerts.topTechniques' || name === 'risk.top') p.limit = extra.limit;
  if (name === 'sensors.coverage') {
    p.asOf = extra.asOf;
    p.silentAfterHours = DEFAULT_SILENT_AFTER_HOURS;
  }
  return p;
}

function audienceKey(a: BulletinAudience): string {
  if (a.enterprise !== undefined) return `ent-${a.enterprise}`;
  const parts = [a.province];
  if (a.city !== undefined || a.industry !== undefined) {
    // City and industry names are free text (often Chinese): a short hash keeps the id a safe file name.
    parts.push(
      createHash('sha256')
        .update(`${a.city ?? ''}\u0000${a.industry ?? ''}`)
        .digest('hex')
        .slice(0, 6),
    );
  }
  return parts.join('-');
}

/** A file-name-safe id: kind, audience, first day, random suffix. */
export function bulletinId(req: BulletinRequest): string {
  const safe = (s: string) => s.replace(/[^A-Za-z0-9_-]/g, '_');
  return [
    req.drill === true ? 'drill' : null,
    req.period.kind,
    safe(audienceKey(req.audience)),
    cstDay(req.period.from),
    randomBytes(4).toString('hex'),
  ]
    .filter((x) => x !== null)
    .join('-');
}

export async function buildBulletin(store: CollectorStore, req: BulletinRequest): Promise<BulletinData> {
  const now = req.now ?? Date.now();
  const previous = previousPeriod(req.period);
  const base = (p: Period): QueryParams => ({
    province: req.audience.province,
    ...(req.audience.city !== undefined ? { city: req.audience.city } : {}),
    ...(req.audience.industry !== undefined ? { industry: req.audience.industry } : {}),
    ...(req.audience.enterprise !== undefined ? { enterprise: req.audience.enterprise } : {}),
    from: p.from,
    to: p.to,
    ...(req.drill === true ? { drill: true } : {}),
  });
  // Coverage is a snapshot: judged at the end of the period, or now when the period has not ended yet.
  const asOf = new Date(Math.min(now, Date.parse(req.period.to))).toISOString();
  const extra = { limit: req.top ?? DEFAULT_TOP, asOf };
  const figures: Figure[] = [];
  for (const step of PLAN) {
    const query = { name: step.name, params: paramsFor(step.name, base(req.period), extra) };
    figures.push({ id: step.name, query, value: (await runQuery(store, query)) as never });
    if (step.trend) {
      const prev = { name: step.name, params: paramsFor(step.name, base(previous), extra) };
      figures.push({ id: `${step.name}.previous`, query: prev, value: (await runQuery(store, prev)) as never });
    }
  }
  return {
    format: BULLETIN_FORMAT,
    id: bulletinId(req),
    lang: req.lang ?? 'zh-CN',
    drill: req.drill === true,
    audience: req.audience,
    period: req.period,
    previous,
    generatedAt: new Date(now).toISOString(),
    figures,
  };
}

/** A figure by id, typed by its query name. */
export function figure<N extends QueryName>(data: BulletinData, id: string, _name: N): Figure<N> {
  const f = data.figures.find((x) => x.id === id);
  if (!f || f.query.name !== _name) throw new Error(`bulletin ${data.id} has no figure ${id}`);
  return f as Figure<N>;
}
