/**
 * `npm run bench:publish`: alerts per second from the sensor's outbox to acknowledged in JetStream, beside a plain
 * core-NATS publish of the same messages, in the same run against the same real nats-server (Debian package) on
 * loopback. Issue 7's target: ≥ 50,000 alerts/s acknowledged on one core.
 *
 * The alerts are real: every alert the bundled rules raise on the bundled sample capture (with their evidence
 * events, ~1.5 kB of JSON each), repeated with fresh ids up to `--alerts N` (default 200,000). Modes, each in a fresh
 * stream, `--rounds` times (default 3), medians reported:
 *   core       — the messages the publisher would build (same batching), sent with core-NATS `publish` and one flush:
 *                no persistence, no acks; the floor of the wire;
 *   jetstream  — the real path: Publisher.add() for every alert (yielding to the event loop every 2,000 adds, as the
 *                capture loop does between batches), sealing into the disk outbox (fsync on), JetStream publish with
 *                64 messages in flight, delete on ack; timed until the outbox is empty;
 *   jetstream-nofsync — the same with the outbox's fsync off (what fsync costs).
 * Figures: alerts/s by wall clock, the sensor process's CPU seconds (user+system) and the nats-server's, and the
 * ratio jetstream / core.
 *
 *   npm run -s bench:publish [-- --alerts N] [--rounds N]
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { connect } from '@nats-io/transport-node';
import type { AlertEvent } from '../protocols/wire/events.ts';
import { type SensorIdentity, subjectFor } from '../protocols/wire/messages.ts';
import { loadRules } from '../rules/loader.ts';
import { alertEvent } from '../sensor/alerts.ts';
import { analyseFile } from '../sensor/analyse-file.ts';
import { Outbox } from '../sensor/publish/outbox.ts';
import { Publisher } from '../sensor/publish/publisher.ts';
import { NatsTransport } from '../sensor/publish/transport.ts';
import { createStreams, readStream } from '../tests/support/jetstream.ts';
import { startNatsServer } from '../tests/support/nats-server.ts';

const { values } = parseArgs({ options: { alerts: { type: 'string' }, rounds: { type: 'string' } } });
const N = Number(values.alerts ?? 200_000);
const ROUNDS = Number(values.rounds ?? 3);
const identity: SensorIdentity = { province: 'bench', enterprise: 'e1', sensor: 's1' };

async function sampleAlerts(): Promise<AlertEvent[]> {
  const loaded = await loadRules([]);
  const out: AlertEvent[] = [];
  await analyseFile(join(import.meta.dirname, '../samples/plant-sample.pcap'), {
    sensorId: identity.sensor,
    rules: loaded.set,
    events: { emit() {} },
    alerts: { alert: (a) => out.push(alertEvent(a, identity.sensor)) },
  });
  return out;
}

function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** CPU seconds a process used so far (utime + stime from /proc, in clock ticks of 100 Hz). */
function processCpu(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** The nats-server started for `storeDir` (its command line names its config file inside that directory). */
function serverPid(storeDir: string): number {
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(storeDir)) return Number(name);
    } catch {
      // the process ended meanwhile
    }
  }
  throw new Error('nats-server pid not found');
}

interface Result {
  mode: string;
  alerts: number;
  wallSec: number;
  sensorCpuSec: number;
  serverCpuSec: number;
  messages: number;
}

async function runMode(mode: 'core' | 'jetstream' | 'jetstream-nofsync', alerts: AlertEvent[]): Promise<Result> {
  const server = await startNatsServer();
  const dir = mkdtempSync(join(tmpdir(), 'otwatch-pubbench-'));
  try {
    await createStreams(server.url);
    const pid = serverPid(server.storeDir);
    const outbox = new Outbox({ dir: join(dir, 'outbox'), fsync: mode !== 'jetstream-nofsync' });
    let messages = 0;
    let lastStats: unknown = null;
    const serverCpu0 = processCpu(pid);
    const cpu0 = cpuSeconds();
    const t0 = performance.now();
    if (mode === 'core') {
      // The same batching as the publisher, but sent with core NATS: build the messages through a Publisher whose
      // transport is a core publish (fire and forget), so serialisation and outbox costs are equal.
      const nc = await connect({ servers: server.url });
      const subject = subjectFor(identity, 'alert');
      const publisher = new Publisher({
        identity,
        outbox,
        transport: {
          publish: async (s, body) => {
            nc.publish(s === subject ? s : subject, body);
            messages++;
            return { duplicate: false };
          },
          clock: async () => null,
          connected: () => true,
          close: async () => undefined,
        },
      });
      await feed(publisher, alerts);
      await publisher.drain(600_000);
      await nc.flush();
      await publisher.stop();
      await nc.close();
    } else {
      const transport = new NatsTransport({ url: server.url, identity });
      const publisher = new Publisher({ identity, outbox, transport });
      await feed(publisher, alerts);
      const drained = await publisher.drain(600_000);
      if (!drained) throw new Error(`${mode}: not drained`);
      messages = publisher.stats().acked;
      lastStats = { publisher: publisher.stats(), outbox: outbox.stats() };
      await publisher.stop();
      await transport.close();
    }
    const wallSec = (performance.now() - t0) / 1000;
    const result = {
      mode,
      alerts: alerts.length,
      wallSec,
      sensorCpuSec: cpuSeconds() - cpu0,
      serverCpuSec: processCpu(pid) - serverCpu0,
      messages,
    };
    if (mode !== 'core') {
      // Correctness inside the run: JetStream holds every alert exactly once.
      const stored = await readStream(server.url);
      let items = 0;
      for (const m of stored) items += m.json?.items.length ?? 0;
      if (items !== alerts.length) {
        throw new Error(`${mode}: ${items} alerts stored, expected ${alerts.length}; ${JSON.stringify(lastStats)}`);
      }
    }
    return result;
  } finally {
    await server.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Adds every alert as fast as the publisher absorbs them: yields every 2,000 (as the capture loop does between
 * batches) and waits while more than 16 MiB of sealed messages wait for the disk (a real sensor would instead drop
 * them, counted, beyond 64 MiB: this measures the sustainable rate, not the overflow).
 */
async function feed(publisher: Publisher, alerts: AlertEvent[]): Promise<void> {
  for (let i = 0; i < alerts.length; i++) {
    publisher.add('alert', alerts[i]);
    if (i % 2000 === 1999) {
      await new Promise((r) => setImmediate(r));
      while (publisher.backlogBytes() > 16 * 1024 * 1024) await new Promise((r) => setTimeout(r, 1));
    }
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

const sample = await sampleAlerts();
if (sample.length === 0) throw new Error('the sample capture raised no alerts');
const alerts: AlertEvent[] = [];
for (let i = 0; alerts.length < N; i++) {
  const a = sample[i % sample.length] as AlertEvent;
  alerts.push({ ...a, id: `${a.id}#${i}` });
}
const avgBytes = Math.round(alerts.slice(0, 1000).reduce((n, a) => n + JSON.stringify(a).length, 0) / 1000);
const results: Result[] = [];
for (let round = 0; round < ROUNDS; round++) {
  for (const mode of ['core', 'jetstream', 'jetstream-nofsync'] as const) {
    const r = await runMode(mode, alerts);
    results.push(r);
    process.stderr.write(
      `round ${round + 1} ${mode.padEnd(17)} ${Math.round(r.alerts / r.wallSec).toLocaleString('en')} alerts/s wall, ` +
        `sensor ${r.sensorCpuSec.toFixed(2)} cpu-s, nats-server ${r.serverCpuSec.toFixed(2)} cpu-s, ${r.messages} messages\n`,
    );
  }
}
const summary: Record<string, unknown> = { alerts: N, avgAlertBytes: avgBytes, rounds: ROUNDS };
for (const mode of ['core', 'jetstream', 'jetstream-nofsync']) {
  const rs = results.filter((r) => r.mode === mode);
  summary[mode] = {
    alertsPerSecWall: Math.round(median(rs.map((r) => r.alerts / r.wallSec))),
    alertsPerSensorCpuSec: Math.round(median(rs.map((r) => r.alerts / r.sensorCpuSec))),
    sensorCpuSec: median(rs.map((r) => r.sensorCpuSec)),
    serverCpuSec: median(rs.map((r) => r.serverCpuSec)),
    messages: median(rs.map((r) => r.messages)),
  };
}
const js = summary.jetstream as { alertsPerSecWall: number };
const core = summary.core as { alertsPerSecWall: number };
summary.ratioJetstreamToCore = Math.round((js.alertsPerSecWall / core.alertsPerSecWall) * 100) / 100;
summary.target = { alertsPerSec: 50_000, met: js.alertsPerSecWall >= 50_000 };
process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
