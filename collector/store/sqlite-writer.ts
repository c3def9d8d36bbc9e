/**
 * The SQLite writer, run in a worker thread (sqlite.ts starts it): it owns the only read-write connection and
 * executes every write of the store, so the main thread — the API — never waits on a commit or an fsync and reads
 * through its own read-only connection (WAL readers are not blocked by the writer).
 *
 * Requests are handled in arrival order. Ingest calls that queued up while the previous commit ran are grouped into
 * one transaction (one commit, one fsync for all of them), each still answered with its own result: under load the
 * commit cost is shared, with no added latency when idle.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { concatPrepared, type PackedAlerts, type PreparedIngest, unpackAlerts } from './ingest-rows.ts';
import { KyselyStore } from './kysely-store.ts';
import type { Database as Tables } from './schema.ts';
import { sqliteRowWriter } from './sqlite-rows.ts';
import { withStatementCache } from './statement-cache.ts';
import type { Scope } from './types.ts';

export interface WriterConfig {
  entry: string;
  path: string;
  synchronous: 'full' | 'normal';
  busyTimeoutMs: number;
  maxGroup: number;
  retentionChunk: number;
}

export type WriterMethod =
  | 'migrate'
  | 'ingest'
  | 'upsertEnterprise'
  | 'upsertSensor'
  | 'createToken'
  | 'revokeToken'
  | 'appendAudit'
  | 'applyRetention'
  | 'resolveAlert'
  | 'insertRiskScores'
  | 'issueWarning'
  | 'ackWarning'
  | 'closeWarning'
  | 'close';

export interface WriterRequest {
  id: number;
  method: WriterMethod;
  args: unknown[];
}

export type WriterReply =
  | { type: 'ready' }
  | { type: 'fatal'; message: string }
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; name: string; message: string };

const port = parentPort;
if (port === null) throw new Error('sqlite-writer.ts must run in a worker thread');
const config = workerData as WriterConfig;

let store: KyselyStore;
try {
  const connection = new Database(config.path);
  // busy_timeout first: another instance may hold the lock while it switches the file to WAL or migrates.
  connection.pragma(`busy_timeout = ${Math.max(0, Math.floor(config.busyTimeoutMs))}`);
  // 16 KiB pages for a new store (an existing file keeps its page size): an alert row is about 2 kB with its
  // evidence, and with 4 KiB pages each commit and checkpoint handled four times as many pages for the same
  // bytes. Measured on the ingest path: commit CPU per alert 11.4 → 5.9 µs. Must precede WAL, which fixes it.
  connection.pragma('page_size = 16384');
  connection.pragma('journal_mode = WAL');
  connection.pragma(`synchronous = ${config.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
  connection.pragma('foreign_keys = ON');
  // Ingest rewrites the same index pages (one insertion point per enterprise in each per-enterprise index) in every
  // transaction. A 64 MiB page cache keeps them in memory, and checkpointing every 64 MiB of WAL instead of SQLite's
  // 4 MiB copies each hot page into the database file once per checkpoint rather than once per transaction
  // (about 25 % less writer CPU in the store benchmark). Durability is unchanged: commits still fsync the WAL.
  connection.pragma('cache_size = -65536');
  connection.pragma('wal_autocheckpoint = 16384');
  const db = new Kysely<Tables>({ dialect: new SqliteDialect({ database: withStatementCache(connection) }) });
  store = new KyselyStore(db, 'sqlite', {
    retentionChunk: config.retentionChunk,
    sqliteRows: sqliteRowWriter(connection),
  });
  port.postMessage({ type: 'ready' } satisfies WriterReply);
} catch (error) {
  port.postMessage({ type: 'fatal', message: (error as Error).message } satisfies WriterReply);
  throw error;
}

const queue: WriterRequest[] = [];
let running = false;
/** Retention runs in progress (close waits for them). */
const background = new Set<Promise<void>>();

function reply(message: WriterReply): void {
  port?.postMessage(message);
}

function fail(id: number, error: unknown): void {
  const e = error instanceof Error ? error : new Error(String(error));
  reply({ id, ok: false, name: e.name, message: e.message });
}

async function call(request: WriterRequest): Promise<unknown> {
  const a = request.args;
  switch (request.method) {
    case 'migrate':
      return await store.migrate();
    case 'upsertEnterprise':
      return await store.upsertEnterprise(a[0] as Parameters<KyselyStore['upsertEnterprise']>[0]);
    case 'upsertSensor':
      return await store.upsertSensor(a[0] as Parameters<KyselyStore['upsertSensor']>[0]);
    case 'createToken':
      return await store.createToken(a[0] as Parameters<KyselyStore['createToken']>[0]);
    case 'revokeToken':
      return await store.revokeToken(a[0] as string);
    case 'appendAudit':
      return await store.appendAudit(a[0] as Parameters<KyselyStore['appendAudit']>[0]);
    case 'applyRetention':
      return await store.applyRetention(a[0] as string);
    case 'resolveAlert':
      return await store.resolveAlert(a[0] as Scope, a[1] as string, a[2] as string, a[3] as string);
    case 'insertRiskScores':
      return await store.insertRiskScores(a[0] as Parameters<KyselyStore['insertRiskScores']>[0]);
    case 'issueWarning':
      return await store.issueWarning(a[0] as Parameters<KyselyStore['issueWarning']>[0]);
    case 'ackWarning':
      return await store.ackWarning(
        a[0] as Scope,
        a[1] as string,
        a[2] as string,
        a[3] as string,
        a[4] as string | undefined,
      );
    case 'closeWarning':
      return await store.closeWarning(a[0] as Scope, a[1] as string, a[2] as string, a[3] as string);
    case 'close':
      return await store.close();
    default:
      throw new Error(`unknown writer method '${request.method}'`);
  }
}

/** An ingest request's rows, with the alerts that crossed packed put back (once). */
function preparedOf(request: WriterRequest): PreparedIngest {
  const prepared = request.args[0] as PreparedIngest;
  const packed = request.args[1] as PackedAlerts | undefined;
  if (packed !== undefined) {
    unpackAlerts(prepared, packed);
    request.args[1] = undefined;
  }
  return prepared;
}

async function drain(): Promise<void> {
  running = true;
  while (queue.length > 0) {
    const first = queue[0];
    if (first === undefined) break;
    if (first.method === 'ingest') {
      let n = 0;
      while (n < queue.length && n < config.maxGroup && queue[n]?.method === 'ingest') n++;
      const group = queue.splice(0, n);
      try {
        // The merged batch returns one result per ingest call it was prepared from, in order: each request gets
        // back the results of its own calls.
        const prepared = group.map(preparedOf);
        const results = await store.ingestPrepared(concatPrepared(prepared));
        let at = 0;
        group.forEach((r, i) => {
          const calls = prepared[i]?.requests ?? 0;
          reply({ id: r.id, ok: true, value: results.slice(at, at + calls) });
          at += calls;
        });
      } catch (error) {
        // One bad call must not fail the others grouped with it: retry each in its own transaction.
        if (group.length === 1) fail(group[0]?.id ?? -1, error);
        else {
          for (const r of group) {
            try {
              reply({ id: r.id, ok: true, value: await store.ingestPrepared(preparedOf(r)) });
            } catch (single) {
              fail(r.id, single);
            }
          }
        }
      }
    } else if (first.method === 'applyRetention') {
      // Not awaited: retention deletes in short transactions and the connection's mutex lets the ingest
      // transactions queued meanwhile run between its chunks, so a large purge does not stall ingest.
      queue.shift();
      const job = call(first).then(
        (value) => reply({ id: first.id, ok: true, value }),
        (error: unknown) => fail(first.id, error),
      );
      background.add(job);
      void job.finally(() => background.delete(job));
    } else {
      queue.shift();
      if (first.method === 'close') await Promise.allSettled([...background]);
      try {
        reply({ id: first.id, ok: true, value: await call(first) });
      } catch (error) {
        fail(first.id, error);
      }
      if (first.method === 'close') {
        port?.close();
        return;
      }
    }
    // Let requests that arrived during this transaction reach the queue so the next one can group them.
    await new Promise((resolve) => setImmediate(resolve));
  }
  running = false;
}

port.on('message', (request: WriterRequest) => {
  queue.push(request);
  if (!running) void drain();
});
