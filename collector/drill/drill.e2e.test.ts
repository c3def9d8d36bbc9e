/**
 * Drills from captures, end to end with real components: nats-server, the real `otcollector serve` (SQLite), real
 * `otsensor read --publish --drill` runs started by the drill. Every bundled capture scenario must be detected step
 * by step; drill alerts must stay out of the default alert view; a step that expects a rule its capture cannot raise
 * must be reported as not detected.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../tests/support/paths.ts';
import { formatTable } from './report.ts';
import { runDrill } from './runner.ts';
import { loadScenario, parseScenario } from './scenario.ts';
import { type DrillChain, startDrillChain } from './testing/harness.ts';

let chain: DrillChain;

beforeAll(async () => {
  chain = await startDrillChain();
}, 60_000);

afterAll(async () => {
  await chain?.stop();
});

function otcollector(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/otcollector.js', ...args], { cwd: REPO_ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
    });
    child.once('exit', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

/** A one-step drill at gz-chem-01 (grade 3) replaying `capture` (repository path), expecting `expectation`. */
function oneStepDrill(
  on: DrillChain,
  capture: string,
  expectation: string,
  timeouts: { detectTimeoutSec?: number; warnTimeoutSec: number },
) {
  const file = join(on.dir, `one-step-${basename(capture)}.yaml`);
  const yaml = [
    `name: one step, ${basename(capture)}`,
    'steps:',
    `  - name: ${basename(capture)}`,
    `    capture: ${join(REPO_ROOT, capture)}`,
    '    enterprise: gz-chem-01',
    '    sensor: gz-chem-01-s1',
    `    expect: ${expectation}`,
  ].join('\n');
  writeFileSync(file, yaml);
  const { collectorUrl, token, natsUrl } = on;
  return runDrill(parseScenario(yaml, file), { collectorUrl, token, natsUrl, ...timeouts });
}

describe('drills from captures against a running collector', () => {
  it('the three bundled capture scenarios: every step detected, drill alerts only in the drill view', async () => {
    const reportFile = join(chain.dir, 'report.html');
    const options = { collectorUrl: chain.collectorUrl, token: chain.token, natsUrl: chain.natsUrl, warnTimeoutSec: 0 };
    // The S7 scenario through the CLI (table + HTML report), the other two in-process, all at once.
    const [cli, modbus, opcua] = await Promise.all([
      otcollector([
        'drill',
        'drills/s7-intrusion.yaml',
        '--collector',
        chain.collectorUrl,
        '--token',
        chain.token,
        '--nats',
        chain.natsUrl,
        '--warn-timeout',
        '0',
        '--report',
        reportFile,
      ]),
      runDrill(loadScenario(join(REPO_ROOT, 'drills/modbus-sabotage.yaml')), options),
      runDrill(loadScenario(join(REPO_ROOT, 'drills/opcua-intrusion.yaml')), options),
    ]);
    console.info(cli.stdout + formatTable(modbus) + formatTable(opcua));
    expect(cli.code, cli.stderr).toBe(0);
    const rows = cli.stdout.split('\n').filter((l) => /^\d+\s/.test(l));
    expect(rows).toHaveLength(3);
    for (const row of rows) expect(row).toMatch(/\byes\b/);
    expect(cli.stdout).toContain('3/3 steps detected');
    expect(cli.stdout).toContain('PASSED');
    for (const report of [modbus, opcua]) {
      expect(report.passed).toBe(true);
      expect(report.leakedIntoRealView).toBe(0);
      for (const step of report.steps) {
        expect(step.detected, step.name).toBe(true);
        expect(step.alert?.ruleId).toBe(step.expect.rule);
        expect(step.timeToDetectMs).toBeGreaterThanOrEqual(0);
        // The drill asked for a drill bulletin over its period: it lists the step's rule at its enterprise.
        expect(step.bulletin.state, step.name).toBe('found');
        expect(step.warning.state).not.toBe('error');
      }
      // Steps started at their offsets (4 s apart), in order.
      const starts = report.steps.map((s) => Date.parse(s.startedAt));
      expect((starts[1] ?? 0) - (starts[0] ?? 0)).toBeGreaterThanOrEqual(3900);
    }
    const html = readFileSync(reportFile, 'utf8');
    expect(html).toContain('<!doctype html>');
    expect(html).toContain('ot.s7.plc_stop');
    expect(html).not.toMatch(/<script|<link|src=/);

    // Drill alerts exist in the drill view and never in the default one.
    type Page = { items: { drill: boolean; sensorId: string }[] };
    const drillView = await chain.get<Page>('/alerts?includeDrill=true&drillOnly=true&limit=1000');
    const realView = await chain.get<Page>('/alerts?limit=1000');
    expect(drillView.items.length).toBeGreaterThanOrEqual(9);
    expect(drillView.items.every((a) => a.drill)).toBe(true);
    expect(realView.items.filter((a) => a.drill)).toHaveLength(0);
  }, 300_000);

  it('a step whose capture cannot raise the expected rule is reported as not detected', async () => {
    const report = await oneStepDrill(chain, 'rules/packs/captures/s7-cpu-scan.pcap', '{ rule: ot.s7.plc_stop }', {
      detectTimeoutSec: 3,
      warnTimeoutSec: 0,
    });
    expect(report.passed).toBe(false);
    expect(report.steps[0]?.detected).toBe(false);
    expect(report.steps[0]?.exitCode).toBe(0);
    expect(formatTable(report)).toContain('0/1 steps detected');
  }, 60_000);
});

describe('a capture drill step raises a drill risk warning', () => {
  let own: DrillChain;
  beforeAll(async () => {
    // Its own collector: warnings are issued once per rule, enterprise and window, and the drills above may already
    // have used gz-chem-01's.
    own = await startDrillChain();
  }, 60_000);
  afterAll(async () => {
    await own?.stop();
  });

  it('a PLC stop replayed at the grade-3 enterprise: warned within the wait, though the capture is hours old', async () => {
    // The capture's packets are from when it was made; the grade-3 rule looks at the last hour of alerts by their
    // time, so the step only warns because the drill replays with --retime.
    const report = await oneStepDrill(
      own,
      'tests/peers/s7/snap7_1102.pcap',
      '{ rule: ot.s7.plc_stop, level: critical }',
      {
        warnTimeoutSec: 40,
      },
    );
    const step = report.steps[0];
    expect(step?.detected).toBe(true);
    const alertTs = Date.parse(step?.alert?.ts ?? '');
    expect(Math.abs(alertTs - Date.parse(step?.startedAt ?? ''))).toBeLessThan(60_000);
    expect(step?.warning).toMatchObject({ state: 'found' });
    console.info(formatTable(report));
  }, 120_000);
});
