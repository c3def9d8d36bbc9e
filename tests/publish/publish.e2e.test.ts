/**
 * Issue 7, end to end with a real nats-server (Debian package) and the real `otsensor` CLI in child processes:
 * (a) a replay arrives complete, (b) a 30 s server outage mid-replay loses and duplicates nothing, (c) a sensor
 * killed mid-replay and restarted on its outbox loses nothing, (d) outbox overflow drops in the documented order
 * and the drop counts arrive in health, (f) garbage and oversized messages are rejected and counted by the
 * consuming side, which keeps going. (e), the permission test, is in deploy/creds.test.ts.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IngestConsumer } from '../../collector/ingest/consumer.ts';
import { type HealthItem, TIME_SUBJECT, type WireMessage } from '../../protocols/wire/messages.ts';
import { validateMessage } from '../../protocols/wire/validate.ts';
import { runOtsensor } from '../support/cli.ts';
import { createStreams, itemsOf, readStream } from '../support/jetstream.ts';
import { type NatsServerHandle, startNatsServer } from '../support/nats-server.ts';
import { REPO_ROOT, SHARED_PCAPS } from '../support/paths.ts';

/** Real captures with alerts of every protocol: ~39k packets, ~130 alerts. */
const CAPTURES = [
  join(REPO_ROOT, 'samples/plant-sample.pcap'),
  join(SHARED_PCAPS, 'iti__ModbusTCP.pcap'),
  join(SHARED_PCAPS, 'ct__Plant1_S7comm.pcap'),
  join(SHARED_PCAPS, 'gymgit__wincc_s400_production.pcapng'),
  join(SHARED_PCAPS, 'icsnpp-opcua__open62541_client-server_mainloop.pcap'),
];

const ID = ['--province', 'gd', '--enterprise', 'e1', '--sensor-id', 's1'];

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'otwatch-e2e-'));
  dirs.push(d);
  return d;
}

/** What the sensor raises on CAPTURES without publishing: the reference every test compares with. */
let expectedAlertIds: string[] = [];
let expectedAssets = 0;

beforeAll(async () => {
  // Alerts only (no events), while a publishing sensor builds every event: alert ids name the triggering event's
  // per-flow number, which counts events whether they are built or not (docs/publishing.md, "Alert ids").
  const alerts = await runOtsensor(['read', ...CAPTURES, '--alerts', '--sensor-id', 's1']);
  expect(alerts.code).toBe(0);
  expectedAlertIds = alerts.stdout
    .split('\n')
    .filter((l) => l.includes('"kind":"alert"'))
    .map((l) => (JSON.parse(l) as { id: string }).id);
  const inventory = await runOtsensor(['read', ...CAPTURES, '--inventory', '--sensor-id', 's1']);
  expectedAssets = (JSON.parse(inventory.stdout) as { assets: unknown[] }).assets.length;
}, 60_000);

afterAll(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/**
 * The newest health report by the sensor's own sequence, not by the stream's order: a sensor publishes up to 64
 * messages at once (after an outage, the outbox's older health reports among them), so they can land out of order.
 */
function newestHealth(messages: Awaited<ReturnType<typeof readStream>>): HealthItem {
  const reports = messages.flatMap((m) => (m.json?.kind === 'health' ? [m.json] : []));
  const newest = reports.reduce((a, b) => (b.seq > a.seq ? b : a));
  return newest.items.at(-1) as HealthItem;
}

function startSensor(args: string[]): { child: ChildProcess; done: Promise<{ code: number | null; stderr: string }> } {
  const child = spawn(process.execPath, ['bin/otsensor.js', ...args], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (c: string) => {
    stderr += c;
  });
  const done = new Promise<{ code: number | null; stderr: string }>((resolve) =>
    child.once('exit', (code) => resolve({ code, stderr })),
  );
  return { child, done };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The collector's ingest consumer over a real connection, keeping what it accepts in memory (no store). */
async function collectingConsumer(url: string) {
  const nc = await connect({ servers: url });
  const js = jetstream(nc);
  const stored: WireMessage[] = [];
  const handler = {
    handleBatch: async (batch: { message: WireMessage }[]) => {
      for (const b of batch) stored.push(b.message);
      return undefined;
    },
  };
  const consumer = new IngestConsumer(js, handler, { log: () => undefined });
  await consumer.start();
  return { nc, js, stored, consumer };
}

function alertIds(messages: Awaited<ReturnType<typeof readStream>>): string[] {
  return itemsOf(messages, 'alert').map((a) => a.id);
}

async function withServer<T>(fn: (server: NatsServerHandle) => Promise<T>): Promise<T> {
  const server = await startNatsServer();
  try {
    await createStreams(server.url);
    return await fn(server);
  } finally {
    await server.dispose();
  }
}

describe('sensor → JetStream (real nats-server)', () => {
  it('the reference run raises alerts of several protocols', () => {
    expect(expectedAlertIds.length).toBeGreaterThan(100);
    expect(new Set(expectedAlertIds).size).toBe(expectedAlertIds.length);
    expect(expectedAssets).toBeGreaterThan(5);
  });

  it('(a) a replay arrives complete: every alert once, every asset, health and stats, all valid', async () => {
    await withServer(async (server) => {
      const outbox = join(tempDir(), 'outbox');
      // A clock service 5 s behind this machine: the sensor must report its clock 5 s ahead.
      const clock = await connect({ servers: server.url });
      const sub = clock.subscribe(TIME_SUBJECT, {
        callback: (_err, msg) => {
          msg.respond(JSON.stringify({ now: Date.now() - 5000 }));
        },
      });
      const run = await runOtsensor(['read', ...CAPTURES, '--publish', server.url, ...ID, '--outbox', outbox]);
      sub.unsubscribe();
      await clock.close();
      expect(run.code, run.stderr).toBe(0);
      const messages = await readStream(server.url);
      for (const m of messages) {
        const v = validateMessage(m.subject, m.data);
        expect(v.ok, v.ok ? '' : `${m.subject}: ${v.detail}`).toBe(true);
        expect(m.msgId).toBe(`s1:${m.json?.seq}`);
      }
      const ids = alertIds(messages);
      expect(ids.length).toBe(expectedAlertIds.length);
      expect(new Set(ids)).toEqual(new Set(expectedAlertIds));
      const assetIps = new Set(itemsOf(messages, 'asset').map((a) => a.asset.ip));
      expect(assetIps.size).toBe(expectedAssets);
      const health = itemsOf(messages, 'health');
      expect(health.length).toBeGreaterThanOrEqual(CAPTURES.length);
      const last = newestHealth(messages);
      expect(last.capture.packets).toBeGreaterThan(30_000);
      expect(last.rules.loaded).toBeGreaterThan(40);
      expect(last.rules.alerts).toBe(expectedAlertIds.length);
      expect(last.clock.offsetMs).toBeGreaterThan(4000);
      expect(last.clock.offsetMs).toBeLessThan(6000);
      expect(Object.keys(last.parse)).toEqual(expect.arrayContaining(['modbus', 's7comm', 'opcua']));
      // The parsers' shared buffer budget is reported; these captures need far less than it.
      expect(last.buffers?.limit).toBe(64 * 1024 * 1024);
      expect(last.buffers?.refused).toBe(0);
      const statsPdus = itemsOf(messages, 'stats').reduce((n, s) => n + (s.protocols.modbus?.pdus ?? 0), 0);
      expect(statsPdus).toBe(last.parse.modbus?.pdus ?? -1);
      // Sequence numbers strictly increase in the order the sensor sealed them.
      const seqs = messages.map((m) => m.json?.seq ?? 0);
      expect(new Set(seqs).size).toBe(seqs.length);
      expect(run.stderr).toContain(`published ${expectedAlertIds.length} alerts`);
    });
  }, 60_000);

  it('(b) nats-server stopped for 30 s mid-replay: every alert arrives exactly once', async () => {
    await withServer(async (server) => {
      const outbox = join(tempDir(), 'outbox');
      const sensor = startSensor([
        'read',
        ...CAPTURES,
        '--publish',
        server.url,
        ...ID,
        '--outbox',
        outbox,
        '--pps',
        '3000',
        '--drain-timeout',
        '120',
        '--health-interval',
        '1',
      ]);
      await sleep(3000);
      await server.stop();
      const stoppedAt = Date.now();
      await sleep(30_000);
      await server.start();
      const { code, stderr } = await sensor.done;
      expect(code, stderr).toBe(0);
      expect(Date.now() - stoppedAt).toBeGreaterThan(30_000);
      const messages = await readStream(server.url);
      const ids = alertIds(messages);
      // Exactly once in the stream: JetStream's Nats-Msg-Id dedupe absorbed any retry of a stored message.
      expect(ids.length).toBe(expectedAlertIds.length);
      expect(new Set(ids)).toEqual(new Set(expectedAlertIds));
      const retries = Number(/\((\d+) retries\)/.exec(stderr)?.[1] ?? -1);
      expect(retries).toBeGreaterThan(0);
      console.info(`(b) outage: ${ids.length} alerts stored, 0 lost, 0 duplicated; ${retries} publish retries`);
    });
  }, 120_000);

  it('(c) sensor killed mid-replay and restarted on the same outbox: nothing lost', async () => {
    await withServer(async (server) => {
      const outbox = join(tempDir(), 'outbox');
      const args = ['read', ...CAPTURES, '--publish', server.url, ...ID, '--outbox', outbox, '--pps', '8000'];
      const first = startSensor(args);
      // Killed once some alerts are stored and the replay is still running.
      let before: string[] = [];
      for (let i = 0; i < 200 && before.length === 0; i++) {
        await sleep(100);
        before = alertIds(await readStream(server.url));
      }
      first.child.kill('SIGKILL');
      await first.done;
      before = alertIds(await readStream(server.url));
      expect(before.length).toBeGreaterThan(0);
      expect(before.length).toBeLessThan(expectedAlertIds.length);
      const again = await runOtsensor(args.filter((a, i) => a !== '--pps' && args[i - 1] !== '--pps'));
      expect(again.code, again.stderr).toBe(0);
      const messages = await readStream(server.url);
      const ids = alertIds(messages);
      expect(new Set(ids)).toEqual(new Set(expectedAlertIds));
      // Sequence numbers continue across the crash: no message id was used twice.
      const msgIds = messages.map((m) => m.msgId);
      expect(new Set(msgIds).size).toBe(msgIds.length);
      console.info(
        `(c) kill mid-replay: ${before.length} alerts before the kill, ${new Set(ids).size}/${expectedAlertIds.length} distinct after restart (${ids.length - new Set(ids).size} re-sent, deduplicated by id)`,
      );
    });
  }, 90_000);

  it('(c) sensor killed while the server is down: `otsensor flush` delivers the outbox exactly once', async () => {
    await withServer(async (server) => {
      const outbox = join(tempDir(), 'outbox');
      await server.stop();
      const sensor = startSensor(['read', ...CAPTURES, '--publish', server.url, ...ID, '--outbox', outbox]);
      // Wait until the whole replay is sealed into the outbox (the sensor then waits for the server).
      for (let i = 0; i < 100 && !sensor.child.killed; i++) {
        await sleep(300);
        const health = existsSync(outbox) ? readdirSync(outbox).filter((n) => n.includes('.health.')) : [];
        if (health.length >= CAPTURES.length) break;
      }
      sensor.child.kill('SIGKILL');
      await sensor.done;
      await server.start();
      const flush = await runOtsensor(['flush', '--publish', server.url, ...ID, '--outbox', outbox]);
      expect(flush.code, flush.stderr).toBe(0);
      const ids = alertIds(await readStream(server.url));
      expect(ids.length).toBe(expectedAlertIds.length);
      expect(new Set(ids)).toEqual(new Set(expectedAlertIds));
    });
  }, 90_000);

  it('(d) outbox overflow drops less valuable kinds, never alerts, and health reports the drops', async () => {
    await withServer(async (server) => {
      const outbox = join(tempDir(), 'outbox');
      await server.stop();
      // 230 kB holds the alert messages (~206 kB of JSON) but not the assets besides (~56-73 kB), nor health and
      // stats); stats every 50 ms make many small messages.
      const run = await runOtsensor([
        'read',
        ...CAPTURES,
        '--publish',
        server.url,
        ...ID,
        '--outbox',
        outbox,
        '--outbox-max-bytes',
        '230000',
        '--stats-interval',
        '0.05',
        '--drain-timeout',
        '1',
      ]);
      expect(run.code).toBe(1); // not drained: the server is down
      expect(run.stderr).toContain('outbox dropped');
      await server.start();
      const flush = await runOtsensor(['flush', '--publish', server.url, ...ID, '--outbox', outbox]);
      expect(flush.code, flush.stderr).toBe(0);
      const messages = await readStream(server.url);
      const last = newestHealth(messages);
      const dropped = last.outbox.dropped;
      // Which stats and health reports go depends on how the run cut its messages, which depends on the machine's
      // speed (wall-clock timers). A new message evicts only less valuable ones, and only if that makes room: on a
      // loaded machine the assets came as one big message that could not fit, so it was dropped by itself and no stats
      // or health report had to go. So the deterministic part is asserted: the alerts all fit, the assets cannot,
      // and every count equals what the run printed.
      // The priority order: no alert went (the cap holds all of them), while assets did. (That each
      // single eviction takes the least valuable kind first is checked message by message in outbox.test.ts.)
      expect(dropped.alert?.messages ?? 0).toBe(0);
      expect(dropped.asset?.messages ?? 0).toBeGreaterThan(0);
      expect(new Set(alertIds(messages))).toEqual(new Set(expectedAlertIds));
      // The totals in the last report (sent by the flush, after a restart) are exactly what the first run dropped,
      // as it printed them: drop counts survive the restart in the outbox state and arrive in health.
      const printed = Object.fromEntries(
        [...run.stderr.matchAll(/(stats|health|asset|alert) (\d+) messages\/(\d+) items/g)].map((m) => [
          m[1],
          { messages: Number(m[2]), items: Number(m[3]) },
        ]),
      );
      for (const k of ['stats', 'health', 'asset', 'alert']) {
        expect(dropped[k] ?? { messages: 0, items: 0 }, k).toEqual(printed[k] ?? { messages: 0, items: 0 });
      }
      console.info(`(d) overflow: dropped ${JSON.stringify(dropped)}`);
    });
  }, 90_000);

  it('(f) garbage and oversized messages are rejected and counted; valid ones around them are stored', async () => {
    await withServer(async (server) => {
      const outbox = join(tempDir(), 'outbox');
      const { nc, js, stored, consumer } = await collectingConsumer(server.url);
      const enc = new TextEncoder();
      const subject = 'ot.v1.gd.e1.s1.alert';
      await js.publish(subject, enc.encode('not json at all'));
      await js.publish(subject, new Uint8Array([0xff, 0xfe, 0x00, 0x01]));
      await js.publish(subject, enc.encode('{"v":1,"kind":"alert"}'));
      await js.publish(subject, enc.encode('{"v":2,"kind":"alert"}'));
      await js.publish('ot.v1.gd.e1.s1.health', enc.encode('{"v":1,"kind":"alert"}'));
      await js.publish(subject, enc.encode(`{"pad":"${'x'.repeat(950 * 1024)}"}`));
      // Valid JSON that claims another enterprise than its subject.
      const forged = {
        v: 1,
        kind: 'health',
        province: 'gd',
        enterprise: 'e2',
        sensor: 's1',
        seq: 1,
        sentAt: new Date().toISOString(),
        items: [{}],
      };
      await js.publish('ot.v1.gd.e1.s1.health', enc.encode(JSON.stringify(forged)));
      // Larger than the server's max_payload (1 MiB): the server itself refuses it.
      await expect(js.publish(subject, new Uint8Array(1_100_000))).rejects.toThrow();
      // Then a real sensor run: everything of it must still be stored.
      const run = await runOtsensor([
        'read',
        ...CAPTURES.slice(0, 1),
        '--publish',
        server.url,
        ...ID,
        '--outbox',
        outbox,
      ]);
      expect(run.code, run.stderr).toBe(0);
      const expected = (await readStream(server.url)).length - 7;
      for (let i = 0; i < 50 && consumer.stats.accepted < expected; i++) await sleep(100);
      await consumer.stop();
      await nc.close();
      expect(consumer.stats.accepted).toBe(expected);
      expect(stored.length).toBe(expected);
      expect(consumer.stats.rejected).toMatchObject({
        not_json: 2,
        schema: 2,
        bad_version: 1,
        kind_mismatch: 1,
        too_large: 1,
        identity_mismatch: 0,
      });
      // The forged one fails the schema (its health item is empty) before its identity is compared.
      const rejected = Object.values(consumer.stats.rejected).reduce((a, b) => a + b, 0);
      expect(rejected).toBe(7);
    });
  }, 60_000);

  it('(f) a well-formed message whose enterprise disagrees with its subject is rejected as identity_mismatch', async () => {
    await withServer(async (server) => {
      const { nc, js, consumer } = await collectingConsumer(server.url);
      const jsm = await jetstreamManager(nc);
      const outbox = join(tempDir(), 'outbox');
      // A genuine message from enterprise e2's sensor, replayed on e1's subject.
      const run = await runOtsensor([
        'read',
        CAPTURES[0] ?? '',
        '--publish',
        server.url,
        '--province',
        'gd',
        '--enterprise',
        'e2',
        '--sensor-id',
        's1',
        '--outbox',
        outbox,
      ]);
      expect(run.code, run.stderr).toBe(0);
      const genuine = (await readStream(server.url))[0];
      if (genuine === undefined) throw new Error('nothing published');
      await js.publish('ot.v1.gd.e1.s1.alert'.replace('alert', genuine.json?.kind ?? 'alert'), genuine.data);
      const total = (await jsm.streams.info('OT_V1')).state.messages;
      for (let i = 0; i < 50 && consumer.stats.received < total; i++) await sleep(100);
      await consumer.stop();
      await nc.close();
      expect(consumer.stats.rejected.identity_mismatch).toBe(1);
      expect(consumer.stats.accepted).toBe(total - 1);
    });
  }, 60_000);
});
