import { describe, expect, it } from 'vitest';
import { formatHtml, formatTable } from './report.ts';
import type { DrillReport, StepResult } from './runner.ts';

function step(index: number, detected: boolean, extra: Partial<StepResult> = {}): StepResult {
  return {
    index,
    name: `第${index}步 <b>`,
    source: 'capture x.pcap',
    enterprise: 'e1',
    sensor: 's1-dabc',
    expect: { rule: 'ot.s7.plc_stop', level: 'critical' },
    startedAt: '2026-01-01T00:00:00.000Z',
    exitCode: 0,
    detected,
    timeToDetectMs: detected ? 2345 : null,
    alert: detected ? { uid: 'u1', ruleId: 'ot.s7.plc_stop', level: 'critical', receivedAt: 'x', ts: 'y' } : null,
    warning: { state: 'n/a', reason: 'no route' },
    bulletin: { state: 'found' },
    error: null,
    ...extra,
  };
}

const report = (steps: StepResult[]): DrillReport => ({
  scenario: 'S7 <script>',
  description: 'd',
  file: 'drills/x.yaml',
  runId: 'abc',
  province: 'gd',
  startedAt: 'a',
  endedAt: 'b',
  steps,
  leakedIntoRealView: 0,
  passed: steps.every((s) => s.detected),
});

describe('drill report', () => {
  it('table: one aligned row per step with detection, times, warning and bulletin columns', () => {
    const text = formatTable(
      report([
        step(1, true),
        step(2, false, { warning: { state: 'found', timeToWarnMs: 61_000, id: 'w', title: 't' } }),
      ]),
    );
    const lines = text.split('\n');
    const rows = lines.filter((l) => /^\d\s/.test(l));
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatch(/yes\s+2\.3 s\s+ot\.s7\.plc_stop \(critical\)\s+n\/a\s+-\s+yes$/);
    expect(rows[1]).toMatch(/NO\s+-\s+-\s+yes\s+61\.0 s\s+yes$/);
    expect(text).toContain('1/2 steps detected');
    expect(text).toContain('FAILED');
  });

  it('HTML: self-contained, escaped, verdict shown', () => {
    const html = formatHtml(report([step(1, true)]));
    expect(html).toContain('通过 PASSED');
    expect(html).toContain('S7 &#60;script&#62;');
    expect(html).not.toContain('<script');
    expect(html).not.toMatch(/<link|src=|href=/);
    expect(html).toContain('第1步 &#60;b&#62;');
  });
});
