/**
 * Charts as inline SVG, rendered on the server with ECharts' SSR renderer (no DOM, no browser): the HTML bulletin
 * stays one self-contained file that opens offline and prints to PDF as vectors.
 */
import * as echarts from 'echarts';
import type { ChartSpec } from './layout.ts';

const PALETTE = ['#c23531', '#2f4554', '#61a0a8', '#d48265', '#91c7ae', '#749f83'];
const FONT = '"Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", sans-serif';

export function chartSvg(
  spec: ChartSpec,
  size: { width: number; height: number } = { width: 720, height: 300 },
): string {
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width: size.width, height: size.height });
  try {
    chart.setOption({
      animation: false,
      color: PALETTE,
      textStyle: { fontFamily: FONT },
      title: { text: spec.title, left: 'center', textStyle: { fontSize: 14, fontFamily: FONT } },
      legend: spec.series.length > 1 ? { bottom: 0, textStyle: { fontFamily: FONT } } : { show: false },
      grid: { left: 48, right: 24, top: 40, bottom: spec.series.length > 1 ? 48 : 32 },
      xAxis: { type: 'category', data: spec.categories, axisLabel: { fontFamily: FONT } },
      yAxis: { type: 'value', minInterval: 1 },
      series: spec.series.map((s) => ({
        name: s.name,
        type: spec.kind === 'pie' ? 'bar' : spec.kind,
        data: s.values,
        label: { show: spec.kind === 'bar', position: 'top', fontSize: 10 },
      })),
    });
    return chart.renderToSVGString();
  } finally {
    chart.dispose();
  }
}
