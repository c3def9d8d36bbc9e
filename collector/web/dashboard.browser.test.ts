/**
 * The dashboard in real Chromium (Debian's /usr/bin/chromium driven by playwright-core) against a real centre:
 * nats-server, the ingest consumer, a SQLite store, the API and the dashboard, fed by real sensors replaying public
 * captures (testing/centre.ts). Signs in as each role and checks what is shown and what is refused (no other
 * enterprise's name, id or address anywhere in the DOM), live updates, the explorer's filters and paging, keyboard
 * use, the language switch, text contrast, both screen sizes, and that the page makes no request elsewhere and
 * breaks no CSP rule. Screenshots of the main pages go to test-artifacts/screenshots/.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Level, Scope } from '../store/types.ts';
import { type Centre, ENTERPRISES, SILENT_SENSOR, startCentre, type TokenName } from './testing/centre.ts';

const SHOTS = join(import.meta.dirname, '../../test-artifacts/screenshots');
const SMALL = { width: 1366, height: 768 };
const WALL = { width: 1920, height: 1080 };
const byId = (id: string) => {
  const e = ENTERPRISES.find((x) => x.id === id);
  if (!e) throw new Error(id);
  return e;
};
const GZ = byId('gz-chem-01');
const SZ = byId('sz-power-02');
const FS = byId('fs-mfg-03');
const NJ = byId('nj-water-04');
const GD: Scope = { kind: 'province', province: 'gd' };

let centre: Centre;
let browser: Browser;
const contexts: BrowserContext[] = [];
/** Every URL any page requested, and every CSP violation or script error seen. */
const requested: string[] = [];
const problems: string[] = [];

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  centre = await startCentre({ live: { pollMs: 500 } });
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
}, 240_000);

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => undefined);
  await browser?.close();
  await centre?.close();
});

async function newPage(viewport = SMALL): Promise<Page> {
  const context = await browser.newContext({ viewport, locale: 'zh-CN', timezoneId: 'Europe/Berlin' });
  contexts.push(context);
  const page = await context.newPage();
  page.on('request', (r) => requested.push(r.url()));
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  return page;
}

/** Waits until nothing on the page is loading any more. */
async function settled(page: Page): Promise<void> {
  await page.waitForFunction(() => document.querySelector('#main') !== null && !document.querySelector('.loading'));
  await page.waitForTimeout(150);
  await page.waitForFunction(() => !document.querySelector('.loading'));
}

async function signIn(page: Page, who: TokenName): Promise<void> {
  await page.goto(`${centre.url}/`);
  await page.fill('#token', centre.tokens[who]);
  await page.press('#token', 'Enter');
  await page.waitForSelector('[data-testid=who]');
  await settled(page);
}

async function visit(page: Page, hash: string): Promise<void> {
  await page.evaluate((h) => {
    location.hash = h;
  }, hash);
  await page.waitForFunction((h) => location.hash === h, hash);
  await settled(page);
}

/** Puts the sequential focus starting point at the top of the document (as on a fresh page load). */
async function focusTop(page: Page): Promise<void> {
  await page.evaluate(() => {
    (document.activeElement as HTMLElement | null)?.blur();
    document.body.tabIndex = -1;
    document.body.focus();
    document.body.removeAttribute('tabindex');
  });
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

/** Strings that identify an enterprise anywhere: id, name, sensor ids. */
function marks(e: (typeof ENTERPRISES)[number]): string[] {
  const out = [e.id, e.name, e.sensor];
  if (e.id === SILENT_SENSOR.enterpriseId) out.push(SILENT_SENSOR.id);
  return out;
}

async function expectNoneOf(page: Page, forbidden: string[], where: string): Promise<void> {
  const html = await page.content();
  for (const f of forbidden) expect(html.includes(f), `${where} shows ${f}`).toBe(false);
}

async function uidsOf(enterpriseId: string): Promise<string[]> {
  const page = await centre.store.listAlerts({ kind: 'all' }, { enterpriseId }, { limit: 1000 });
  return page.items.map((a) => a.uid);
}

async function rowTexts(page: Page): Promise<string[]> {
  return page.$$eval('[data-testid=alerts] table.data tbody tr', (rows) => rows.map((r) => r.textContent ?? ''));
}

describe('dashboard in Chromium', () => {
  it('refuses an unknown token at sign-in', async () => {
    const page = await newPage();
    await page.goto(`${centre.url}/`);
    expect(await page.getAttribute('html', 'lang')).toBe('zh-CN');
    await shot(page, 'signin');
    await page.fill('#token', 'not-a-real-token');
    await page.click('button[type=submit]');
    await page.waitForSelector('#signin-error');
    expect(await page.textContent('#signin-error')).toBe('令牌无效或已被吊销。');
    expect(await page.getAttribute('#token', 'aria-invalid')).toBe('true');
    expect(await page.$('[data-testid=who]')).toBeNull();
  });

  it('province admin: overview with the real figures, and nothing of another province', async () => {
    const page = await newPage();
    await signIn(page, 'admin');
    expect(page.url()).toContain('#/overview');
    expect(await page.textContent('h1')).toBe('全省态势总览');
    // The level chart's table says what the store's rollups say for the province.
    const rows = await centre.store.aggregate(GD, { by: 'level' });
    const levelTable = await page.$$eval('[data-testid=chart-by-level] table tbody tr', (trs) =>
      trs.map((tr) => Array.from(tr.querySelectorAll('td'), (td) => td.textContent ?? '')),
    );
    const names: Record<Level, string> = {
      critical: '严重',
      high: '高危',
      medium: '中危',
      low: '低危',
      informational: '提示',
    };
    for (const r of rows) {
      expect(levelTable).toContainEqual([names[r.key as Level], String(r.count)]);
    }
    expect(rows.reduce((a, r) => a + r.count, 0)).toBeGreaterThan(30);
    const cities = await page.textContent('[data-testid=chart-by-city] table');
    for (const e of [GZ, SZ, FS]) expect(cities).toContain(e.city);
    const top = await page.textContent('[data-testid=top-enterprises]');
    for (const e of [GZ, SZ, FS]) expect(top).toContain(e.name);
    // Coverage: three enterprises with sensors, the never-reporting sensor listed as silent.
    const coverage = await page.textContent('[data-testid=coverage]');
    expect(coverage).toContain('3 / 3');
    expect(coverage).toContain('3 / 4');
    expect(coverage).toContain(SILENT_SENSOR.id);
    expect(coverage).toContain('从未上报');
    const recent = await page.$$eval('[data-testid=recent-high] tbody tr .badge', (b) => b.map((x) => x.textContent));
    expect(recent.length).toBeGreaterThan(0);
    for (const level of recent) expect(['高危', '严重']).toContain(level);
    await expectNoneOf(page, marks(NJ), 'overview');
    await shot(page, 'overview-1366');
    for (const hash of ['#/enterprises', '#/alerts', '#/sensors', `#/e/${SZ.id}/assets`, `#/e/${SZ.id}/map`]) {
      await visit(page, hash);
      await expectNoneOf(page, marks(NJ), hash);
    }
    await visit(page, `#/e/${NJ.id}`);
    expect(await page.textContent('[data-testid=error]')).toBe('未找到该内容，或它不在您的权限范围内。');
  });

  it('province analyst: the same province view', async () => {
    const page = await newPage();
    await signIn(page, 'analyst');
    expect(page.url()).toContain('#/overview');
    expect(await page.textContent('[data-testid=who]')).toContain('省级分析员');
    const top = await page.textContent('[data-testid=top-enterprises]');
    for (const e of [GZ, SZ, FS]) expect(top).toContain(e.name);
    await expectNoneOf(page, marks(NJ), 'analyst overview');
  });

  it('another province: only its own enterprise', async () => {
    const page = await newPage();
    await signIn(page, 'otherProvince');
    const top = await page.textContent('[data-testid=top-enterprises]');
    expect(top).toContain(NJ.name);
    for (const hash of ['#/overview', '#/enterprises', '#/alerts', '#/sensors']) {
      await visit(page, hash);
      for (const e of [GZ, SZ, FS]) await expectNoneOf(page, marks(e), `js ${hash}`);
    }
    await visit(page, `#/e/${GZ.id}`);
    expect(await page.textContent('[data-testid=error]')).toContain('不在您的权限范围内');
  });

  it('enterprise: its own enterprise only, everything else refused', async () => {
    const page = await newPage();
    await signIn(page, 'enterprise');
    expect(page.url()).toContain(`#/e/${GZ.id}`);
    expect(await page.textContent('h1')).toBe(GZ.name);
    const nav = await page.$$eval('nav.primary-nav a', (as) => as.map((a) => a.textContent));
    expect(nav).toEqual(['本企业', '告警', '预警', '探针状态']);
    const own = await uidsOf(GZ.id);
    const shown = await page.$$eval('a[data-uid]', (as) => as.map((a) => a.getAttribute('data-uid')));
    expect(shown.length).toBe(Math.min(50, own.length));
    for (const uid of shown) expect(own).toContain(uid);
    await shot(page, 'enterprise-alerts');

    const others = [SZ, FS, NJ].flatMap(marks);
    for (const hash of [`#/e/${GZ.id}/assets`, `#/e/${GZ.id}/map`, `#/e/${GZ.id}/sensors`, '#/alerts', '#/sensors']) {
      await visit(page, hash);
      await expectNoneOf(page, others, `enterprise ${hash}`);
    }
    // Assets with identity and per-field evidence (the snap7 PLC's SZL identity).
    await visit(page, `#/e/${GZ.id}/assets`);
    const assets = await page.$$eval('[data-testid=asset-list] > li', (lis) => lis.length);
    const stored = await centre.store.listAssets({ kind: 'all' }, GZ.id);
    expect(assets).toBe(stored.length);
    const plc = stored.find((a) => a.ip === '134.217.61.211');
    expect(plc?.role).toBe('plc');
    await page.click('summary:has-text("134.217.61.211")');
    const detail = await page.textContent('[data-testid=asset-list] details[open]');
    for (const [field, v] of Object.entries(plc?.record.identity ?? {})) {
      expect(detail).toContain(field);
      expect(detail).toContain((v as { value: string }).value);
      expect(detail).toContain((v as { evidence: { message: string } }).evidence.message);
    }
    await shot(page, 'enterprise-assets');

    // Communication map: one link per talking pair and protocol, from the assets' peers.
    await visit(page, `#/e/${GZ.id}/map`);
    await page.waitForSelector('[data-testid=comm-map] canvas');
    const links = await page.$$eval('[data-testid=comm-map] table tbody tr', (trs) =>
      trs.map((tr) => Array.from(tr.querySelectorAll('td'), (td) => td.textContent)),
    );
    expect(links).toContainEqual([
      '134.217.61.131',
      '134.217.61.211',
      's7comm',
      '33',
      expect.stringContaining('plc_stop'),
    ]);
    expect(links).toContainEqual(['10.10.10.10', '10.10.10.20', 's7comm', '16', 'read']);
    await shot(page, 'enterprise-map');

    await visit(page, `#/e/${GZ.id}/sensors`);
    const sensors = await page.textContent('[data-testid=enterprise-sensors]');
    expect(sensors).toContain(GZ.sensor);
    expect(sensors).toContain('正常');
    await shot(page, 'enterprise-sensors');

    // Refused: the province overview, another enterprise, another enterprise's alert.
    await visit(page, '#/overview');
    expect(await page.textContent('[data-testid=error]')).toBe('此页面仅供省级用户使用。');
    await shot(page, 'refused-role');
    await visit(page, `#/e/${SZ.id}`);
    expect(await page.textContent('[data-testid=error]')).toBe('未找到该内容，或它不在您的权限范围内。');
    await expectNoneOf(page, others, 'refused enterprise page');
    const foreignAlert = (await uidsOf(SZ.id))[0] ?? '';
    await visit(page, `#/alert/${foreignAlert}`);
    expect(await page.textContent('[data-testid=error]')).toBe('未找到该内容，或它不在您的权限范围内。');
    await expectNoneOf(page, others, 'refused alert page');
  });

  it('assessor: assigned enterprises as home, others refused', async () => {
    const page = await newPage();
    await signIn(page, 'assessor');
    expect(page.url()).toContain('#/enterprises');
    expect(await page.textContent('h1')).toBe('我负责的企业');
    const listed = await page.$$eval('[data-testid=enterprises] tbody tr td:first-child', (tds) =>
      tds.map((td) => td.textContent),
    );
    expect(listed.sort()).toEqual([SZ.name, FS.name].sort());
    await expectNoneOf(page, [...marks(GZ), ...marks(NJ)], 'assessor home');
    await shot(page, 'assessor-enterprises');
    await visit(page, `#/e/${GZ.id}`);
    expect(await page.textContent('[data-testid=error]')).toContain('不在您的权限范围内');
    await visit(page, '#/overview');
    expect(await page.textContent('[data-testid=error]')).toBe('此页面仅供省级用户使用。');
    await visit(page, '#/alerts');
    await expectNoneOf(page, [...marks(GZ), ...marks(NJ)], 'assessor alerts');
  });

  it('shows a new alert live, without reloading, only to who may see it', async () => {
    const page = await newPage();
    await signIn(page, 'enterprise');
    await page.waitForSelector('[data-testid=live-status]:has-text("实时推送已连接")');
    const watcher = await newPage();
    await signIn(watcher, 'assessor');
    await visit(watcher, '#/alerts');
    await watcher.waitForSelector('[data-testid=live-status]:has-text("实时推送已连接")');
    const before = new Set(await uidsOf(GZ.id));
    const watcherBefore = await watcher.$$eval('a[data-uid]', (as) => as.map((a) => a.getAttribute('data-uid')));
    await page.evaluate(() => {
      (window as unknown as { stillHere: boolean }).stillHere = true;
    });
    // A real sensor of the enterprise sees a PLC being stopped (another capture) and publishes it.
    await centre.publish(GZ, ['gymgit__step7_s300_stop.pcapng']);
    await centre.settle();
    const after = await uidsOf(GZ.id);
    const fresh = after.filter((u) => !before.has(u));
    expect(fresh.length).toBeGreaterThan(0);
    await page.waitForSelector(`a[data-uid="${fresh[0]}"]`, { timeout: 15_000 });
    expect(await page.evaluate(() => (window as unknown as { stillHere?: boolean }).stillHere)).toBe(true);
    expect(await page.textContent('[data-testid=alerts-summary]')).toContain('实时新增');
    expect(await page.getAttribute(`a[data-uid="${fresh[0]}"]`, 'class')).toBe('fresh');
    await shot(page, 'live-update');
    // The assessor's open page got nothing of gz-chem-01.
    await watcher.waitForTimeout(2000);
    const watcherAfter = await watcher.$$eval('a[data-uid]', (as) => as.map((a) => a.getAttribute('data-uid')));
    expect(watcherAfter).toEqual(watcherBefore);
    await expectNoneOf(watcher, marks(GZ), 'assessor during live update');
  });

  it('alerts explorer: filters by level, protocol, enterprise and time, and pages', async () => {
    const page = await newPage();
    await signIn(page, 'admin');
    await visit(page, '#/alerts');
    const total = (await centre.store.listAlerts(GD, {}, { limit: 1000 })).items.length;
    expect(await page.textContent('[data-testid=alerts-summary]')).toContain(`共 ${total} 条`);

    await page.selectOption('#ax-level', 'high');
    await page.click('[data-testid=alerts] button[type=submit]');
    await page.waitForFunction(() => location.hash.includes('level=high'));
    await settled(page);
    const high = (await centre.store.listAlerts(GD, { level: ['high'] }, { limit: 1000 })).items;
    const badges = await page.$$eval('[data-testid=alerts] tbody .badge', (b) => b.map((x) => x.textContent));
    expect(badges.length).toBe(high.length);
    expect(new Set(badges)).toEqual(new Set(['高危']));
    await shot(page, 'alerts-explorer');

    await page.selectOption('#ax-level', '');
    await page.selectOption('#ax-protocol', 'modbus');
    await page.click('[data-testid=alerts] button[type=submit]');
    await page.waitForFunction(() => location.hash.includes('protocol=modbus') && !location.hash.includes('level='));
    await settled(page);
    const modbus = (await centre.store.listAlerts(GD, { protocol: 'modbus' }, { limit: 1000 })).items;
    const rows = await rowTexts(page);
    expect(rows.length).toBe(modbus.length);
    for (const r of rows) expect(r).toContain(SZ.name);

    await page.click('[data-testid=alerts] button[type=button]'); // clear
    await page.waitForFunction(() => location.hash === '#/alerts');
    await settled(page);
    await page.selectOption('#ax-enterprise', FS.id);
    await page.click('[data-testid=alerts] button[type=submit]');
    await page.waitForFunction((id) => location.hash.includes(`enterprise=${id}`), FS.id);
    await settled(page);
    const fs = (await centre.store.listAlerts(GD, { enterpriseId: FS.id }, { limit: 1000 })).items;
    const fsRows = await rowTexts(page);
    expect(fsRows.length).toBe(fs.length);
    for (const r of fsRows) expect(r).toContain(FS.name);

    // Time range, entered in Asia/Shanghai: 2016 only (the snap7 and QUT captures).
    await page.click('[data-testid=alerts] button[type=button]');
    await page.waitForFunction(() => location.hash === '#/alerts');
    await settled(page);
    await page.fill('#ax-from', '2016-01-01T00:00');
    await page.fill('#ax-to', '2017-01-01T00:00');
    await page.click('[data-testid=alerts] button[type=submit]');
    await page.waitForFunction(() => location.hash.includes('from='));
    await settled(page);
    expect(page.url()).toContain(encodeURIComponent('2015-12-31T16:00:00.000Z'));
    const in2016 = (
      await centre.store.listAlerts(
        GD,
        { from: '2015-12-31T16:00:00.000Z', to: '2016-12-31T16:00:00.000Z' },
        { limit: 1000 },
      )
    ).items;
    const timeRows = await rowTexts(page);
    expect(timeRows.length).toBe(in2016.length);
    expect(in2016.length).toBeGreaterThan(0);
    for (const r of timeRows) expect(r.startsWith('2016/')).toBe(true);

    // Paging with the API's cursor.
    await visit(page, '#/alerts?limit=10');
    const first = await page.$$eval('a[data-uid]', (as) => as.map((a) => a.getAttribute('data-uid')));
    expect(first).toHaveLength(10);
    await page.click('a[rel=next]');
    await page.waitForFunction(() => location.hash.includes('page=2'));
    await settled(page);
    const second = await page.$$eval('a[data-uid]', (as) => as.map((a) => a.getAttribute('data-uid')));
    expect(second).toHaveLength(10);
    for (const uid of second) expect(first).not.toContain(uid);
    expect(await page.textContent('[data-testid=alerts-summary]')).toContain('第 2 页');
    await page.click('nav.pager a:has-text("回到第一页")');
    await page.waitForFunction(() => !location.hash.includes('page='));
  });

  it('alert detail: rule, level, ATT&CK ids, evidence event', async () => {
    const page = await newPage();
    await signIn(page, 'admin');
    const stop = (await centre.store.listAlerts(GD, { ruleId: 'ot.s7.plc_stop' }, { limit: 10 })).items.find(
      (a) => a.enterpriseId === GZ.id,
    );
    expect(stop).toBeDefined();
    await visit(page, `#/alert/${stop?.uid}`);
    const rule = await page.textContent('[data-testid=alert-rule]');
    expect(rule).toContain('ot.s7.plc_stop');
    expect(rule).toContain('严重');
    expect(rule).toContain(GZ.name);
    const tags = await page.$$eval('[data-testid=alert-tags] li', (lis) => lis.map((l) => l.textContent));
    for (const tag of stop?.tags ?? []) {
      if (tag.startsWith('attack.t')) expect(tags).toContain(`ATT&CK ${tag.slice(7).toUpperCase()}`);
    }
    const evidence = await page.textContent('[data-testid=alert-evidence]');
    expect(evidence).toContain(stop?.event.flow);
    expect(evidence).toContain(`${stop?.event.client.ip}:${stop?.event.client.port}`);
    expect(evidence).toContain(`${stop?.event.server.ip}:${stop?.event.server.port}`);
    for (const [k, v] of Object.entries(stop?.event.alert.matched ?? {})) {
      expect(evidence).toContain(k);
      expect(evidence).toContain(typeof v === 'object' ? JSON.stringify(v) : String(v));
    }
    await shot(page, 'alert-detail');
  });

  it('an enterprise resolves its own alert; others see the resolution, only resolvers get the form', async () => {
    const page = await newPage();
    await signIn(page, 'enterprise');
    const target = (await centre.store.listAlerts(GD, { enterpriseId: GZ.id, level: ['medium'] }, { limit: 1 }))
      .items[0];
    expect(target?.resolution).toBeNull();
    await visit(page, `#/alert/${target?.uid}`);
    expect(await page.textContent('[data-testid=resolution]')).toContain('未处置');
    await page.fill('#resolve-note', '已核实为计划内的工程维护操作');
    await page.click('[data-testid=resolution] button[type=submit]');
    await page.waitForSelector('[data-testid=resolution] .status-ok');
    expect(await page.textContent('[data-testid=resolution] .status-ok')).toBe('已处置');
    expect(await page.$('#resolve-note')).toBeNull();
    const stored = await centre.store.getAlert(GD, target?.uid ?? '');
    expect(stored?.resolution?.note).toBe('已核实为计划内的工程维护操作');
    expect(await page.textContent('[data-testid=resolution]')).toContain(stored?.resolution?.resolvedBy ?? '?');

    const analyst = await newPage();
    await signIn(analyst, 'analyst');
    await visit(analyst, `#/alert/${target?.uid}`);
    const seen = await analyst.textContent('[data-testid=resolution]');
    expect(await analyst.textContent('[data-testid=resolution] .status-ok')).toBe('已处置');
    expect(seen).toContain('已核实为计划内的工程维护操作');
    // The analyst may not resolve anything: no form on an open alert either.
    const open = (await centre.store.listAlerts(GD, { enterpriseId: SZ.id }, { limit: 1 })).items[0];
    await visit(analyst, `#/alert/${open?.uid}`);
    expect(await analyst.textContent('[data-testid=resolution] .status-bad')).toBe('未处置');
    expect(await analyst.$('#resolve-note')).toBeNull();
    await shot(page, 'alert-resolved');
  });

  it('sensor health: last report per sensor', async () => {
    const page = await newPage();
    await signIn(page, 'admin');
    await visit(page, '#/sensors');
    const sensors = await centre.store.listSensors(GD);
    const rows = await page.$$eval('[data-testid=sensors] tbody tr', (trs) => trs.map((tr) => tr.textContent ?? ''));
    expect(rows.length).toBe(sensors.length);
    for (const s of sensors) {
      const row = rows.find((r) => r.includes(s.id)) ?? '';
      if (s.lastHealth === null) {
        expect(row).toContain('从未上报');
        continue;
      }
      expect(row).toContain('正常');
      expect(row).toContain(s.lastHealth.capture.packets.toLocaleString('zh-CN'));
      for (const proto of Object.keys(s.lastHealth.parse)) expect(row).toContain(`${proto}:`);
      // The collector's clock service answered: the offset is shown in ms.
      expect(s.lastHealth.clock.offsetMs).not.toBeNull();
      expect(row).toMatch(/-?\d+(\.\d)? ms/);
    }
    await shot(page, 'sensors');
  });

  it('works with the keyboard alone', async () => {
    const page = await newPage();
    await page.goto(`${centre.url}/`);
    // Sign in: Tab to the token field, type, Enter.
    for (let i = 0; i < 6 && (await page.evaluate(() => document.activeElement?.id)) !== 'token'; i++) {
      await page.keyboard.press('Tab');
    }
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('token');
    await page.keyboard.type(centre.tokens.admin);
    await page.keyboard.press('Enter');
    await page.waitForSelector('[data-testid=who]');
    await settled(page);
    // Tab order from the top: skip link, the main navigation, the tools, then the page.
    await focusTop(page);
    const order: string[] = [];
    for (let i = 0; i < 11; i++) {
      await page.keyboard.press('Tab');
      order.push(
        await page.evaluate(() => {
          const el = document.activeElement as HTMLElement | null;
          return el
            ? `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}:${(el.textContent ?? '').trim().slice(0, 12)}`
            : '';
        }),
      );
    }
    expect(order[0]).toBe('a:跳到主要内容');
    expect(order.slice(1, 7)).toEqual(['a:全省总览', 'a:企业', 'a:告警', 'a:预警', 'a:通报', 'a:探针状态']);
    expect(order[7]?.startsWith('select#lang')).toBe(true);
    expect(order[8]?.startsWith('select#tz')).toBe(true);
    expect(order[9]).toBe('button:退出登录');
    expect(order[10]?.startsWith('select#period')).toBe(true);
    // The skip link is visible when focused and moves focus to the content.
    await focusTop(page);
    await page.keyboard.press('Tab');
    const skipTop = await page.$eval('a.skip', (a) => a.getBoundingClientRect().top);
    expect(skipTop).toBeGreaterThanOrEqual(0);
    await page.keyboard.press('Enter');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('main');
    // A nav link, focused by keyboard, shows a visible focus ring; Enter follows it and focus lands on the heading.
    await focusTop(page);
    for (let i = 0; i < 4; i++) await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('告警');
    const ring = await page.evaluate(() => {
      const s = getComputedStyle(document.activeElement as Element);
      return { style: s.outlineStyle, width: Number.parseFloat(s.outlineWidth) };
    });
    expect(ring.style).not.toBe('none');
    expect(ring.width).toBeGreaterThanOrEqual(2);
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => location.hash === '#/alerts');
    await settled(page);
    expect(await page.evaluate(() => document.activeElement?.tagName)).toBe('H1');
    // Filter by keyboard: Tab to the level select, pick with arrows, Space on "筛选".
    for (let i = 0; i < 20 && (await page.evaluate(() => document.activeElement?.id)) !== 'ax-level'; i++) {
      await page.keyboard.press('Tab');
    }
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('ax-level');
    await page.keyboard.press('ArrowDown'); // 全部 → 严重
    expect(await page.$eval('#ax-level', (s) => (s as HTMLSelectElement).value)).toBe('critical');
    // (each date-time field holds several tab stops: year, month, day, hour, minute)
    for (let i = 0; i < 40 && (await page.evaluate(() => document.activeElement?.textContent)) !== '筛选'; i++) {
      await page.keyboard.press('Tab');
    }
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('筛选');
    await page.keyboard.press('Space');
    await page.waitForFunction(() => location.hash.includes('level=critical'));
    await settled(page);
    // Enter on a row's link opens the alert.
    for (let i = 0; i < 10 && !(await page.evaluate(() => document.activeElement?.hasAttribute('data-uid'))); i++) {
      await page.keyboard.press('Tab');
    }
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => location.hash.startsWith('#/alert/'));
    await settled(page);
    expect(await page.textContent('h1')).toBe('告警详情');
    // Disclosures open with Enter and with Space.
    await visit(page, `#/e/${SZ.id}/assets`);
    for (let i = 0; i < 30 && (await page.evaluate(() => document.activeElement?.tagName)) !== 'SUMMARY'; i++) {
      await page.keyboard.press('Tab');
    }
    expect(await page.evaluate(() => document.activeElement?.tagName)).toBe('SUMMARY');
    await page.keyboard.press('Enter');
    expect(await page.evaluate(() => (document.activeElement?.parentElement as HTMLDetailsElement | null)?.open)).toBe(
      true,
    );
    await page.keyboard.press('Space');
    expect(await page.evaluate(() => (document.activeElement?.parentElement as HTMLDetailsElement | null)?.open)).toBe(
      false,
    );
  });

  it('switches language (and remembers it), dates follow', async () => {
    const page = await newPage();
    await signIn(page, 'admin');
    await page.selectOption('#lang', 'en');
    await page.waitForFunction(() => document.documentElement.lang === 'en');
    await settled(page);
    expect(await page.textContent('h1')).toBe('Province overview');
    const nav = await page.$$eval('nav.primary-nav a', (as) => as.map((a) => a.textContent));
    expect(nav).toEqual(['Province overview', 'Enterprises', 'Alerts', 'Warnings', 'Bulletins', 'Sensor health']);
    // No Chinese left in the interface itself (enterprise names, cities and token labels are data, kept as
    // registered; the language menu names each language in itself).
    const chrome = await page.$$eval('nav, .live, h1, h2, th, label, footer, .badge, dt, button', (els) =>
      els.map((e) => e.textContent ?? '').join(' '),
    );
    expect(/\p{Script=Han}/u.test(chrome)).toBe(false);
    const recentTime = await page.textContent('[data-testid=recent-high] tbody tr td');
    expect(recentTime).toMatch(/^\d{2}\/\d{2}\/\d{4}, \d{2}:\d{2}:\d{2}$/);
    await shot(page, 'overview-en');
    await page.reload();
    await settled(page);
    expect(await page.textContent('h1')).toBe('Province overview');
    await page.selectOption('#lang', 'zh-CN');
    await page.waitForFunction(() => document.documentElement.lang === 'zh-CN');
    expect(await page.textContent('h1')).toBe('全省态势总览');
    expect(await page.textContent('[data-testid=recent-high] tbody tr td')).toMatch(/^\d{4}\/\d{2}\/\d{2} /);
  });

  it('fits a 1366×768 laptop and a 1920×1080 wall display', async () => {
    for (const viewport of [SMALL, WALL]) {
      const page = await newPage(viewport);
      await signIn(page, 'admin');
      for (const hash of ['#/overview', '#/alerts', '#/sensors', `#/e/${GZ.id}/assets`, `#/e/${GZ.id}/map`]) {
        await visit(page, hash);
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        expect(overflow, `${viewport.width} ${hash}`).toBeLessThanOrEqual(0);
      }
      await visit(page, '#/overview');
      await page.waitForSelector('[data-testid=chart-by-industry] canvas');
      const tops = await page.$$eval(
        '[data-testid=chart-by-level], [data-testid=chart-by-city], [data-testid=chart-by-industry]',
        (els) => els.map((e) => Math.round(e.getBoundingClientRect().top)),
      );
      expect(new Set(tops).size, 'the three breakdowns share a row').toBe(1);
      const rootFont = await page.evaluate(() => getComputedStyle(document.documentElement).fontSize);
      expect(rootFont).toBe(viewport === WALL ? '18px' : '15px');
      if (viewport === WALL) await shot(page, 'overview-1920');
    }
  });

  it('text meets 4.5:1 contrast on the main pages', async () => {
    const page = await newPage();
    await signIn(page, 'admin');
    for (const hash of ['#/overview', '#/alerts', '#/sensors', `#/e/${GZ.id}/assets`]) {
      await visit(page, hash);
      const failures = await page.evaluate(() => {
        const rgb = (c: string) => (c.match(/[\d.]+/g) ?? []).map(Number);
        const lum = ([r = 0, g = 0, b = 0]: number[]) => {
          const ch = (v: number) => {
            const s = v / 255;
            return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
          };
          return 0.2126 * ch(r) + 0.7152 * ch(g) + 0.0722 * ch(b);
        };
        const background = (el: Element | null): number[] => {
          for (let e = el; e; e = e.parentElement) {
            const c = rgb(getComputedStyle(e).backgroundColor);
            if (c.length === 3 || (c[3] ?? 0) > 0.5) return c.slice(0, 3);
          }
          return [255, 255, 255];
        };
        const out: string[] = [];
        const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
        for (let n = walker.nextNode(); n; n = walker.nextNode()) {
          const el = n.parentElement;
          if (!el || !(n.textContent ?? '').trim() || el.closest('.sr-only, option, noscript')) continue;
          const box = el.getBoundingClientRect();
          if (box.width === 0 || box.height === 0) continue;
          const fg = lum(rgb(getComputedStyle(el).color));
          const bg = lum(background(el));
          const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
          if (ratio < 4.5) out.push(`${(n.textContent ?? '').trim().slice(0, 20)} ${ratio.toFixed(2)}`);
        }
        return out;
      });
      expect(failures, hash).toEqual([]);
    }
  });

  it('requested nothing from elsewhere and broke no CSP rule', () => {
    expect(requested.length).toBeGreaterThan(50);
    const elsewhere = requested.filter((u) => !u.startsWith(centre.url) && !u.startsWith('data:'));
    expect(elsewhere).toEqual([]);
    // The token never appeared in a URL (the live stream uses tickets).
    for (const secret of Object.values(centre.tokens)) {
      expect(requested.some((u) => u.includes(secret))).toBe(false);
    }
    expect(requested.some((u) => u.includes('/api/v1/live?ticket='))).toBe(true);
    expect(problems).toEqual([]);
  });
});
