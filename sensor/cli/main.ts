/**
 * `otsensor`: the sensor's command line.
 *
 *   otsensor read FILE... [--summary] [--events] [--sensor-id ID]
 *   otsensor live --iface IF [--bpf EXPR] [--events] [--duration SEC] [--sensor-id ID]
 *
 * Output contract: JSON on stdout (one summary object, or one event per line); human messages and the progress bar
 * on stderr. Exit status 0 when every input was read completely, 1 when any input was damaged or unreadable (every
 * packet before the damage is still processed and counted), 2 for usage errors.
 */
import { parseArgs } from 'node:util';
import { runLive, runRead } from './commands.ts';

const USAGE = `usage:
  otsensor read FILE... [--summary] [--events] [--sensor-id ID]
      Read pcap / pcapng files (optionally .gz). --summary (default) prints one JSON object for the run with
      per-file counts; --events prints one JSON event per line.
  otsensor live --iface IF [--bpf EXPR] [--events] [--duration SEC] [--snaplen N] [--sensor-id ID]
      Capture from a network interface with libpcap (receive only: the sensor never transmits).
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
          'sensor-id': { type: 'string', default: 'local' },
          progress: { type: 'boolean', default: true },
        },
      });
      if (positionals.length === 0) throw new UsageError('read: give at least one capture file');
      return await runRead(positionals, {
        summary: values.summary || !values.events,
        events: values.events,
        sensorId: values['sensor-id'],
        progress: values.progress,
      });
    }
    if (command === 'live') {
      const { values } = parseArgs({
        args: rest,
        options: {
          iface: { type: 'string' },
          bpf: { type: 'string' },
          events: { type: 'boolean', default: false },
          duration: { type: 'string' },
          snaplen: { type: 'string' },
          'sensor-id': { type: 'string', default: 'local' },
        },
      });
      if (!values.iface) throw new UsageError('live: --iface IF is required');
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
        sensorId: values['sensor-id'],
      });
    }
    throw new UsageError(`unknown command '${command}'`);
  } catch (err) {
    if (err instanceof UsageError || (err instanceof TypeError && 'code' in err)) {
      process.stderr.write(`otsensor: ${err.message}\n${USAGE}`);
      return 2;
    }
    throw err;
  }
}

class UsageError extends Error {}

// A reader that stops early (`otsensor read … --events | head`) closes the pipe: that is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

process.exitCode = await main(process.argv.slice(2));
