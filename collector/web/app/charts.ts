/// <reference lib="dom" />
/**
 * ECharts, imported piece by piece (core, the bar and graph charts, and the components used) so the bundle carries
 * only what the dashboard draws. `Chart` mounts one chart, follows its container's size, and pairs the canvas with
 * a visually hidden table of the same numbers for screen readers (and the browser tests).
 */
import { BarChart, GraphChart } from 'echarts/charts';
import { AriaComponent, GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import type { EChartsCoreOption, EChartsType } from 'echarts/core';
import { init, use } from 'echarts/core';
import { CanvasRenderer } from 'echarts/renderers';
import { h } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import { INK, MUTED } from './palette.ts';

use([BarChart, GraphChart, GridComponent, TooltipComponent, LegendComponent, AriaComponent, CanvasRenderer]);

export type ChartOption = EChartsCoreOption;

export const FONT_FAMILY =
  "system-ui, -apple-system, 'Segoe UI', 'PingFang SC', 'Hiragino Sans GB', 'Microsoft YaHei', 'Noto Sans CJK SC', 'Source Han Sans SC', sans-serif";

/** The page's root font size in px (15, or 18 on a wall display): chart text follows it. */
export function remPx(): number {
  const px = Number.parseFloat(getComputedStyle(document.documentElement).fontSize);
  return Number.isFinite(px) && px > 0 ? px : 15;
}

/** Options every chart shares: readable fonts and colours, the aria description on. */
export function baseOption(): ChartOption {
  return {
    aria: { enabled: true },
    textStyle: { fontFamily: FONT_FAMILY, color: INK, fontSize: Math.round(remPx() * 0.87) },
    tooltip: { confine: true, textStyle: { color: INK } },
    animation: false,
  };
}

export function axisStyle() {
  return {
    axisLabel: { color: INK, fontSize: Math.round(remPx() * 0.8) },
    axisLine: { lineStyle: { color: MUTED } },
    splitLine: { lineStyle: { color: '#d5d9de' } },
  };
}

export interface ChartProps {
  option: ChartOption;
  /** What the chart shows, for assistive technology. */
  label: string;
  /** Same numbers as a table: [header, ...rows]. */
  table: { head: string[]; rows: (string | number)[][] };
  height?: number;
  /** Called with the chart once created (e.g. to bind clicks). */
  onReady?: (chart: EChartsType) => void;
  testId?: string;
}

export function Chart(props: ChartProps) {
  const ref = useRef<HTMLDivElement>(null);
  const chart = useRef<EChartsType | null>(null);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const c = init(el, undefined, { renderer: 'canvas' });
    chart.current = c;
    props.onReady?.(c);
    const observer = new ResizeObserver(() => c.resize());
    observer.observe(el);
    return () => {
      observer.disconnect();
      c.dispose();
      chart.current = null;
    };
  }, []);
  useEffect(() => {
    chart.current?.setOption({ ...baseOption(), ...props.option }, true);
  }, [props.option]);
  return h(
    'figure',
    { class: 'chart', 'data-testid': props.testId },
    h('div', {
      ref,
      class: 'chart-canvas',
      role: 'img',
      'aria-label': props.label,
      style: { height: `${Math.round(((props.height ?? 260) * remPx()) / 15)}px` },
    }),
    h(
      'table',
      { class: 'sr-only' },
      h('caption', null, props.label),
      h('thead', null, h('tr', null, ...props.table.head.map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', null, ...props.table.rows.map((r) => h('tr', null, ...r.map((c) => h('td', null, String(c)))))),
    ),
  );
}
