import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { assignAlertUids, prepareIngest, ruleTextsOf, sharedAddress } from './ingest-rows.ts';
import { openSqliteStore } from './sqlite.ts';
import { alertItem, enterprise, message } from './store-fixtures.ts';

const who = { province: 'gd', enterprise: 'e1', sensor: 's1' };
const T0 = Date.UTC(2026, 10, 24, 8);

describe('rule texts shared by the rows of a rule', () => {
  it('returns the alert rule’s own texts, and new ones when the rule changes', () => {
    const rule = { id: 'r.shared.1', title: 'PLC stop', level: 'critical', tags: ['attack.t0858', 'attack.t0816'] };
    const first = ruleTextsOf(rule);
    expect(first).toMatchObject({ id: 'r.shared.1', title: 'PLC stop', level: 'critical' });
    expect(first.tagsJson).toBe(JSON.stringify(rule.tags));
    // Equal texts from another parse: the same entry.
    expect(ruleTextsOf(JSON.parse(JSON.stringify(rule)))).toBe(first);
    // A new rule pack changes the title, the level or the tags: the row must carry the new text.
    expect(ruleTextsOf({ ...rule, title: 'PLC stop (CPU)' }).title).toBe('PLC stop (CPU)');
    expect(ruleTextsOf({ ...rule, level: 'high' }).level).toBe('high');
    expect(ruleTextsOf({ ...rule, tags: ['attack.t0858'] }).tagsJson).toBe('["attack.t0858"]');
    expect(ruleTextsOf({ ...rule, tags: [] }).tagsJson).toBe('[]');
    // And back.
    expect(ruleTextsOf(rule)).toMatchObject({
      title: 'PLC stop',
      level: 'critical',
      tagsJson: JSON.stringify(rule.tags),
    });
  });

  it('does not keep a reference to the caller’s tags array', () => {
    const tags = ['attack.t0836'];
    const texts = ruleTextsOf({ id: 'r.shared.2', title: 't', level: 'low', tags });
    tags.push('attack.t0855');
    expect(ruleTextsOf({ id: 'r.shared.2', title: 't', level: 'low', tags }).tagsJson).toBe(JSON.stringify(tags));
    expect(texts.tags).toEqual(['attack.t0836']);
  });

  it('stays correct past its bound', () => {
    for (let i = 0; i < 5000; i++) {
      const t = ruleTextsOf({ id: `r.many.${i}`, title: `title ${i}`, level: 'low', tags: [`t${i}`] });
      expect(t.title).toBe(`title ${i}`);
    }
    expect(ruleTextsOf({ id: 'r.many.1', title: 'title 1', level: 'low', tags: ['t1'] }).tagsJson).toBe('["t1"]');
  });
});

describe('addresses shared by the rows', () => {
  it('returns the same text, also past its bound', () => {
    expect(sharedAddress('192.168.100.200')).toBe('192.168.100.200');
    for (let i = 0; i < 70_000; i++) expect(sharedAddress(`fd00::${i.toString(16)}`)).toBe(`fd00::${i.toString(16)}`);
    expect(sharedAddress('192.168.100.200')).toBe('192.168.100.200');
  });
});

describe('alert uids', () => {
  const dir = mkdtempSync(join(tmpdir(), 'otwatch-rows-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('are not taken when rows are built, but when they are written', () => {
    const alerts = [0, 1, 2].map((n) => alertItem({ sensor: 's1', n, tsMs: T0 + n }));
    const p = prepareIngest([[message(who, 1, { alerts })]], T0);
    expect(p.alerts.map((a) => a.row.uid)).toEqual(['', '', '']);
    assignAlertUids(p, T0);
    const uids = p.alerts.map((a) => a.row.uid);
    expect(uids.every((u) => /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(u))).toBe(
      true,
    );
    expect([...uids].sort()).toEqual(uids);
    expect(new Set(uids).size).toBe(3);
    // A uid already given is kept: a write retried after a rolled-back attempt reuses it.
    assignAlertUids(p, T0 + 1000);
    expect(p.alerts.map((a) => a.row.uid)).toEqual(uids);
  });

  it('come out in write order from the store, and a duplicate takes none', async () => {
    const store = await openSqliteStore(join(dir, 'uids.db'));
    try {
      await store.migrate();
      await store.upsertEnterprise(enterprise('e1', 'gd'));
      const first = [0, 1, 2].map((n) => alertItem({ sensor: 's1', n, tsMs: T0 + n }));
      const second = [3, 4].map((n) => alertItem({ sensor: 's1', n, tsMs: T0 - 60_000 + n }));
      // Built in the other order than written: the uids follow the writes.
      const p2 = prepareIngest([[message(who, 2, { alerts: [...second, ...first.slice(0, 1)] })]], Date.now());
      const p1 = prepareIngest([[message(who, 1, { alerts: first })]], Date.now());
      const [r1] = await store.ingestPrepared(p1);
      const [r2] = await store.ingestPrepared(p2);
      expect(r1).toMatchObject({ alertsInserted: 3, alertsDuplicate: 0 });
      expect(r2).toMatchObject({ alertsInserted: 2, alertsDuplicate: 1 });
      const page = await store.listAlerts({ kind: 'all' }, {}, { limit: 10 });
      // Newest first by uid: the second write's alerts lead although their packet times are older.
      expect(page.items.map((a) => a.eventId)).toEqual([
        ...second.map((a) => a.id).reverse(),
        ...first.map((a) => a.id).reverse(),
      ]);
    } finally {
      await store.close();
    }
  });
});
