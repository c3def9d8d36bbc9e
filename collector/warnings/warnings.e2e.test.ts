/**
 * Issue 9, risk and warnings end to end with real components: an authorized nats-server (per-sensor and collector
 * nkeys from deploy/creds.ts), the real `otcollector serve` process evaluating every second, and real `otsensor`
 * runs replaying a real attack capture (rules/packs/captures/s7-engineering.pcap: block delete, erase, output
 * writes) for several enterprises. The capture's packet times are moved to "now" in a temporary copy so the
 * warning windows see the attack as current; nothing else of the capture changes.
 *
 * Checked: the cross-enterprise warning fires for three enterprises of one industry and not for two; a grade-3
 * enterprise's high alert warns it; a silent sensor warns its enterprise; the score is explained (points sum to the
 * score, each factor names its facts, the maintenance window makes a difference); the lifecycle (each target
 * acknowledges, then the province admin closes); a subscriber with collector credentials receives the NATS
 * messages; a local webhook receives signed POSTs whose HMAC verifies; alert resolution through the API.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection, nkeyAuthenticator } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueCollectorCredentials, issueSensorCredentials, renderAuthorization } from '../../deploy/creds.ts';
import { runOtsensor } from '../../tests/support/cli.ts';
import { freePort, type NatsServerHandle, startNatsServer } from '../../tests/support/nats-server.ts';
import { REPO_ROOT } from '../../tests/support/paths.ts';
import { openStore } from '../store/open.ts';
import type { Enterprise } from '../store/types.ts';

const CAPTURE = join(REPO_ROOT, 'rules/packs/captures/s7-engineering.pcap');
const PROVINCE = 'zj';
const SECRET = 'webhook-shared-secret';

interface Ent {
  id: string;
  industry: string;
  city: string;
  grade: 1 | 2 | 3;
  windows: string[];
  sensor: string;
}

const ENTS: Ent[] = [
  { id: 'chem1', industry: '化工', city: '杭州', grade: 2, windows: [], sensor: 's-chem1' },
  // Declares a window covering every minute: its engineering actions weigh nothing.
  { id: 'chem2', industry: '化工', city: '杭州', grade: 2, windows: ['daily 00:00-24:00'], sensor: 's-chem2' },
  { id: 'chem3', industry: '化工', city: '杭州', grade: 2, windows: [], sensor: 's-chem3' },
  // Same industry, never attacked: still a target of the industry warning. Its sensor never reports.
  { id: 'chem4', industry: '化工', city: '温州', grade: 1, windows: [], sensor: 's-chem4' },
  { id: 'power1', industry: '电力', city: '宁波', grade: 3, windows: [], sensor: 's-power1' },
];

let dir: string;
let nats: NatsServerHandle;
let collector: ChildProcess;
let collectorLog = '';
let apiBase = '';
let storeUrl = '';
let retimed = '';
const seeds = new Map<string, string>();
const tokens = new Map<string, string>();
let watcher: NatsConnection;
const natsMessages: { subject: string; body: WarningEventBody }[] = [];
const hooks: { headers: Record<string, string | string[] | undefined>; body: string }[] = [];
let hookServer: Server;

interface WarningBody {
  id: string;
  ruleId: string;
  level: string;
  levelZh: string;
  state: string;
  drill: boolean;
  audience: { province: string; industries?: string[]; enterprises?: string[] };
  targets: { enterpriseId: string; ackAt: string | null; ackBy: string | null }[];
  facts: { kind: string; enterpriseId: string | null; textZh: string; data: Record<string, unknown> }[];
  closedBy: string | null;
}

interface WarningEventBody {
  v: number;
  type: string;
  warning: WarningBody;
}

/** A copy of a classic little-endian pcap whose first packet is at `startMs` (relative spacing kept). */
function retimePcap(src: string, dst: string, startMs: number): void {
  const buf = Buffer.from(readFileSync(src));
  if (buf.readUInt32LE(0) !== 0xa1b2c3d4) throw new Error('expected a little-endian microsecond pcap');
  let off = 24;
  let shift: number | null = null;
  while (off + 16 <= buf.length) {
    const sec = buf.readUInt32LE(off);
    const usec = buf.readUInt32LE(off + 4);
    const incl = buf.readUInt32LE(off + 8);
    const ms = sec * 1000 + usec / 1000;
    if (shift === null) shift = startMs - ms;
    const moved = ms + shift;
    buf.writeUInt32LE(Math.floor(moved / 1000), off);
    buf.writeUInt32LE(Math.floor((moved % 1000) * 1000), off + 4);
    off += 16 + incl;
  }
  writeFileSync(dst, buf);
}

async function api<T>(
  who: string,
  path: string,
  init: { method?: string; body?: unknown } = {},
): Promise<{ status: number; body: T }> {
  const res = await fetch(`${apiBase}/api/v1${path}`, {
    method: init.method ?? 'GET',
    headers: {
      authorization: `Bearer ${tokens.get(who) ?? ''}`,
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  return { status: res.status, body: (await res.json()) as T };
}

async function replay(ent: Ent): Promise<void> {
  const run = await runOtsensor(
    [
      'read',
      retimed,
      '--publish',
      nats.url,
      '--province',
      PROVINCE,
      '--enterprise',
      ent.id,
      '--sensor-id',
      ent.sensor,
      '--nkey',
      seeds.get(ent.sensor) ?? '',
      '--outbox',
      join(dir, `outbox-${ent.id}`),
    ],
    120_000,
  );
  expect(run.code, run.stderr).toBe(0);
  expect(run.stderr).toMatch(/published [1-9]\d* alerts/);
}

async function allWarnings(): Promise<WarningBody[]> {
  const r = await api<{ items: WarningBody[] }>('admin', '/warnings?limit=1000');
  expect(r.status).toBe(200);
  return r.body.items;
}

async function waitFor<T>(what: string, probe: () => Promise<T | null | undefined>, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== null && v !== undefined) return v;
    if (Date.now() > end)
      throw new Error(`timed out waiting for ${what}; collector log:\n${collectorLog.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Waits until the collector stored `n` alerts for the enterprise (via the admin API). */
async function waitAlerts(enterprise: string): Promise<number> {
  return await waitFor(`alerts of ${enterprise}`, async () => {
    const r = await api<{ items: unknown[] }>('admin', `/alerts?enterprise=${enterprise}&limit=1000`);
    return r.body.items.length >= 5 ? r.body.items.length : null;
  });
}

/** Two full evaluation cycles after now (the collector evaluates every second). */
async function settle(): Promise<void> {
  await new Promise((r) => setTimeout(r, 3000));
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'otwatch-warn-'));
  retimed = join(dir, 's7-engineering-now.pcap');
  retimePcap(CAPTURE, retimed, Date.now() - 60_000);

  // Credentials: one nkey per sensor (its own subjects only), the collector's, and a second collector identity for
  // the subscriber (what a provincial consumer of warnings would hold).
  const users = [];
  for (const e of ENTS) {
    const c = issueSensorCredentials({ province: PROVINCE, enterprise: e.id, sensor: e.sensor });
    const f = join(dir, `${e.sensor}.seed`);
    writeFileSync(f, c.seed, { mode: 0o600 });
    seeds.set(e.sensor, f);
    users.push(c.user);
  }
  const col = issueCollectorCredentials('collector');
  writeFileSync(join(dir, 'collector.seed'), col.seed, { mode: 0o600 });
  const watch = issueCollectorCredentials('watcher');
  users.push(col.user, watch.user);
  nats = await startNatsServer({ config: renderAuthorization(users) });

  hookServer = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      body += c;
    });
    req.on('end', () => {
      hooks.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  const hookPort = await freePort();
  await new Promise<void>((resolve) => hookServer.listen(hookPort, '127.0.0.1', resolve));

  storeUrl = `sqlite:${join(dir, 'store.db')}`;
  const store = await openStore(storeUrl);
  for (const e of ENTS) {
    const ent: Omit<Enterprise, 'createdAt' | 'updatedAt'> = {
      id: e.id,
      name: `企业 ${e.id}`,
      province: PROVINCE,
      city: e.city,
      industry: e.industry,
      class: 'networked_industrial',
      grade: e.grade,
      contacts: [],
      maintenanceWindows: e.windows,
    };
    await store.upsertEnterprise(ent);
    await store.upsertSensor({ id: e.sensor, enterpriseId: e.id });
    const t = await store.createToken({
      label: `ent-${e.id}`,
      role: 'enterprise',
      province: null,
      enterprises: [e.id],
    });
    tokens.set(e.id, t.secret);
  }
  tokens.set(
    'admin',
    (await store.createToken({ label: 'zj-admin', role: 'province-admin', province: PROVINCE, enterprises: [] }))
      .secret,
  );
  await store.close();

  // A test rule: the bundled sensor-silence rule waits 2 h; this one 3 s, so the never-reporting sensor warns now.
  const rulesDir = join(dir, 'rules');
  mkdirSync(rulesDir);
  writeFileSync(
    join(rulesDir, 'silence.yaml'),
    [
      'id: test.sensor_silent_3s',
      'title: { zh: 探针短时未上报（测试）, en: Sensor silent (test) }',
      'level: blue',
      'description: A sensor silent for 3 seconds.',
      'audience: subjects',
      'condition: { kind: sensor_silence, silentFor: 3s }',
      '',
    ].join('\n'),
  );

  watcher = await connect({
    servers: nats.url,
    inboxPrefix: '_INBOX.collector.watcher',
    authenticator: nkeyAuthenticator(new TextEncoder().encode(watch.seed)),
  });
  watcher.subscribe('ot.v1.warning.>', {
    callback: (_err, msg) => {
      natsMessages.push({ subject: msg.subject, body: msg.json<WarningEventBody>() });
    },
  });
  await watcher.flush();

  const port = await freePort();
  apiBase = `http://127.0.0.1:${port}`;
  collector = spawn(
    process.execPath,
    [
      'bin/otcollector.js',
      'serve',
      '--nats',
      nats.url,
      '--nkey',
      join(dir, 'collector.seed'),
      '--name',
      'collector',
      '--store',
      storeUrl,
      '--port',
      String(port),
      '--evaluate-interval',
      '1',
      '--warning-rules',
      rulesDir,
      '--webhook',
      `http://127.0.0.1:${hookPort}/otwatch`,
      '--webhook-secret',
      SECRET,
    ],
    { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  collector.stderr?.setEncoding('utf8');
  collector.stderr?.on('data', (c: string) => {
    collectorLog += c;
  });
  await waitFor('collector start', async () => {
    if (collector.exitCode !== null) throw new Error(`otcollector exited: ${collectorLog}`);
    return collectorLog.includes('API listening') ? true : null;
  });
}, 120_000);

afterAll(async () => {
  collector?.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 500));
  if (collector && collector.exitCode === null) collector.kill('SIGKILL');
  await watcher?.close().catch(() => undefined);
  await new Promise<void>((resolve) => (hookServer ? hookServer.close(() => resolve()) : resolve()));
  await nats?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

const isIndustrySpread = (w: WarningBody) => w.ruleId === 'ot.warn.technique_spread_industry';

describe('risk warnings over data ingested through the real pipeline', () => {
  it('does not warn across enterprises for two, warns the whole industry for three', async () => {
    await replay(ENTS[0] as Ent);
    await replay(ENTS[1] as Ent);
    await waitAlerts('chem1');
    await waitAlerts('chem2');
    await settle();
    const before = await allWarnings();
    expect(before.filter(isIndustrySpread)).toEqual([]);
    expect(before.filter((w) => w.ruleId === 'ot.warn.rule_spread_industry')).toEqual([]);

    await replay(ENTS[2] as Ent);
    await waitAlerts('chem3');
    const spread = await waitFor('the industry spread warning', async () => {
      const found = (await allWarnings()).filter(isIndustrySpread);
      return found.length > 0 ? found : null;
    });
    // block delete carries T0809 and T0889: one warning per technique, orange, the industry as audience.
    const t0809 = spread.find((w) => w.facts[0]?.data['value'] === 'attack.t0809');
    expect(t0809).toBeDefined();
    if (t0809 === undefined) return;
    expect(t0809).toMatchObject({ level: 'orange', levelZh: '橙色', state: 'issued', drill: false });
    expect(t0809.audience).toEqual({ province: PROVINCE, industries: ['化工'] });
    expect(t0809.targets.map((t) => t.enterpriseId)).toEqual(['chem1', 'chem2', 'chem3', 'chem4']);
    expect(t0809.facts[0]?.data['enterprises']).toEqual(['chem1', 'chem2', 'chem3']);
    expect(t0809.facts.filter((f) => f.kind === 'alert').map((f) => f.enterpriseId)).toEqual(
      expect.arrayContaining(['chem1', 'chem2', 'chem3']),
    );
    // Evaluated every second, still issued once (dedupe key: rule + group + window).
    await settle();
    expect((await allWarnings()).filter((w) => w.id === t0809.id).length).toBe(1);
    expect((await allWarnings()).filter(isIndustrySpread).length).toBe(spread.length);
    // The other industry's enterprise does not see it.
    expect((await api('power1', `/warnings/${t0809.id}`)).status).toBe(404);
    expect((await api<{ id: string }>('chem4', `/warnings/${t0809.id}`)).body.id).toBe(t0809.id);
  }, 240_000);

  it('warns a grade-3 enterprise of its high alert (red), and only it', async () => {
    await replay(ENTS[4] as Ent);
    await waitAlerts('power1');
    const w = await waitFor('the grade-3 warning', async () =>
      (await allWarnings()).find((x) => x.ruleId === 'ot.warn.grade3_high_alert'),
    );
    expect(w).toMatchObject({ level: 'red', levelZh: '红色' });
    expect(w.targets.map((t) => t.enterpriseId)).toEqual(['power1']);
    expect(w.facts.every((f) => f.kind === 'alert' && f.enterpriseId === 'power1')).toBe(true);
    expect(w.facts.map((f) => f.data['level'])).toEqual(expect.arrayContaining(['critical']));
    // Grade-2 enterprises with the same alerts got none.
    expect((await allWarnings()).filter((x) => x.ruleId === 'ot.warn.grade3_high_alert').length).toBe(1);
    const seenByPower = (await api<{ items: WarningBody[] }>('power1', '/warnings')).body.items;
    expect(seenByPower.map((x) => x.ruleId)).toContain('ot.warn.grade3_high_alert');
    expect(seenByPower.some(isIndustrySpread)).toBe(false);
  }, 120_000);

  it('warns when a sensor stays silent', async () => {
    const w = await waitFor('the silence warning', async () =>
      (await allWarnings()).find(
        (x) => x.ruleId === 'test.sensor_silent_3s' && x.facts[0]?.data['sensorId'] === 's-chem4',
      ),
    );
    expect(w.targets.map((t) => t.enterpriseId)).toEqual(['chem4']);
    expect(w.facts[0]?.textZh).toContain('从未上报');
  }, 60_000);

  it('explains every score: contributions sum to it and name their facts; the maintenance window counts', async () => {
    const chem1 = await api<{
      score: {
        score: number;
        contributions: {
          factor: string;
          points: number;
          weight: number;
          detail: string;
          evidence: { kind: string; id: string }[];
        }[];
      };
    }>('chem1', '/risk/chem1');
    expect(chem1.status).toBe(200);
    const s = chem1.body.score;
    const sum = s.contributions.reduce((n, c) => n + c.points, 0);
    expect(Math.abs(sum - s.score)).toBeLessThan(0.005);
    expect(s.score).toBeGreaterThan(0);
    const alerts = s.contributions.find((c) => c.factor === 'alerts');
    expect(alerts?.points).toBeGreaterThan(0);
    // The evidence names real alerts of this enterprise.
    const uid = alerts?.evidence[0]?.id ?? '';
    const alert = await api<{ enterpriseId: string; ruleId: string }>('chem1', `/alerts/${uid}`);
    expect(alert.status).toBe(200);
    expect(alert.body.enterpriseId).toBe('chem1');
    const eng1 = s.contributions.find((c) => c.factor === 'engineering_outside_window');
    expect(eng1?.points).toBeGreaterThan(0);
    expect(eng1?.evidence.length).toBeGreaterThan(0);
    const chem2 = await api<{ score: { contributions: { factor: string; points: number; detail: string }[] } }>(
      'chem2',
      '/risk/chem2',
    );
    const eng2 = chem2.body.score.contributions.find((c) => c.factor === 'engineering_outside_window');
    expect(eng2?.points).toBe(0);
    expect(eng2?.detail).toMatch(/^0 engineering actions outside .*daily 00:00-24:00.*, [1-9]\d* inside/);
    // Scope: an enterprise cannot read another's score; the rollup is for province roles.
    expect((await api('chem1', '/risk/chem2')).status).toBe(404);
    expect((await api('chem1', '/risk/rollup?by=industry')).status).toBe(403);
    const rollup = await api<{ rows: { key: string; enterprises: number }[] }>('admin', '/risk/rollup?by=industry');
    expect(rollup.body.rows.map((r) => r.key).sort()).toEqual(['化工', '电力']);
    const list = await api<{ items: { enterpriseId: string }[] }>('chem1', '/risk');
    expect(list.body.items.map((x) => x.enterpriseId)).toEqual(['chem1']);
  }, 60_000);

  it('runs the lifecycle: each target acknowledges, then the province admin closes; all published', async () => {
    const w = (await allWarnings()).find((x) => isIndustrySpread(x) && x.facts[0]?.data['value'] === 'attack.t0809');
    if (w === undefined) throw new Error('no spread warning');
    expect((await api('power1', `/warnings/${w.id}/ack`, { method: 'POST', body: {} })).status).toBe(404);
    expect((await api('chem1', `/warnings/${w.id}/close`, { method: 'POST', body: { note: 'x' } })).status).toBe(403);
    for (const [i, e] of ['chem1', 'chem2', 'chem3', 'chem4'].entries()) {
      const r = await api<WarningBody>(e, `/warnings/${w.id}/ack`, { method: 'POST', body: { note: '已收到' } });
      expect(r.status).toBe(200);
      expect(r.body.state).toBe(i < 3 ? 'issued' : 'acknowledged');
      expect(r.body.targets.find((t) => t.enterpriseId === e)?.ackBy).toMatch(new RegExp(`^ent-${e}#`));
      // A warning to four enterprises: each sees its own part, and nothing that names another.
      expect(r.body.targets.map((t) => t.enterpriseId)).toEqual([e]);
      const read = await api<WarningBody>(e, `/warnings/${w.id}`);
      for (const other of ['chem1', 'chem2', 'chem3', 'chem4'].filter((x) => x !== e)) {
        expect(JSON.stringify(r.body), `${e} sees ${other}`).not.toContain(other);
        expect(JSON.stringify(read.body), `${e} sees ${other}`).not.toContain(other);
      }
    }
    const closed = await api<WarningBody>('admin', `/warnings/${w.id}/close`, {
      method: 'POST',
      body: { note: '已处置' },
    });
    expect(closed.status).toBe(200);
    expect(closed.body.state).toBe('closed');
    expect(closed.body.targets.map((t) => t.enterpriseId).sort()).toEqual(['chem1', 'chem2', 'chem3', 'chem4']);
    expect(closed.body.closedBy).toMatch(/^zj-admin#/);
    expect((await api('admin', `/warnings/${w.id}/close`, { method: 'POST', body: { note: 'again' } })).status).toBe(
      409,
    );

    // NATS: the subscriber with collector credentials got the issue, each acknowledgement and the close.
    const onNats = await waitFor('NATS lifecycle messages', async () => {
      const mine = natsMessages.filter((m) => m.body.warning.id === w.id);
      return mine.some((m) => m.body.type === 'warning.closed') ? mine : null;
    });
    expect(onNats.every((m) => m.subject === `ot.v1.warning.${PROVINCE}.orange`)).toBe(true);
    expect(onNats.map((m) => m.body.type)).toEqual([
      'warning.issued',
      'warning.acknowledged',
      'warning.acknowledged',
      'warning.acknowledged',
      'warning.acknowledged',
      'warning.closed',
    ]);

    // Webhook: the same events, POSTed with a valid HMAC-SHA256 signature over "<timestamp>.<body>".
    const delivered = await waitFor('webhook deliveries', async () => {
      const mine = hooks.filter((h) => (JSON.parse(h.body) as WarningEventBody).warning.id === w.id);
      return mine.some((h) => h.headers['x-otwatch-event'] === 'warning.closed') ? mine : null;
    });
    for (const h of delivered) {
      const ts = String(h.headers['x-otwatch-timestamp']);
      const expected = `sha256=${createHmac('sha256', SECRET).update(`${ts}.${h.body}`).digest('hex')}`;
      expect(h.headers['x-otwatch-signature']).toBe(expected);
      expect(h.headers['x-otwatch-signature']).not.toBe(
        `sha256=${createHmac('sha256', 'wrong').update(`${ts}.${h.body}`).digest('hex')}`,
      );
    }
    expect(delivered.length).toBe(6);
  }, 60_000);

  it('resolves alerts through the API: the enterprise its own, never another’s', async () => {
    const list = await api<{ items: { uid: string; resolution: unknown }[] }>('chem1', '/alerts?limit=1');
    const uid = list.body.items[0]?.uid ?? '';
    expect(list.body.items[0]?.resolution).toBeNull();
    expect((await api('chem2', `/alerts/${uid}/resolve`, { method: 'POST', body: { note: 'x' } })).status).toBe(404);
    expect((await api('admin', `/alerts/${uid}`)).status).toBe(200);
    const r = await api<{ resolution: { resolvedBy: string; note: string } }>('chem1', `/alerts/${uid}/resolve`, {
      method: 'POST',
      body: { note: '已确认为计划内维护' },
    });
    expect(r.status).toBe(200);
    expect(r.body.resolution).toMatchObject({ note: '已确认为计划内维护' });
    expect(r.body.resolution.resolvedBy).toMatch(/^ent-chem1#/);
    const again = await api<{ resolution: { note: string } }>('admin', `/alerts/${uid}`);
    expect(again.body.resolution.note).toBe('已确认为计划内维护');
  }, 30_000);
});
