/**
 * Grading evidence packs (定级核查): everything an assessor needs to check one enterprise's declared grade and
 * class against what its sensors observed over a period, signed by the collector.
 *
 * Content files of a pack:
 * - `pack.json`: the whole record — enterprise registry entry, inventory (each asset's full record with per-field
 *   evidence), protocols, exposure findings, alert history summary, sensor coverage, grading flags;
 * - `assets.csv`: one row per asset with its key identity fields and evidence references;
 * - `findings.csv`: one row per exposure finding and grading flag;
 * - `index.html`: a readable view (zh-CN by default), self-contained.
 * plus `manifest.json` and `manifest.sig` (sign.ts).
 */
import { randomBytes } from 'node:crypto';
import type { Lang } from '../bulletins/build.ts';
import {
  type AlertSummaryRow,
  type CollectorStore,
  ENTERPRISE_CLASS_ZH,
  type Enterprise,
  LEVELS,
  type Level,
  type Scope,
  type StoredAlert,
  type StoredAsset,
} from '../store/types.ts';
import { assetsCsv, findingsCsv } from './csv.ts';
import { computeFindings, type Findings } from './findings.ts';
import { type GradingFlag, gradingFlags } from './flags.ts';
import { renderPackHtml } from './html.ts';
import type { SigningKey } from './keys.ts';
import { type SignedPack, signPack } from './sign.ts';

export const PACK_DATA_FORMAT = 'otwatch.evidence-pack-data/1';

export interface PackOptions {
  enterpriseId: string;
  from: string;
  to: string;
  lang?: Lang;
  /** Alerts read for the findings at most (default 200,000); more is reported as `alertsTruncated`. */
  maxAlerts?: number;
  now?: number;
}

export interface AlertHistory {
  total: number;
  unresolved: number;
  byLevel: Record<Level, number>;
  rules: {
    ruleId: string;
    title: string;
    level: Level;
    alerts: number;
    unresolved: number;
    firstTs: string;
    lastTs: string;
    lastUid: string;
  }[];
}

export interface SensorCoverageEntry {
  sensorId: string;
  name: string;
  lastSeenAt: string | null;
  /** Reported in or after the period's start. */
  reportedSincePeriodStart: boolean;
  capture: { packets: number; drops: number; kernelDrops: number | null } | null;
  clockOffsetMs: number | null;
  outboxDepth: number | null;
}

export interface PackData {
  format: typeof PACK_DATA_FORMAT;
  packId: string;
  generatedAt: string;
  lang: Lang;
  period: { from: string; to: string };
  enterprise: Enterprise & { classZh: string };
  inventory: { assets: StoredAsset[] };
  protocols: {
    traffic: { protocol: string; pdus: number }[];
    perAsset: { ip: string; role: string; protocols: string[]; served: { proto: string; port: number }[] }[];
  };
  exposure: Findings;
  alerts: AlertHistory;
  alertsRead: number;
  alertsTruncated: boolean;
  sensors: SensorCoverageEntry[];
  flags: GradingFlag[];
}

export class PackNotFoundError extends Error {}

async function readAlerts(store: CollectorStore, scope: Scope, o: PackOptions, max: number) {
  const out: StoredAlert[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await store.listAlerts(
      scope,
      { enterpriseId: o.enterpriseId, from: o.from, to: o.to },
      { limit: 1000, ...(cursor ? { cursor } : {}) },
    );
    for (const a of page.items) {
      if (out.length >= max) return { alerts: out, truncated: true };
      out.push(a);
    }
    if (page.nextCursor === null) return { alerts: out, truncated: false };
    cursor = page.nextCursor;
  }
}

function history(rows: AlertSummaryRow[]): AlertHistory {
  const byLevel = Object.fromEntries(LEVELS.map((l) => [l, 0])) as Record<Level, number>;
  const rules = new Map<string, AlertHistory['rules'][number]>();
  let total = 0;
  let unresolved = 0;
  for (const r of rows) {
    total += r.alerts;
    byLevel[r.level] += r.alerts;
    if (!r.resolved) unresolved += r.alerts;
    let x = rules.get(r.ruleId);
    if (!x) {
      x = {
        ruleId: r.ruleId,
        title: r.ruleTitle,
        level: r.level,
        alerts: 0,
        unresolved: 0,
        firstTs: r.firstTs,
        lastTs: r.lastTs,
        lastUid: r.lastUid,
      };
      rules.set(r.ruleId, x);
    }
    x.alerts += r.alerts;
    if (!r.resolved) x.unresolved += r.alerts;
    if (r.firstTs < x.firstTs) x.firstTs = r.firstTs;
    if (r.lastTs > x.lastTs) {
      x.lastTs = r.lastTs;
      x.lastUid = r.lastUid;
    }
  }
  return {
    total,
    unresolved,
    byLevel,
    rules: [...rules.values()].sort(
      (a, b) =>
        LEVELS.indexOf(b.level) - LEVELS.indexOf(a.level) || b.alerts - a.alerts || (a.ruleId < b.ruleId ? -1 : 1),
    ),
  };
}

/** Collects the pack's data for one enterprise (inside `scope`: null when the enterprise is not there). */
export async function collectPackData(store: CollectorStore, scope: Scope, o: PackOptions): Promise<PackData> {
  const enterprise = await store.getEnterprise(o.enterpriseId, scope);
  if (!enterprise) throw new PackNotFoundError(`enterprise ${o.enterpriseId} not found`);
  const now = o.now ?? Date.now();
  const assets = await store.listAssets(scope, enterprise.id);
  const { alerts, truncated } = await readAlerts(store, scope, o, o.maxAlerts ?? 200_000);
  const summary = await store.summarizeAlerts(scope, { enterpriseId: enterprise.id, from: o.from, to: o.to });
  const traffic = await store.trafficByProtocol(scope, { enterpriseId: enterprise.id, from: o.from, to: o.to });
  const sensors = await store.listSensors(scope, { enterpriseId: enterprise.id });
  const exposure = computeFindings(assets, alerts);
  return {
    format: PACK_DATA_FORMAT,
    packId: `pack-${enterprise.id}-${o.from.slice(0, 10)}-${randomBytes(4).toString('hex')}`,
    generatedAt: new Date(now).toISOString(),
    lang: o.lang ?? 'zh-CN',
    period: { from: o.from, to: o.to },
    enterprise: { ...enterprise, classZh: ENTERPRISE_CLASS_ZH[enterprise.class] },
    inventory: { assets },
    protocols: {
      traffic,
      perAsset: assets.map((a) => {
        const r = a.record as { protocols?: string[]; served?: { proto: string; port: number }[] };
        return { ip: a.ip, role: a.role, protocols: r.protocols ?? [], served: r.served ?? [] };
      }),
    },
    exposure,
    alerts: history(summary),
    alertsRead: alerts.length,
    alertsTruncated: truncated,
    sensors: sensors.map((s) => ({
      sensorId: s.id,
      name: s.name,
      lastSeenAt: s.lastSeenAt,
      reportedSincePeriodStart: s.lastSeenAt !== null && s.lastSeenAt >= o.from,
      capture: s.lastHealth
        ? {
            packets: s.lastHealth.capture.packets,
            drops: s.lastHealth.capture.drops,
            kernelDrops: s.lastHealth.capture.kernelDrops,
          }
        : null,
      clockOffsetMs: s.lastHealth?.clock?.offsetMs ?? null,
      outboxDepth: s.lastHealth?.outbox?.depthMessages ?? null,
    })),
    flags: gradingFlags(enterprise, exposure),
  };
}

/** The content files of a pack. */
export function packFiles(data: PackData): Map<string, Buffer> {
  return new Map([
    ['pack.json', Buffer.from(`${JSON.stringify(data, null, 2)}\n`)],
    ['assets.csv', Buffer.from(assetsCsv(data))],
    ['findings.csv', Buffer.from(findingsCsv(data))],
    ['index.html', Buffer.from(renderPackHtml(data))],
  ]);
}

/** Builds and signs the pack. */
export async function buildPack(
  store: CollectorStore,
  scope: Scope,
  o: PackOptions,
  key: SigningKey,
): Promise<{ data: PackData; pack: SignedPack }> {
  const data = await collectPackData(store, scope, o);
  const pack = signPack(
    { packId: data.packId, enterpriseId: data.enterprise.id, period: data.period, generatedAt: data.generatedAt },
    packFiles(data),
    key,
  );
  return { data, pack };
}
