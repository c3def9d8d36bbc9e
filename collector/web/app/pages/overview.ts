/// <reference lib="dom" />
/**
 * Province overview (province roles): alerts over time, by level, city and industry, the enterprises with most
 * alerts, sensor coverage and silent sensors, and the latest high and critical alerts. A period selector bounds
 * everything (packet time). Risk and warnings join this page with issue 9.
 */
import { h } from 'preact';
import { useState } from 'preact/hooks';
import { apiGet } from '../api.ts';
import { axisStyle, Chart, type ChartOption, remPx } from '../charts.ts';
import { isSilent, nameOf, useEnterprises } from '../data.ts';
import { formatDay, formatNumber, formatTime } from '../format.ts';
import { t } from '../i18n.ts';
import { INK, LEVEL_COLORS, SERIES } from '../palette.ts';
import { href } from '../router.ts';
import { useAppState } from '../store.ts';
import { type AggregateRow, type Alert, LEVELS, type Sensor } from '../types.ts';
import { Card, Field, LevelBadge, levelName, show, Table, useAsync } from '../ui.ts';
import { TopRiskCard } from './risk.ts';
import { WarningsInForce } from './warnings.ts';

export const PERIODS = ['all', '30d', '7d', '24h'] as const;
export type Period = (typeof PERIODS)[number];
const PERIOD_MS: Record<Period, number> = { all: 0, '30d': 30 * 86400e3, '7d': 7 * 86400e3, '24h': 86400e3 };

export function periodFrom(period: Period, nowMs: number = Date.now()): string | undefined {
  return period === 'all' ? undefined : new Date(nowMs - PERIOD_MS[period]).toISOString();
}

function agg(by: string, from: string | undefined) {
  return apiGet<{ rows: AggregateRow[] }>('/aggregates/alerts', { by, from }).then((r) => r.rows);
}

function barOption(rows: AggregateRow[], label: (key: string) => string, color: string | string[]): ChartOption {
  return {
    grid: { left: 8, right: 16, top: 16, bottom: 8, containLabel: true },
    xAxis: { type: 'value', minInterval: 1, ...axisStyle() },
    yAxis: { type: 'category', data: rows.map((r) => label(r.key)).reverse(), ...axisStyle() },
    series: [
      {
        type: 'bar',
        data: rows
          .map((r, i) => ({
            value: r.count,
            itemStyle: { color: Array.isArray(color) ? (color[i % color.length] ?? SERIES[0]) : color },
          }))
          .reverse(),
        label: { show: true, position: 'right', color: INK, fontSize: Math.round(remPx() * 0.8) },
      },
    ],
  };
}

export function OverviewPage() {
  const app = useAppState();
  const [period, setPeriod] = useState<Period>('all');
  const from = periodFrom(period);
  const live = app.liveAlerts.length;
  const enterprises = useEnterprises();
  const timeBy = period === '24h' ? 'hour' : 'day';
  const overTime = useAsync(() => agg(timeBy, from), [period, live, app.lang]);
  const byLevel = useAsync(() => agg('level', from), [period, live]);
  const byCity = useAsync(() => agg('city', from), [period, live]);
  const byIndustry = useAsync(() => agg('industry', from), [period, live]);
  const byEnterprise = useAsync(() => agg('enterprise', from), [period, live]);
  const sensors = useAsync(() => apiGet<{ items: Sensor[] }>('/sensors').then((r) => r.items), []);
  const recent = useAsync(
    () => apiGet<{ items: Alert[] }>('/alerts', { minLevel: 'high', limit: 10, from }).then((r) => r.items),
    [period, live],
  );

  const levelRows = (rows: AggregateRow[]) =>
    LEVELS.map((l) => ({ key: l, count: rows.find((r) => r.key === l)?.count ?? 0 })).reverse();

  return h(
    'div',
    { class: 'page' },
    h(
      'div',
      { class: 'page-head' },
      h('h1', null, t('overview.title')),
      h(
        Field,
        { id: 'period', label: t('filter.period') },
        h(
          'select',
          {
            id: 'period',
            value: period,
            onChange: (e: Event) => setPeriod((e.currentTarget as HTMLSelectElement).value as Period),
          },
          ...PERIODS.map((p) => h('option', { value: p }, t(`period.${p}`))),
        ),
      ),
    ),
    h(
      'div',
      { class: 'grid' },
      h(TopRiskCard, null),
      h(WarningsInForce, null),
      h(
        Card,
        { title: t('overview.overTime'), wide: true, testId: 'chart-over-time' },
        show(overTime, (rows) => {
          const keys = rows.map((r) => (timeBy === 'day' ? formatDay(r.key) : formatTime(r.key)));
          return h(Chart, {
            label: t('overview.overTime'),
            table: {
              head: [t('common.time'), t('common.count')],
              rows: rows.map((r, i) => [keys[i] ?? r.key, r.count]),
            },
            option: {
              grid: { left: 8, right: 16, top: 16, bottom: 8, containLabel: true },
              tooltip: { trigger: 'axis' },
              xAxis: { type: 'category', data: keys, ...axisStyle() },
              yAxis: { type: 'value', minInterval: 1, ...axisStyle() },
              series: [
                {
                  type: 'bar',
                  name: t('common.alerts'),
                  data: rows.map((r) => r.count),
                  itemStyle: { color: SERIES[0] },
                },
              ],
            },
          });
        }),
      ),
      h(
        Card,
        { title: t('overview.byLevel'), testId: 'chart-by-level' },
        show(byLevel, (rows) => {
          const lr = levelRows(rows);
          return h(Chart, {
            label: t('overview.byLevel'),
            table: { head: [t('common.level'), t('common.count')], rows: lr.map((r) => [levelName(r.key), r.count]) },
            option: barOption(
              lr.map((r) => ({ key: r.key, count: r.count })),
              levelName,
              lr.map((r) => LEVEL_COLORS[r.key]),
            ),
          });
        }),
      ),
      h(
        Card,
        { title: t('overview.byCity'), testId: 'chart-by-city' },
        show(byCity, (rows) =>
          h(Chart, {
            label: t('overview.byCity'),
            table: { head: [t('common.city'), t('common.count')], rows: rows.map((r) => [r.key, r.count]) },
            option: barOption(rows.slice(0, 12), (k) => k, SERIES[0] ?? '#0b57a4'),
          }),
        ),
      ),
      h(
        Card,
        { title: t('overview.byIndustry'), testId: 'chart-by-industry' },
        show(byIndustry, (rows) =>
          h(Chart, {
            label: t('overview.byIndustry'),
            table: { head: [t('common.industry'), t('common.count')], rows: rows.map((r) => [r.key, r.count]) },
            option: barOption(rows.slice(0, 12), (k) => k, SERIES[2] ?? '#2f6b2f'),
          }),
        ),
      ),
      h(
        Card,
        { title: t('overview.topEnterprises'), testId: 'top-enterprises' },
        show(byEnterprise, (rows) =>
          h(Table<AggregateRow>, {
            caption: t('overview.topEnterprises'),
            rows: [...rows].sort((a, b) => b.count - a.count).slice(0, 10),
            rowKey: (r) => r.key,
            columns: [
              {
                head: t('common.enterprise'),
                cell: (r) => h('a', { href: href(['e', r.key]) }, nameOf(enterprises.data, r.key)),
              },
              { head: t('common.alerts'), cell: (r) => formatNumber(r.count), numeric: true },
            ],
          }),
        ),
      ),
      h(
        Card,
        { title: t('overview.coverage'), testId: 'coverage' },
        show(sensors, (list) => {
          const ents = enterprises.data ?? [];
          const covered = new Set(list.map((s) => s.enterpriseId));
          const silent = list.filter((s) => isSilent(s.lastSeenAt));
          return h(
            'div',
            null,
            h(
              'dl',
              { class: 'stats' },
              h(
                'div',
                null,
                h('dt', null, t('overview.enterprisesCovered')),
                h(
                  'dd',
                  null,
                  `${formatNumber(ents.filter((e) => covered.has(e.id)).length)} / ${formatNumber(ents.length)}`,
                ),
              ),
              h(
                'div',
                null,
                h('dt', null, t('overview.sensorsReporting')),
                h('dd', null, `${formatNumber(list.length - silent.length)} / ${formatNumber(list.length)}`),
              ),
              h(
                'div',
                null,
                h('dt', null, t('overview.sensorsSilent')),
                h('dd', { class: silent.length ? 'warn' : undefined }, formatNumber(silent.length)),
              ),
            ),
            silent.length === 0
              ? null
              : h(
                  'ul',
                  { class: 'plain', 'aria-label': t('overview.sensorsSilent') },
                  ...silent.map((s) =>
                    h(
                      'li',
                      { key: s.id },
                      h(
                        'a',
                        { href: href(['e', s.enterpriseId, 'sensors']) },
                        `${s.id} · ${nameOf(enterprises.data, s.enterpriseId)}`,
                      ),
                      ' — ',
                      s.lastSeenAt ? `${t('sensor.lastSeen')} ${formatTime(s.lastSeenAt)}` : t('sensor.never'),
                    ),
                  ),
                ),
          );
        }),
      ),
      h(
        Card,
        { title: t('overview.recentHigh'), wide: true, testId: 'recent-high' },
        show(recent, (items) =>
          h(Table<Alert>, {
            caption: t('overview.recentHigh'),
            rows: items,
            rowKey: (a) => a.uid,
            columns: [
              { head: t('common.time'), cell: (a) => formatTime(a.ts) },
              { head: t('common.level'), cell: (a) => h(LevelBadge, { level: a.level }) },
              { head: t('common.rule'), cell: (a) => h('a', { href: href(['alert', a.uid]) }, a.ruleTitle) },
              { head: t('common.enterprise'), cell: (a) => nameOf(enterprises.data, a.enterpriseId) },
              { head: t('common.protocol'), cell: (a) => a.protocol },
            ],
          }),
        ),
      ),
    ),
  );
}
