/**
 * Runs a drill scenario against a running collector: each step goes through a real sensor process marked `--drill`
 * (`otsensor read CAPTURE --publish ... --retime` for a capture step, its packets moved to end now; for lab steps
 * one `otsensor live --iface ...` capturing the lab for the whole drill while `otlab attack STEP` runs), then the
 * collector's API is polled for the step's alert, a drill risk warning and, at the end, an on-demand bulletin with
 * drill data. Times are measured from the moment the step started (the collector stamps `receivedAt` on the same
 * clock when both run on one host).
 *
 * Sensor ids get a per-run suffix (`SENSOR-dXXXXXX`) unless `exactSensorIds`: the store keeps one copy of an alert
 * per (sensor, event id) and a capture replays to the same event ids, so a second run of a drill under the same
 * sensor id would be deduplicated away and never "detected".
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CollectorClient, type DrillAlert } from './collector-client.ts';
import { type DrillExpect, type DrillScenario, type DrillStep, levelAtLeast } from './scenario.ts';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface DrillOptions {
  collectorUrl: string;
  token: string;
  natsUrl: string;
  /** Overrides the scenario's province. */
  province?: string;
  /** How long to wait for a step's alert after its sensor run ended (s, default 30). */
  detectTimeoutSec?: number;
  /** How long to wait for warnings after the last step (s, default 20; 0 skips waiting). */
  warnTimeoutSec?: number;
  exactSensorIds?: boolean;
  /** Lab state directory (otlab --run-dir). */
  labRunDir?: string;
  /** Bring the lab up in namespaces before the first lab step and take it down at the end. */
  labUp?: boolean;
  /** Progress lines (stderr in the CLI). */
  log?: (line: string) => void;
}

export type Availability<T> = { state: 'n/a'; reason: string } | { state: 'error'; reason: string } | T;

export interface StepResult {
  index: number;
  name: string;
  source: string;
  enterprise: string;
  sensor: string;
  expect: DrillExpect;
  startedAt: string;
  /** Exit status of the sensor run (capture) or the attack (lab). */
  exitCode: number | null;
  detected: boolean;
  timeToDetectMs: number | null;
  alert: { uid: string; ruleId: string; level: string; receivedAt: string; ts: string } | null;
  warning: Availability<{ state: 'found' | 'none'; timeToWarnMs: number | null; id: string | null; title: string }>;
  bulletin: Availability<{ state: 'found' | 'none' }>;
  error: string | null;
}

export interface DrillReport {
  scenario: string;
  description: string;
  file: string;
  runId: string;
  province: string;
  startedAt: string;
  endedAt: string;
  steps: StepResult[];
  /** Drill alerts that showed up in the default (non-drill) alert list: must be 0. */
  leakedIntoRealView: number;
  passed: boolean;
}

interface Proc {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number>;
}

function run(args: string[]): Proc {
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (c: string) => {
    out += c;
  });
  child.stderr?.setEncoding('utf8').on('data', (c: string) => {
    err = (err + c).slice(-20_000);
  });
  const exited = new Promise<number>((resolve) => child.once('exit', (code) => resolve(code ?? 1)));
  return { child, stdout: () => out, stderr: () => err, exited };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function describeSource(step: DrillStep): string {
  return step.source.kind === 'capture' ? `capture ${basename(step.source.path)}` : `lab ${step.source.step}`;
}

/** The alerts of `step` that meet its expectation, received at or after it started (1 s slack for clock rounding). */
function matching(alerts: DrillAlert[], step: DrillStep, startMs: number): DrillAlert[] {
  return alerts
    .filter((a) => a.drill && Date.parse(a.receivedAt) >= startMs - 1000)
    .filter((a) => step.expect.rule === undefined || a.ruleId === step.expect.rule)
    .filter((a) => step.expect.level === undefined || levelAtLeast(a.level, step.expect.level))
    .sort((a, b) => Date.parse(a.receivedAt) - Date.parse(b.receivedAt));
}

export async function runDrill(scenario: DrillScenario, options: DrillOptions): Promise<DrillReport> {
  const log = options.log ?? (() => {});
  const api = new CollectorClient(options.collectorUrl, options.token);
  const province = options.province ?? scenario.province;
  const runId = Date.now().toString(36).slice(-6);
  const sensorId = (s: string) => (options.exactSensorIds ? s : `${s}-d${runId}`);
  const detectTimeout = (options.detectTimeoutSec ?? 30) * 1000;
  const work = mkdtempSync(join(tmpdir(), 'otdrill-'));
  const labArgs = options.labRunDir === undefined ? [] : ['--run-dir', options.labRunDir];
  const startMs = Date.now();
  const results: StepResult[] = [];
  const startTimes: number[] = [];
  let live: Proc | null = null;
  let labStarted = false;
  const publishArgs = (step: DrillStep) => [
    '--publish',
    options.natsUrl,
    '--province',
    province,
    '--enterprise',
    step.enterprise,
    '--sensor-id',
    sensorId(step.sensor),
    '--outbox',
    join(work, `outbox-${step.sensor}-${step.source.kind}`),
    '--drill',
  ];

  try {
    const firstLab = scenario.steps.find((s) => s.source.kind === 'lab');
    if (firstLab !== undefined) {
      if (options.labUp) {
        log('drill: starting the lab (otlab up --netns)');
        const up = run(['bin/otlab.js', 'up', '--netns', ...labArgs]);
        if ((await up.exited) !== 0) throw new Error(`otlab up failed: ${up.stderr().slice(-2000)}`);
        labStarted = true;
      }
      const status = run(['bin/otlab.js', 'status', ...labArgs]);
      if ((await status.exited) !== 0)
        throw new Error("the scenario has lab steps but no lab is up ('otlab up --netns')");
      const iface = (JSON.parse(status.stdout()) as { iface: string }).iface;
      log(`drill: live sensor on ${iface} for the lab steps`);
      live = run(['bin/otsensor.js', 'live', '--iface', iface, '--asset-interval', '2', ...publishArgs(firstLab)]);
      for (let i = 0; i < 150 && !live.stderr().includes('capturing on'); i++) {
        if (live.child.exitCode !== null) break;
        await sleep(100);
      }
      if (!live.stderr().includes('capturing on')) throw new Error(`live sensor did not start: ${live.stderr()}`);
    }

    for (const [index, step] of scenario.steps.entries()) {
      const due = startMs + step.at * 1000;
      if (Date.now() < due) await sleep(due - Date.now());
      const stepStart = Date.now();
      startTimes.push(stepStart);
      log(`drill: step ${index + 1} ${step.name} (${describeSource(step)})`);
      const result: StepResult = {
        index: index + 1,
        name: step.name,
        source: describeSource(step),
        enterprise: step.enterprise,
        sensor: sensorId(step.sensor),
        expect: step.expect,
        startedAt: new Date(stepStart).toISOString(),
        exitCode: null,
        detected: false,
        timeToDetectMs: null,
        alert: null,
        warning: { state: 'n/a', reason: 'not checked yet' },
        bulletin: { state: 'n/a', reason: 'not checked yet' },
        error: null,
      };
      results.push(result);
      const action =
        step.source.kind === 'capture'
          ? // --retime: the capture's packets are moved to end now, so its alerts fall in the warning rules' windows.
            run(['bin/otsensor.js', 'read', step.source.path, ...publishArgs(step), '--retime'])
          : run(['bin/otlab.js', 'attack', step.source.step, ...labArgs]);
      let actionDone = false;
      let doneAt = Number.POSITIVE_INFINITY;
      void action.exited.then((code) => {
        result.exitCode = code;
        actionDone = true;
        doneAt = Date.now();
      });
      // Poll while the step runs and up to detectTimeout after it ended.
      while (!result.detected) {
        const found = matching(
          await api.alerts({
            enterprise: step.enterprise,
            sensor: result.sensor,
            ...(step.expect.rule !== undefined ? { rule: step.expect.rule } : {}),
            drill: true,
          }),
          step,
          stepStart,
        );
        const first = found[0];
        if (first !== undefined) {
          result.detected = true;
          result.alert = {
            uid: first.uid,
            ruleId: first.ruleId,
            level: first.level,
            receivedAt: first.receivedAt,
            ts: first.ts,
          };
          result.timeToDetectMs = Math.max(0, Date.parse(first.receivedAt) - stepStart);
          break;
        }
        if (actionDone && Date.now() - doneAt > detectTimeout) break;
        await sleep(250);
      }
      await action.exited;
      if (result.exitCode !== 0) {
        result.error = `${step.source.kind === 'capture' ? 'otsensor read' : 'otlab attack'} exited ${result.exitCode}: ${action.stderr().trim().split('\n').slice(-3).join(' | ')}`;
      }
      log(
        `drill: step ${index + 1} ${result.detected ? `detected in ${((result.timeToDetectMs ?? 0) / 1000).toFixed(1)} s (${result.alert?.ruleId})` : 'NOT detected'}`,
      );
    }

    await checkWarnings(api, results, startTimes, startMs, (options.warnTimeoutSec ?? 20) * 1000, log);
    await checkBulletin(api, results, startMs);
    const leaked = await countLeaks(api, scenario, sensorId);
    const report: DrillReport = {
      scenario: scenario.name,
      description: scenario.description,
      file: scenario.file,
      runId,
      province,
      startedAt: new Date(startMs).toISOString(),
      endedAt: new Date().toISOString(),
      steps: results,
      leakedIntoRealView: leaked,
      passed: results.every((r) => r.detected && r.error === null) && leaked === 0,
    };
    return report;
  } finally {
    if (live !== null) {
      live.child.kill('SIGINT');
      const timer = setTimeout(() => live?.child.kill('SIGKILL'), 30_000);
      await live.exited;
      clearTimeout(timer);
    }
    if (labStarted) await run(['bin/otlab.js', 'down', ...labArgs]).exited;
    rmSync(work, { recursive: true, force: true });
  }
}

async function checkWarnings(
  api: CollectorClient,
  results: StepResult[],
  startTimes: number[],
  startMs: number,
  timeoutMs: number,
  log: (line: string) => void,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let warnings: Awaited<ReturnType<CollectorClient['warnings']>>;
    try {
      warnings = await api.warnings(new Date(startMs - 1000).toISOString());
    } catch (err) {
      for (const r of results) r.warning = { state: 'error', reason: (err as Error).message };
      return;
    }
    if (warnings === null) {
      for (const r of results) r.warning = { state: 'n/a', reason: 'the collector has no /warnings route' };
      return;
    }
    for (const [i, r] of results.entries()) {
      const stepStart = startTimes[i] ?? startMs;
      // A drill warning issued after the step started that cites the step's alert, or a fact about the step's
      // enterprise and rule (a warning cites one alert per enterprise and rule as evidence).
      const alert = r.alert;
      const w =
        alert === null
          ? undefined
          : warnings
              .filter((c) => c.drill && Date.parse(c.issuedAt) >= stepStart - 1000)
              .sort((a, b) => Date.parse(a.issuedAt) - Date.parse(b.issuedAt))
              .find(
                (c) =>
                  c.text.includes(alert.uid) ||
                  (c.text.includes(`"${r.enterprise}"`) && c.text.includes(`"${alert.ruleId}"`)),
              );
      r.warning =
        w === undefined
          ? { state: 'none', timeToWarnMs: null, id: null, title: '' }
          : {
              state: 'found',
              timeToWarnMs: Math.max(0, Date.parse(w.issuedAt) - stepStart),
              id: w.id,
              title: w.title || w.ruleId,
            };
    }
    const missing = results.filter((r) => r.warning.state === 'none').length;
    if (missing === 0 || Date.now() >= deadline) return;
    log(`drill: waiting for risk warnings (${missing} steps without one)`);
    await sleep(2000);
  }
}

async function checkBulletin(api: CollectorClient, results: StepResult[], startMs: number): Promise<void> {
  let text: string | null;
  // A replayed capture's alerts carry its (retimed) packet times, up to the capture's length before the step: the
  // period reaches back to the oldest of them.
  const oldest = Math.min(startMs - 1000, ...results.flatMap((r) => (r.alert ? [Date.parse(r.alert.ts)] : [])));
  try {
    text = await api.bulletin(new Date(oldest).toISOString(), new Date(Date.now() + 1000).toISOString());
  } catch (err) {
    for (const r of results) r.bulletin = { state: 'error', reason: (err as Error).message };
    return;
  }
  for (const r of results) {
    if (text === null) {
      r.bulletin = { state: 'n/a', reason: 'the collector has no /bulletins route' };
      continue;
    }
    // The bulletin lists alerts by rule and enterprise (its JSON form): the step's rule at its enterprise.
    const mentioned =
      r.alert !== null &&
      (text.includes(r.alert.uid) || (text.includes(r.alert.ruleId) && text.includes(r.enterprise)));
    r.bulletin = { state: mentioned ? 'found' : 'none' };
  }
}

/** Drill alerts must never appear in the default alert view (real statistics). */
async function countLeaks(
  api: CollectorClient,
  scenario: DrillScenario,
  sensorId: (s: string) => string,
): Promise<number> {
  let leaked = 0;
  const seen = new Set<string>();
  for (const step of scenario.steps) {
    const key = `${step.enterprise}/${step.sensor}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const real = await api.alerts({ enterprise: step.enterprise, sensor: sensorId(step.sensor), drill: false });
    // The default view must hold no drill alert at all (the sensor's real alerts, if any, are fine).
    leaked += real.filter((a) => a.drill).length;
  }
  return leaked;
}
