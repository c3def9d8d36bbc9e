/**
 * Load measurements on both backends: ingest throughput (batches of 500 alerts, a few calls in flight, as the
 * JetStream consumer would drive it) and the latency of an enterprise's latest-alerts page read on the calling
 * thread *while* that ingest runs. Figures are printed (docs/store.md records them); the assertions check that every
 * alert was stored exactly once and that each read returned a correct page — no timing thresholds, the machine is
 * shared.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PostgresHandle, startPostgres } from '../../tests/support/postgres.ts';
import { openPostgresStore } from './postgres.ts';
import { openSqliteStore } from './sqlite.ts';
import { alertItem, enterprise, message } from './store-fixtures.ts';
import type { CollectorStore, Level } from './types.ts';

const ENTERPRISES = 200;
const BATCH = 500;
const IN_FLIGHT = 4;
const LEVELS: Level[] = ['low', 'medium', 'high', 'critical'];

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

interface LoadFigures {
  alerts: number;
  seconds: number;
  alertsPerSecond: number;
  reads: number;
  readP50Ms: number;
  readP95Ms: number;
  idleP50Ms: number;
  idleP95Ms: number;
  eventLoopP95Ms: number;
}

async function runLoad(store: CollectorStore, total: number): Promise<LoadFigures> {
  for (let e = 0; e < ENTERPRISES; e++) {
    await store.upsertEnterprise(enterprise(`e${e}`, `P${e % 2}`, { city: `c${e % 10}` }));
    await store.upsertSensor({ id: `s${e}`, enterpriseId: `e${e}` });
  }
  const t0 = Date.UTC(2026, 0, 1);
  const batches = total / BATCH;
  let next = 0;
  const makeBatch = (b: number) => {
    const e = b % ENTERPRISES;
    const items = Array.from({ length: BATCH }, (_, i) => {
      const n = b * BATCH + i;
      return alertItem({ sensor: `s${e}`, n, tsMs: t0 + n * 50, rule: `r${n % 25}`, level: LEVELS[n % 4] ?? 'low' });
    });
    return message({ province: `P${e % 2}`, enterprise: `e${e}`, sensor: `s${e}` }, b + 1, { alerts: items });
  };

  const reader = async (until: () => boolean): Promise<number[]> => {
    const latencies: number[] = [];
    const scope = { kind: 'enterprises' as const, enterprises: ['e7'] };
    while (!until()) {
      const t = performance.now();
      const page = await store.listAlerts(scope, {}, { limit: 50 });
      latencies.push(performance.now() - t);
      // Correct page: only e7's alerts, newest first.
      if (page.items.some((a) => a.enterpriseId !== 'e7')) throw new Error('scope leak under load');
      for (let i = 1; i < page.items.length; i++) {
        if ((page.items[i - 1]?.uid ?? '') <= (page.items[i]?.uid ?? '')) throw new Error('page not newest first');
      }
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    return latencies;
  };

  let done = false;
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  const start = performance.now();
  let inserted = 0;
  const writers = Array.from({ length: IN_FLIGHT }, async () => {
    while (next < batches) {
      const b = next++;
      const result = await store.ingest([makeBatch(b)]);
      inserted += result.alertsInserted;
    }
  });
  const readsDuring = reader(() => done);
  await Promise.all(writers);
  const seconds = (performance.now() - start) / 1000;
  done = true;
  const during = (await readsDuring).sort((a, b) => a - b);
  loop.disable();

  let idleDone = false;
  const idleReads = reader(() => idleDone);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  idleDone = true;
  const idle = (await idleReads).sort((a, b) => a - b);

  expect(inserted).toBe(total);
  expect((await store.stats()).alerts).toBe(total);
  const perEnterprise = await store.aggregate({ kind: 'all' }, { by: 'enterprise' });
  expect(perEnterprise.reduce((s, r) => s + r.count, 0)).toBe(total);
  expect(during.length).toBeGreaterThan(0);

  return {
    alerts: total,
    seconds: Math.round(seconds * 10) / 10,
    alertsPerSecond: Math.round(total / seconds),
    reads: during.length,
    readP50Ms: Math.round(percentile(during, 50) * 100) / 100,
    readP95Ms: Math.round(percentile(during, 95) * 100) / 100,
    idleP50Ms: Math.round(percentile(idle, 50) * 100) / 100,
    idleP95Ms: Math.round(percentile(idle, 95) * 100) / 100,
    eventLoopP95Ms: Math.round((loop.percentile(95) / 1e6) * 100) / 100,
  };
}

describe('store under load', () => {
  let dir: string;
  let server: PostgresHandle;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'otwatch-load-'));
    server = await startPostgres();
  });

  afterAll(async () => {
    await server?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('SQLite: 200k alerts ingested by the writer worker while the main thread reads', async () => {
    const store = await openSqliteStore(join(dir, 'load.db'));
    try {
      await store.migrate();
      const figures = await runLoad(store, 200_000);
      console.log(`sqlite load: ${JSON.stringify(figures)}`);
    } finally {
      await store.close();
    }
  }, 600_000);

  it('PostgreSQL: 100k alerts ingested while reading', async () => {
    const store = await openPostgresStore(await server.createDatabase());
    try {
      await store.migrate();
      const figures = await runLoad(store, 100_000);
      console.log(`postgres load: ${JSON.stringify(figures)}`);
    } finally {
      await store.close();
    }
  }, 600_000);
});
