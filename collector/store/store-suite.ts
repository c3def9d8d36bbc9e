/**
 * The store's contract tests, run unchanged against every backend (sqlite.test.ts, postgres.test.ts): idempotent
 * ingest, scope isolation of every read, paging, rollups equal to counting the alerts, the registry's rules, tokens,
 * audit, retention, and concurrent migration.
 */
import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RegistryConflictError, StoreInputError } from './errors.ts';
import { concatPrepared, prepareIngest } from './ingest-rows.ts';
import {
  type AlertSpec,
  alertItem,
  assetItem,
  enterprise,
  healthItem,
  type Identity,
  message,
  statsItem,
} from './store-fixtures.ts';
import type {
  AggregateBy,
  CollectorStore,
  IngestMessage,
  Level,
  NewWarning,
  RiskScore,
  Scope,
  StoredAlert,
} from './types.ts';
import { LEVELS } from './types.ts';

export interface TestDatabase {
  /** Opens a store on this database; migrated unless `migrate: false`. */
  open(options?: { migrate?: boolean }): Promise<CollectorStore>;
  /** Raw SQL on the database, to check what the store wrote behind its API. */
  query<T>(text: string): Promise<T[]>;
  /** Raw SQL that changes the database (e.g. to put it back to an older schema version). */
  exec(text: string): Promise<void>;
  cleanup(): Promise<void>;
}

export interface StoreHarness {
  backend: 'sqlite' | 'postgres';
  fresh(): Promise<TestDatabase>;
}

const T0 = Date.UTC(2026, 2, 10, 8, 0, 0);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const A: Identity = { province: 'P1', enterprise: 'entA', sensor: 'sensA' };
const B: Identity = { province: 'P2', enterprise: 'entB', sensor: 'sensB' };
const C: Identity = { province: 'P1', enterprise: 'entC', sensor: 'sensC' };

async function register(store: CollectorStore): Promise<void> {
  await store.upsertEnterprise(enterprise('entA', 'P1', { city: 'Alpha', industry: 'chemicals' }));
  await store.upsertEnterprise(enterprise('entB', 'P2', { city: 'Beta', industry: 'power' }));
  await store.upsertEnterprise(enterprise('entC', 'P1', { city: 'Gamma', industry: 'power', grade: 3 }));
  await store.upsertSensor({ id: 'sensA', enterpriseId: 'entA', name: 'A line 1' });
  await store.upsertSensor({ id: 'sensB', enterpriseId: 'entB' });
  await store.upsertSensor({ id: 'sensC', enterpriseId: 'entC' });
}

const enc = new TextEncoder();

function alerts(id: Identity, from: number, count: number, spec: Partial<AlertSpec> = {}) {
  return Array.from({ length: count }, (_, i) =>
    alertItem({ sensor: id.sensor, n: from + i, tsMs: T0 + (from + i) * 1000, ...spec }),
  );
}

/** One message of every kind for an identity (alerts, assets with a change, health, stats). */
function everything(id: Identity, seqBase: number): IngestMessage[] {
  return [
    message(id, seqBase + 1, { alerts: alerts(id, 0, 5) }),
    message(id, seqBase + 2, {
      assets: [
        assetItem(id.sensor, `10.${id.enterprise.length}.0.1`, T0, T0 + HOUR, { changeIds: [`ch-${id.sensor}`] }),
      ],
    }),
    message(id, seqBase + 3, { health: [healthItem(T0 + HOUR)] }),
    message(id, seqBase + 4, { stats: [statsItem(T0, T0 + 60_000, { modbus: 10, s7comm: 3 })] }),
  ];
}

async function allAlerts(store: CollectorStore, scope: Scope, filter = {}): Promise<StoredAlert[]> {
  const out: StoredAlert[] = [];
  let cursor: string | null = null;
  do {
    const page: Awaited<ReturnType<CollectorStore['listAlerts']>> = await store.listAlerts(
      scope,
      filter,
      cursor === null ? { limit: 1000 } : { limit: 1000, cursor },
    );
    out.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor !== null);
  return out;
}

export function describeStoreContract(harness: StoreHarness): void {
  describe(`CollectorStore contract on ${harness.backend}`, () => {
    let db: TestDatabase;
    let store: CollectorStore;

    beforeEach(async () => {
      db = await harness.fresh();
      store = await db.open();
    });

    afterEach(async () => {
      await store.close();
      await db.cleanup();
    });

    it('reports its backend and starts empty', async () => {
      expect(store.backend).toBe(harness.backend);
      const stats = await store.stats();
      expect(stats).toMatchObject({ backend: harness.backend, alerts: 0, assets: 0, enterprises: 0, sensors: 0 });
      expect(stats.bytes).toBeGreaterThan(0);
    });

    it('migrates concurrently from two instances exactly once, and again as a no-op', async () => {
      const other = await db.open({ migrate: false });
      const third = await db.open({ migrate: false });
      try {
        await Promise.all([other.migrate(), third.migrate(), store.migrate()]);
        const rows = await db.query<{ version: number; n: number }>(
          'select version, count(*) as n from schema_migrations group by version',
        );
        expect(rows.map((r) => [Number(r.version), Number(r.n)]).sort((a, b) => Number(a[0]) - Number(b[0]))).toEqual([
          [1, 1],
          [2, 1],
          [3, 1],
        ]);
        // The instances share the data.
        await register(other);
        expect((await third.listEnterprises({ kind: 'all' })).map((e) => e.id)).toEqual(['entA', 'entB', 'entC']);
      } finally {
        await other.close();
        await third.close();
      }
    });

    it('ingests every kind idempotently: the same messages twice change nothing', async () => {
      await register(store);
      const batch = [...everything(A, 0), ...everything(B, 0)];
      const first = await store.ingest(batch);
      expect(first).toEqual({
        alertsInserted: 10,
        alertsDuplicate: 0,
        assetsUpserted: 2,
        assetChangesInserted: 2,
        healthStored: 2,
        statsStored: 2,
        unregistered: 0,
      });
      const rollupsBefore = await db.query<{ n: number }>('select sum(count) as n from alert_rollups');
      const aggBefore = await store.aggregate({ kind: 'all' }, { by: 'rule' });

      const second = await store.ingest(batch);
      expect(second).toEqual({
        alertsInserted: 0,
        alertsDuplicate: 10,
        assetsUpserted: 2,
        assetChangesInserted: 0,
        healthStored: 0,
        statsStored: 0,
        unregistered: 0,
      });
      expect(await store.aggregate({ kind: 'all' }, { by: 'rule' })).toEqual(aggBefore);
      expect(await db.query<{ n: number }>('select sum(count) as n from alert_rollups')).toEqual(rollupsBefore);
      expect(Number(rollupsBefore[0]?.n)).toBe(10);
      const counts = await db.query<{ a: number; c: number; h: number; s: number; t: number; r: number }>(
        `select (select count(*) from alerts) as a, (select count(*) from asset_changes) as c,
                (select count(*) from sensor_health) as h, (select count(*) from stats_reports) as s,
                (select count(*) from traffic) as t, (select count(*) from assets) as r`,
      );
      expect(Object.values(counts[0] ?? {}).map(Number)).toEqual([10, 2, 2, 2, 4, 2]);
    });

    it('stores the sent bytes of each alert as its event, and returns one result per prepared call', async () => {
      await register(store);
      const items = alerts(A, 0, 3);
      // The text as a sensor might send it: other key order and spacing than JSON.stringify of the parsed alert.
      const sent = items.map((a) => {
        const { id, ...rest } = a;
        return `{ "id" : ${JSON.stringify(id)}, ${JSON.stringify(rest).slice(1)}`;
      });
      const withBytes = { ...message(A, 1, { alerts: items }), alertBytes: sent.map((s) => enc.encode(s)) };
      const results = await store.ingestPrepared(
        concatPrepared([
          prepareIngest([[withBytes]], Date.now()),
          prepareIngest([[message(B, 1, { alerts: alerts(B, 0, 2) })], [withBytes]], Date.now()),
        ]),
      );
      expect(results.map((r) => [r.alertsInserted, r.alertsDuplicate])).toEqual([
        [3, 0],
        [2, 0],
        [0, 3],
      ]);
      const stored = await db.query<{ event_id: string; event: string }>(
        `select event_id, event from alerts where sensor_id = 'sensA' order by event_id`,
      );
      const byId = new Map(items.map((a, i) => [a.id, sent[i]]));
      expect(stored).toHaveLength(3);
      for (const row of stored) expect(row.event).toBe(byId.get(row.event_id));
      const listed = await allAlerts(store, { kind: 'all' }, { enterpriseId: 'entA' });
      expect(listed.map((a) => a.event).sort((x, y) => x.id.localeCompare(y.id))).toEqual(
        [...items].sort((x, y) => x.id.localeCompare(y.id)),
      );
    });

    it('stores an alert whose texts carry U+0000 without failing the others in its batch', async () => {
      await register(store);
      const [hostile, plain] = alerts(A, 0, 2) as [ReturnType<typeof alertItem>, ReturnType<typeof alertItem>];
      hostile.alert.rule = { ...hostile.alert.rule, id: 'rule\u0000x', title: 'title\u0000' };
      const result = await store.ingest([message(A, 1, { alerts: [hostile, plain] })]);
      expect(result?.alertsInserted).toBe(2);
      const stored = await db.query<{ rule_id: string; rule_title: string }>(
        `select rule_id, rule_title from alerts where sensor_id = 'sensA' order by rule_id`,
      );
      // PostgreSQL text cannot hold U+0000: it keeps U+FFFD in its place (pg-binary-arrays.ts); SQLite keeps it.
      const nul = harness.backend === 'postgres' ? '\uFFFD' : '\u0000';
      expect(stored).toEqual([
        { rule_id: plain.alert.rule.id, rule_title: plain.alert.rule.title },
        { rule_id: `rule${nul}x`, rule_title: `title${nul}` },
      ]);
    });

    it('counts duplicates inside one call and across concurrent calls exactly once', async () => {
      await register(store);
      const items = alerts(A, 0, 50);
      const inOne = await store.ingest([
        message(A, 1, { alerts: items }),
        message(A, 2, { alerts: items.slice(0, 20) }),
      ]);
      expect(inOne.alertsInserted).toBe(50);
      expect(inOne.alertsDuplicate).toBe(20);

      const more = alerts(A, 100, 200);
      const results = await Promise.all([0, 1, 2, 3].map((i) => store.ingest([message(A, 10 + i, { alerts: more })])));
      expect(results.reduce((n, r) => n + r.alertsInserted, 0)).toBe(200);
      expect(results.reduce((n, r) => n + r.alertsDuplicate, 0)).toBe(600);
      expect((await store.stats()).alerts).toBe(250);
      const [rollup] = await store.aggregate({ kind: 'all' }, { by: 'enterprise' });
      expect(rollup).toEqual({ key: 'entA', count: 250 });
    });

    it('stores messages from unregistered sensors, flags them, and leaves the registry alone', async () => {
      await register(store);
      const stranger: Identity = { province: 'P1', enterprise: 'entA', sensor: 'ghost' };
      const wrongOwner: Identity = { province: 'P2', enterprise: 'entB', sensor: 'sensA' };
      const r = await store.ingest([
        message(stranger, 1, { alerts: alerts(stranger, 0, 2) }),
        message(wrongOwner, 7, { health: [healthItem(T0)] }),
        message(A, 3, { alerts: alerts(A, 0, 1) }),
      ]);
      expect(r.unregistered).toBe(2);
      expect(r.alertsInserted).toBe(3);
      expect(r.healthStored).toBe(1);
      const sensA = (await store.listSensors({ kind: 'all' })).find((s) => s.id === 'sensA');
      // The report that claimed sensA under another enterprise did not touch sensA's health.
      expect(sensA?.lastHealth).toBeNull();
      expect(sensA?.lastSeq).toBe(3);
      expect((await store.listSensors({ kind: 'all' })).map((s) => s.id)).not.toContain('ghost');
    });

    it("keeps each sensor's newest health report, last arrival and highest seq", async () => {
      await register(store);
      await store.ingest([
        message(
          A,
          5,
          { health: [healthItem(T0 + 2 * HOUR, 2000)] },
          { receivedAt: new Date(T0 + 2 * HOUR).toISOString() },
        ),
      ]);
      // An older report replayed later (and a lower seq) must not win.
      await store.ingest([
        message(A, 3, { health: [healthItem(T0 + HOUR, 1000)] }, { receivedAt: new Date(T0 + 3 * HOUR).toISOString() }),
      ]);
      let sensA = (await store.listSensors({ kind: 'all' }, { enterpriseId: 'entA' }))[0];
      expect(sensA?.lastHealth?.capture.packets).toBe(2000);
      expect(sensA?.lastSeenAt).toBe(new Date(T0 + 2 * HOUR).toISOString());
      expect(sensA?.lastSeq).toBe(5);
      await store.ingest([message(A, 9, { health: [healthItem(T0 + 4 * HOUR, 4000)] })]);
      sensA = (await store.listSensors({ kind: 'all' }, { enterpriseId: 'entA' }))[0];
      expect(sensA?.lastHealth?.capture.packets).toBe(4000);
      expect(sensA?.lastSeq).toBe(9);
    });

    it('upserts assets keeping the earliest firstSeen, the latest lastSeen and the newest record', async () => {
      await register(store);
      const ip = '10.1.1.1';
      await store.ingest([message(A, 1, { assets: [assetItem('sensA', ip, T0, T0 + 2 * HOUR, { vendor: 'new' })] })]);
      // An older report (earlier firstSeen, earlier lastSeen): extends firstSeen only.
      await store.ingest([message(A, 2, { assets: [assetItem('sensA', ip, T0 - DAY, T0 + HOUR, { vendor: 'old' })] })]);
      let [asset] = await store.listAssets({ kind: 'all' }, 'entA');
      expect(asset?.firstSeen).toBe(new Date(T0 - DAY).toISOString());
      expect(asset?.lastSeen).toBe(new Date(T0 + 2 * HOUR).toISOString());
      expect(asset?.record.identity).toEqual({ vendor: { value: 'new', evidence: 'szl 0x0011' } });
      // A newer one in one batch with an older one: the newer record wins regardless of order.
      await store.ingest([
        message(A, 3, {
          assets: [
            assetItem('sensA', ip, T0, T0 + 5 * HOUR, { vendor: 'newest', role: 'hmi' }),
            assetItem('sensA', ip, T0, T0 + 3 * HOUR, { vendor: 'older' }),
          ],
        }),
      ]);
      [asset] = await store.listAssets({ kind: 'all' }, 'entA');
      expect(asset?.record.identity).toEqual({ vendor: { value: 'newest', evidence: 'szl 0x0011' } });
      expect(asset?.role).toBe('hmi');
      expect(asset?.lastSeen).toBe(new Date(T0 + 5 * HOUR).toISOString());
      expect(asset?.firstSeen).toBe(new Date(T0 - DAY).toISOString());
    });

    it('applies the scope in every read method: an enterprise never sees another, a province only its own', async () => {
      await register(store);
      await store.ingest([...everything(A, 0), ...everything(B, 0), ...everything(C, 0)]);
      const onlyA: Scope = { kind: 'enterprises', enterprises: ['entA'] };
      const nothing: Scope = { kind: 'enterprises', enterprises: [] };
      const p1: Scope = { kind: 'province', province: 'P1' };
      const all: Scope = { kind: 'all' };
      const entOf = async (scope: Scope) => {
        const seen = {
          getEnterprise: (
            await Promise.all(['entA', 'entB', 'entC'].map((id) => store.getEnterprise(id, scope)))
          ).flatMap((e) => (e ? [e.id] : [])),
          listEnterprises: (await store.listEnterprises(scope)).map((e) => e.id),
          listSensors: [...new Set((await store.listSensors(scope)).map((s) => s.enterpriseId))],
          listAlerts: [...new Set((await allAlerts(store, scope)).map((a) => a.enterpriseId))].sort(),
          listAlertsForB: (await store.listAlerts(scope, { enterpriseId: 'entB' }, {})).items.map(
            (a) => a.enterpriseId,
          ),
          getAlert: [] as string[],
          aggregate: (await store.aggregate(scope, { by: 'enterprise' })).map((r) => r.key).sort(),
          aggregateCity: (await store.aggregate(scope, { by: 'city' })).map((r) => r.key).sort(),
          listAssets: (await Promise.all(['entA', 'entB', 'entC'].map((id) => store.listAssets(scope, id)))).flatMap(
            (list) => list.map((a) => a.enterpriseId),
          ),
          listAssetChanges: (
            await Promise.all(['entA', 'entB', 'entC'].map((id) => store.listAssetChanges(scope, id, {})))
          ).flatMap((p) => p.items.map((c) => c.enterpriseId)),
          traffic: (await store.trafficByProtocol(scope, {})).map((t) => t.pdus),
        };
        const everyAlert = await allAlerts(store, all);
        for (const a of everyAlert) {
          const got = await store.getAlert(scope, a.uid);
          if (got !== null && !seen.getAlert.includes(got.enterpriseId)) seen.getAlert.push(got.enterpriseId);
        }
        seen.getAlert.sort();
        return seen;
      };

      expect(await entOf(onlyA)).toEqual({
        getEnterprise: ['entA'],
        listEnterprises: ['entA'],
        listSensors: ['entA'],
        listAlerts: ['entA'],
        listAlertsForB: [],
        getAlert: ['entA'],
        aggregate: ['entA'],
        aggregateCity: ['Alpha'],
        listAssets: ['entA'],
        listAssetChanges: ['entA'],
        traffic: [10, 3],
      });
      expect(await entOf(p1)).toEqual({
        getEnterprise: ['entA', 'entC'],
        listEnterprises: ['entA', 'entC'],
        listSensors: ['entA', 'entC'],
        listAlerts: ['entA', 'entC'],
        listAlertsForB: [],
        getAlert: ['entA', 'entC'],
        aggregate: ['entA', 'entC'],
        aggregateCity: ['Alpha', 'Gamma'],
        listAssets: ['entA', 'entC'],
        listAssetChanges: ['entA', 'entC'],
        traffic: [20, 6],
      });
      expect(await entOf(nothing)).toEqual({
        getEnterprise: [],
        listEnterprises: [],
        listSensors: [],
        listAlerts: [],
        listAlertsForB: [],
        getAlert: [],
        aggregate: [],
        aggregateCity: [],
        listAssets: [],
        listAssetChanges: [],
        traffic: [],
      });
      const everything3 = await entOf(all);
      expect(everything3.listAlerts).toEqual(['entA', 'entB', 'entC']);
      expect(everything3.listAlertsForB).toEqual(['entB', 'entB', 'entB', 'entB', 'entB']);
      expect(everything3.traffic).toEqual([30, 9]);
      // A province scope is not fooled by an enterprise list elsewhere in the filter.
      expect((await store.listEnterprises({ kind: 'province', province: 'P2' })).map((e) => e.id)).toEqual(['entB']);
    });

    it('pages alerts newest first with opaque cursors, and applies every filter', async () => {
      await register(store);
      const levels: Level[] = ['low', 'medium', 'high', 'critical'];
      const items = Array.from({ length: 250 }, (_, i) =>
        alertItem({
          sensor: 'sensA',
          n: i,
          tsMs: T0 + i * 60_000,
          level: levels[i % 4] ?? 'low',
          rule: i % 5 === 0 ? 'opcua-none' : 'modbus-write',
          proto: i % 5 === 0 ? 'opcua' : 'modbus',
        }),
      );
      // Several calls, so uids come from different transactions too.
      for (let i = 0; i < 250; i += 50) await store.ingest([message(A, i + 1, { alerts: items.slice(i, i + 50) })]);
      await store.ingest([message(A, 999, { alerts: alerts(A, 1000, 3) }, { drill: true })]);

      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page: Awaited<ReturnType<CollectorStore['listAlerts']>> = await store.listAlerts(
          { kind: 'all' },
          {},
          cursor === null ? { limit: 100 } : { limit: 100, cursor },
        );
        pages++;
        seen.push(...page.items.map((a) => a.uid));
        cursor = page.nextCursor;
      } while (cursor !== null);
      expect(pages).toBe(3);
      expect(seen.length).toBe(250);
      expect(new Set(seen).size).toBe(250);
      expect([...seen].sort().reverse()).toEqual(seen);
      // Newest first = last ingested first.
      const newest = (await store.listAlerts({ kind: 'all' }, {}, { limit: 1 })).items[0];
      expect(newest?.eventId).toBe(items[249]?.id);
      expect(newest?.event).toEqual(items[249]);
      expect(newest?.ts).toBe(new Date(T0 + 249 * 60_000).toISOString());

      const count = async (filter: Parameters<CollectorStore['listAlerts']>[1]) =>
        (await allAlerts(store, { kind: 'all' }, filter)).length;
      expect(await count({ level: ['critical'] })).toBe(items.filter((a) => a.alert.rule.level === 'critical').length);
      const atLeastHigh = items.filter((a) => a.alert.rule.level === 'high' || a.alert.rule.level === 'critical');
      expect(await count({ minLevel: 'high' })).toBe(atLeastHigh.length);
      expect(atLeastHigh.length).toBeGreaterThan(0);
      // Both restrict: the intersection.
      expect(await count({ minLevel: 'high', level: ['low', 'critical'] })).toBe(
        items.filter((a) => a.alert.rule.level === 'critical').length,
      );
      expect(await count({ ruleId: 'opcua-none' })).toBe(50);
      expect(await count({ protocol: 'opcua' })).toBe(50);
      expect(await count({ sensorId: 'sensA' })).toBe(250);
      expect(await count({ sensorId: 'sensB' })).toBe(0);
      expect(
        await count({ from: new Date(T0 + 10 * 60_000).toISOString(), to: new Date(T0 + 20 * 60_000).toISOString() }),
      ).toBe(10);
      expect(await count({ includeDrill: true })).toBe(253);
      expect(await count({ drillOnly: true })).toBe(3);

      await expect(store.listAlerts({ kind: 'all' }, {}, { cursor: 'not-a-cursor' })).rejects.toBeInstanceOf(
        StoreInputError,
      );
      await expect(store.listAlerts({ kind: 'all' }, {}, { limit: 0 })).rejects.toBeInstanceOf(StoreInputError);
      await expect(store.listAlerts({ kind: 'all' }, { from: 'yesterday' }, {})).rejects.toBeInstanceOf(
        StoreInputError,
      );
      expect(await store.getAlert({ kind: 'all' }, 'no-such-uid')).toBeNull();
    });

    it('aggregates from the rollups exactly as counting the alerts does, for every grouping', async () => {
      await register(store);
      // A deterministic spread over 3 days, 3 enterprises, rules, levels and protocols.
      const ids = [A, B, C];
      const msgs: IngestMessage[] = [];
      let n = 0;
      for (let m = 0; m < 30; m++) {
        const id = ids[m % 3] ?? A;
        const items = Array.from({ length: 40 }, () => {
          n++;
          return alertItem({
            sensor: id.sensor,
            n,
            tsMs: T0 + ((n * 2_654_435_761) % (3 * DAY)),
            rule: `rule-${n % 7}`,
            level: LEVELS[n % 5] ?? 'low',
            proto: n % 3 === 0 ? 's7comm' : 'modbus',
          });
        });
        msgs.push(message(id, m + 1, { alerts: items }, { drill: m === 29 }));
      }
      for (let i = 0; i < msgs.length; i += 7) await store.ingest(msgs.slice(i, i + 7));
      await store.ingest(msgs.slice(3, 9)); // redelivery: must not count again

      const sqlKey: Record<Exclude<AggregateBy, 'city' | 'industry'>, string> = {
        day: 'ts_ms - (ts_ms % 86400000)',
        hour: 'ts_ms - (ts_ms % 3600000)',
        level: 'level',
        rule: 'rule_id',
        protocol: 'protocol',
        enterprise: 'enterprise_id',
      };
      for (const [by, expr] of Object.entries(sqlKey) as [keyof typeof sqlKey, string][]) {
        const direct = await db.query<{ key: string | number; n: number }>(
          `select ${expr} as key, count(*) as n from alerts where drill = 0 group by ${expr}`,
        );
        const expected = direct
          .map((r) => ({
            key:
              by === 'day'
                ? new Date(Number(r.key)).toISOString().slice(0, 10)
                : by === 'hour'
                  ? new Date(Number(r.key)).toISOString()
                  : String(r.key),
            count: Number(r.n),
          }))
          .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
        const got = [...(await store.aggregate({ kind: 'all' }, { by }))].sort((a, b) =>
          a.key < b.key ? -1 : a.key > b.key ? 1 : 0,
        );
        expect(got, by).toEqual(expected);
      }
      // Total of the non-drill alerts generated, independently of SQL.
      const total = (await store.aggregate({ kind: 'all' }, { by: 'level' })).reduce((s, r) => s + r.count, 0);
      expect(total).toBe(29 * 40);
      const drill = await store.aggregate({ kind: 'all' }, { by: 'enterprise', drillOnly: true });
      expect(drill).toEqual([{ key: 'entC', count: 40 }]);

      const byCity = await store.aggregate({ kind: 'province', province: 'P1' }, { by: 'city' });
      const cityDirect = await db.query<{ key: string; n: number }>(
        `select e.city as key, count(*) as n from alerts a join enterprises e on e.id = a.enterprise_id
         where a.drill = 0 and a.province = 'P1' group by e.city order by e.city`,
      );
      expect([...byCity].sort((a, b) => (a.key < b.key ? -1 : 1))).toEqual(
        cityDirect.map((r) => ({ key: r.key, count: Number(r.n) })),
      );
      const industry = await store.aggregate({ kind: 'all' }, { by: 'industry', minLevel: 'high' });
      const industryDirect = await db.query<{ key: string; n: number }>(
        `select e.industry as key, count(*) as n from alerts a join enterprises e on e.id = a.enterprise_id
         where a.drill = 0 and a.level in ('high', 'critical') group by e.industry`,
      );
      expect(Object.fromEntries(industry.map((r) => [r.key, r.count]))).toEqual(
        Object.fromEntries(industryDirect.map((r) => [r.key, Number(r.n)])),
      );

      // Hour-aligned bounds select exactly the alerts in [from, to).
      const from = T0 + DAY;
      const to = T0 + 2 * DAY;
      const ranged = await store.aggregate(
        { kind: 'enterprises', enterprises: ['entA', 'entB'] },
        { by: 'day', from: new Date(from).toISOString(), to: new Date(to).toISOString(), ruleId: 'rule-3' },
      );
      const rangedDirect = await db.query<{ n: number }>(
        `select count(*) as n from alerts where drill = 0 and rule_id = 'rule-3' and enterprise_id in ('entA', 'entB')
         and ts_ms >= ${from} and ts_ms < ${to}`,
      );
      expect(ranged.reduce((s, r) => s + r.count, 0)).toBe(Number(rangedDirect[0]?.n));
      expect(Number(rangedDirect[0]?.n)).toBeGreaterThan(0);

      // A store of schema version 2 (no daily rollups) gets them from its hourly rollups when migrated to 3.
      const byRule = await store.aggregate({ kind: 'all' }, { by: 'rule', includeDrill: true });
      await db.exec('drop table alert_daily');
      await db.exec('delete from schema_migrations where version = 3');
      await store.migrate();
      expect(await store.aggregate({ kind: 'all' }, { by: 'rule', includeDrill: true })).toEqual(byRule);
      expect(byRule.reduce((s, r) => s + r.count, 0)).toBe(30 * 40);

      // A province over whole UTC days (answered from the daily province rollups) and over hours (hourly rollups):
      // both equal counting the alerts.
      const dayFrom = T0 - (T0 % DAY) + DAY;
      for (const [lo, hi] of [
        [dayFrom, dayFrom + DAY],
        [dayFrom + 3 * HOUR, dayFrom + DAY],
      ] as const) {
        for (const by of ['day', 'level', 'rule', 'protocol'] as const) {
          const got = await store.aggregate(
            { kind: 'province', province: 'P1' },
            { by, from: new Date(lo).toISOString(), to: new Date(hi).toISOString(), minLevel: 'low' },
          );
          const direct = await db.query<{ n: number }>(
            `select count(*) as n from alerts where drill = 0 and province = 'P1' and level <> 'informational'
             and ts_ms >= ${lo - (lo % HOUR)} and ts_ms < ${hi}`,
          );
          expect(
            got.reduce((s, r) => s + r.count, 0),
            `${by} ${lo}`,
          ).toBe(Number(direct[0]?.n));
          expect(Number(direct[0]?.n)).toBeGreaterThan(0);
        }
      }
    });

    it('keeps the registry: updates, the duplicate-sensor refusal, bad input', async () => {
      const first = await store.upsertEnterprise(enterprise('entA', 'P1', { grade: 1 }));
      expect(first.grade).toBe(1);
      expect(first.contacts[0]?.name).toBe('张三');
      await new Promise((resolve) => setTimeout(resolve, 5));
      const second = await store.upsertEnterprise(
        enterprise('entA', 'P1', { grade: 3, name: '新名称', maintenanceWindows: ['Sun 00:00-04:00'] }),
      );
      expect(second.createdAt).toBe(first.createdAt);
      expect(second.updatedAt > first.updatedAt).toBe(true);
      expect(second).toMatchObject({ grade: 3, name: '新名称', maintenanceWindows: ['Sun 00:00-04:00'] });
      expect(await store.getEnterprise('entA', { kind: 'all' })).toEqual(second);
      await store.upsertEnterprise(enterprise('entB', 'P1', { city: 'X', industry: 'power', grade: 2 }));
      expect((await store.listEnterprises({ kind: 'all' }, { grade: 3 })).map((e) => e.id)).toEqual(['entA']);
      expect((await store.listEnterprises({ kind: 'all' }, { city: 'X', industry: 'power' })).map((e) => e.id)).toEqual(
        ['entB'],
      );

      const s = await store.upsertSensor({ id: 's1', enterpriseId: 'entA', name: 'line 1' });
      expect(s).toMatchObject({ id: 's1', enterpriseId: 'entA', province: 'P1', name: 'line 1', lastSeq: 0 });
      expect((await store.upsertSensor({ id: 's1', enterpriseId: 'entA', name: 'line one' })).name).toBe('line one');
      await expect(store.upsertSensor({ id: 's1', enterpriseId: 'entB' })).rejects.toThrow(
        /already registered to enterprise 'entA'/,
      );
      await expect(store.upsertSensor({ id: 's1', enterpriseId: 'entB' })).rejects.toBeInstanceOf(
        RegistryConflictError,
      );
      await expect(store.upsertSensor({ id: 's2', enterpriseId: 'nobody' })).rejects.toBeInstanceOf(
        RegistryConflictError,
      );
      await expect(store.upsertSensor({ id: 'bad.id', enterpriseId: 'entA' })).rejects.toBeInstanceOf(StoreInputError);
      await expect(
        store.upsertEnterprise({ ...enterprise('entZ', 'P1'), class: 'bank' as never }),
      ).rejects.toBeInstanceOf(StoreInputError);
      expect((await store.listSensors({ kind: 'all' })).map((x) => [x.id, x.enterpriseId])).toEqual([['s1', 'entA']]);
      // Moving an enterprise to another province moves its sensors' scope with it.
      await store.upsertEnterprise(enterprise('entA', 'P9'));
      expect((await store.listSensors({ kind: 'province', province: 'P9' })).map((x) => x.id)).toEqual(['s1']);
    });

    it('stores only the hash of a token secret; revoked or unknown secrets do not authenticate', async () => {
      const { token, secret } = await store.createToken({
        label: 'assessor 1',
        role: 'assessor',
        province: null,
        enterprises: ['entA', 'entC'],
      });
      expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(secret, 'base64url').length).toBe(32);
      const rows = await db.query<Record<string, unknown>>('select * from api_tokens');
      expect(JSON.stringify(rows)).not.toContain(secret);
      expect(rows[0]?.secret_hash).toBe(createHash('sha256').update(secret).digest('hex'));

      expect(await store.authenticate(secret)).toEqual(token);
      expect(await store.authenticate(`${secret}x`)).toBeNull();
      expect(await store.authenticate('')).toBeNull();
      const other = await store.createToken({
        label: 'admin',
        role: 'province-admin',
        province: 'P1',
        enterprises: [],
      });
      expect(other.secret).not.toBe(secret);

      expect(await store.revokeToken(token.id)).toBe(true);
      expect(await store.revokeToken(token.id)).toBe(false);
      expect(await store.revokeToken('unknown')).toBe(false);
      expect(await store.authenticate(secret)).toBeNull();
      expect((await store.authenticate(other.secret))?.role).toBe('province-admin');
      const list = await store.listTokens();
      expect(list.map((t) => [t.label, t.revokedAt === null])).toEqual([
        ['assessor 1', false],
        ['admin', true],
      ]);
      await expect(
        store.createToken({ label: 'x', role: 'root' as never, province: null, enterprises: [] }),
      ).rejects.toBeInstanceOf(StoreInputError);
      // Never a leading '-' or '_' (`--token SECRET` must parse on a command line): 1 draw in 32 would have one, so
      // 160 secrets without the redraw all passing has a chance of about 0.6 %.
      const more = await Promise.all(
        Array.from({ length: 160 }, (_, i) =>
          store.createToken({ label: `bulk ${i}`, role: 'province-analyst', province: 'P1', enterprises: [] }),
        ),
      );
      for (const m of more) expect(m.secret).toMatch(/^[A-Za-z0-9][A-Za-z0-9_-]{42}$/);
    });

    it('appends to the audit log and pages it newest first, filtered by enterprise and action', async () => {
      for (let i = 0; i < 7; i++) {
        await store.appendAudit({
          tokenId: `tok${i % 2}`,
          role: 'assessor',
          action: i % 3 === 0 ? 'inventory.pull' : 'alerts.list',
          enterpriseId: i % 2 === 0 ? 'entA' : null,
          detail: { i, note: '清单' },
        });
      }
      const first = await store.listAudit({ limit: 3 });
      expect(first.items.map((e) => e.detail['i'])).toEqual([6, 5, 4]);
      expect(first.nextCursor).not.toBeNull();
      const second = await store.listAudit({ limit: 3, cursor: first.nextCursor ?? '' });
      expect(second.items.map((e) => e.detail['i'])).toEqual([3, 2, 1]);
      const third = await store.listAudit({ limit: 3, cursor: second.nextCursor ?? '' });
      expect(third.items.map((e) => e.detail['i'])).toEqual([0]);
      expect(third.nextCursor).toBeNull();
      expect((await store.listAudit({}, { enterpriseId: 'entA' })).items.map((e) => e.detail['i'])).toEqual([
        6, 4, 2, 0,
      ]);
      const pulls = await store.listAudit({}, { action: 'inventory.pull' });
      expect(pulls.items.map((e) => [e.detail['i'], e.tokenId, e.enterpriseId])).toEqual([
        [6, 'tok0', 'entA'],
        [3, 'tok1', null],
        [0, 'tok0', 'entA'],
      ]);
      expect(pulls.items[0]?.detail['note']).toBe('清单');
    });

    it('applies retention by age: old alerts, changes, health and stats go; assets and rollups stay', async () => {
      await register(store);
      const old = T0 - 40 * DAY;
      const oldAlerts = Array.from({ length: 1200 }, (_, i) =>
        alertItem({ sensor: 'sensA', n: i, tsMs: old + i * 1000 }),
      );
      const newAlerts = alerts(A, 5000, 30);
      await store.ingest([
        message(A, 1, { alerts: oldAlerts }),
        message(A, 2, { alerts: newAlerts }),
        message(A, 3, {
          assets: [
            assetItem('sensA', '10.9.9.9', old, old + HOUR, { changeIds: ['old-change'] }),
            assetItem('sensA', '10.9.9.8', T0, T0 + HOUR, { changeIds: ['new-change'] }),
          ],
        }),
        message(A, 4, { health: [healthItem(old), healthItem(T0)] }),
        message(A, 5, {
          stats: [statsItem(old, old + 60_000, { modbus: 1 }), statsItem(T0, T0 + 60_000, { modbus: 2 })],
        }),
      ]);
      const aggBefore = await store.aggregate({ kind: 'all' }, { by: 'day' });
      const removed = await store.applyRetention(new Date(T0 - DAY).toISOString());
      // 1200 alerts + 1 change + 1 health + 1 stats report + its 1 traffic row.
      expect(removed).toBe(1204);
      const left = await allAlerts(store, { kind: 'all' });
      expect(left.length).toBe(30);
      expect(left.every((a) => Date.parse(a.ts) >= T0)).toBe(true);
      expect((await store.listAssets({ kind: 'all' }, 'entA')).map((a) => a.ip)).toEqual(['10.9.9.8', '10.9.9.9']);
      expect((await store.listAssetChanges({ kind: 'all' }, 'entA', {})).items.map((c) => c.event.id)).toEqual([
        'new-change',
      ]);
      expect(await store.trafficByProtocol({ kind: 'all' }, {})).toEqual([{ protocol: 'modbus', pdus: 2 }]);
      expect(await store.aggregate({ kind: 'all' }, { by: 'day' })).toEqual(aggBefore);
      expect(await store.applyRetention(new Date(T0 - DAY).toISOString())).toBe(0);
      await expect(store.applyRetention('not a time')).rejects.toBeInstanceOf(StoreInputError);
    });

    it('sums traffic per protocol over a period, leaving drill traffic out', async () => {
      await register(store);
      await store.ingest([
        message(A, 1, {
          stats: [
            statsItem(T0, T0 + 60_000, { modbus: 5, opcua: 1 }),
            statsItem(T0 + 60_000, T0 + 120_000, { modbus: 7 }),
            statsItem(T0 + DAY, T0 + DAY + 60_000, { s7comm: 100 }),
          ],
        }),
        message(A, 2, { stats: [statsItem(T0 + 5000, T0 + 6000, { modbus: 1000 })] }, { drill: true }),
        message(B, 1, { stats: [statsItem(T0, T0 + 60_000, { modbus: 50 })] }),
      ]);
      expect(
        await store.trafficByProtocol(
          { kind: 'all' },
          { enterpriseId: 'entA', from: new Date(T0).toISOString(), to: new Date(T0 + HOUR).toISOString() },
        ),
      ).toEqual([
        { protocol: 'modbus', pdus: 12 },
        { protocol: 'opcua', pdus: 1 },
      ]);
      expect(await store.trafficByProtocol({ kind: 'province', province: 'P2' }, {})).toEqual([
        { protocol: 'modbus', pdus: 50 },
      ]);
    });

    it('counts what it stores', async () => {
      await register(store);
      await store.ingest([...everything(A, 0), ...everything(B, 0)]);
      const stats = await store.stats();
      expect(stats).toMatchObject({ alerts: 10, assets: 2, enterprises: 3, sensors: 3 });
      expect(stats.bytes).toBeGreaterThan(0);
    });

    it('resolves alerts once, within scope, and filters and summarizes by resolution', async () => {
      await register(store);
      await store.ingest([
        message(A, 1, { alerts: alerts(A, 0, 4, { rule: 's7-stop', level: 'critical' }) }),
        message(A, 2, { alerts: alerts(A, 10, 3, { rule: 'modbus-write', level: 'medium' }) }),
        message(A, 3, { alerts: alerts(A, 20, 2, { rule: 's7-stop', level: 'critical' }) }, { drill: true }),
        message(B, 1, { alerts: alerts(B, 0, 2, { rule: 's7-stop', level: 'critical' }) }),
      ]);
      const critical = await allAlerts(store, { kind: 'all' }, { enterpriseId: 'entA', level: ['critical'] });
      expect(critical.length).toBe(4);
      expect(critical.every((a) => a.resolution === null)).toBe(true);
      const target = critical[0];
      if (target === undefined) throw new Error('no alert');
      // Another enterprise's or province's scope cannot resolve it.
      expect(await store.resolveAlert({ kind: 'enterprises', enterprises: ['entB'] }, target.uid, 'x', 'n')).toBeNull();
      expect(await store.resolveAlert({ kind: 'province', province: 'P2' }, target.uid, 'x', 'n')).toBeNull();
      const resolved = await store.resolveAlert(
        { kind: 'enterprises', enterprises: ['entA'] },
        target.uid,
        'operator-a',
        '已隔离工程师站',
      );
      expect(resolved?.resolution).toMatchObject({ resolvedBy: 'operator-a', note: '已隔离工程师站' });
      // The first resolution stands.
      const again = await store.resolveAlert({ kind: 'all' }, target.uid, 'someone-else', 'later');
      expect(again?.resolution).toEqual(resolved?.resolution);
      expect((await store.getAlert({ kind: 'all' }, target.uid))?.resolution?.resolvedBy).toBe('operator-a');
      const unresolved = await allAlerts(store, { kind: 'all' }, { level: ['critical'], unresolved: true });
      expect(unresolved.map((a) => a.uid).sort()).toEqual(
        [
          ...critical.slice(1).map((a) => a.uid),
          ...(await allAlerts(store, { kind: 'province', province: 'P2' })).map((a) => a.uid),
        ].sort(),
      );
      expect((await allAlerts(store, { kind: 'all' }, { unresolved: false })).map((a) => a.uid)).toEqual([target.uid]);
      await expect(store.resolveAlert({ kind: 'all' }, target.uid, '', 'n')).rejects.toBeInstanceOf(StoreInputError);

      const summary = await store.summarizeAlerts({ kind: 'province', province: 'P1' }, {});
      expect(
        summary.map((r) => [r.enterpriseId, r.ruleId, r.level, r.resolved, r.alerts, r.tags.includes('attack.t0836')]),
      ).toEqual([
        ['entA', 'modbus-write', 'medium', false, 3, true],
        ['entA', 's7-stop', 'critical', false, 3, true],
        ['entA', 's7-stop', 'critical', true, 1, true],
      ]);
      const stop = summary.find((r) => r.ruleId === 's7-stop' && !r.resolved);
      const openTimes = critical
        .slice(1)
        .map((a) => a.ts)
        .sort();
      expect(stop?.firstTs).toBe(openTimes[0]);
      expect(stop?.lastTs).toBe(openTimes[openTimes.length - 1]);
      expect(stop?.lastUid).toBe(critical.slice(1).sort((a, b) => (a.ts < b.ts ? 1 : -1))[0]?.uid);
      // Drill only, bucketed per 10 s, and the rule list.
      const drills = await store.summarizeAlerts({ kind: 'all' }, { drillOnly: true, bucketMs: 10_000 });
      expect(drills.map((r) => [r.enterpriseId, r.bucketStart, r.alerts])).toEqual([
        ['entA', new Date(T0 + 20_000).toISOString(), 2],
      ]);
      const buckets = await store.summarizeAlerts({ kind: 'all' }, { enterpriseId: 'entA', bucketMs: 2000 });
      expect(buckets.reduce((n, r) => n + r.alerts, 0)).toBe(7);
      expect(buckets.filter((r) => r.ruleId === 's7-stop').map((r) => r.bucketStart)).toEqual([
        new Date(T0).toISOString(),
        new Date(T0 + 2000).toISOString(),
        new Date(T0 + 2000).toISOString(),
      ]);
      expect(await store.summarizeAlerts({ kind: 'all' }, { ruleIds: [] })).toEqual([]);
      expect((await store.summarizeAlerts({ kind: 'all' }, { ruleIds: ['modbus-write'] })).length).toBe(1);
      await expect(store.summarizeAlerts({ kind: 'all' }, { bucketMs: 5 })).rejects.toBeInstanceOf(StoreInputError);
    });

    it('keeps risk score history: latest per enterprise, history by period, scope, retention keeps the newest', async () => {
      await register(store);
      const score = (enterpriseId: string, province: string, ms: number, value: number): RiskScore => ({
        enterpriseId,
        province,
        score: value,
        computedAt: new Date(ms).toISOString(),
        contributions: [
          { factor: 'alerts', points: value, weight: 40, detail: 'x', detailZh: '告警', measure: 1, evidence: [] },
        ],
      });
      expect(
        await store.insertRiskScores([
          score('entA', 'P1', T0 - 40 * DAY, 5),
          score('entA', 'P1', T0, 10),
          score('entA', 'P1', T0 + HOUR, 42.5),
          score('entB', 'P2', T0, 7),
          score('entC', 'P1', T0 - 40 * DAY, 3),
        ]),
      ).toBe(5);
      expect((await store.latestRiskScores({ kind: 'all' })).map((s) => [s.enterpriseId, s.score])).toEqual([
        ['entA', 42.5],
        ['entB', 7],
        ['entC', 3],
      ]);
      const [latestA] = await store.latestRiskScores({ kind: 'enterprises', enterprises: ['entA'] });
      expect(latestA?.contributions[0]?.detailZh).toBe('告警');
      expect((await store.latestRiskScores({ kind: 'province', province: 'P2' })).map((s) => s.enterpriseId)).toEqual([
        'entB',
      ]);
      const history = await store.riskHistory(
        { kind: 'all' },
        'entA',
        new Date(T0 - DAY).toISOString(),
        new Date(T0 + DAY).toISOString(),
      );
      expect(history.map((s) => s.score)).toEqual([10, 42.5]);
      expect((await store.riskHistory({ kind: 'all' }, 'entA')).length).toBe(3);
      expect(await store.riskHistory({ kind: 'province', province: 'P2' }, 'entA')).toEqual([]);
      await expect(store.insertRiskScores([score('entA', 'P1', T0, 101)])).rejects.toBeInstanceOf(StoreInputError);
      // Retention drops old history but never an enterprise's newest score (entC has only an old one).
      expect(await store.applyRetention(new Date(T0 - DAY).toISOString())).toBe(1);
      expect((await store.riskHistory({ kind: 'all' }, 'entA')).map((s) => s.score)).toEqual([10, 42.5]);
      expect((await store.riskHistory({ kind: 'all' }, 'entC')).map((s) => s.score)).toEqual([3]);
    });

    it('issues warnings idempotently across instances, scopes them to targets, and runs the lifecycle', async () => {
      await register(store);
      await store.upsertEnterprise(enterprise('entD', 'P1', { city: 'Alpha', industry: 'chemicals' }));
      const warning = (key: string, over: Partial<NewWarning> = {}): NewWarning => ({
        dedupeKey: key,
        ruleId: 'W-SPREAD',
        title: { zh: '同一技术多家企业出现', en: 'Same technique at several enterprises' },
        description: 'd',
        level: 'orange',
        province: 'P1',
        audience: { province: 'P1', industries: ['chemicals'] },
        targets: ['entD', 'entA'],
        facts: [{ kind: 'alert', enterpriseId: 'entA', text: 't', textZh: '事实', evidence: [], data: { n: 1 } }],
        issuedAt: new Date(T0).toISOString(),
        issuedBy: 'evaluator@test',
        drill: false,
        ...over,
      });
      const other = await db.open();
      try {
        const results = await Promise.all([
          store.issueWarning(warning('W-SPREAD|industry=chemicals|w1')),
          other.issueWarning(warning('W-SPREAD|industry=chemicals|w1')),
          store.issueWarning(warning('W-SPREAD|industry=chemicals|w1')),
        ]);
        expect(results.filter((r) => r.created).length).toBe(1);
        expect(new Set(results.map((r) => r.warning.id)).size).toBe(1);
      } finally {
        await other.close();
      }
      const rows = await db.query<{ n: number }>('select count(*) as n from warnings');
      expect(Number(rows[0]?.n)).toBe(1);
      const { warning: w } = await store.issueWarning(warning('W-SPREAD|industry=chemicals|w1'));
      expect(w).toMatchObject({ state: 'issued', level: 'orange', closedAt: null, drill: false });
      expect(w.targets.map((t) => [t.enterpriseId, t.ackAt])).toEqual([
        ['entA', null],
        ['entD', null],
      ]);
      expect(w.facts[0]?.textZh).toBe('事实');
      const second = await store.issueWarning(
        warning('W-GRADE|entC|w1', {
          ruleId: 'W-GRADE',
          level: 'red',
          targets: ['entC'],
          issuedAt: new Date(T0 + HOUR).toISOString(),
        }),
      );
      await store.issueWarning(warning('W-DRILL|entA', { targets: ['entA'], drill: true }));
      await store.issueWarning(
        warning('W-P2|entB', { province: 'P2', targets: ['entB'], audience: { province: 'P2' } }),
      );

      // Scope: an enterprise sees the warnings that target it; a province its own.
      const ids = async (scope: Scope, filter = {}) =>
        (await store.listWarnings(scope, filter, {})).items.map((x) => x.ruleId);
      expect(await ids({ kind: 'enterprises', enterprises: ['entA'] })).toEqual(['W-SPREAD']);
      expect(await ids({ kind: 'enterprises', enterprises: ['entC'] })).toEqual(['W-GRADE']);
      expect(await ids({ kind: 'enterprises', enterprises: [] })).toEqual([]);
      expect(await ids({ kind: 'province', province: 'P1' })).toEqual(['W-GRADE', 'W-SPREAD']);
      expect(await ids({ kind: 'province', province: 'P1' }, { includeDrill: true })).toEqual([
        'W-SPREAD',
        'W-GRADE',
        'W-SPREAD',
      ]);
      expect(await ids({ kind: 'all' }, { drillOnly: true })).toEqual(['W-SPREAD']);
      expect(await ids({ kind: 'province', province: 'P1' }, { level: 'red' })).toEqual(['W-GRADE']);
      expect(
        await ids({ kind: 'all' }, { from: new Date(T0 + 1).toISOString(), to: new Date(T0 + DAY).toISOString() }),
      ).toEqual(['W-GRADE']);
      const page1 = await store.listWarnings({ kind: 'all' }, {}, { limit: 2 });
      const page2 = await store.listWarnings({ kind: 'all' }, {}, { limit: 2, cursor: page1.nextCursor ?? '' });
      expect([...page1.items, ...page2.items].length).toBe(3);
      expect(page2.nextCursor).toBeNull();
      expect(await store.getWarning({ kind: 'enterprises', enterprises: ['entB'] }, w.id)).toBeNull();
      expect(await store.getWarning({ kind: 'province', province: 'P2' }, w.id)).toBeNull();
      expect((await store.getWarning({ kind: 'enterprises', enterprises: ['entD'] }, w.id))?.id).toBe(w.id);
      expect(await store.getWarning({ kind: 'all' }, 'not-a-uid')).toBeNull();

      // Lifecycle: each target acknowledges for itself; a non-target cannot; then the province closes.
      expect(await store.ackWarning({ kind: 'enterprises', enterprises: ['entC'] }, w.id, 'entC', 'c', 'n')).toBeNull();
      expect(await store.ackWarning({ kind: 'all' }, w.id, 'entC', 'c')).toBeNull();
      const a1 = await store.ackWarning({ kind: 'enterprises', enterprises: ['entA'] }, w.id, 'entA', 'tok-a', '收到');
      expect(a1?.state).toBe('issued');
      expect(a1?.targets.find((t) => t.enterpriseId === 'entA')).toMatchObject({ ackBy: 'tok-a', ackNote: '收到' });
      const a1again = await store.ackWarning({ kind: 'all' }, w.id, 'entA', 'someone-else');
      expect(a1again?.targets.find((t) => t.enterpriseId === 'entA')?.ackBy).toBe('tok-a');
      expect((await ids({ kind: 'all' }, { state: 'issued' })).length).toBe(3);
      const a2 = await store.ackWarning({ kind: 'enterprises', enterprises: ['entD'] }, w.id, 'entD', 'tok-d');
      expect(a2?.state).toBe('acknowledged');
      expect(a2?.targets.every((t) => t.ackAt !== null)).toBe(true);
      expect(await ids({ kind: 'all' }, { state: 'acknowledged' })).toEqual(['W-SPREAD']);
      expect(await store.closeWarning({ kind: 'province', province: 'P2' }, w.id, 'admin', 'x')).toBeNull();
      const closed = await store.closeWarning({ kind: 'province', province: 'P1' }, w.id, 'admin-p1', '处置完毕');
      expect(closed).toMatchObject({ state: 'closed', closedBy: 'admin-p1', closeNote: '处置完毕' });
      const closedAgain = await store.closeWarning({ kind: 'all' }, w.id, 'other', 'y');
      expect(closedAgain?.closedBy).toBe('admin-p1');
      expect(closedAgain?.closedAt).toBe(closed?.closedAt);
      expect((await store.closeWarning({ kind: 'all' }, second.warning.id, 'admin', 'z'))?.state).toBe('closed');
      await expect(store.issueWarning(warning('bad', { level: 'purple' as 'red' }))).rejects.toBeInstanceOf(
        StoreInputError,
      );
    });
  });
}
