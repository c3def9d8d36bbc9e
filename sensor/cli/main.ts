/**
 * `otsensor`: the sensor's command line.
 *
 *   otsensor read FILE... [--summary] [--events] [--alerts] [--rules DIR]... [--sensor-id ID]
 *   otsensor live --iface IF [--bpf EXPR] [--events] [--alerts] [--rules DIR]... [--duration SEC] [--sensor-id ID]
 *   otsensor read|live ... --publish NATS_URL [--config FILE] ...   (docs/publishing.md)
 *   otsensor flush --publish NATS_URL ... | --config FILE
 *   otsensor rules list [--rules DIR]... [--json]
 *   otsensor rules test [DIR] [--json]
 *
 * Output contract: JSON on stdout (one summary object, or one event per line); human messages and the progress bar
 * on stderr. Exit status 0 when every input was read completely, 1 when any input was damaged or unreadable (every
 * packet before the damage is still processed and counted), 2 for usage errors.
 */
import { parseArgs } from 'node:util';
import { loadSensorConfig, SensorConfigError } from '../../deploy/sensor-config.ts';
import { runFlush, runLive, runRead } from './commands.ts';
import { runCredsCommand } from './creds.ts';
import { runInventory } from './inventory.ts';
import { LEARN_USAGE, runLearnCommand } from './learn.ts';
import { type LimitOptions, limitsOfRun, limitsUsage } from './limits.ts';
import { PUBLISH_OPTIONS, PUBLISH_USAGE, publishConfigFrom } from './publish-options.ts';
import { runRulesList, runRulesTest } from './rules-commands.ts';
import { UsageError } from './usage-error.ts';

const USAGE = `usage:
  otsensor read FILE... [--summary] [--events] [--sensor-id ID]
      Read pcap / pcapng files (optionally .gz). --summary (default) prints one JSON object for the run with
      per-file counts; --events prints one JSON event per line.
  otsensor read FILE... --inventory | --inventory-csv [--sensor-id ID]
      Print the passive asset inventory of the files (assets, identity with evidence, roles, advisory matches;
      see docs/inventory.md) as JSON, or as CSV with one row per asset.
  otsensor live --iface IF [--bpf EXPR] [--events] [--duration SEC] [--snaplen N] [--sensor-id ID]
      Capture from a network interface with libpcap (receive only: the sensor never transmits).
  --alerts prints alerts of the detection rules as JSON lines (bundled rules/packs plus every --rules DIR; see
      docs/rules.md); live mode reloads rules when a rule file changes. --summary then gains an "alerts" section.
  --baseline FILE (read and live) prints deviations from a learned baseline as alert JSON lines (docs/baseline.md).
${limitsUsage()}${PUBLISH_USAGE}  otsensor read FILE... --publish ... --pps N [--retime]
      Replay at most N packets per second (drills, outage rehearsals). --retime moves packet times so that the
      last packet is now (spacing kept): a replayed capture's alerts then fall in the collector's time windows.
  otsensor creds sensor|collector|revoke|list ...
      Issue per-sensor NATS credentials (same as 'otdeploy creds'; see deploy/README.md).
  otsensor flush (--publish NATS_URL ... | --config FILE)
      Publish what the outbox holds (e.g. left by a crash) and exit when JetStream acknowledged all of it.
${LEARN_USAGE}  otsensor rules list [--rules DIR]... [--no-bundled] [--json]
      List the loaded rules (bundled plus DIRs).
  otsensor rules test [DIR] [--json]
      Run every rule's own tests (the bundled rules, or those in DIR); exit 1 when any fails.
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    // Asked-for help goes to stdout (exit 0); a missing command is a usage error: stderr, so stdout stays JSON-only.
    (command === undefined ? process.stderr : process.stdout).write(USAGE);
    return command === undefined ? 2 : 0;
  }
  try {
    if (command === 'read') {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: {
          summary: { type: 'boolean', default: false },
          events: { type: 'boolean', default: false },
          alerts: { type: 'boolean', default: false },
          rules: { type: 'string', multiple: true, default: [] },
          baseline: { type: 'string' },
          'sensor-id': { type: 'string', default: 'local' },
          progress: { type: 'boolean', default: true },
          inventory: { type: 'boolean', default: false },
          'inventory-csv': { type: 'boolean', default: false },
          pps: { type: 'string' },
          retime: { type: 'boolean', default: false },
          limit: { type: 'string', multiple: true, default: [] },
          ...PUBLISH_OPTIONS,
        },
      });
      if (positionals.length === 0) throw new UsageError('read: give at least one capture file');
      const limits = await runLimits(values.limit, values.config);
      const publish = await publishConfigFrom(values, sensorIdFlag(rest), loadConfig);
      const pps = values.pps === undefined ? null : Number(values.pps);
      if (pps !== null && !(pps > 0)) throw new UsageError('read: --pps must be a positive number');
      if (values.inventory || values['inventory-csv']) {
        const format = values['inventory-csv'] ? 'csv' : 'json';
        return await runInventory(positionals, { sensorId: values['sensor-id'], format, events: null });
      }
      return await runRead(positionals, {
        summary: values.summary || (!values.events && !values.alerts && values.baseline === undefined),
        events: values.events,
        alerts: values.alerts,
        rules: values.rules,
        baseline: values.baseline,
        sensorId: publish?.identity.sensor ?? values['sensor-id'],
        progress: values.progress && publish === null,
        publish,
        pps,
        retime: values.retime,
        limits,
      });
    }
    if (command === 'live') {
      const { values } = parseArgs({
        args: rest,
        options: {
          iface: { type: 'string' },
          bpf: { type: 'string' },
          events: { type: 'boolean', default: false },
          alerts: { type: 'boolean', default: false },
          rules: { type: 'string', multiple: true, default: [] },
          baseline: { type: 'string' },
          duration: { type: 'string' },
          snaplen: { type: 'string' },
          'sensor-id': { type: 'string', default: 'local' },
          limit: { type: 'string', multiple: true, default: [] },
          ...PUBLISH_OPTIONS,
        },
      });
      if (!values.iface) throw new UsageError('live: --iface IF is required');
      const limits = await runLimits(values.limit, values.config);
      const publish = await publishConfigFrom(values, sensorIdFlag(rest), loadConfig);
      const duration = values.duration === undefined ? null : Number(values.duration);
      if (duration !== null && !(duration > 0)) throw new UsageError('live: --duration must be a positive number');
      const snaplen = values.snaplen === undefined ? 65535 : Number(values.snaplen);
      if (!Number.isInteger(snaplen) || snaplen < 64) throw new UsageError('live: --snaplen must be an integer ≥ 64');
      return await runLive({
        iface: values.iface,
        bpf: values.bpf ?? '',
        events: values.events,
        durationSec: duration,
        snaplen,
        sensorId: publish?.identity.sensor ?? values['sensor-id'],
        alerts: values.alerts,
        rules: values.rules,
        baseline: values.baseline,
        publish,
        limits,
      });
    }
    if (command === 'flush') {
      const { values } = parseArgs({ args: rest, options: { 'sensor-id': { type: 'string' }, ...PUBLISH_OPTIONS } });
      const publish = await publishConfigFrom(values, values['sensor-id'], loadConfig);
      if (publish === null) throw new UsageError('flush: give --publish NATS_URL (or --config FILE)');
      return await runFlush(publish);
    }
    if (command === 'learn') return await runLearnCommand(rest);
    if (command === 'creds') return await runCredsCommand(rest);
    if (command === 'rules') {
      const [sub, ...args] = rest;
      const { values, positionals } = parseArgs({
        args,
        allowPositionals: true,
        options: {
          rules: { type: 'string', multiple: true, default: [] },
          json: { type: 'boolean', default: false },
          'no-bundled': { type: 'boolean', default: false },
        },
      });
      if (sub === 'list')
        return await runRulesList(values.rules, { json: values.json, bundled: !values['no-bundled'] });
      if (sub === 'test') {
        if (positionals.length > 1) throw new UsageError('rules test: at most one DIR');
        return await runRulesTest(positionals[0], { json: values.json });
      }
      throw new UsageError("rules: use 'rules list' or 'rules test'");
    }
    throw new UsageError(`unknown command '${command}'`);
  } catch (err) {
    if (err instanceof SensorConfigError) {
      process.stderr.write(`otsensor: ${err.message}\n`);
      return 2;
    }
    if (err instanceof UsageError || (err instanceof TypeError && 'code' in err)) {
      process.stderr.write(`otsensor: ${err.message}\n${USAGE}`);
      return 2;
    }
    throw err;
  }
}

/** The `--sensor-id` given explicitly (its parseArgs default 'local' must not override the config file). */
function sensorIdFlag(args: string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--sensor-id') return args[i + 1];
    if (a?.startsWith('--sensor-id=')) return a.slice('--sensor-id='.length);
  }
  return undefined;
}

/** The run's memory caps: the config file's `limits:` (with --config), then the --limit flags. */
async function runLimits(flags: string[], configPath: string | undefined): Promise<LimitOptions> {
  const limits = configPath === undefined ? undefined : (await loadConfig(configPath)).limits;
  return limitsOfRun(flags, limits === undefined ? null : { path: configPath as string, limits });
}

/** Read once per run: the publishing options and the limits both come from it. */
const configs = new Map<string, ReturnType<typeof readConfig>>();

async function loadConfig(path: string) {
  let c = configs.get(path);
  if (c === undefined) {
    c = readConfig(path);
    configs.set(path, c);
  }
  return c;
}

function readConfig(path: string) {
  const c = loadSensorConfig(path);
  return {
    sensor: c.sensor,
    province: c.province,
    enterprise: c.enterprise,
    nats: {
      url: c.nats.url,
      nkeySeedFile: c.nats.nkeySeedFile,
      ...(c.nats.tls !== undefined ? { tls: c.nats.tls } : {}),
    },
    outbox: c.outbox,
    ...(c.limits === undefined ? {} : { limits: c.limits }),
  };
}

// A reader that stops early (`otsensor read … --events | head`) closes the pipe: that is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

process.exitCode = await main(process.argv.slice(2));
