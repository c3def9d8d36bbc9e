/**
 * Issue 7 (e): what a sensor's and a collector's credentials can and cannot do, checked against a real nats-server
 * 2.9 running the rendered auth.conf. nats.js 3.x reports a permission violation three ways, all asserted here:
 * a JetStream publish / request rejects with a RequestError whose `cause` is a PermissionViolationError; the
 * connection's status iterator yields `{type: 'error', error: PermissionViolationError}`; a refused subscription
 * ends (iteration throws, `sub.closed` resolves to the error).
 */
import { readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { AuthorizationError, type NatsConnection, PermissionViolationError } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureStreams, STREAM_NAME } from '../protocols/wire/streams.ts';
import {
  collectorPermissions,
  issueCollectorToDir,
  issueSensorCredentials,
  issueSensorToDir,
  loadRegistry,
  renderAuthorization,
  revokeSensorInDir,
  sensorPermissions,
} from './creds.ts';
import { loadSensorConfig } from './sensor-config.ts';
import { connectSensor, connectService, tempDir, writePlainServerConfig } from './testing/fixtures.ts';
import { type NatsProcess, runNatsServer } from './testing/nats-process.ts';

const S1 = { province: 'gd', enterprise: 'ent1', sensor: 's1' };
const S2 = { province: 'gd', enterprise: 'ent1', sensor: 's2' };
const S3 = { province: 'gd', enterprise: 'ent2', sensor: 's3' };

describe('permission sets', () => {
  it('a sensor may publish only under its own prefix and the clock, and read only its own inbox', () => {
    expect(sensorPermissions(S1)).toEqual({
      publish: { allow: ['ot.v1.gd.ent1.s1.>', 'ot.v1.time'] },
      subscribe: { allow: ['_INBOX.gd.ent1.s1.>'] },
    });
  });

  it('refuses tokens that would widen a subject', () => {
    expect(() => sensorPermissions({ ...S1, sensor: '>' })).toThrow(/not a valid subject token/);
    expect(() => sensorPermissions({ ...S1, enterprise: 'a.b' })).toThrow(/not a valid subject token/);
    expect(() => collectorPermissions('*')).toThrow(/not a valid subject token/);
  });

  it('the collector cannot delete or purge the stream', () => {
    const allow = collectorPermissions('c1').publish.allow ?? [];
    expect(allow.some((s) => s.includes('DELETE') || s.includes('PURGE') || s === '$JS.API.>')).toBe(false);
    expect(collectorPermissions('c1').allow_responses).toBe(true);
  });

  it('renders an authorization block and refuses an empty one (which would open the server)', () => {
    const c = issueSensorCredentials(S1);
    expect(c.seed).toMatch(/^SU[A-Z2-7]{56}$/);
    expect(c.publicKey).toMatch(/^U[A-Z2-7]{55}$/);
    const text = renderAuthorization([c.user]);
    expect(text).toContain(`nkey: "${c.publicKey}"`);
    expect(text).toContain('"ot.v1.gd.ent1.s1.>"');
    expect(text).not.toContain(c.seed);
    expect(() => renderAuthorization([])).toThrow(/open/);
  });
});

describe('issued files', () => {
  const dir = tempDir('files');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the seed 0600, keeps it out of the registry and auth.conf, and a loadable sensor.yaml', () => {
    const issued = issueSensorToDir(dir, S1, { natsUrl: 'nats://127.0.0.1:1' });
    expect(statSync(issued.seedFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(issued.seedFile, 'utf8').trim()).toBe(issued.seed);
    for (const f of ['users.json', 'auth.conf']) {
      expect(readFileSync(join(dir, f), 'utf8')).not.toContain(issued.seed);
      expect(statSync(join(dir, f)).mode & 0o777).toBe(0o600);
    }
    const cfg = loadSensorConfig(issued.configFile);
    expect(cfg).toMatchObject({ ...S1, nats: { url: 'nats://127.0.0.1:1', nkeySeedFile: issued.seedFile } });
    expect(() => issueSensorToDir(dir, S1)).toThrow(/--rotate/);
    const rotated = issueSensorToDir(dir, S1, { rotate: true });
    expect(rotated.publicKey).not.toBe(issued.publicKey);
    expect(loadRegistry(dir).users.map((u) => u.user)).toEqual([
      { nkey: rotated.publicKey, permissions: sensorPermissions(S1) },
    ]);
  });
});

async function statusErrors(nc: NatsConnection, into: Error[]): Promise<void> {
  for await (const s of nc.status()) if (s.type === 'error') into.push(s.error);
}

async function storedCount(admin: NatsConnection): Promise<number> {
  const jsm = await jetstreamManager(admin);
  return (await jsm.streams.info(STREAM_NAME)).state.messages;
}

describe('against a real nats-server', () => {
  const dir = tempDir('perm');
  let server: NatsProcess;
  let url = '';
  let sensor1: NatsConnection;
  let admin: NatsConnection;
  const s1Errors: Error[] = [];
  let files: Record<string, string> = {};

  beforeAll(async () => {
    files = {
      s1: issueSensorToDir(dir, S1).configFile,
      s2: issueSensorToDir(dir, S2).configFile,
      s3: issueSensorToDir(dir, S3).configFile,
    };
    issueCollectorToDir(dir, 'c1');
    issueCollectorToDir(dir, 'ops', { admin: true });
    const cfg = await writePlainServerConfig(dir);
    url = cfg.url;
    server = await runNatsServer(cfg.configFile);
    admin = await connectService(join(dir, 'admins', 'ops'), url);
    await ensureStreams(await jetstreamManager(admin));
    sensor1 = await connectSensor(files.s1 ?? '', { servers: url });
    void statusErrors(sensor1, s1Errors);
  });

  afterAll(async () => {
    await sensor1?.close();
    await admin?.close();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("a sensor's JetStream publish on its own subject is acked (without any $JS.API permission)", async () => {
    const before = await storedCount(admin);
    const ack = await jetstream(sensor1).publish('ot.v1.gd.ent1.s1.alert', '{"n":1}', { msgID: 's1:1' });
    expect(ack.stream).toBe(STREAM_NAME);
    expect(ack.duplicate).toBe(false);
    expect(await storedCount(admin)).toBe(before + 1);
  });

  it("cannot publish under another sensor's or another enterprise's subject: refused, nothing stored", async () => {
    const before = await storedCount(admin);
    const js = jetstream(sensor1);
    for (const subject of ['ot.v1.gd.ent1.s2.alert', 'ot.v1.gd.ent2.s3.alert', 'ot.v1.gd.ent1.s1x.alert']) {
      const err = await js.publish(subject, '{}').then(
        () => null,
        (e: unknown) => e as Error & { cause?: unknown },
      );
      expect(err?.name).toBe('RequestError');
      expect(err?.cause).toBeInstanceOf(PermissionViolationError);
      expect((err?.cause as PermissionViolationError | undefined)?.subject).toBe(subject);
    }
    // A plain publish is refused too; the violation arrives as a status event.
    sensor1.publish('ot.v1.gd.ent2.s3.asset', '{}');
    await sensor1.flush();
    await expect.poll(() => s1Errors.some((e) => e.message.includes('"ot.v1.gd.ent2.s3.asset"'))).toBe(true);
    expect(s1Errors.every((e) => e instanceof PermissionViolationError)).toBe(true);
    expect(await storedCount(admin)).toBe(before);
  });

  it("cannot subscribe to ot.v1.> nor to another sensor's inbox", async () => {
    for (const subject of ['ot.v1.>', '_INBOX.gd.ent1.s2.>', '_INBOX.>']) {
      const sub = sensor1.subscribe(subject);
      const closed = await sub.closed;
      expect(closed).toBeInstanceOf(PermissionViolationError);
      expect((closed as PermissionViolationError).operation).toBe('subscription');
    }
  });

  it('cannot delete the stream through the JetStream API', async () => {
    const err = await sensor1.request(`$JS.API.STREAM.DELETE.${STREAM_NAME}`).then(
      () => null,
      (e: unknown) => e as Error & { cause?: unknown },
    );
    expect(err?.cause).toBeInstanceOf(PermissionViolationError);
    expect(await storedCount(admin)).toBeGreaterThan(0);
  });

  it('the collector runs ensureStreams, reads and acks through the durable pull consumer, but cannot delete', async () => {
    const collector = await connectService(join(dir, 'collectors', 'c1'), url);
    try {
      const jsm = await jetstreamManager(collector);
      expect(await ensureStreams(jsm)).toEqual({ stream: 'unchanged', consumer: 'unchanged' });
      await jsm.consumers.add(STREAM_NAME, { durable_name: 'c1-extra', ack_policy: AckPolicy.Explicit });
      const consumer = await jetstream(collector).consumers.get(STREAM_NAME, 'collector');
      const batch = await consumer.fetch({ max_messages: 10, expires: 1000 });
      const subjects: string[] = [];
      for await (const m of batch) {
        subjects.push(m.subject);
        await m.ackAck();
      }
      expect(subjects).toEqual(['ot.v1.gd.ent1.s1.alert']);
      const info = await jsm.consumers.info(STREAM_NAME, 'collector');
      expect(info.num_ack_pending).toBe(0);
      expect(info.ack_floor.stream_seq).toBe(1);
      const del = await jsm.streams.delete(STREAM_NAME).then(
        () => null,
        (e: unknown) => e as Error,
      );
      expect(del).not.toBeNull();
      expect(await storedCount(admin)).toBe(1);
    } finally {
      await collector.close();
    }
  });

  it('the collector answers ot.v1.time requests from a sensor (allow_responses)', async () => {
    const collector = await connectService(join(dir, 'collectors', 'c1'), url);
    try {
      const sub = collector.subscribe('ot.v1.time', {
        callback: (_err, m) => {
          m.respond(JSON.stringify({ now: 42 }));
        },
      });
      await collector.flush();
      const reply = await sensor1.request('ot.v1.time', '', { timeout: 2000 });
      expect(reply.json()).toEqual({ now: 42 });
      sub.unsubscribe();
    } finally {
      await collector.close();
    }
  });

  it('a revoked sensor can no longer connect once the server reloads; the others still can', async () => {
    const s2 = await connectSensor(files.s2 ?? '', { servers: url, reconnect: false });
    const s2Closed = s2.closed();
    const revoked = revokeSensorInDir(dir, { sensor: 's2' });
    expect(revoked.id).toBe('gd.ent1.s2');
    expect(readFileSync(join(dir, 'auth.conf'), 'utf8')).not.toContain((revoked.user as { nkey: string }).nkey);
    process.kill(server.pid, 'SIGHUP');
    await server.waitForLog('Reloaded server configuration');
    // The live connection of the revoked user is closed by the reload (nats.js resolves closed() without an error)...
    const outcome = await Promise.race([s2Closed.then(() => 'closed'), delay(5000).then(() => 'still open')]);
    expect(outcome).toBe('closed');
    expect(s2.isClosed()).toBe(true);
    // ...and it cannot come back.
    const again = await connectSensor(files.s2 ?? '', { servers: url, reconnect: false }).then(
      async (nc) => {
        await nc.close();
        return null;
      },
      (e: unknown) => e as Error,
    );
    expect(again).toBeInstanceOf(AuthorizationError);
    const s3 = await connectSensor(files.s3 ?? '', { servers: url });
    const ack = await jetstream(s3).publish('ot.v1.gd.ent2.s3.health', '{}');
    expect(ack.seq).toBeGreaterThan(1);
    await s3.close();
  });
});
