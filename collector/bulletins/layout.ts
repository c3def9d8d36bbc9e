/**
 * The bulletin as a document (title, sections of key figures, tables, charts and notes), independent of the output
 * format: Markdown and HTML render the same document. Every block cites the figures it shows by their query number
 * `[Qn]`, and the annex lists each Qn with its query name and parameters.
 */
import { LEVELS, type Level } from '../store/types.ts';
import { type BulletinData, figure } from './build.ts';
import { strings } from './i18n.ts';
import { periodLabel } from './period.ts';

export interface KeyFigure {
  label: string;
  value: string;
  previous?: string;
  change?: string;
  refs: number[];
}

export type Block =
  | { type: 'figures'; items: KeyFigure[] }
  | { type: 'table'; caption: string; columns: string[]; rows: string[][]; refs: number[]; empty: string }
  | { type: 'chart'; chart: ChartSpec; refs: number[] }
  | { type: 'note'; text: string };

export interface ChartSpec {
  kind: 'bar' | 'line' | 'pie';
  title: string;
  categories: string[];
  series: { name: string; values: number[] }[];
}

export interface Section {
  title: string;
  blocks: Block[];
}

export interface QueryAnnexRow {
  n: number;
  figureId: string;
  name: string;
  params: string;
}

export interface BulletinDocument {
  title: string;
  meta: { label: string; value: string }[];
  sections: Section[];
  annexTitle: string;
  annexNote: string;
  annex: QueryAnnexRow[];
  lang: BulletinData['lang'];
}

/** `+3 (+25.0%)`, `-2 (-50.0%)`, `+4 (new)`, `0`. */
export function change(current: number, previous: number, lang: BulletinData['lang']): string {
  const d = current - previous;
  const sign = d > 0 ? '+' : d < 0 ? '−' : '±';
  if (previous === 0) return d === 0 ? '±0' : `${sign}${Math.abs(d)} (${lang === 'en' ? 'new' : '新增'})`;
  return `${sign}${Math.abs(d)} (${sign}${((Math.abs(d) / previous) * 100).toFixed(1)}%)`;
}

function shortTime(iso: string): string {
  return iso.replace('T', ' ').slice(0, 16);
}

export function layoutBulletin(data: BulletinData): BulletinDocument {
  const s = strings(data.lang);
  const refOf = new Map<string, number>();
  for (const [i, f] of data.figures.entries()) refOf.set(f.id, i + 1);
  const ref = (...ids: string[]) => ids.map((id) => refOf.get(id) ?? 0).filter((n) => n > 0);
  const lvl = (l: Level) => s.levels[l];

  const a = data.audience;
  const where = a.enterprise ?? [a.province, a.city, a.industry].filter((x) => x !== undefined).join(' · ');
  const title = `${data.drill ? s.drill : ''}${where} ${s.titleSuffix}（${s.kind[data.period.kind]}）`.replace(
    /（(.*)）$/,
    data.lang === 'en' ? ' ($1)' : '（$1）',
  );
  const meta = [
    { label: s.province, value: a.province },
    ...(a.city !== undefined ? [{ label: s.city, value: a.city }] : []),
    ...(a.industry !== undefined ? [{ label: s.industry, value: a.industry }] : []),
    ...(a.enterprise !== undefined ? [{ label: s.enterprise, value: a.enterprise }] : []),
    { label: s.period, value: `${periodLabel(data.period)} (${data.period.from} — ${data.period.to})` },
    { label: s.previous, value: periodLabel(data.previous) },
    { label: s.generatedAt, value: data.generatedAt },
    { label: s.bulletinId, value: data.id },
  ];

  const byLevel = figure(data, 'alerts.byLevel', 'alerts.byLevel').value;
  const byLevelPrev = figure(data, 'alerts.byLevel.previous', 'alerts.byLevel').value;
  const affected = figure(data, 'alerts.enterprisesAffected', 'alerts.enterprisesAffected').value;
  const affectedPrev = figure(data, 'alerts.enterprisesAffected.previous', 'alerts.enterprisesAffected').value;
  const newAssets = figure(data, 'assets.new', 'assets.new').value;
  const newAssetsPrev = figure(data, 'assets.new.previous', 'assets.new').value;
  const coverage = figure(data, 'sensors.coverage', 'sensors.coverage').value;
  const byDay = figure(data, 'alerts.byDay', 'alerts.byDay').value;
  const traffic = figure(data, 'traffic.byProtocol', 'traffic.byProtocol').value;
  const trafficPrev = figure(data, 'traffic.byProtocol.previous', 'traffic.byProtocol').value;

  const headline: Section = {
    title: s.headline,
    blocks: [
      {
        type: 'figures',
        items: [
          {
            label: s.alertsTotal,
            value: String(byLevel.total),
            previous: String(byLevelPrev.total),
            change: change(byLevel.total, byLevelPrev.total, data.lang),
            refs: ref('alerts.byLevel', 'alerts.byLevel.previous'),
          },
          {
            label: s.enterprisesAffected,
            value: String(affected),
            previous: String(affectedPrev),
            change: change(affected, affectedPrev, data.lang),
            refs: ref('alerts.enterprisesAffected', 'alerts.enterprisesAffected.previous'),
          },
          {
            label: s.newAssets,
            value: String(newAssets),
            previous: String(newAssetsPrev),
            change: change(newAssets, newAssetsPrev, data.lang),
            refs: ref('assets.new', 'assets.new.previous'),
          },
          {
            label: s.sensorsReporting,
            value: `${coverage.reporting} / ${coverage.registered}`,
            refs: ref('sensors.coverage'),
          },
        ],
      },
      {
        type: 'table',
        caption: s.byLevel,
        columns: [s.level, s.count, s.previousShort, s.change],
        rows: [...LEVELS]
          .reverse()
          .map((l) => [
            lvl(l),
            String(byLevel[l]),
            String(byLevelPrev[l]),
            change(byLevel[l], byLevelPrev[l], data.lang),
          ]),
        refs: ref('alerts.byLevel', 'alerts.byLevel.previous'),
        empty: s.none,
      },
      {
        type: 'chart',
        chart: {
          kind: 'bar',
          title: s.byLevel,
          categories: [...LEVELS].reverse().map(lvl),
          series: [
            { name: periodLabel(data.period), values: [...LEVELS].reverse().map((l) => byLevel[l]) },
            { name: periodLabel(data.previous), values: [...LEVELS].reverse().map((l) => byLevelPrev[l]) },
          ],
        },
        refs: ref('alerts.byLevel', 'alerts.byLevel.previous'),
      },
      {
        type: 'chart',
        chart: {
          kind: 'line',
          title: s.trendTitle,
          categories: byDay.map((d) => d.day.slice(5)),
          series: [{ name: s.alertsTotal, values: byDay.map((d) => d.count) }],
        },
        refs: ref('alerts.byDay'),
      },
      {
        type: 'table',
        caption: s.trendTitle,
        columns: [s.day, s.count],
        rows: byDay.map((d) => [d.day, String(d.count)]),
        refs: ref('alerts.byDay'),
        empty: s.none,
      },
      {
        type: 'table',
        caption: s.traffic,
        columns: [s.protocol, s.count, s.previousShort, s.change],
        rows: traffic.map((t) => {
          const prev = trafficPrev.find((x) => x.protocol === t.protocol)?.pdus ?? 0;
          return [t.protocol, String(t.pdus), String(prev), change(t.pdus, prev, data.lang)];
        }),
        refs: ref('traffic.byProtocol', 'traffic.byProtocol.previous'),
        empty: s.none,
      },
    ],
  };

  const risk = figure(data, 'risk.top', 'risk.top').value;
  const rules = figure(data, 'alerts.topRules', 'alerts.topRules').value;
  const techniques = figure(data, 'alerts.topTechniques', 'alerts.topTechniques').value;
  const risks: Section = {
    title: s.topRisks,
    blocks: [
      {
        type: 'table',
        caption: s.riskTop,
        columns: [s.enterprise, s.score, s.reasons],
        rows: risk.map((r) => [
          r.name ? `${r.name} (${r.enterpriseId})` : r.enterpriseId,
          r.score.toFixed(2),
          r.contributions
            .map((c) => `${data.lang === 'en' ? c.detail : c.detailZh} +${c.points.toFixed(2)}`)
            .join('；'),
        ]),
        refs: ref('risk.top'),
        empty: s.none,
      },
      { type: 'note', text: s.riskNote },
      {
        type: 'table',
        caption: s.topRules,
        columns: [s.rule, s.level, s.count, s.enterprisesCount],
        rows: rules.map((r) => [`${r.title} (${r.ruleId})`, lvl(r.level), String(r.count), String(r.enterprises)]),
        refs: ref('alerts.topRules'),
        empty: s.none,
      },
      {
        type: 'table',
        caption: s.topTechniques,
        columns: [s.technique, s.count, s.rule],
        rows: techniques.map((t) => [t.technique, String(t.count), t.rules.join(', ')]),
        refs: ref('alerts.topTechniques'),
        empty: s.none,
      },
    ],
  };

  const warnings = figure(data, 'warnings.issued', 'warnings.issued').value;
  const warningSection: Section = {
    title: s.warnings,
    blocks: [
      {
        type: 'table',
        caption: '',
        columns: [s.warningLevel, s.warningTitle, s.warningSubject, s.issuedAt, s.state, s.acks],
        rows: warnings.map((w) => [
          s.warningLevel_(w.level),
          data.lang === 'en' ? w.title.en : w.title.zh,
          data.lang === 'en' ? w.subject.en : w.subject.zh,
          shortTime(w.issuedAt),
          s.state_[w.state],
          `${w.acknowledged}/${w.targets}`,
        ]),
        refs: ref('warnings.issued'),
        empty: s.none,
      },
    ],
  };

  const unresolved = figure(data, 'alerts.unresolvedCritical', 'alerts.unresolvedCritical').value;
  const unresolvedSection: Section = {
    title: s.unresolved,
    blocks: [
      {
        type: 'table',
        caption: '',
        columns: [s.enterprise, s.city, s.count, s.rule, s.lastAlert],
        rows: unresolved.map((u) => [
          u.name ? `${u.name} (${u.enterpriseId})` : u.enterpriseId,
          u.city ?? '—',
          String(u.alerts),
          u.rules.join(', '),
          `${shortTime(u.lastTs)} (${u.lastUid})`,
        ]),
        refs: ref('alerts.unresolvedCritical'),
        empty: s.none,
      },
    ],
  };

  const vulnerable = figure(data, 'assets.vulnerableFirmware', 'assets.vulnerableFirmware').value;
  const vulnerableSection: Section = {
    title: s.vulnerable,
    blocks: [
      {
        type: 'table',
        caption: '',
        columns: [s.advisory, s.severity, s.assets, s.enterprisesCount, 'CVE / CNVD'],
        rows: vulnerable.map((v) => [
          `${v.title} (${v.advisory})`,
          v.severity,
          String(v.assets),
          String(v.enterprises),
          [...v.cve, ...v.cnvd].join(', ') || '—',
        ]),
        refs: ref('assets.vulnerableFirmware'),
        empty: s.none,
      },
    ],
  };

  const coverageSection: Section = {
    title: s.coverage,
    blocks: [
      {
        type: 'figures',
        items: [
          { label: s.registered, value: String(coverage.registered), refs: ref('sensors.coverage') },
          { label: s.reporting, value: String(coverage.reporting), refs: ref('sensors.coverage') },
          { label: s.silent, value: String(coverage.silent.length), refs: ref('sensors.coverage') },
        ],
      },
      { type: 'note', text: s.silentNote(coverage.silentAfterHours, coverage.asOf) },
      {
        type: 'table',
        caption: s.silent,
        columns: [s.sensor, s.enterprise, s.lastSeen],
        rows: coverage.silent.map((x) => [
          x.sensorId,
          x.enterpriseId,
          x.lastSeenAt ? shortTime(x.lastSeenAt) : s.never,
        ]),
        refs: ref('sensors.coverage'),
        empty: s.none,
      },
    ],
  };

  return {
    title,
    meta,
    sections: [headline, risks, warningSection, unresolvedSection, vulnerableSection, coverageSection],
    annexTitle: s.queries,
    annexNote: s.queriesNote,
    annex: data.figures.map((f, i) => ({
      n: i + 1,
      figureId: f.id,
      name: f.query.name,
      params: JSON.stringify(f.query.params),
    })),
    lang: data.lang,
  };
}
