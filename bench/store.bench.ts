/**
 * `npm run -s bench:store`: the collector's sustained ingest from JetStream into the durable store, and the latency
 * of the main queries on the filled store, for SQLite and PostgreSQL (issue 8 §7).
 *
 * Input: real alerts (the bundled rules on the bundled sample capture, with their evidence events), repeated with
 * fresh ids over `--enterprises` enterprises (one sensor each) up to `--alerts N`, plus one asset record per
 * enterprise. They are published into a real nats-server's JetStream first (not timed), then the collector's own
 * ingest path — IngestConsumer (validation, batching) → StoreIngestHandler → store, ack after the durable write —
 * drains the stream while the clock runs. Then, on the filled store, `--queries` timed calls (p50/p95) of:
 * an enterprise's latest 50 alerts, its inventory, and the province's alert counts by day.
 *
 *   npm run -s bench:store [-- --alerts 10000000 --enterprises 2000 --backends sqlite,postgres]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { IngestConsumer, type IngestHandler } from '../collector/ingest/consumer.ts';
import { StoreIngestHandler } from '../collector/ingest/handler.ts';
import { prepareIngest } from '../collector/store/ingest-rows.ts';
import { openStore } from '../collector/store/open.ts';
import type { CollectorStore } from '../collector/store/types.ts';
import type { AlertEvent } from '../protocols/wire/events.ts';
import { type AlertItem, messageId, subjectFor } from '../protocols/wire/messages.ts';
import { STREAM_NAME } from '../protocols/wire/streams.ts';
import { loadRules } from '../rules/loader.ts';
import { alertEvent } from '../sensor/alerts.ts';
import { analyseFile } from '../sensor/analyse-file.ts';
import { createStreams } from '../tests/support/jetstream.ts';
import { startNatsServer } from '../tests/support/nats-server.ts';
import { startPostgres } from '../tests/support/postgres.ts';
import { prefillStore } from './store-prefill.ts';

const { values } = parseArgs({
  options: {
    alerts: { type: 'string', default: '10000000' },
    enterprises: { type: 'string', default: '2000' },
    backends: { type: 'string', default: 'sqlite,postgres' },
    queries: { type: 'string', default: '200' },
    /** Alerts generated inside the store before the timed ingest (store-prefill.ts): the scale the queries run at. */
    prefill: { type: 'string', default: '0' },
    /** Days the prefilled alerts are spread over. */
    days: { type: 'string', default: '30' },
    'per-message': { type: 'string', default: '500' },
    /** Also time the same pull, validation and acks with a handler that stores nothing (the path without the store). */
    'no-store': { type: 'boolean', default: false },
    /**
     * Runs the timed ingest with this whole process (main thread, SQLite writer, V8's GC threads) pinned to this one
     * CPU (Linux, `taskset`), so "alerts/s" is what the collector does on one core. nats-server and PostgreSQL are
     * not pinned: they are not the collector, and the scheduler keeps them on the other CPUs while this one is busy.
     */
    pin: { type: 'string' },
  },
});
const N = Number(values.alerts);
const E = Number(values.enterprises);
const PER_MESSAGE = Number(values['per-message']);
const QUERIES = Number(values.queries);
const PREFILL = Number(values.prefill);
const PIN = values.pin === undefined ? null : Number(values.pin);
if (PIN !== null && !(Number.isInteger(PIN) && PIN >= 0 && PIN < availableParallelism())) {
  throw new Error(`--pin wants a CPU number below ${availableParallelism()}`);
}

/** Sets the CPU affinity of every thread of this process (threads started later inherit it). */
function pinTo(cpus: string): void {
  execFileSync('taskset', ['-a', '-p', '-c', cpus, String(process.pid)], { stdio: 'ignore' });
}

/** This process's CPU list as taskset prints it ("0,1" or "0-3"), to restore after the pinned ingest. */
function affinity(): string {
  const out = execFileSync('taskset', ['-c', '-p', String(process.pid)], { encoding: 'utf8' });
  return out.slice(out.lastIndexOf(':') + 1).trim();
}

const sample: AlertEvent[] = [];
const loaded = await loadRules([]);
await analyseFile(join(import.meta.dirname, '../samples/plant-sample.pcap'), {
  sensorId: 's',
  rules: loaded.set,
  events: { emit() {} },
  alerts: { alert: (a) => sample.push(alertEvent(a, 's')) },
});

const enc = new TextEncoder();
const ent = (i: number) => `e${String(i).padStart(4, '0')}`;

/** Publishes N alerts (PER_MESSAGE per message, enterprises round-robin) and one asset per enterprise. */
async function fill(url: string): Promise<number> {
  const nc = await connect({ servers: url });
  const js = jetstream(nc);
  const seqs = new Map<string, number>();
  let messages = 0;
  const inflight = new Set<Promise<unknown>>();
  const send = async (subject: string, body: Uint8Array, id: string) => {
    const p = js.publish(subject, body, { msgID: id, timeout: 30_000 });
    inflight.add(p);
    void p.finally(() => inflight.delete(p));
    messages++;
    if (inflight.size >= 256) await Promise.race(inflight);
  };
  const header = (e: string, kind: string, seq: number) =>
    `{"v":1,"kind":"${kind}","province":"gd","enterprise":"${e}","sensor":"${e}s","seq":${seq},"sentAt":"${new Date().toISOString()}","items":[`;
  let n = 0;
  for (let m = 0; n < N; m++) {
    const e = ent(m % E);
    const seq = (seqs.get(e) ?? 0) + 1;
    seqs.set(e, seq);
    const items: string[] = [];
    for (let k = 0; k < PER_MESSAGE && n < N; k++, n++) {
      const a = sample[n % sample.length] as AlertEvent;
      items.push(JSON.stringify({ ...a, sensor: `${e}s`, id: `${a.id}#${n}` }));
    }
    await send(
      subjectFor({ province: 'gd', enterprise: e, sensor: `${e}s` }, 'alert'),
      enc.encode(`${header(e, 'alert', seq)}${items.join(',')}]}`),
      messageId(`${e}s`, seq),
    );
  }
  for (let i = 0; i < E; i++) {
    const e = ent(i);
    const seq = (seqs.get(e) ?? 0) + 1;
    const asset = {
      asset: {
        ip: `10.${Math.floor(i / 250)}.${i % 250}.10`,
        role: 'plc',
        firstSeen: '2026-11-24T00:00:00.000000Z',
        lastSeen: '2026-11-24T00:00:00.000000Z',
        identity: {},
      },
      changes: [],
    };
    await send(
      subjectFor({ province: 'gd', enterprise: e, sensor: `${e}s` }, 'asset'),
      enc.encode(`${header(e, 'asset', seq)}${JSON.stringify(asset)}]}`),
      messageId(`${e}s`, seq),
    );
  }
  await Promise.all(inflight);
  await nc.close();
  return messages;
}

/** The server processes whose CPU the timed ingest also measures (root pids; their descendants count too). */
interface Servers {
  nats: number | undefined;
  postgres: number | null;
}

interface IngestTimes {
  sec: number;
  cpu: number;
  mainCpu: number;
  /** CPU seconds of nats-server and of PostgreSQL's processes (null when not running) over the same window. */
  natsCpu: number | null;
  postgresCpu: number | null;
}

async function ingest(
  url: string,
  store: CollectorStore | null,
  messages: number,
  servers: Servers,
): Promise<IngestTimes> {
  const nc = await connect({ servers: url });
  let consumerName: string | undefined;
  if (store === null) {
    // A second durable consumer over the same (limits-retention) stream: the same messages, nothing stored.
    consumerName = 'bench-nostore';
    const jsm = await jetstreamManager(nc);
    await jsm.consumers.add(STREAM_NAME, {
      durable_name: consumerName,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      max_ack_pending: 20_000,
    });
  }
  const handler: IngestHandler =
    store === null ? { handleBatch: async () => ({ refused: [] }) } : new StoreIngestHandler(store);
  const consumer = new IngestConsumer(jetstream(nc), handler, {
    log: () => undefined,
    ...(consumerName === undefined ? {} : { consumer: consumerName }),
  });
  const unpinned = PIN === null ? null : affinity();
  if (PIN !== null) pinTo(String(PIN));
  const cpu0 = process.cpuUsage();
  const main0 = mainThreadCpuSec();
  const nats0 = treeCpuSec(servers.nats);
  const postgres0 = treeCpuSec(servers.postgres);
  const t0 = performance.now();
  await consumer.start();
  while (consumer.stats.accepted < messages) {
    if (consumer.stats.handlerErrors > 0) throw new Error('store errors during ingest');
    await new Promise((r) => setTimeout(r, 100));
  }
  const sec = (performance.now() - t0) / 1000;
  if (unpinned !== null) pinTo(unpinned);
  const c = process.cpuUsage(cpu0);
  const mainCpu = mainThreadCpuSec() - main0;
  const natsCpu = difference(treeCpuSec(servers.nats), nats0);
  const postgresCpu = difference(treeCpuSec(servers.postgres), postgres0);
  await consumer.stop();
  await nc.close();
  return { sec, cpu: (c.user + c.system) / 1e6, mainCpu, natsCpu, postgresCpu };
}

function difference(after: number | null, before: number | null): number | null {
  return after === null || before === null ? null : after - before;
}

/** utime + stime (seconds) of one /proc stat line, and its parent pid. */
function statOf(path: string): { ppid: number; cpu: number } | null {
  try {
    const stat = readFileSync(path, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(fields[1]), cpu: (Number(fields[11]) + Number(fields[12])) / 100 };
  } catch {
    return null; // the process ended between the listing and the read
  }
}

/**
 * CPU seconds of a process and all its live descendants (Linux /proc): nats-server is one process, PostgreSQL a
 * postmaster with a backend per connection plus its writer and WAL processes. On the 2-core bench machine these
 * servers share the CPU the collector is not pinned to, so their cost per alert says which side limits the wall rate.
 */
function treeCpuSec(root: number | null | undefined): number | null {
  if (root === null || root === undefined) return null;
  const stats = new Map<number, { ppid: number; cpu: number }>();
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    const stat = statOf(`/proc/${pid}/stat`);
    if (stat !== null) stats.set(pid, stat);
  }
  let total = 0;
  for (const [pid, stat] of stats) {
    // Walk up to the root (or to init): counted if the root is an ancestor or the process itself.
    for (let at: number | undefined = pid; at !== undefined && at > 1; at = stats.get(at)?.ppid) {
      if (at === root) {
        total += stat.cpu;
        break;
      }
    }
  }
  return total;
}

/**
 * CPU seconds of the main thread alone (Linux /proc; Node 20 has no per-thread CPU call): the rest of the process's
 * CPU is the SQLite writer thread and V8's GC and compiler threads.
 */
function mainThreadCpuSec(): number {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

async function latency(fn: () => Promise<unknown>): Promise<{ p50: number; p95: number }> {
  const times: number[] = [];
  for (let i = 0; i < QUERIES; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const at = (q: number) =>
    Math.round((times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? 0) * 100) / 100;
  return { p50: at(0.5), p95: at(0.95) };
}

const results: Record<string, unknown>[] = [];
for (const backend of (values.backends ?? '').split(',').filter(Boolean)) {
  const dir = mkdtempSync(join(tmpdir(), 'otwatch-storebench-'));
  const nats = await startNatsServer({ config: 'max_payload: 1048576' });
  const pg = backend === 'postgres' ? await startPostgres() : null;
  try {
    await createStreams(nats.url);
    const jsm = await connect({ servers: nats.url }).then(async (nc) => {
      const m = await jetstreamManager(nc);
      return { m, nc };
    });
    const url = pg ? await pg.createDatabase() : `sqlite:${join(dir, 'c.db')}`;
    const store = await openStore(url);
    let prefillSec: number | null = null;
    if (PREFILL > 0) {
      const templates = prepareIngest(
        [
          [
            {
              province: 'gd',
              enterprise: 'x',
              sensor: 'xs',
              seq: 1,
              drill: false,
              receivedAt: new Date().toISOString(),
              kind: 'alert',
              // The sample alerts are the events the sensor sends; the wire schema's item type is their JSON form.
              alerts: sample as unknown as AlertItem[],
            },
          ],
        ],
        Date.now(),
      ).alerts.map((a) => a.row);
      const log = (line: string) => process.stderr.write(`${backend}: ${line}\n`);
      ({ seconds: prefillSec } = await prefillStore(url, {
        total: PREFILL,
        enterprises: E,
        days: Number(values.days),
        province: 'gd',
        templates,
        log,
      }));
    }
    const t0 = performance.now();
    const messages = await fill(nats.url);
    const fillSec = (performance.now() - t0) / 1000;
    process.stderr.write(`${backend}: ${N} alerts in ${messages} messages published in ${fillSec.toFixed(1)} s\n`);
    const servers: Servers = { nats: nats.pid, postgres: pg?.serverPid() ?? null };
    const noStore = values['no-store'] === true ? await ingest(nats.url, null, messages, servers) : null;
    if (noStore !== null) {
      process.stderr.write(
        `${backend}: without the store ${Math.round(N / noStore.sec)} alerts/s, ${Math.round(N / noStore.cpu)} per cpu-s\n`,
      );
    }
    const { sec, cpu, mainCpu, natsCpu, postgresCpu } = await ingest(nats.url, store, messages, servers);
    const stats = await store.stats();
    if (stats.alerts !== N + PREFILL) {
      throw new Error(`${backend}: ${stats.alerts} alerts stored, expected ${N + PREFILL}`);
    }
    const scope = { kind: 'all' } as const;
    let k = 0;
    const latest = await latency(() => store.listAlerts(scope, { enterpriseId: ent(k++ % E) }, { limit: 50 }));
    const inventory = await latency(() => store.listAssets(scope, ent(k++ % E)));
    const daily = await latency(() => store.aggregate({ kind: 'province', province: 'gd' }, { by: 'day' }));
    const row = {
      backend,
      alerts: N + PREFILL,
      prefilled: PREFILL,
      prefillSec: prefillSec === null ? null : Math.round(prefillSec),
      ingested: N,
      enterprises: E,
      /** The CPU the timed ingest ran on alone (`--pin`), or null: then alerts/s used every CPU. */
      pinnedToCpu: PIN,
      ingestAlertsPerSec: Math.round(N / sec),
      ingestAlertsPerCpuSec: Math.round(N / cpu),
      /** Where the CPU went, in µs per alert: the main thread (pull, validation, rows) and all other threads. */
      cpuUsPerAlert: { main: Math.round((mainCpu * 1e6) / N), otherThreads: Math.round(((cpu - mainCpu) * 1e6) / N) },
      /** The servers' CPU over the same window, µs per alert (not pinned; they share the other CPUs). */
      serverCpuUsPerAlert: {
        nats: natsCpu === null ? null : Math.round((natsCpu * 1e6) / N),
        postgres: postgresCpu === null ? null : Math.round((postgresCpu * 1e6) / N),
      },
      storeMB: Math.round(stats.bytes / 1e6),
      latestAlertsMs: latest,
      inventoryMs: inventory,
      dailyAggregateMs: daily,
    };
    results.push(row);
    process.stderr.write(`${JSON.stringify(row)}\n`);
    await store.close();
    await jsm.nc.close();
  } finally {
    await nats.dispose();
    await pg?.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}
process.stdout.write(`${JSON.stringify({ results, target: { ingestAlertsPerSec: 20_000, p95Ms: 50 } }, null, 2)}\n`);
