/// <reference lib="dom" />
/**
 * The communication map: nodes are the enterprise's assets (and peers seen but not inventoried), edges say who talks
 * to whom, over which protocol, how often, and which functions the client side used (from the asset records'
 * `peers` and `activity`).
 */
import { h } from 'preact';
import { Chart, remPx } from '../charts.ts';
import { formatNumber } from '../format.ts';
import { t } from '../i18n.ts';
import { INK, MUTED, SERIES } from '../palette.ts';
import type { Asset } from '../types.ts';
import { Empty } from '../ui.ts';
import { roleName } from './assets.ts';

export interface MapEdge {
  a: string;
  b: string;
  protocol: string;
  events: number;
  /** Functions the client side of the pair used over this protocol (its activity counters). */
  functions: string[];
}

const ACTIVITY_PREFIX: Record<string, string> = { s7comm: 's7.', modbus: 'modbus.', opcua: 'opcua.' };

/** Edges from the peers tables: one per unordered pair and protocol (both ends list each other). */
export function mapEdges(assets: Asset[]): MapEdge[] {
  const byIp = new Map(assets.map((a) => [a.ip, a]));
  const edges = new Map<string, MapEdge>();
  for (const asset of assets) {
    for (const [peer, protocols] of Object.entries(asset.record.peers ?? {})) {
      for (const [protocol, events] of Object.entries(protocols)) {
        const [a, b] = asset.ip < peer ? [asset.ip, peer] : [peer, asset.ip];
        const key = `${a}|${b}|${protocol}`;
        const edge = edges.get(key) ?? { a, b, protocol, events: 0, functions: [] };
        edge.events = Math.max(edge.events, events);
        const prefix = ACTIVITY_PREFIX[protocol] ?? `${protocol}.`;
        for (const ip of [a, b]) {
          const act = byIp.get(ip)?.record.activity ?? {};
          for (const [name, n] of Object.entries(act)) {
            if (name.startsWith(prefix) && !name.endsWith('.answered') && n > 0) {
              const fn = name.slice(prefix.length);
              if (!edge.functions.includes(fn)) edge.functions.push(fn);
            }
          }
        }
        edges.set(key, edge);
      }
    }
  }
  return [...edges.values()];
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const ROLE_ORDER = ['plc', 'hmi', 'engineering_workstation', 'opcua_server', 'opcua_client', 'historian', 'unknown'];

export function CommunicationMap(props: { assets: Asset[] }) {
  const edges = mapEdges(props.assets);
  if (props.assets.length === 0) return h(Empty, { text: t('asset.none') });
  const known = new Set(props.assets.map((a) => a.ip));
  const external = new Set<string>();
  for (const e of edges) for (const ip of [e.a, e.b]) if (!known.has(ip)) external.add(ip);
  // Only the roles present get a legend entry; unknown roles fall in with 'unknown'.
  const roleOf = (a: Asset) => (ROLE_ORDER.includes(a.role) ? a.role : 'unknown');
  const used = ROLE_ORDER.filter((r) => props.assets.some((a) => roleOf(a) === r));
  const categories = [
    ...used.map((r) => ({ name: roleName(r) })),
    ...(external.size ? [{ name: t('map.external') }] : []),
  ];
  const nodes = [
    ...props.assets.map((a) => ({
      id: a.ip,
      name: a.ip,
      category: used.indexOf(roleOf(a)),
      symbolSize: 34,
      value: roleName(a.role),
    })),
    ...[...external].map((ip) => ({
      id: ip,
      name: ip,
      category: used.length,
      symbolSize: 24,
      value: t('map.external'),
    })),
  ];
  const links = edges.map((e) => ({
    source: e.a,
    target: e.b,
    value: e.events,
    protocol: e.protocol,
    label: {
      show: true,
      formatter: `${e.protocol} ×${formatNumber(e.events)}`,
      color: INK,
      fontSize: Math.round(remPx() * 0.75),
    },
    // ECharts puts a string formatter's result in innerHTML: everything from the sensor is escaped.
    tooltip: {
      formatter: `${escapeHtml(`${e.a} ↔ ${e.b}`)}<br>${escapeHtml(`${e.protocol}: ${formatNumber(e.events)} ${t('map.events')}`)}${e.functions.length ? `<br>${escapeHtml(`${t('map.functions')}: ${e.functions.join(', ')}`)}` : ''}`,
    },
    lineStyle: { width: Math.min(6, 1 + Math.log10(1 + e.events) * 2), color: MUTED, opacity: 0.9 },
  }));
  return h(Chart, {
    testId: 'comm-map',
    height: 460,
    label: t('map.label', { nodes: formatNumber(nodes.length), edges: formatNumber(edges.length) }),
    table: {
      head: [t('map.from'), t('map.to'), t('common.protocol'), t('map.events'), t('map.functions')],
      rows: edges.map((e) => [e.a, e.b, e.protocol, e.events, e.functions.join(', ')]),
    },
    option: {
      color: SERIES,
      tooltip: { trigger: 'item' },
      legend: { data: categories.map((c) => c.name), textStyle: { color: INK }, top: 0, type: 'plain' },
      series: [
        {
          type: 'graph',
          layout: 'circular',
          top: 40,
          bottom: 70,
          left: 80,
          right: 80,
          circular: { rotateLabel: false },
          roam: true,
          categories,
          data: nodes,
          links,
          label: { show: true, position: 'bottom', color: INK, formatter: '{b}\n{c}' },
          // Edge labels in full ink colour (ECharts would fade them with the line).
          edgeLabel: { color: INK, opacity: 1, fontSize: Math.round(remPx() * 0.8) },
          emphasis: { focus: 'adjacency' },
        },
      ],
    },
  });
}
