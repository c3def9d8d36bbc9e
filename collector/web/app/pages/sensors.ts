/// <reference lib="dom" />
/** Sensor health: the last health report of every sensor in scope (or of one enterprise). */
import { h } from 'preact';
import { apiGet } from '../api.ts';
import { isSilent, nameOf, useEnterprises } from '../data.ts';
import { formatAge, formatBytes, formatNumber, formatTime } from '../format.ts';
import { t } from '../i18n.ts';
import { href } from '../router.ts';
import type { Health, Sensor } from '../types.ts';
import { Card, show, Table, useAsync } from '../ui.ts';

function sum(record: Record<string, { messages: number; items: number }>): number {
  let n = 0;
  for (const v of Object.values(record)) n += v.items;
  return n;
}

function parseSummary(hl: Health) {
  const entries = Object.entries(hl.parse);
  if (entries.length === 0) return '—';
  return h(
    'ul',
    { class: 'plain compact' },
    ...entries.map(([proto, p]) =>
      h(
        'li',
        { key: proto },
        `${proto}: ${t('sensor.pdus', { n: formatNumber(p.pdus) })}, ${t('sensor.malformed', { n: formatNumber(p.malformed) })}, ${t('sensor.gapBytes', { n: formatBytes(p.gapBytes) })}`,
      ),
    ),
  );
}

export function SensorTable(props: { sensors: Sensor[]; showEnterprise: boolean; caption: string }) {
  const enterprises = useEnterprises();
  const now = Date.now();
  return h(Table<Sensor>, {
    caption: props.caption,
    rows: props.sensors,
    rowKey: (s) => s.id,
    columns: [
      { head: t('common.sensor'), cell: (s) => h('span', null, h('strong', null, s.id), h('br', null), s.name) },
      ...(props.showEnterprise
        ? [
            {
              head: t('common.enterprise'),
              cell: (s: Sensor) =>
                h('a', { href: href(['e', s.enterpriseId, 'sensors']) }, nameOf(enterprises.data, s.enterpriseId)),
            },
          ]
        : []),
      {
        head: t('sensor.status'),
        cell: (s) =>
          s.lastSeenAt === null
            ? h('span', { class: 'status status-bad' }, t('sensor.never'))
            : isSilent(s.lastSeenAt, now)
              ? h('span', { class: 'status status-bad' }, t('sensor.silent'))
              : h('span', { class: 'status status-ok' }, t('sensor.reporting')),
      },
      {
        head: t('sensor.lastSeen'),
        cell: (s) =>
          s.lastSeenAt ? h('span', { title: formatTime(s.lastSeenAt) }, formatAge(s.lastSeenAt, now)) : '—',
      },
      {
        head: t('sensor.packets'),
        numeric: true,
        cell: (s) => (s.lastHealth ? formatNumber(s.lastHealth.capture.packets) : '—'),
      },
      {
        head: t('sensor.drops'),
        numeric: true,
        cell: (s) =>
          s.lastHealth
            ? `${formatNumber(s.lastHealth.capture.drops)} / ${s.lastHealth.capture.kernelDrops === null ? '—' : formatNumber(s.lastHealth.capture.kernelDrops)}`
            : '—',
      },
      { head: t('sensor.parse'), cell: (s) => (s.lastHealth ? parseSummary(s.lastHealth) : '—') },
      {
        head: t('sensor.outbox'),
        cell: (s) =>
          s.lastHealth
            ? `${t('sensor.depth', { n: formatNumber(s.lastHealth.outbox.depthMessages), bytes: formatBytes(s.lastHealth.outbox.depthBytes) })}; ${t('sensor.dropped', { n: formatNumber(sum(s.lastHealth.outbox.dropped)) })}`
            : '—',
      },
      {
        head: t('sensor.clock'),
        numeric: true,
        cell: (s) =>
          s.lastHealth?.clock.offsetMs === null || s.lastHealth === null
            ? '—'
            : `${formatNumber(s.lastHealth.clock.offsetMs, 1)} ms`,
      },
      { head: t('sensor.version'), cell: (s) => s.lastHealth?.versions.sensor ?? '—' },
    ],
  });
}

export function SensorsPage() {
  const sensors = useAsync(() => apiGet<{ items: Sensor[] }>('/sensors').then((r) => r.items), []);
  return h(
    'div',
    { class: 'page' },
    h('div', { class: 'page-head' }, h('h1', { tabIndex: -1 }, t('sensors.title'))),
    h(
      Card,
      { title: t('sensors.list'), wide: true, testId: 'sensors' },
      h('p', { class: 'muted' }, t('sensors.silentHint')),
      show(sensors, (list) => h(SensorTable, { sensors: list, showEnterprise: true, caption: t('sensors.list') })),
    ),
  );
}
