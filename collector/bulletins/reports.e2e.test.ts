/**
 * Issue 9, bulletins, evidence packs and metrics end to end with real components: a real nats-server, the collector
 * service (ingest + API) with metrics to a real VictoriaMetrics, and real `otsensor read --publish` runs replaying
 * captures for four enterprises of one province (plus a drill replay). Then:
 * - a weekly bulletin's every figure equals its named query re-run, and the headline numbers equal independent
 *   store reads (drills excluded; a drill bulletin counts only them);
 * - HTML, Markdown and PDF are produced (PDF: magic bytes, at least one page);
 * - an evidence pack verifies, and fails after one byte of any file or of the manifest changed (library and CLI);
 *   the API serves it to the assessor (audited) and not outside the scope;
 * - metrics in VictoriaMetrics equal the store's figures.
 * Artefacts for the closing note: test-artifacts/bulletin/ (zh-CN weekly: HTML, Markdown, JSON, PDF) and
 * test-artifacts/pack/ (the evidence pack directory and its bundle).
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runOtsensor } from '../../tests/support/cli.ts';
import { createStreams } from '../../tests/support/jetstream.ts';
import { type NatsServerHandle, startNatsServer } from '../../tests/support/nats-server.ts';
import { REPO_ROOT } from '../../tests/support/paths.ts';
import { startVictoriaMetrics, type VictoriaHandle } from '../metrics/testing/victoria.ts';
import { buildPack } from '../packs/build.ts';
import { loadOrCreateSigningKey } from '../packs/keys.ts';
import { MANIFEST_FILE, toBundle, verifyPack, writePackDir } from '../packs/sign.ts';
import { loadRiskConfig } from '../risk/config.ts';
import { RiskEngine } from '../risk/engine.ts';
import { type RunningCollector, startCollector } from '../service.ts';
import { openStore } from '../store/open.ts';
import type { CollectorStore, Enterprise, StoredAlert } from '../store/types.ts';
import { WarningEvaluator } from '../warnings/evaluator.ts';
import { loadWarningRules } from '../warnings/loader.ts';
import { type BulletinData, buildBulletin, figure } from './build.ts';
import { writeBulletinFiles } from './files.ts';
import { renderHtml } from './html.ts';
import { renderMarkdown } from './markdown.ts';
import { htmlToPdf, pdfSupport } from './pdf.ts';
import { type Period, periodContaining } from './period.ts';
import { runQuery } from './queries.ts';

const PCAPS = join(REPO_ROOT, '../shared/pcaps');
const PLANT = join(REPO_ROOT, 'samples/plant-sample.pcap');
const SNAP7 = join(PCAPS, 'icsnpp-s7comm__snap7.pcap');
const ARTIFACTS = join(REPO_ROOT, 'test-artifacts');
const PROVINCE = 'zj';

type Reg = Omit<Enterprise, 'createdAt' | 'updatedAt'>;
const reg = (id: string, name: string, city: string, industry: string, grade: 1 | 2 | 3, cls: Reg['class']): Reg => ({
  id,
  name,
  province: PROVINCE,
  city,
  industry,
  class: cls,
  grade,
  contacts: [{ name: '安全负责人', phone: '0571-00000000' }],
  maintenanceWindows: ['Sat 02:00-06:00'],
});
const ENTERPRISES: Reg[] = [
  reg('zj-chem-a', '杭州某化工有限公司', '杭州', '化工', 1, 'networked_industrial'),
  reg('zj-chem-b', '杭州某精细化工有限公司', '杭州', '化工', 2, 'networked_industrial'),
  reg('zj-power-c', '宁波某能源科技有限公司', '宁波', '电力', 3, 'platform'),
  reg('zj-port-d', '宁波某港口设备有限公司', '宁波', '港口', 2, 'networked_industrial'),
];
/** sensor → [enterprise, capture, drill] */
const RUNS: [string, string, string, boolean][] = [
  ['zj-chem-a-s1', 'zj-chem-a', PLANT, false],
  ['zj-chem-b-s1', 'zj-chem-b', PLANT, false],
  ['zj-power-c-s1', 'zj-power-c', PLANT, false],
  ['zj-port-d-s1', 'zj-port-d', SNAP7, false],
  ['zj-chem-b-drill', 'zj-chem-b', PLANT, true],
];

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'otwatch-reports-'));
  dirs.push(d);
  return d;
}

let nats: NatsServerHandle;
let vm: VictoriaHandle;
let collector: RunningCollector;
let store: CollectorStore;
let stateDir: string;
let week: Period;
let published = 0;
let publishedDrill = 0;

async function allAlerts(filter: { includeDrill?: boolean; drillOnly?: boolean; from?: string; to?: string }) {
  const out: StoredAlert[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await store.listAlerts({ kind: 'all' }, filter, { limit: 1000, ...(cursor ? { cursor } : {}) });
    out.push(...page.items);
    if (page.nextCursor === null) return out;
    cursor = page.nextCursor;
  }
}

beforeAll(async () => {
  nats = await startNatsServer();
  await createStreams(nats.url);
  vm = await startVictoriaMetrics();
  const dir = tempDir();
  stateDir = join(dir, 'state');
  const storeUrl = `sqlite:${join(dir, 'collector.db')}`;
  const setup = await openStore(storeUrl);
  await setup.migrate();
  for (const e of ENTERPRISES) await setup.upsertEnterprise(e);
  for (const [sensor, enterprise] of RUNS) await setup.upsertSensor({ id: sensor, enterpriseId: enterprise });
  // Registered but never reporting: the bulletin lists it as silent.
  await setup.upsertSensor({ id: 'zj-port-d-s2', enterpriseId: 'zj-port-d', name: '二号机房镜像口' });
  await setup.close();
  collector = await startCollector({
    natsUrl: nats.url,
    name: 'collector',
    storeUrl,
    http: { host: '127.0.0.1', port: 0 },
    stateDir,
    influx: { url: vm.url, token: 'test-token', org: 'otwatch', bucket: 'ot', flushIntervalMs: 300 },
    log: () => undefined,
  });
  store = collector.store;
  for (const [sensor, enterprise, capture, drill] of RUNS) {
    const run = await runOtsensor([
      'read',
      capture,
      '--publish',
      nats.url,
      '--province',
      PROVINCE,
      '--enterprise',
      enterprise,
      '--sensor-id',
      sensor,
      '--outbox',
      join(tempDir(), 'outbox'),
      ...(drill ? ['--drill'] : []),
    ]);
    expect(run.code, run.stderr).toBe(0);
    const n = Number(/published (\d+) alerts/.exec(run.stderr)?.[1] ?? Number.NaN);
    expect(n).toBeGreaterThan(0);
    if (drill) publishedDrill += n;
    else published += n;
  }
  for (let i = 0; i < 300; i++) {
    if ((await allAlerts({ includeDrill: true })).length >= published + publishedDrill) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  // Let the last health/stats batches land too.
  for (let i = 0; i < 100 && collector.ingestStatus().pending !== 0; i++) await new Promise((r) => setTimeout(r, 100));
  await new Promise((r) => setTimeout(r, 500));
  await new RiskEngine(store, loadRiskConfig()).recompute({ kind: 'all' });
  await new WarningEvaluator(store, loadWarningRules()).evaluate();
  const plantTs = (await allAlerts({})).find((a) => a.enterpriseId === 'zj-chem-a')?.ts;
  if (plantTs === undefined) throw new Error('no alerts stored for zj-chem-a');
  week = periodContaining('weekly', Date.parse(plantTs));
}, 240_000);

afterAll(async () => {
  await collector?.stop();
  await vm?.dispose();
  await nats?.dispose();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('bulletin from data ingested through the real pipeline', () => {
  let zh: BulletinData;

  beforeAll(async () => {
    zh = await buildBulletin(store, { audience: { province: PROVINCE }, period: week });
  }, 60_000);

  it('every figure equals its named query re-run against the store', async () => {
    expect(zh.figures.length).toBeGreaterThanOrEqual(15);
    for (const f of zh.figures) {
      expect(await runQuery(store, f.query), `figure ${f.id} (${f.query.name})`).toEqual(f.value);
    }
  });

  it('headline figures equal independent store reads (drills excluded)', async () => {
    const byLevel = zh.figures.find((f) => f.id === 'alerts.byLevel')?.value as { total: number; critical: number };
    const real = await allAlerts({ from: week.from, to: week.to });
    expect(real.length).toBeGreaterThan(0);
    expect(byLevel.total).toBe(real.length);
    expect(byLevel.critical).toBe(real.filter((a) => a.level === 'critical').length);
    const affected = zh.figures.find((f) => f.id === 'alerts.enterprisesAffected')?.value;
    expect(affected).toBe(new Set(real.map((a) => a.enterpriseId)).size);
    expect(affected).toBe(3);
    // Three plant captures, one PLC/HMI set each: new assets in the week, none the week before.
    expect(zh.figures.find((f) => f.id === 'assets.new')?.value).toBeGreaterThan(0);
    expect(zh.figures.find((f) => f.id === 'assets.new.previous')?.value).toBe(0);
    const coverage = zh.figures.find((f) => f.id === 'sensors.coverage')?.value as {
      registered: number;
      silent: { sensorId: string }[];
    };
    expect(coverage.registered).toBe(RUNS.length + 1);
    expect(coverage.silent.map((s) => s.sensorId)).toContain('zj-port-d-s2');
    const vulnerable = zh.figures.find((f) => f.id === 'assets.vulnerableFirmware')?.value as { advisory: string }[];
    expect(vulnerable.length).toBeGreaterThan(0);
    const drills = await allAlerts({ drillOnly: true, from: week.from, to: week.to });
    const drill = await buildBulletin(store, { audience: { province: PROVINCE }, period: week, drill: true });
    expect(drills.length).toBeGreaterThan(0);
    expect(figure(drill, 'alerts.byLevel', 'alerts.byLevel').value.total).toBe(drills.length);
    expect(drill.id.startsWith('drill-weekly-')).toBe(true);
  });

  it('lists every warning with what it is about, in both languages', async () => {
    const rows = figure(zh, 'warnings.issued', 'warnings.issued').value;
    expect(rows.length).toBeGreaterThan(1);
    const md = renderMarkdown(zh);
    for (const w of rows) {
      expect(w.subject.zh, w.ruleId).not.toBe('');
      expect(w.subject.en, w.ruleId).not.toBe('');
      expect(md).toContain(w.subject.zh);
    }
    // Warnings of one rule share its title; the subject tells them apart.
    const lines = rows.map((w) => `${w.title.zh} ${w.subject.zh} ${w.issuedAt}`);
    expect(new Set(lines).size, JSON.stringify(rows, null, 1)).toBe(lines.length);
    const en = renderMarkdown(
      await buildBulletin(store, { audience: { province: PROVINCE }, period: week, lang: 'en' }),
    );
    for (const w of rows) expect(en).toContain(w.subject.en);
  });

  it('a city bulletin covers only that city’s enterprises', async () => {
    const city = await buildBulletin(store, { audience: { province: PROVINCE, city: '宁波' }, period: week });
    const real = (await allAlerts({ from: week.from, to: week.to })).filter((a) =>
      ['zj-power-c', 'zj-port-d'].includes(a.enterpriseId),
    );
    expect(figure(city, 'alerts.byLevel', 'alerts.byLevel').value.total).toBe(real.length);
    for (const f of city.figures) expect(await runQuery(store, f.query)).toEqual(f.value);
  });

  it('renders zh-CN HTML (inline SVG charts, no external resources), Markdown and PDF; English too', async () => {
    const out = join(ARTIFACTS, 'bulletin');
    rmSync(out, { recursive: true, force: true });
    mkdirSync(out, { recursive: true });
    const formats = pdfSupport().chromium
      ? (['json', 'md', 'html', 'pdf'] as const)
      : (['json', 'md', 'html'] as const);
    expect(formats).toContain('pdf');
    const files = await writeBulletinFiles(zh, out, formats);
    const html = readFileSync(join(out, 'bulletin.html'), 'utf8');
    expect(html).toContain('<svg');
    expect(html).toContain('工业控制系统网络安全通报（周报）');
    expect(html).not.toMatch(/<script|src="http|href="http/);
    const md = readFileSync(join(out, 'bulletin.md'), 'utf8');
    expect(md).toContain('## 一、总体情况');
    for (let n = 1; n <= zh.figures.length; n++) expect(md).toContain(`**Q${n}**`);
    const pdf = readFileSync(join(out, 'bulletin.pdf'));
    expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    const pages = pdf.toString('latin1').match(/\/Type\s*\/Page(?![s\w])/g) ?? [];
    expect(pages.length).toBeGreaterThanOrEqual(1);
    const en = await buildBulletin(store, { audience: { province: PROVINCE }, period: week, lang: 'en' });
    expect(renderMarkdown(en)).toContain('ICS cybersecurity bulletin (Weekly)');
    const enPdf = await htmlToPdf(renderHtml(en));
    expect(enPdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    console.info(`bulletin artefacts: ${files.join(', ')} (${pages.length} PDF pages)`);
  }, 120_000);
});

function runOtcollector(args: string[]): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/otcollector.js', ...args], { cwd: REPO_ROOT, encoding: 'utf8' }, (err, stdout) =>
      resolve({ code: err ? Number(err.code) : 0, stdout }),
    );
  });
}

describe('grading evidence pack from the same data', () => {
  it('flags a grade-1 enterprise, verifies, and fails after one changed byte (library and otcollector verify)', async () => {
    const key = loadOrCreateSigningKey(stateDir);
    const { data, pack } = await buildPack(
      store,
      { kind: 'all' },
      { enterpriseId: 'zj-chem-a', from: week.from, to: week.to },
      key,
    );
    expect(data.flags.map((f) => f.rule)).toEqual(
      expect.arrayContaining(['vulnerable_controller_firmware', 'opcua_unsecured_writes', 'engineering_actions']),
    );
    expect(data.inventory.assets.length).toBeGreaterThan(0);
    const out = join(ARTIFACTS, 'pack');
    rmSync(out, { recursive: true, force: true });
    writePackDir(pack, join(out, 'zj-chem-a'));
    writeFileSync(join(out, 'zj-chem-a.otpack.json'), JSON.stringify(toBundle(pack)));
    writeFileSync(join(out, 'collector-ed25519.pub'), key.publicKeyPem);
    expect(verifyPack(join(out, 'zj-chem-a')).ok).toBe(true);
    const ok = await runOtcollector([
      'verify',
      join(out, 'zj-chem-a'),
      '--public-key',
      join(out, 'collector-ed25519.pub'),
    ]);
    expect(ok.code, ok.stdout).toBe(0);
    expect(ok.stdout).toMatch(/^OK: .*the key you gave/);
    for (const name of ['pack.json', 'assets.csv', 'findings.csv', 'index.html', MANIFEST_FILE]) {
      const copy = join(tempDir(), 'pack');
      cpSync(join(out, 'zj-chem-a'), copy, { recursive: true });
      const b = readFileSync(join(copy, name));
      b[Math.floor(b.length / 3)] = (b[Math.floor(b.length / 3)] ?? 0) ^ 0x04;
      writeFileSync(join(copy, name), b);
      expect(verifyPack(copy).ok, name).toBe(false);
      // The CLI too (a child process each: two cases keep the test quick).
      if (name !== 'pack.json' && name !== MANIFEST_FILE) continue;
      const bad = await runOtcollector(['verify', copy]);
      expect(bad.code, name).toBe(1);
      expect(bad.stdout).toMatch(/^FAILED/);
    }
  }, 120_000);

  it('over the API: the assessor gets a verifiable bundle (audited); another enterprise is 404 (audited)', async () => {
    const { secret } = await store.createToken({
      label: 'assessor',
      role: 'assessor',
      province: PROVINCE,
      enterprises: ['zj-chem-a'],
    });
    const headers = { authorization: `Bearer ${secret}` };
    const q = `from=${encodeURIComponent(week.from)}&to=${encodeURIComponent(week.to)}`;
    const res = await fetch(`${collector.url}/api/v1/enterprises/zj-chem-a/evidence-pack?${q}`, { headers });
    expect(res.status).toBe(200);
    const path = join(tempDir(), 'api.otpack.json');
    writeFileSync(path, await res.text());
    const verified = verifyPack(path, { publicKey: loadOrCreateSigningKey(stateDir).publicKey });
    expect(verified.problems).toEqual([]);
    const denied = await fetch(`${collector.url}/api/v1/enterprises/zj-chem-b/evidence-pack?${q}`, { headers });
    expect(denied.status).toBe(404);
    const audit = (await store.listAudit({ limit: 10 })).items.map((a) => [a.action, a.enterpriseId]);
    expect(audit).toContainEqual(['evidence-pack.pull', 'zj-chem-a']);
    expect(audit).toContainEqual(['evidence-pack.denied', 'zj-chem-b']);
  }, 60_000);
});

describe('metrics in VictoriaMetrics', () => {
  it('traffic, sensor health, alert counts and risk scores equal the store', async () => {
    const m = collector.metrics;
    if (!m) throw new Error('metrics not configured');
    const scores = await store.latestRiskScores({ kind: 'all' });
    expect(scores.length).toBe(ENTERPRISES.length);
    m.recordRiskScores(scores);
    await m.flush();
    await vm.settle();
    expect(m.stats.writeFailures).toBe(0);
    expect(m.stats.pointsDropped).toBe(0);
    for (const e of ['zj-chem-a', 'zj-port-d']) {
      const traffic = await store.trafficByProtocol({ kind: 'all' }, { enterpriseId: e });
      expect(traffic.length).toBeGreaterThan(0);
      const got = await vm.query(`sum by (protocol) (sum_over_time(ot_traffic_pdus{enterprise="${e}"}[15y]))`);
      expect(Object.fromEntries(got.map((r) => [r.metric.protocol, r.value]))).toEqual(
        Object.fromEntries(traffic.map((t) => [t.protocol, t.pdus])),
      );
      const alerts = (await allAlerts({})).filter((a) => a.enterpriseId === e).length;
      const counted = await vm.query(`sum(sum_over_time(ot_alerts_count{enterprise="${e}"}[15y]))`);
      expect(counted.map((r) => r.value)).toEqual([alerts]);
    }
    const sensors = await store.listSensors({ kind: 'all' }, { enterpriseId: 'zj-chem-a' });
    const packets = sensors[0]?.lastHealth?.capture.packets;
    const health = await vm.query('last_over_time(ot_sensor_health_packets{sensor="zj-chem-a-s1"}[15y])');
    expect(health.map((r) => r.value)).toEqual([packets]);
    // Drill traffic is never written.
    expect(await vm.query('count_over_time(ot_sensor_health_packets{sensor="zj-chem-b-drill"}[15y])')).toEqual([]);
    for (const s of scores) {
      const got = await vm.query(`last_over_time(ot_risk_score_score{enterprise="${s.enterpriseId}"}[15y])`);
      expect(got.map((r) => r.value)).toEqual([s.score]);
    }
  }, 60_000);
});
