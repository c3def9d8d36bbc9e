/**
 * The drill report as a plain-text table (stdout) and as one self-contained HTML page (inline CSS, no scripts, no
 * external resources), bilingual headings since the provinces' users read Chinese first.
 */
import type { DrillReport, StepResult } from './runner.ts';

function seconds(ms: number | null): string {
  return ms === null ? '-' : `${(ms / 1000).toFixed(1)} s`;
}

function expectText(r: StepResult): string {
  const parts = [r.expect.rule ?? 'any rule', r.expect.level ? `≥${r.expect.level}` : ''];
  return parts.filter(Boolean).join(' ');
}

function warningText(r: StepResult): string {
  const w = r.warning;
  if (w.state === 'found') return 'yes';
  if (w.state === 'none') return 'no';
  return w.state;
}

function bulletinText(r: StepResult): string {
  const b = r.bulletin;
  return b.state === 'found' ? 'yes' : b.state === 'none' ? 'no' : b.state;
}

export interface TableRow {
  cells: string[];
}

const HEADERS = [
  '#',
  'Step',
  'Source',
  'Enterprise',
  'Expected',
  'Detected',
  'TTD',
  'Rule seen',
  'Warning',
  'TTW',
  'Bulletin',
];

function rows(report: DrillReport): string[][] {
  return report.steps.map((r) => [
    String(r.index),
    r.name,
    r.source,
    r.enterprise,
    expectText(r),
    r.detected ? 'yes' : 'NO',
    seconds(r.timeToDetectMs),
    r.alert ? `${r.alert.ruleId} (${r.alert.level})` : '-',
    warningText(r),
    r.warning.state === 'found' ? seconds(r.warning.timeToWarnMs) : '-',
    bulletinText(r),
  ]);
}

/** Display width: CJK characters take two columns in a terminal. */
function width(s: string): number {
  let w = 0;
  for (const ch of s)
    w += /[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]/.test(ch)
      ? 2
      : 1;
  return w;
}

function pad(s: string, n: number): string {
  return s + ' '.repeat(Math.max(0, n - width(s)));
}

export function formatTable(report: DrillReport): string {
  const body = rows(report);
  const widths = HEADERS.map((h, i) => Math.max(width(h), ...body.map((r) => width(r[i] ?? ''))));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => pad(c, widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  const out = [
    `Drill 演练: ${report.scenario}  (run ${report.runId}, province ${report.province}, ${report.startedAt} → ${report.endedAt})`,
    line(HEADERS),
    line(widths.map((w) => '-'.repeat(w))),
    ...body.map(line),
  ];
  const detected = report.steps.filter((r) => r.detected).length;
  out.push(
    `${detected}/${report.steps.length} steps detected; drill alerts in the real (non-drill) view: ${report.leakedIntoRealView}; ${report.passed ? 'PASSED' : 'FAILED'}`,
  );
  for (const r of report.steps) {
    if (r.error) out.push(`step ${r.index}: ${r.error}`);
    if (r.warning.state === 'error') out.push(`step ${r.index} warnings: ${r.warning.reason}`);
    if (r.bulletin.state === 'error') out.push(`step ${r.index} bulletin: ${r.bulletin.reason}`);
  }
  return `${out.join('\n')}\n`;
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function formatHtml(report: DrillReport): string {
  const body = rows(report);
  const detected = report.steps.filter((r) => r.detected).length;
  const tr = body
    .map((cells, i) => {
      const ok = report.steps[i]?.detected === true && report.steps[i]?.error === null;
      return `<tr class="${ok ? 'ok' : 'bad'}">${cells.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`;
    })
    .join('\n');
  const notes = report.steps
    .flatMap((r) => [
      r.error ? `step ${r.index}: ${r.error}` : '',
      r.warning.state === 'n/a' || r.warning.state === 'error' ? `step ${r.index} warning: ${r.warning.reason}` : '',
      r.bulletin.state === 'n/a' || r.bulletin.state === 'error'
        ? `step ${r.index} bulletin: ${r.bulletin.reason}`
        : '',
    ])
    .filter(Boolean);
  return `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>应急演练报告 Drill report: ${esc(report.scenario)}</title>
<style>
body{font-family:system-ui,"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:2rem;color:#1b1f24}
h1{font-size:1.4rem}table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{border:1px solid #ccd;padding:.35rem .5rem;text-align:left;vertical-align:top}th{background:#eef1f6}
tr.ok td:nth-child(6){color:#176f2c;font-weight:600}tr.bad td:nth-child(6){color:#b3261e;font-weight:700}
.verdict{font-size:1.1rem;font-weight:700}.pass{color:#176f2c}.fail{color:#b3261e}dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}
dt{color:#555}.note{color:#555;font-size:.85rem}
</style></head><body>
<h1>应急演练报告 Drill report — ${esc(report.scenario)}</h1>
<p>${esc(report.description)}</p>
<dl><dt>演练编号 Run</dt><dd>${esc(report.runId)}</dd><dt>省份 Province</dt><dd>${esc(report.province)}</dd>
<dt>开始 Started</dt><dd>${esc(report.startedAt)}</dd><dt>结束 Ended</dt><dd>${esc(report.endedAt)}</dd>
<dt>场景文件 Scenario</dt><dd>${esc(report.file)}</dd></dl>
<p class="verdict ${report.passed ? 'pass' : 'fail'}">${report.passed ? '通过 PASSED' : '未通过 FAILED'}: ${detected}/${report.steps.length} 步被检测到 steps detected; 演练告警出现在正式视图中 drill alerts in the real view: ${report.leakedIntoRealView}</p>
<table><thead><tr>${HEADERS.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>
${tr}
</tbody></table>
<p class="note">TTD: 检测时间 time from the step's start to the alert's arrival at the collector. TTW: 预警时间 time to the risk warning. 演练数据均标记为演练 (drill) — every message of this drill carries drill: true and is excluded from real statistics.</p>
${notes.length > 0 ? `<ul class="note">${notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>` : ''}
</body></html>
`;
}
