/**
 * A real provincial centre for the dashboard's tests: nats-server with JetStream, the collector's ingest consumer
 * writing into a SQLite store, the API (buildApi) and the dashboard (registerWeb) behind one HTTP port, and real
 * sensors (`otsensor read --publish`) replaying public captures from ../shared/pcaps for four enterprises in two
 * provinces. Every alert, asset, health and stats row the pages show was produced by the sensor from packets.
 *
 * buildApi() finishes with `app.ready()`, after which no plugin can be added, so the dashboard runs in its own
 * Fastify instance here and one Node HTTP server hands each request to the instance that owns its path (the same
 * split a reverse proxy would make). Once buildApi lets a caller register plugins before ready, this shrinks to one
 * app.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import Fastify, { type FastifyInstance } from 'fastify';
import { TIME_SUBJECT } from '../../../protocols/wire/messages.ts';
import { runOtsensor } from '../../../tests/support/cli.ts';
import { createStreams } from '../../../tests/support/jetstream.ts';
import { type NatsServerHandle, startNatsServer } from '../../../tests/support/nats-server.ts';
import { SHARED_PCAPS } from '../../../tests/support/paths.ts';
import { buildApi } from '../../api/app.ts';
import { IngestConsumer } from '../../ingest/consumer.ts';
import { StoreIngestHandler } from '../../ingest/handler.ts';
import { loadRiskConfig } from '../../risk/config.ts';
import { RiskEngine } from '../../risk/engine.ts';
import { openStore } from '../../store/open.ts';
import type { CollectorStore, EnterpriseClass, Role, WarningRecord } from '../../store/types.ts';
import { type RegisterWebOptions, registerWeb } from '../plugin.ts';

export interface CentreEnterprise {
  id: string;
  name: string;
  province: string;
  city: string;
  industry: string;
  class: EnterpriseClass;
  grade: 1 | 2 | 3;
  sensor: string;
  captures: string[];
}

/** A (province gd): three enterprises; B (province js): one, which no gd token may ever see. */
export const ENTERPRISES: CentreEnterprise[] = [
  {
    id: 'gz-chem-01',
    name: '广州某化工有限公司',
    province: 'gd',
    city: '广州',
    industry: '化工',
    class: 'networked_industrial',
    grade: 3,
    sensor: 'gz-chem-01-s1',
    captures: ['icsnpp-s7comm__snap7.pcap', 'qut__ChangeLowerThreshold.master.pcap'],
  },
  {
    id: 'sz-power-02',
    name: '深圳某热电有限公司',
    province: 'gd',
    city: '深圳',
    industry: '电力',
    class: 'networked_industrial',
    grade: 2,
    sensor: 'sz-power-02-s1',
    captures: ['icsnpp-modbus__modbus_example.pcap'],
  },
  {
    id: 'fs-mfg-03',
    name: '佛山某智能制造有限公司',
    province: 'gd',
    city: '佛山',
    industry: '装备制造',
    class: 'platform',
    grade: 1,
    sensor: 'fs-mfg-03-s1',
    captures: ['icsnpp-opcua__open62541_client-server_mainloop.pcap'],
  },
  {
    id: 'nj-water-04',
    name: '南京某水务集团',
    province: 'js',
    city: '南京',
    industry: '水务',
    class: 'networked_industrial',
    grade: 2,
    sensor: 'nj-water-04-s1',
    captures: ['ct__Plant1_S7comm.pcap'],
  },
];

/** A registered sensor that never reports (the overview must list it as silent). */
export const SILENT_SENSOR = { id: 'fs-mfg-03-s2', enterpriseId: 'fs-mfg-03', name: '二号镜像口' };

export type TokenName = 'admin' | 'analyst' | 'enterprise' | 'assessor' | 'otherProvince';

const TOKENS: Record<TokenName, { role: Role; label: string; province: string | null; enterprises: string[] }> = {
  admin: { role: 'province-admin', label: '广东省 管理员', province: 'gd', enterprises: [] },
  analyst: { role: 'province-analyst', label: '广东省 分析员', province: 'gd', enterprises: [] },
  enterprise: { role: 'enterprise', label: '广州某化工 值班', province: null, enterprises: ['gz-chem-01'] },
  assessor: { role: 'assessor', label: '评估员 张', province: null, enterprises: ['sz-power-02', 'fs-mfg-03'] },
  otherProvince: { role: 'province-admin', label: '江苏省 管理员', province: 'js', enterprises: [] },
};

export interface Centre {
  url: string;
  store: CollectorStore;
  api: FastifyInstance;
  web: FastifyInstance;
  tokens: Record<TokenName, string>;
  /** Warnings seeded after the first ingest: `gz` (red, to gz-chem-01), `gd` (orange, whole gd), `js` (to nj). */
  warnings: Record<'gz' | 'gd' | 'js', WarningRecord>;
  /** Replays captures through a real sensor of `enterprise` (publish → JetStream → ingest → store). */
  publish(enterprise: CentreEnterprise, captures: string[], sensorId?: string): Promise<void>;
  /** Resolves when the ingest consumer has written everything published so far. */
  settle(): Promise<void>;
  close(): Promise<void>;
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export async function startCentre(web: Omit<RegisterWebOptions, 'store'> = {}): Promise<Centre> {
  const dir = mkdtempSync(join(tmpdir(), 'otwatch-web-'));
  let nats: NatsServerHandle | null = null;
  let nc: NatsConnection | null = null;
  let consumer: IngestConsumer | null = null;
  let server: Server | null = null;
  const store = await openStore(`sqlite:${join(dir, 'store.db')}`);
  await store.migrate();
  try {
    for (const e of ENTERPRISES) {
      await store.upsertEnterprise({
        id: e.id,
        name: e.name,
        province: e.province,
        city: e.city,
        industry: e.industry,
        class: e.class,
        grade: e.grade,
        contacts: [],
        maintenanceWindows: [],
      });
      await store.upsertSensor({ id: e.sensor, enterpriseId: e.id, name: '镜像口 1' });
    }
    await store.upsertSensor(SILENT_SENSOR);
    const tokens = {} as Record<TokenName, string>;
    for (const [name, t] of Object.entries(TOKENS) as [TokenName, (typeof TOKENS)[TokenName]][]) {
      tokens[name] = (await store.createToken(t)).secret;
    }

    nats = await startNatsServer({ storeDir: join(dir, 'nats') });
    await createStreams(nats.url);
    nc = await connect({ servers: nats.url });
    // The collector's clock service, as `otcollector serve` runs it: the sensors' health reports carry the offset.
    nc.subscribe(TIME_SUBJECT, {
      callback: (_err, msg) => {
        msg.respond(JSON.stringify({ now: Date.now() }));
      },
    });
    consumer = new IngestConsumer(jetstream(nc), new StoreIngestHandler(store, () => undefined), {
      batch: 200,
      log: () => undefined,
    });
    await consumer.start();
    const natsUrl = nats.url;
    const ingest = consumer;
    let published = 0;

    const publish = async (e: CentreEnterprise, captures: string[], sensorId = e.sensor) => {
      const result = await runOtsensor(
        [
          'read',
          ...captures.map((c) => join(SHARED_PCAPS, c)),
          '--publish',
          natsUrl,
          '--province',
          e.province,
          '--enterprise',
          e.id,
          '--sensor-id',
          sensorId,
          '--outbox',
          join(dir, `outbox-${sensorId}`),
        ],
        120_000,
      );
      if (result.code !== 0) throw new Error(`otsensor publish for ${e.id} failed: ${result.stderr}`);
      const m = /in (\d+) acknowledged messages/.exec(result.stderr);
      if (!m)
        throw new Error(`otsensor publish for ${e.id} did not report its acknowledged messages: ${result.stderr}`);
      published += Number(m[1]);
    };
    const settle = async () => {
      // Every message the sensors had acknowledged by JetStream has been received and written.
      await waitFor(
        async () =>
          ingest.stats.accepted + Object.values(ingest.stats.rejected).reduce((a, b) => a + b, 0) >= published,
        60_000,
        'ingest to catch up',
      );
    };

    for (const e of ENTERPRISES) await publish(e, e.captures);
    await settle();

    // Risk scores from what the sensors delivered (the collector's periodic job, run once here).
    const risk = new RiskEngine(store, loadRiskConfig());
    await risk.recompute({ kind: 'all' });
    const warnings = await seedWarnings(store);

    const api = await buildApi({
      store,
      rateLimit: { max: 100_000, timeWindowMs: 60_000 },
      stateDir: join(dir, 'state'),
      risk,
    });
    const webApp = Fastify();
    await registerWeb(webApp, { store, ...web });
    await webApp.ready();
    const owns = (url: string) => {
      const path = url.split('?')[0] ?? '';
      return path === '/' || path === '/index.html' || path.startsWith('/assets/') || path.startsWith('/api/v1/live');
    };
    const httpServer = createServer((req, res) => {
      if (owns(req.url ?? '')) webApp.routing(req, res);
      else api.routing(req, res);
    });
    server = httpServer;
    await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
    const port = (httpServer.address() as AddressInfo).port;
    const natsHandle = nats;
    const conn = nc;
    return {
      url: `http://127.0.0.1:${port}`,
      store,
      api,
      web: webApp,
      tokens,
      warnings,
      publish,
      settle,
      async close() {
        await webApp.close();
        httpServer.closeAllConnections();
        await new Promise<void>((resolve) => httpServer.close(() => resolve()));
        await api.close();
        await ingest.stop();
        await conn.close();
        await natsHandle.dispose();
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    server?.close();
    await consumer?.stop().catch(() => undefined);
    await nc?.close().catch(() => undefined);
    await nats?.dispose().catch(() => undefined);
    await store.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Issues three warnings through the store, as the evaluator would, each resting on real alerts the sensors produced:
 * a red one to gz-chem-01 (its high/critical alerts), an orange one to every gd enterprise, one to nj-water-04 (js).
 */
async function seedWarnings(store: CollectorStore): Promise<Record<'gz' | 'gd' | 'js', WarningRecord>> {
  const alertFacts = async (enterpriseId: string) => {
    const page = await store.listAlerts({ kind: 'all' }, { enterpriseId, minLevel: 'high' }, { limit: 3 });
    return page.items.map((a) => ({
      kind: 'alert',
      enterpriseId,
      text: `${a.ruleTitle} (${a.level}) from ${a.clientIp} to ${a.serverIp}`,
      textZh: `${a.ruleTitle}（${a.level}）：${a.clientIp} → ${a.serverIp}`,
      evidence: [{ kind: 'alert' as const, id: a.uid, label: a.ruleTitle }],
      data: { count: a.count },
    }));
  };
  const base = { description: '', issuedBy: 'evaluator@test-centre', drill: false };
  const now = Date.now();
  const gz = await store.issueWarning({
    ...base,
    dedupeKey: 'plc-control-burst:gz-chem-01:w1',
    ruleId: 'plc-control-burst',
    title: { zh: 'PLC 控制命令异常集中', en: 'Burst of PLC control commands' },
    level: 'red',
    province: 'gd',
    audience: { province: 'gd', enterprises: ['gz-chem-01'] },
    targets: ['gz-chem-01'],
    facts: await alertFacts('gz-chem-01'),
    issuedAt: new Date(now - 3_600_000).toISOString(),
  });
  const gd = await store.issueWarning({
    ...base,
    dedupeKey: 'province-high-alerts:gd:w1',
    ruleId: 'province-high-alerts',
    title: { zh: '全省高危告警增多', en: 'More high-level alerts across the province' },
    level: 'orange',
    province: 'gd',
    audience: { province: 'gd' },
    targets: ['gz-chem-01', 'sz-power-02', 'fs-mfg-03'],
    facts: [...(await alertFacts('gz-chem-01')), ...(await alertFacts('sz-power-02'))],
    issuedAt: new Date(now - 1_800_000).toISOString(),
  });
  const js = await store.issueWarning({
    ...base,
    dedupeKey: 'plc-control-burst:nj-water-04:w1',
    ruleId: 'plc-control-burst',
    title: { zh: '南京水务 PLC 写入异常', en: 'Unusual PLC writes at the Nanjing water works' },
    level: 'yellow',
    province: 'js',
    audience: { province: 'js', enterprises: ['nj-water-04'] },
    targets: ['nj-water-04'],
    facts: await alertFacts('nj-water-04'),
    issuedAt: new Date(now - 600_000).toISOString(),
  });
  return { gz: gz.warning, gd: gd.warning, js: js.warning };
}
