/**
 * Sizing figure for docs/operations.md: how much the store grows per million alerts. Ingests N real alerts (the
 * bundled rules on the bundled sample capture, with their evidence, repeated with fresh ids over 200 enterprises)
 * into a fresh SQLite store (and a private PostgreSQL cluster when the server is installed), then reports bytes per
 * alert and the ingest rate.
 *
 *   node bin/run-ts.js scripts/measure-store-growth.ts [--alerts 100000]
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openStore } from '../collector/store/open.ts';
import type { CollectorStore, IngestMessage } from '../collector/store/types.ts';
import type { AlertItem } from '../protocols/wire/messages.ts';
import { loadRules } from '../rules/loader.ts';
import { alertEvent } from '../sensor/alerts.ts';
import { analyseFile } from '../sensor/analyse-file.ts';
import { postgresBinDir, startPostgres } from '../tests/support/postgres.ts';

const { values } = parseArgs({ options: { alerts: { type: 'string' } } });
const N = Number(values.alerts ?? 100_000);

const sample: AlertItem[] = [];
const loaded = await loadRules([]);
await analyseFile(join(import.meta.dirname, '../samples/plant-sample.pcap'), {
  sensorId: 's0',
  rules: loaded.set,
  events: { emit() {} },
  alerts: { alert: (a) => sample.push(alertEvent(a, 's0') as unknown as AlertItem) },
});

function batches(): IngestMessage[][] {
  const out: IngestMessage[][] = [];
  let seq = 0;
  for (let i = 0; i < N; i += 500) {
    const group: IngestMessage[] = [];
    const alerts: AlertItem[] = [];
    for (let j = i; j < Math.min(N, i + 500); j++) {
      const a = sample[j % sample.length] as AlertItem;
      alerts.push({ ...a, sensor: `s${j % 200}`, id: `${a.id}#${j}` });
    }
    // One message per sensor in this slice.
    const bySensor = new Map<string, AlertItem[]>();
    for (const a of alerts) bySensor.set(a.sensor, [...(bySensor.get(a.sensor) ?? []), a]);
    for (const [sensor, items] of bySensor) {
      group.push({
        province: 'gd',
        enterprise: `e${sensor.slice(1)}`,
        sensor,
        seq: ++seq,
        drill: false,
        receivedAt: new Date().toISOString(),
        kind: 'alert',
        alerts: items,
      });
    }
    out.push(group);
  }
  return out;
}

async function measure(name: string, store: CollectorStore, size: () => Promise<number>): Promise<void> {
  await store.migrate();
  const before = await size();
  const t0 = performance.now();
  for (const group of batches()) await store.ingest(group);
  const sec = (performance.now() - t0) / 1000;
  const after = await size();
  const perAlert = (after - before) / N;
  process.stdout.write(
    `${name}: ${N} alerts in ${sec.toFixed(1)} s (${Math.round(N / sec)} alerts/s); store grew ${((after - before) / 1e6).toFixed(1)} MB = ${Math.round(perAlert)} bytes/alert = ${((perAlert * 1e6) / 1e9).toFixed(2)} GB per million alerts\n`,
  );
}

const dir = mkdtempSync(join(tmpdir(), 'otwatch-growth-'));
try {
  const path = join(dir, 'c.db');
  const sqlite = await openStore(`sqlite:${path}`);
  const fileSize = async () => {
    let n = 0;
    for (const f of [path, `${path}-wal`]) {
      try {
        n += statSync(f).size;
      } catch {
        // no WAL yet
      }
    }
    return n;
  };
  await measure('sqlite', sqlite, fileSize);
  await sqlite.close();
  if (postgresBinDir() !== null) {
    const pg = await startPostgres();
    try {
      const url = await pg.createDatabase();
      const store = await openStore(url);
      await measure('postgres', store, async () => (await store.stats()).bytes);
      await store.close();
    } finally {
      await pg.dispose();
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
