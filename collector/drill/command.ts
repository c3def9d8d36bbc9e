/**
 * `otcollector drill SCENARIO.yaml ...`: runs a drill (runner.ts) and prints the table; `--report FILE` writes the
 * HTML report, `--json` prints the report as JSON instead of the table. Exit 0 when every step was detected and no
 * drill alert leaked into the real view, 1 otherwise, 2 for usage errors.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { formatHtml, formatTable } from './report.ts';
import { runDrill } from './runner.ts';
import { loadScenario, ScenarioError } from './scenario.ts';

export const DRILL_USAGE = `  otcollector drill SCENARIO.yaml --collector URL --token T --nats URL [--province P] [--report FILE.html]
      [--json] [--detect-timeout 30] [--warn-timeout 20] [--lab-run-dir DIR] [--lab-up] [--exact-sensor-ids]
      Rehearse (应急演练): replay the scenario's steps through sensors marked --drill into the running collector and
      report per step whether and when the alert, the risk warning and the bulletin entry appeared (docs/drills.md).
      --token may come from $OTCOLLECTOR_TOKEN. Lab steps need 'otlab up --netns' (or --lab-up).
`;

export class DrillUsageError extends Error {}

function seconds(text: string | undefined, name: string, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!(n >= 0) || !Number.isFinite(n)) throw new DrillUsageError(`drill: --${name} must be seconds ≥ 0`);
  return n;
}

export async function runDrillCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      collector: { type: 'string' },
      token: { type: 'string' },
      nats: { type: 'string' },
      province: { type: 'string' },
      report: { type: 'string' },
      json: { type: 'boolean', default: false },
      'detect-timeout': { type: 'string' },
      'warn-timeout': { type: 'string' },
      'lab-run-dir': { type: 'string' },
      'lab-up': { type: 'boolean', default: false },
      'exact-sensor-ids': { type: 'boolean', default: false },
    },
  });
  const file = positionals[0];
  if (file === undefined || positionals.length !== 1) throw new DrillUsageError('drill: give one SCENARIO.yaml');
  const token = values.token ?? process.env.OTCOLLECTOR_TOKEN;
  if (!values.collector || !token || !values.nats) {
    throw new DrillUsageError('drill: --collector URL, --token T (or $OTCOLLECTOR_TOKEN) and --nats URL are required');
  }
  let scenario: ReturnType<typeof loadScenario>;
  try {
    scenario = loadScenario(file);
  } catch (err) {
    if (err instanceof ScenarioError) throw new DrillUsageError(err.message);
    throw err;
  }
  const report = await runDrill(scenario, {
    collectorUrl: values.collector,
    token,
    natsUrl: values.nats,
    ...(values.province !== undefined ? { province: values.province } : {}),
    detectTimeoutSec: seconds(values['detect-timeout'], 'detect-timeout', 30),
    warnTimeoutSec: seconds(values['warn-timeout'], 'warn-timeout', 20),
    ...(values['lab-run-dir'] !== undefined ? { labRunDir: values['lab-run-dir'] } : {}),
    labUp: values['lab-up'],
    exactSensorIds: values['exact-sensor-ids'],
    log: (line) => process.stderr.write(`otcollector: ${line}\n`),
  });
  process.stdout.write(values.json ? `${JSON.stringify(report)}\n` : formatTable(report));
  if (values.report !== undefined) {
    writeFileSync(values.report, formatHtml(report));
    process.stderr.write(`otcollector: drill report written to ${values.report}\n`);
  }
  return report.passed ? 0 : 1;
}
