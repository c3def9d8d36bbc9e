/**
 * The dashboard's issue-9 pages in real Chromium against a real centre (testing/centre.ts: nats-server, ingest,
 * SQLite, API + dashboard, real sensors replaying public captures; risk scores computed by the collector's engine
 * from what the sensors delivered; warnings issued through the store on real alerts): risk on the overview and the
 * enterprise view, warning acknowledgement by the enterprise and closing by the province admin (state and history),
 * bulletin generation and download, and the assessor's workspace (flags, signed pack download, refusal elsewhere).
 * Screenshots go to test-artifacts/screenshots/.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contrast } from './app/palette.ts';
import { type Centre, type CentreEnterprise, startCentre, type TokenName } from './testing/centre.ts';

const SHOTS = join(import.meta.dirname, '../../test-artifacts/screenshots');
const SMALL = { width: 1366, height: 768 };

/**
 * An enterprise added for the assessor: declared grade 1, class platform, whose sensor replays a real STEP 7 program
 * download to an S7-300, so its evidence pack carries grading flags the declaration contradicts.
 */
const ZS: CentreEnterprise = {
  id: 'zs-pkg-05',
  name: '中山某包装有限公司',
  province: 'gd',
  city: '中山',
  industry: '包装',
  class: 'platform',
  grade: 1,
  sensor: 'zs-pkg-05-s1',
  captures: ['gymgit__step7_s300_download.pcapng'],
};
let assessorToken = '';

let centre: Centre;
let browser: Browser;
const contexts: BrowserContext[] = [];
const requested: string[] = [];
const problems: string[] = [];

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  centre = await startCentre();
  await centre.store.upsertEnterprise({
    id: ZS.id,
    name: ZS.name,
    province: ZS.province,
    city: ZS.city,
    industry: ZS.industry,
    class: ZS.class,
    grade: ZS.grade,
    contacts: [],
    maintenanceWindows: [],
  });
  await centre.store.upsertSensor({ id: ZS.sensor, enterpriseId: ZS.id, name: '镜像口 1' });
  await centre.publish(ZS, ZS.captures);
  await centre.settle();
  assessorToken = (
    await centre.store.createToken({
      role: 'assessor',
      label: '评估员 李',
      province: null,
      enterprises: ['sz-power-02', ZS.id],
    })
  ).secret;
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
}, 240_000);

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => undefined);
  await browser?.close();
  await centre?.close();
});

async function newPage(): Promise<Page> {
  const context = await browser.newContext({ viewport: SMALL, locale: 'zh-CN', acceptDownloads: true });
  contexts.push(context);
  const page = await context.newPage();
  page.on('request', (r) => requested.push(r.url()));
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  return page;
}

async function settled(page: Page): Promise<void> {
  await page.waitForFunction(() => document.querySelector('#main') !== null && !document.querySelector('.loading'));
  await page.waitForTimeout(150);
  await page.waitForFunction(() => !document.querySelector('.loading'));
}

async function signIn(page: Page, who: TokenName | 'assessor2'): Promise<void> {
  await page.goto(`${centre.url}/`);
  await page.fill('#token', who === 'assessor2' ? assessorToken : centre.tokens[who]);
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

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

async function api<T>(who: TokenName | 'assessor2', path: string): Promise<{ status: number; body: T }> {
  const secret = who === 'assessor2' ? assessorToken : centre.tokens[who];
  const res = await fetch(`${centre.url}/api/v1${path}`, { headers: { authorization: `Bearer ${secret}` } });
  return { status: res.status, body: (await res.json()) as T };
}

/** Contrast of every warning badge's text against its own background, as the browser renders them. */
async function badgeContrasts(page: Page): Promise<{ text: string; fg: string; bg: string }[]> {
  return page.$$eval('.badge[class*=wlevel-]', (els) =>
    els.map((el) => {
      const s = getComputedStyle(el);
      const hex = (rgb: string) =>
        `#${(rgb.match(/\d+/g) ?? [])
          .slice(0, 3)
          .map((n) => Number(n).toString(16).padStart(2, '0'))
          .join('')}`;
      return { text: el.textContent ?? '', fg: hex(s.color), bg: hex(s.backgroundColor) };
    }),
  );
}

describe('dashboard part 2 in Chromium', () => {
  it('overview ranks enterprises by their risk score, with the top facts on expand; the enterprise view explains it', async () => {
    const scores = await centre.store.latestRiskScores({ kind: 'province', province: 'gd' });
    expect(scores.length).toBe(3);
    const ranked = [...scores].sort((a, b) => b.score - a.score);
    const top = ranked[0];
    if (!top) throw new Error('no score');
    const enterprise = await centre.store.getEnterprise(top.enterpriseId, { kind: 'all' });
    const page = await newPage();
    await signIn(page, 'admin');
    const rows = await page.$$eval('[data-testid=top-risk] tbody tr', (trs) =>
      trs.map((tr) => tr.querySelector('td')?.textContent ?? ''),
    );
    expect(rows.length).toBe(3);
    expect(rows[0]).toBe(enterprise?.name);
    expect(await page.content()).not.toContain('南京某水务集团');
    const best = [...top.contributions].sort((a, b) => b.points - a.points)[0];
    if (best && best.points > 0) {
      await page.click(`[data-testid=risk-facts-${top.enterpriseId}] summary`);
      expect(await page.textContent(`[data-testid=risk-facts-${top.enterpriseId}] ul`)).toContain(best.detailZh);
    }
    // Warnings in force: the two gd warnings, not the js one.
    const inForce = await page.textContent('[data-testid=warnings-in-force]');
    expect(inForce).toContain('PLC 控制命令异常集中');
    expect(inForce).toContain('全省高危告警增多');
    expect(inForce).not.toContain('南京水务');
    await shot(page, 'overview-risk');

    await visit(page, `#/e/${top.enterpriseId}`);
    const shown = await page.textContent('[data-testid=risk-score]');
    expect(shown).toBe(new Intl.NumberFormat('zh-CN').format(Math.round(top.score * 10) / 10));
    const factorRows = await page.$$('[data-testid=enterprise-risk] tbody tr');
    expect(factorRows.length).toBe(top.contributions.length);
  });

  it('an enterprise acknowledges a warning, the province admin closes it; state and history follow', async () => {
    const w = centre.warnings.gz;
    const ent = await newPage();
    await signIn(ent, 'enterprise');
    await visit(ent, '#/warnings');
    const titles = await ent.$$eval('[data-testid=warnings] tbody tr', (trs) => trs.map((tr) => tr.textContent ?? ''));
    expect(titles.length).toBe(2);
    expect(titles.join()).toContain('PLC 控制命令异常集中');
    expect(titles.join()).not.toContain('南京水务');
    for (const b of await badgeContrasts(ent)) {
      expect(contrast(b.fg, b.bg), b.text).toBeGreaterThanOrEqual(4.5);
      expect(b.text).toMatch(/^(红色|橙色|黄色|蓝色)预警$/);
    }
    await visit(ent, `#/warning/${w.id}`);
    expect(await ent.textContent('[data-testid=warning-detail] [data-testid=warning-state]')).toBe('已发布');
    // The facts are the real alerts the warning rests on, linked.
    for (const f of w.facts) expect(await ent.textContent('[data-testid=warning-facts]')).toContain(f.textZh);
    expect(await ent.$('[data-testid=warning-close]')).toBeNull();
    // Keyboard only: focus the note, type, submit with Enter.
    await ent.focus('#ack-note');
    await ent.keyboard.type('已安排值班人员排查');
    await ent.keyboard.press('Enter');
    await ent.waitForFunction(
      () =>
        document.querySelector('[data-testid=warning-detail] [data-testid=warning-state]')?.textContent === '已确认',
    );
    expect(await ent.$('[data-testid=warning-ack]')).toBeNull();
    const acked = await centre.store.getWarning({ kind: 'all' }, w.id);
    expect(acked?.state).toBe('acknowledged');
    expect(acked?.targets[0]?.ackNote).toBe('已安排值班人员排查');
    expect(await ent.textContent('[data-testid=warning-history]')).toContain('已安排值班人员排查');

    const admin = await newPage();
    await signIn(admin, 'admin');
    await visit(admin, '#/warnings');
    await shot(admin, 'warnings');
    await visit(admin, `#/warning/${w.id}`);
    expect(await admin.$('[data-testid=warning-ack]')).toBeNull();
    // A close needs a note: the form says so and nothing is sent.
    await admin.click('[data-testid=warning-close] button[type=submit]');
    await admin.waitForSelector('[data-testid=warning-close] [role=alert]');
    expect((await centre.store.getWarning({ kind: 'all' }, w.id))?.state).toBe('acknowledged');
    await admin.fill('#close-note', '排查完毕，误报已排除');
    await admin.click('[data-testid=warning-close] button[type=submit]');
    await admin.waitForFunction(
      () =>
        document.querySelector('[data-testid=warning-detail] [data-testid=warning-state]')?.textContent === '已关闭',
    );
    const closed = await centre.store.getWarning({ kind: 'all' }, w.id);
    expect(closed?.state).toBe('closed');
    expect(closed?.closeNote).toBe('排查完毕，误报已排除');
    const history = await admin.$$eval('[data-testid=warning-history] li', (lis) =>
      lis.map((li) => li.textContent ?? ''),
    );
    expect(history.length).toBe(3);
    expect(history[0]).toContain('evaluator@test-centre 发布预警');
    expect(history[1]).toContain('广州某化工有限公司 确认（广州某化工 值班#');
    expect(history[2]).toContain('关闭预警');
    expect(history[2]).toContain('排查完毕，误报已排除');
    await shot(admin, 'warning-detail');

    // The analyst reads but may not close; the js warning is not found for gd.
    const analyst = await newPage();
    await signIn(analyst, 'analyst');
    await visit(analyst, `#/warning/${centre.warnings.gd.id}`);
    expect(await analyst.$('[data-testid=warning-close]')).toBeNull();
    await visit(analyst, `#/warning/${centre.warnings.js.id}`);
    expect(await analyst.textContent('[data-testid=error]')).toBe('未找到该内容，或它不在您的权限范围内。');
  });

  it('a province admin generates a bulletin, reads it and downloads HTML and Markdown', async () => {
    const page = await newPage();
    await signIn(page, 'admin');
    await visit(page, '#/bulletins');
    await page.selectOption('#b-period', 'custom');
    // The captures' packets are years old: a custom period from 2000 covers them.
    await page.fill('#b-from', '2000-01-01');
    const tomorrow = new Date(Date.now() + 2 * 86_400_000).toISOString().slice(0, 10);
    await page.fill('#b-to', tomorrow);
    await page.click('[data-testid=bulletin-form] button[type=submit]');
    await page.waitForSelector('[data-testid=bulletin-created]');
    await page.waitForSelector('[data-testid=bulletins] tbody tr');
    const listed = await api<{ items: { id: string; period: { kind: string } }[] }>('admin', '/bulletins');
    expect(listed.status).toBe(200);
    expect(listed.body.items.length).toBe(1);
    expect(listed.body.items[0]?.period.kind).toBe('custom');

    const htmlDownload = page.waitForEvent('download');
    await page.click('[data-testid=bulletins] button[data-format=html]');
    const html = await htmlDownload;
    expect(html.suggestedFilename()).toMatch(/\.html$/);
    const htmlText = readFileSync((await html.path()) ?? '', 'utf8');
    const title = /<title>([^<]+)<\/title>/.exec(htmlText)?.[1] ?? '';
    expect(title).toContain('工业控制系统网络安全通报');

    const mdDownload = page.waitForEvent('download');
    await page.click('[data-testid=bulletins] button[data-format=md]');
    const md = await mdDownload;
    expect(md.suggestedFilename()).toMatch(/\.md$/);
    const mdText = readFileSync((await md.path()) ?? '', 'utf8');
    expect(mdText.split('\n')[0]).toBe(`# ${title}`);

    await page.click('[data-testid=bulletins] tbody button');
    await page.waitForSelector('[data-testid=bulletin-text] pre');
    expect(await page.textContent('[data-testid=bulletin-text] pre')).toBe(mdText);
    await shot(page, 'bulletins');

    // An enterprise has no bulletin page in its navigation and is never offered to generate one.
    const ent = await newPage();
    await signIn(ent, 'enterprise');
    expect(await ent.$('nav a[href="#/bulletins"]')).toBeNull();
    await visit(ent, '#/bulletins');
    expect(await ent.$('[data-testid=bulletin-generate]')).toBeNull();
    expect(await ent.$$('[data-testid=bulletins] tbody tr')).toHaveLength(0);
  });

  it('the assessor sees the flags of its assigned enterprises, downloads a signed pack, and is refused another', async () => {
    const page = await newPage();
    await signIn(page, 'assessor2');
    expect(page.url()).toContain('#/enterprises');
    await page.click('nav a[href="#/workspace"]');
    await settled(page);
    await page.waitForSelector(`[data-testid=pack-${ZS.id}] [data-testid=pack-download]`);
    await page.waitForSelector('[data-testid=pack-sz-power-02] [data-testid=pack-download]');
    const cards = await page.$$eval('[data-testid^=workspace-]', (els) =>
      els.map((e) => e.getAttribute('data-testid')),
    );
    expect(cards.sort()).toEqual([`workspace-sz-power-02`, `workspace-${ZS.id}`].sort());
    let flagged = 0;
    for (const id of ['sz-power-02', ZS.id]) {
      const pack = await api<{ files: Record<string, string> }>('assessor2', `/enterprises/${id}/evidence-pack`);
      expect(pack.status).toBe(200);
      const data = JSON.parse(Buffer.from(pack.body.files['pack.json'] ?? '', 'base64').toString('utf8')) as {
        flags: { rule: string; observed: { zh: string } }[];
      };
      const shown = await page.$$eval(`[data-testid=pack-${id}] [data-rule]`, (els) =>
        els.map((e) => e.getAttribute('data-rule')),
      );
      expect(shown.sort()).toEqual(data.flags.map((f) => f.rule).sort());
      for (const f of data.flags) expect(await page.textContent(`[data-testid=pack-${id}]`)).toContain(f.observed.zh);
      if (data.flags.length === 0) expect(await page.textContent(`[data-testid=pack-${id}]`)).toContain('未发现');
      flagged += data.flags.length;
    }
    // The STEP 7 download at a grade-1 platform enterprise contradicts its declaration.
    expect(flagged).toBeGreaterThan(0);
    expect(await page.textContent(`[data-testid=workspace-${ZS.id}]`)).toContain('一级');
    await shot(page, 'assessor-workspace');

    const download = page.waitForEvent('download');
    await page.click(`[data-testid=pack-${ZS.id}] [data-testid=pack-download]`);
    const file = await download;
    expect(file.suggestedFilename()).toMatch(/\.otpack\.json$/);
    const bundle = JSON.parse(readFileSync((await file.path()) ?? '', 'utf8')) as {
      manifest: string;
      signature: string;
      files: Record<string, string>;
    };
    expect(Object.keys(bundle.files)).toContain('pack.json');
    expect(Buffer.from(bundle.signature, 'base64').length).toBe(64);
    expect(bundle.manifest).toContain(ZS.id);

    await visit(page, '#/pack/gz-chem-01');
    expect(await page.textContent('[data-testid=error]')).toBe('未找到该内容，或它不在您的权限范围内。');
    expect(await page.$('[data-testid=pack-download]')).toBeNull();
    expect(await page.content()).not.toContain('广州某化工有限公司');
    // The refused pull was audited by the API as such.
    const denied = await centre.store.listAudit({ limit: 100 }, { action: 'evidence-pack.denied' });
    expect(denied.items.map((a) => a.enterpriseId)).toContain('gz-chem-01');
  });

  it('made no request off the origin and broke no CSP rule', () => {
    const origin = new URL(centre.url).origin;
    const off = requested.filter((u) => !u.startsWith(origin) && !u.startsWith('blob:') && !u.startsWith('data:'));
    expect(off).toEqual([]);
    expect(problems).toEqual([]);
  });
});
