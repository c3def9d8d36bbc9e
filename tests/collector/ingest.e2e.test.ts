/**
 * Issue 8, end to end with real components: nats-server, the real `otcollector serve` process, and both stores
 * (SQLite file; a private PostgreSQL 15 cluster). A sensor's real alerts (the bundled rules on the bundled sample,
 * repeated with fresh ids) are published into JetStream first; the collector is SIGKILLed while it ingests them and
 * restarted: every alert must be stored exactly once. Then two collector instances share one stream and one
 * PostgreSQL store: still exactly once. And a real `otsensor --publish` run lands in the store with its assets,
 * health and stats, queryable through the API.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../collector/store/open.ts';
import type { CollectorStore } from '../../collector/store/types.ts';
import type { AlertEvent } from '../../protocols/wire/events.ts';
import { loadRules } from '../../rules/loader.ts';
import { alertEvent } from '../../sensor/alerts.ts';
import { analyseFile } from '../../sensor/analyse-file.ts';
import { Outbox } from '../../sensor/publish/outbox.ts';
import { Publisher } from '../../sensor/publish/publisher.ts';
import { NatsTransport } from '../../sensor/publish/transport.ts';
import { runOtsensor } from '../support/cli.ts';
import { createStreams } from '../support/jetstream.ts';
import { freePort, type NatsServerHandle, startNatsServer } from '../support/nats-server.ts';
import { REPO_ROOT } from '../support/paths.ts';
import { type PostgresHandle, startPostgres } from '../support/postgres.ts';

const SAMPLE = join(REPO_ROOT, 'samples/plant-sample.pcap');
const identity = { province: 'gd', enterprise: 'e1', sensor: 's1' };
const dirs: string[] = [];
let postgres: PostgresHandle;
const sample: AlertEvent[] = [];

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'otwatch-col-'));
  dirs.push(d);
  return d;
}

beforeAll(async () => {
  postgres = await startPostgres();
  const loaded = await loadRules([]);
  await analyseFile(SAMPLE, {
    sensorId: identity.sensor,
    rules: loaded.set,
    events: { emit() {} },
    alerts: { alert: (a) => sample.push(alertEvent(a, identity.sensor)) },
  });
}, 60_000);

afterAll(async () => {
  await postgres?.dispose();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Publishes `n` real alerts (fresh ids) into JetStream and waits for every ack. */
async function publishAlerts(url: string, n: number, sensor = identity.sensor): Promise<string[]> {
  const outbox = new Outbox({ dir: join(tempDir(), 'outbox'), fsync: false });
  const id = { ...identity, sensor };
  const transport = new NatsTransport({ url, identity: id });
  // Small messages (50 alerts each), so the collector needs many batches and a kill lands mid-ingest.
  const publisher = new Publisher({ identity: id, outbox, transport, maxItems: 50 });
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const a = sample[i % sample.length] as AlertEvent;
    const alert = { ...a, sensor, id: `${a.id}#${i}` };
    ids.push(alert.id);
    publisher.add('alert', alert);
    if (i % 1000 === 999) await new Promise((r) => setImmediate(r));
  }
  expect(await publisher.drain(120_000)).toBe(true);
  await publisher.stop();
  await transport.close();
  return ids;
}

interface CollectorProcess {
  child: ChildProcess;
  port: number;
  exited: Promise<number | null>;
  log: () => string;
}

async function startCollectorProcess(natsUrl: string, storeUrl: string): Promise<CollectorProcess> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    ['bin/otcollector.js', 'serve', '--nats', natsUrl, '--store', storeUrl, '--port', String(port)],
    { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (c: string) => {
    log += c;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  for (let i = 0; i < 300 && !log.includes('API listening'); i++) {
    if (child.exitCode !== null) throw new Error(`otcollector exited: ${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  if (!log.includes('API listening')) throw new Error(`otcollector did not start: ${log}`);
  return { child, port, exited, log: () => log };
}

async function healthz(port: number): Promise<{ ingest: { accepted: number; pending: number | null } }> {
  const res = await fetch(`http://127.0.0.1:${port}/healthz`);
  return (await res.json()) as { ingest: { accepted: number; pending: number | null } };
}

async function storedAlertIds(storeUrl: string): Promise<string[]> {
  const store = await openStore(storeUrl);
  try {
    const ids: string[] = [];
    let cursor: string | undefined;
    for (;;) {
      const page = await store.listAlerts(
        { kind: 'all' },
        { includeDrill: true },
        { limit: 1000, ...(cursor ? { cursor } : {}) },
      );
      for (const a of page.items) ids.push(a.eventId);
      if (page.nextCursor === null) break;
      cursor = page.nextCursor;
    }
    return ids;
  } finally {
    await store.close();
  }
}

async function waitIngested(port: number, expected: number, storeUrl: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const h = await healthz(port).catch(() => null);
    if (h?.ingest.pending === 0 && (await storedAlertIds(storeUrl)).length >= expected) return;
    await new Promise((r) => setTimeout(r, 200));
  }
}

const backends: [string, () => Promise<string>][] = [
  ['sqlite', async () => `sqlite:${join(tempDir(), 'collector.db')}`],
  ['postgres', async () => await postgres.createDatabase()],
];

describe.each(backends)('collector ingest with real nats-server and %s', (backend, makeStore) => {
  let nats: NatsServerHandle;

  beforeAll(async () => {
    nats = await startNatsServer();
    await createStreams(nats.url);
  }, 30_000);
  afterAll(async () => {
    await nats?.dispose();
  });

  it('collector killed during ingest and restarted: no loss, no duplicates', async () => {
    const storeUrl = await makeStore();
    const ids = await publishAlerts(nats.url, 8000, `kill-${backend}`);
    const first = await startCollectorProcess(nats.url, storeUrl);
    let accepted = 0;
    for (let i = 0; i < 300 && accepted === 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
      accepted = (await healthz(first.port).catch(() => null))?.ingest.accepted ?? 0;
    }
    first.child.kill('SIGKILL');
    await first.exited;
    const before = await storedAlertIds(storeUrl);
    expect(before.length).toBeGreaterThan(0);
    const second = await startCollectorProcess(nats.url, storeUrl);
    await waitIngested(second.port, ids.length, storeUrl);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    const after = await storedAlertIds(storeUrl);
    const mine = after.filter((id) => id.includes('#'));
    expect(mine.length).toBe(ids.length);
    expect(new Set(mine)).toEqual(new Set(ids));
    console.info(
      `[${backend}] kill during ingest: ${before.length} alerts stored before the kill, ${mine.length}/${ids.length} after the restart, 0 duplicates`,
    );
  }, 240_000);

  it('a real sensor run lands in the store: alerts, assets, sensor health, traffic; API answers', async () => {
    const storeUrl = await makeStore();
    const store: CollectorStore = await openStore(storeUrl);
    await store.migrate();
    await store.upsertEnterprise({
      id: 'acme',
      name: '某某化工有限公司',
      province: 'gd',
      city: '广州',
      industry: '化工',
      class: 'networked_industrial',
      grade: 2,
      contacts: [],
      maintenanceWindows: [],
    });
    await store.upsertSensor({ id: `real-${backend}`, enterpriseId: 'acme', name: 'mirror port 1' });
    const token = await store.createToken({ label: 't', role: 'enterprise', province: null, enterprises: ['acme'] });
    await store.close();
    const collector = await startCollectorProcess(nats.url, storeUrl);
    const run = await runOtsensor([
      'read',
      SAMPLE,
      '--publish',
      nats.url,
      '--province',
      'gd',
      '--enterprise',
      'acme',
      '--sensor-id',
      `real-${backend}`,
      '--outbox',
      join(tempDir(), 'outbox'),
    ]);
    expect(run.code, run.stderr).toBe(0);
    const published = Number(/published (\d+) alerts/.exec(run.stderr)?.[1] ?? -1);
    const auth = { headers: { authorization: `Bearer ${token.secret}` } };
    const api = (path: string) => fetch(`http://127.0.0.1:${collector.port}/api/v1${path}`, auth);
    let alerts: { items: unknown[] } = { items: [] };
    for (let i = 0; i < 100 && alerts.items.length < published; i++) {
      await new Promise((r) => setTimeout(r, 100));
      alerts = (await (await api('/alerts?limit=1000')).json()) as { items: unknown[] };
    }
    expect(alerts.items.length).toBe(published);
    const assets = (await (await api('/enterprises/acme/assets')).json()) as { items: { ip: string }[] };
    expect(assets.items.map((a) => a.ip)).toContain('127.0.0.1');
    const sensors = (await (await api('/sensors')).json()) as {
      items: { id: string; lastHealth: { rules: { alerts: number } } | null }[];
    };
    const me = sensors.items.find((s) => s.id === `real-${backend}`);
    expect(me?.lastHealth?.rules.alerts).toBe(published);
    collector.child.kill('SIGTERM');
    expect(await collector.exited).toBe(0);
  }, 120_000);
});

// Several instances against one store is the PostgreSQL deployment (one SQLite file has one writer: docs/store.md).
describe('two collector instances on one PostgreSQL store', () => {
  let nats: NatsServerHandle;

  beforeAll(async () => {
    nats = await startNatsServer();
    await createStreams(nats.url);
  }, 30_000);
  afterAll(async () => {
    await nats?.dispose();
  });

  it('two collector instances share the stream and the store: every alert once', async () => {
    const storeUrl = await postgres.createDatabase();
    const [a, b] = [await startCollectorProcess(nats.url, storeUrl), await startCollectorProcess(nats.url, storeUrl)];
    const ids = await publishAlerts(nats.url, 5000, `pair`);
    await waitIngested(a.port, ids.length, storeUrl);
    const ha = await healthz(a.port);
    const hb = await healthz(b.port);
    a.child.kill('SIGTERM');
    b.child.kill('SIGTERM');
    await Promise.all([a.exited, b.exited]);
    const stored = (await storedAlertIds(storeUrl)).filter((id) => id.includes('#'));
    expect(stored.length).toBe(ids.length);
    expect(new Set(stored)).toEqual(new Set(ids));
    // Both instances took part.
    expect(ha.ingest.accepted).toBeGreaterThan(0);
    expect(hb.ingest.accepted).toBeGreaterThan(0);
  }, 240_000);
});
