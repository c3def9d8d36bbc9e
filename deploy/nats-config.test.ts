/**
 * The deploy/nats/ configurations, rendered by the real `otdeploy` commands and run on real nats-server 2.9
 * processes: (a) pilot with TLS + nkey auth, (b) a 3-node JetStream cluster with an R3 stream surviving the loss of
 * a node, (c) an enterprise leafnode dialing out to the province, whose JetStream stores what the leaf's sensor sent.
 */
import { readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { jetstream, jetstreamManager, type PubAck } from '@nats-io/jetstream';
import { type NatsConnection, PermissionViolationError } from '@nats-io/transport-node';
import { afterAll, describe, expect, it } from 'vitest';
import { STREAM_NAME } from '../protocols/wire/streams.ts';
import { freePort } from '../tests/support/nats-server.ts';
import { fillTemplate, readTemplate } from './nats-config.ts';
import { runOtdeploy } from './otdeploy.ts';
import { connectSensor, connectService, tempDir } from './testing/fixtures.ts';
import { type NatsProcess, runNatsServer, testNatsConfig } from './testing/nats-process.ts';

const running: NatsProcess[] = [];
const connections: NatsConnection[] = [];
const dirs: string[] = [];

afterAll(async () => {
  await Promise.all(connections.map((c) => c.close().catch(() => undefined)));
  await Promise.all(running.map((p) => p.stop()));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function otdeploy(...args: string[]): Promise<string> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runOtdeploy(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
  if (code !== 0) throw new Error(`otdeploy ${args.join(' ')} exited ${code}: ${err.join('\n')}`);
  return out.join('\n');
}

async function start(configFile: string): Promise<NatsProcess> {
  const p = await runNatsServer(configFile);
  running.push(p);
  return p;
}

function track<T extends NatsConnection>(nc: T): T {
  connections.push(nc);
  return nc;
}

/** Retries a JetStream publish while the cluster elects leaders or interest propagates. */
async function publishEventually(nc: NatsConnection, subject: string, data: string, ms = 15_000): Promise<PubAck> {
  const js = jetstream(nc, { timeout: 2000 });
  const until = Date.now() + ms;
  for (;;) {
    try {
      return await js.publish(subject, data);
    } catch (err) {
      if (Date.now() > until) throw err;
      await delay(250);
    }
  }
}

describe('templates', () => {
  it('every placeholder must be filled and every value used', () => {
    expect(() => fillTemplate(readTemplate('pilot'), {})).toThrow(/SERVER_NAME/);
    expect(() => fillTemplate('a {{X}}', { X: '1', Y: '2' })).toThrow(/Y/);
    expect(fillTemplate('a {{X}}', { X: '1' })).toBe('a 1');
  });
});

describe('(a) pilot: TLS + nkey auth + JetStream', () => {
  it('accepts the rendered config, acks a sensor publish over TLS, and refuses a client without our CA', async () => {
    const dir = tempDir('pilot');
    dirs.push(dir);
    const port = await freePort();
    await otdeploy('tls', 'init', '--out', dir, '--hosts', 'nats.example.org');
    for (const key of ['ca-key.pem', 'server-key.pem', 'client-key.pem']) {
      expect(statSync(join(dir, 'tls', key)).mode & 0o777).toBe(0o600);
    }
    const issued = await otdeploy(
      'creds',
      'sensor',
      '--province',
      'gd',
      '--enterprise',
      'e1',
      '--sensor',
      's1',
      '--out',
      dir,
      '--nats-url',
      `tls://127.0.0.1:${port}`,
      '--ca',
      join(dir, 'tls', 'ca.pem'),
    );
    const seed = readFileSync(join(dir, 'sensors', 'gd.e1.s1', 'nkey.seed'), 'utf8').trim();
    expect(issued).toContain('gd.e1.s1');
    expect(issued).not.toContain(seed);
    await otdeploy('creds', 'collector', '--name', 'ops', '--admin', '--out', dir);
    await otdeploy('config', 'pilot', '--out', dir, '--listen', `127.0.0.1:${port}`, '--store', join(dir, 'js'));
    const conf = join(dir, 'pilot.conf');
    const checked = await testNatsConfig(conf);
    expect(checked.output).toMatch(/configuration file .* is valid/);
    expect(checked.code).toBe(0);
    await start(conf);

    const ensured = await otdeploy(
      'streams',
      'ensure',
      '--nats-url',
      `tls://127.0.0.1:${port}`,
      '--creds',
      join(dir, 'admins', 'ops', 'nkey.seed'),
      '--ca',
      join(dir, 'tls', 'ca.pem'),
      '--max-age',
      '1d',
      '--max-bytes',
      '64MiB',
    );
    expect(JSON.parse(ensured)).toMatchObject({ stream: 'created', consumer: 'created', limits: { replicas: 1 } });

    const sensor = track(await connectSensor(join(dir, 'sensors', 'gd.e1.s1', 'sensor.yaml')));
    expect(sensor.info?.tls_required).toBe(true);
    const ack = await jetstream(sensor).publish('ot.v1.gd.e1.s1.alert', '{}', { msgID: 's1:1' });
    expect(ack).toMatchObject({ stream: STREAM_NAME, seq: 1, duplicate: false });

    // The same key without our CA cannot complete the TLS handshake.
    const noCa = await connectSensor(join(dir, 'sensors', 'gd.e1.s1', 'sensor.yaml'), {
      tls: {},
      reconnect: false,
      timeout: 3000,
    }).then(
      async (nc) => {
        await nc.close();
        return null;
      },
      (e: unknown) => e as Error,
    );
    expect(noCa).not.toBeNull();
    expect(String(noCa?.message ?? '') + String((noCa as { cause?: unknown } | null)?.cause ?? '')).toMatch(
      /certificate|self.signed|issuer/i,
    );
  });
});

describe('(b) 3-node cluster: R3 stream survives a node', () => {
  it('creates the R3 stream, publishes, loses a node and still gets acks', async () => {
    const dir = tempDir('cluster');
    dirs.push(dir);
    const ports = await Promise.all(Array.from({ length: 6 }, () => freePort()));
    const [c1, c2, c3, r1, r2, r3] = ports as [number, number, number, number, number, number];
    await otdeploy('tls', 'init', '--out', dir);
    await otdeploy('creds', 'collector', '--name', 'ops', '--admin', '--out', dir);
    await otdeploy(
      ...['creds', 'sensor', '--province', 'gd', '--enterprise', 'e1', '--sensor', 's1', '--out', dir],
      ...['--nats-url', `tls://127.0.0.1:${c1}`, '--ca', join(dir, 'tls', 'ca.pem')],
    );
    await otdeploy(
      ...['config', 'cluster', '--out', dir, '--store', join(dir, 'js')],
      ...['--nodes', `n1=127.0.0.1:${c1}:${r1},n2=127.0.0.1:${c2}:${r2},n3=127.0.0.1:${c3}:${r3}`],
    );
    const files = ['n1', 'n2', 'n3'].map((n) => join(dir, `${n}.conf`));
    for (const f of files) expect((await testNatsConfig(f)).code).toBe(0);
    const nodes = await Promise.all(files.map((f) => start(f)));

    const url = [c1, c2, c3].map((p) => `tls://127.0.0.1:${p}`).join(',');
    const admin = track(
      await connectService(join(dir, 'admins', 'ops'), '', {
        servers: url.split(','),
        tls: { caFile: join(dir, 'tls', 'ca.pem') },
      }),
    );
    // JetStream answers once the meta leader is elected.
    let ensured = '';
    for (let i = 0; ensured === '' && i < 60; i++) {
      ensured = await otdeploy(
        ...['streams', 'ensure', '--nats-url', url, '--creds', join(dir, 'admins', 'ops', 'nkey.seed')],
        ...['--ca', join(dir, 'tls', 'ca.pem'), '--replicas', '3'],
      ).catch(async () => {
        await delay(250);
        return '';
      });
    }
    expect(JSON.parse(ensured)).toMatchObject({ stream: 'created', limits: { replicas: 3 } });
    const jsm = await jetstreamManager(admin);
    const info = await jsm.streams.info(STREAM_NAME);
    expect(info.config.num_replicas).toBe(3);

    const sensor = track(await connectSensor(join(dir, 'sensors', 'gd.e1.s1', 'sensor.yaml')));
    const first = await publishEventually(sensor, 'ot.v1.gd.e1.s1.alert', '{"n":1}');
    expect(first.seq).toBe(1);

    // Stop the stream leader unless the sensor is connected to it (then another node): either way one of three.
    const leader = (await jsm.streams.info(STREAM_NAME)).cluster?.leader ?? 'n2';
    const victim = leader === 'n1' ? 'n2' : leader;
    const index = ['n1', 'n2', 'n3'].indexOf(victim);
    await nodes[index]?.stop();
    const second = await publishEventually(sensor, 'ot.v1.gd.e1.s1.alert', '{"n":2}');
    expect(second.seq).toBe(2);
    // Right after a node stops, the admin connection may be failing over and the stream electing a leader:
    // ask again until it answers (loaded CI machines take seconds).
    const infoEventually = async () => {
      for (let i = 0; ; i++) {
        try {
          return await jsm.streams.info(STREAM_NAME);
        } catch (err) {
          if (i >= 40) throw err;
          await delay(500);
        }
      }
    };
    let after = await infoEventually();
    for (let i = 0; i < 40 && after.cluster?.leader === undefined; i++) {
      await delay(250);
      after = await infoEventually();
    }
    expect(after.state.messages).toBe(2);
    expect(after.cluster?.leader).not.toBe(victim);
  });
});

describe('(c) enterprise leafnode dialing out to the province', () => {
  it("a sensor on the leaf publishes on its subject and the hub's stream stores it", async () => {
    const dir = tempDir('leaf');
    dirs.push(dir);
    const [hubPort, leafListen, leafPort] = (await Promise.all([freePort(), freePort(), freePort()])) as [
      number,
      number,
      number,
    ];
    await otdeploy('tls', 'init', '--out', dir);
    await otdeploy('creds', 'collector', '--name', 'ops', '--admin', '--out', dir);
    await otdeploy(
      ...['creds', 'sensor', '--province', 'gd', '--enterprise', 'e1', '--sensor', 's1', '--out', dir],
      ...['--nats-url', `tls://127.0.0.1:${leafPort}`, '--ca', join(dir, 'tls', 'ca.pem')],
    );
    await otdeploy('creds', 'leaf', '--province', 'gd', '--enterprise', 'e1', '--out', dir);
    await otdeploy(
      ...['config', 'pilot', '--out', dir, '--listen', `127.0.0.1:${hubPort}`, '--store', join(dir, 'js')],
      ...['--leafnode-listen', `127.0.0.1:${leafListen}`],
    );
    const leafDir = join(dir, 'enterprise');
    await otdeploy(
      ...['config', 'leaf', '--out', leafDir, '--creds', dir, '--province', 'gd', '--enterprise', 'e1'],
      ...['--hub', `127.0.0.1:${leafListen}`, '--listen', `127.0.0.1:${leafPort}`],
    );
    const leafConf = join(leafDir, 'leafnode.conf');
    expect(statSync(leafConf).mode & 0o777).toBe(0o600);
    expect(readFileSync(leafConf, 'utf8')).not.toMatch(/jetstream\s*\{/);
    expect((await testNatsConfig(join(dir, 'pilot.conf'))).code).toBe(0);
    expect((await testNatsConfig(leafConf)).code).toBe(0);

    const hub = await start(join(dir, 'pilot.conf'));
    await otdeploy(
      ...['streams', 'ensure', '--nats-url', `tls://127.0.0.1:${hubPort}`],
      ...['--creds', join(dir, 'admins', 'ops', 'nkey.seed'), '--ca', join(dir, 'tls', 'ca.pem')],
    );
    await start(leafConf);
    await hub.waitForLog(/Leafnode connection created/);

    const sensor = track(await connectSensor(join(dir, 'sensors', 'gd.e1.s1', 'sensor.yaml')));
    expect(sensor.info?.port).toBe(leafPort);
    const ack = await publishEventually(sensor, 'ot.v1.gd.e1.s1.alert', '{"via":"leaf"}');
    expect(ack.stream).toBe(STREAM_NAME);

    // The leaf enforces the sensor's own permissions: another enterprise's subject is refused there.
    const foreign = await jetstream(sensor)
      .publish('ot.v1.gd.e2.s9.alert', '{}')
      .then(
        () => null,
        (e: unknown) => e as Error & { cause?: unknown },
      );
    expect(foreign?.cause).toBeInstanceOf(PermissionViolationError);

    const admin = track(
      await connectService(join(dir, 'admins', 'ops'), `tls://127.0.0.1:${hubPort}`, {
        tls: { caFile: join(dir, 'tls', 'ca.pem') },
      }),
    );
    const jsm = await jetstreamManager(admin);
    const stored = await jsm.streams.getMessage(STREAM_NAME, { seq: ack.seq });
    expect(stored?.subject).toBe('ot.v1.gd.e1.s1.alert');
    expect(stored?.json()).toEqual({ via: 'leaf' });
    expect((await jsm.streams.info(STREAM_NAME)).state.messages).toBe(1);
  });
});
