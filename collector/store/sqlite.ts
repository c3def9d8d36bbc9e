/**
 * The embedded store: one SQLite file in WAL mode, written by a worker thread (sqlite-writer.ts) that owns the only
 * read-write connection, read on the calling thread through a read-only connection. A long ingest transaction in
 * the worker does not block the API's reads (WAL readers see the last committed state), and the event loop never
 * waits on a commit.
 *
 * Durability: `synchronous = FULL` by default. In WAL mode FULL fsyncs the log at every commit, so when `ingest()`
 * resolves the alerts survive a power loss or kernel crash, which is what "acknowledge only after the write is
 * durable" needs. NORMAL fsyncs only at checkpoints: still safe against a collector crash, but the last commits
 * can be lost on power loss (JetStream would then have dropped messages it believes were stored). The cost of FULL
 * is one fsync per transaction, shared by every ingest call the writer groups into it.
 */
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { reviveStoreError } from './errors.ts';
import { type PreparedIngest, packAlerts, prepareIngest } from './ingest-rows.ts';
import { KyselyStore } from './kysely-store.ts';
import type { Database as Tables } from './schema.ts';
import type { WriterConfig, WriterMethod, WriterReply, WriterRequest } from './sqlite-writer.ts';
import { withStatementCache } from './statement-cache.ts';
import type {
  AggregateQuery,
  AggregateRow,
  AlertFilter,
  AlertSummaryQuery,
  AlertSummaryRow,
  ApiToken,
  AuditEntry,
  CollectorStore,
  Enterprise,
  IngestMessage,
  IngestResult,
  NewWarning,
  Page,
  PageResult,
  RiskScore,
  Scope,
  Sensor,
  StoredAlert,
  StoredAsset,
  StoredAssetChange,
  StoreStats,
  WarningFilter,
  WarningRecord,
} from './types.ts';

export interface SqliteStoreOptions {
  /** `full` (default): every commit is on disk before ingest resolves. `normal`: faster, loses commits on power loss. */
  synchronous?: 'full' | 'normal';
  /** How long a connection waits for another's lock (ms, default 30000): migrations of a second instance wait. */
  busyTimeoutMs?: number;
  /** Ingest calls grouped into one transaction at most (default 64). */
  maxGroup?: number;
  /** Rows deleted per retention transaction (default 5000). */
  retentionChunk?: number;
}

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

export class SqliteStore implements CollectorStore {
  readonly backend = 'sqlite' as const;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private failure: Error | null = null;
  private closed = false;

  private constructor(
    private readonly worker: Worker,
    private readonly reader: KyselyStore,
  ) {
    worker.on('message', (message: WriterReply) => {
      if (!('id' in message)) return;
      const p = this.pending.get(message.id);
      if (p === undefined) return;
      this.pending.delete(message.id);
      this.refWorker();
      if (message.ok) p.resolve(message.value);
      else p.reject(reviveStoreError(message.name, message.message));
    });
    const die = (error: Error): void => {
      this.failure = error;
      for (const p of this.pending.values()) p.reject(error);
      this.pending.clear();
    };
    worker.on('error', (error) => die(new Error(`SQLite writer failed: ${error.message}`)));
    worker.on('exit', (code) => {
      if (!this.closed) die(new Error(`SQLite writer exited (code ${code})`));
    });
    this.refWorker();
  }

  /** Opens (creating if needed) the database file; call `migrate()` before use. */
  static async open(path: string, options: SqliteStoreOptions = {}): Promise<SqliteStore> {
    const config: WriterConfig = {
      entry: new URL('./sqlite-writer.ts', import.meta.url).href,
      path,
      synchronous: options.synchronous ?? 'full',
      busyTimeoutMs: options.busyTimeoutMs ?? 30_000,
      maxGroup: options.maxGroup ?? 64,
      retentionChunk: options.retentionChunk ?? 5000,
    };
    const worker = new Worker(new URL('./sqlite-writer-boot.mjs', import.meta.url), { workerData: config });
    await new Promise<void>((resolve, reject) => {
      const onMessage = (message: WriterReply): void => {
        if ('type' in message && message.type === 'ready') {
          cleanup();
          resolve();
        } else if ('type' in message && message.type === 'fatal') {
          cleanup();
          reject(new Error(`cannot open SQLite store '${path}': ${message.message}`));
        }
      };
      const onError = (error: Error): void => {
        cleanup();
        reject(new Error(`cannot start the SQLite writer: ${error.message}`));
      };
      const cleanup = (): void => {
        worker.off('message', onMessage);
        worker.off('error', onError);
      };
      worker.on('message', onMessage);
      worker.on('error', onError);
    }).catch(async (error: unknown) => {
      await worker.terminate();
      throw error;
    });
    // The writer created the file and switched it to WAL (a persistent property of the file) before 'ready'.
    const connection = new Database(path, { readonly: true, fileMustExist: true });
    connection.pragma(`busy_timeout = ${config.busyTimeoutMs}`);
    const db = new Kysely<Tables>({ dialect: new SqliteDialect({ database: withStatementCache(connection) }) });
    // Kysely opens the dialect lazily; closing must still close the connection if no read ever ran.
    const reader = new KyselyStore(db, 'sqlite', {
      onClose: async () => {
        await db.destroy();
        if (connection.open) connection.close();
      },
    });
    return new SqliteStore(worker, reader);
  }

  /** The worker keeps the process alive only while a write is in flight (an idle open store does not). */
  private refWorker(): void {
    if (this.pending.size > 0) this.worker.ref();
    else this.worker.unref();
  }

  private async write<T>(method: WriterMethod, ...args: unknown[]): Promise<T> {
    return await this.send<T>(method, args, []);
  }

  /** Sends a request to the writer; the buffers in `transfer` are moved to it, not copied (unusable here after). */
  private async send<T>(method: WriterMethod, args: unknown[], transfer: ArrayBuffer[]): Promise<T> {
    if (this.failure !== null) throw this.failure;
    if (this.closed) throw new Error('store is closed');
    const id = this.nextId++;
    const reply = new Promise<unknown>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    this.refWorker();
    this.worker.postMessage({ id, method, args } satisfies WriterRequest, transfer);
    return (await reply) as T;
  }

  async migrate(): Promise<void> {
    await this.write('migrate');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.failure === null) await this.write('close').catch(() => undefined);
    this.closed = true;
    await this.worker.terminate();
    await this.reader.close();
  }

  async ingest(messages: IngestMessage[]): Promise<IngestResult> {
    // Rows are built here, not in the writer: flat rows of strings and numbers cross to the worker thread far more
    // cheaply than the nested alert objects (their structured clone cost more than the insert itself).
    const [result] = await this.ingestPrepared(prepareIngest([messages], Date.now()));
    if (result === undefined) throw new Error('the writer returned no ingest result');
    return result;
  }

  async ingestPrepared(prepared: PreparedIngest): Promise<IngestResult[]> {
    // The alerts travel packed by column, their events and numbers in transferred buffers (packAlerts says why).
    const alerts = packAlerts(prepared);
    return await this.send('ingest', [prepared, alerts], [
      alerts.events.buffer,
      alerts.eventEnds.buffer,
      alerts.numbers.buffer,
      alerts.requests.buffer,
    ] as ArrayBuffer[]);
  }

  async upsertEnterprise(e: Omit<Enterprise, 'createdAt' | 'updatedAt'>): Promise<Enterprise> {
    return await this.write('upsertEnterprise', e);
  }

  async getEnterprise(id: string, scope: Scope): Promise<Enterprise | null> {
    return await this.reader.getEnterprise(id, scope);
  }

  async listEnterprises(
    scope: Scope,
    filter?: { city?: string; industry?: string; grade?: number },
  ): Promise<Enterprise[]> {
    return await this.reader.listEnterprises(scope, filter);
  }

  async upsertSensor(s: { id: string; enterpriseId: string; name?: string }): Promise<Sensor> {
    return await this.write('upsertSensor', s);
  }

  async listSensors(scope: Scope, filter?: { enterpriseId?: string }): Promise<Sensor[]> {
    return await this.reader.listSensors(scope, filter);
  }

  async listAlerts(scope: Scope, filter: AlertFilter, page: Page): Promise<PageResult<StoredAlert>> {
    return await this.reader.listAlerts(scope, filter, page);
  }

  async getAlert(scope: Scope, uid: string): Promise<StoredAlert | null> {
    return await this.reader.getAlert(scope, uid);
  }

  async resolveAlert(scope: Scope, uid: string, by: string, note: string): Promise<StoredAlert | null> {
    return await this.write('resolveAlert', scope, uid, by, note);
  }

  async summarizeAlerts(scope: Scope, query: AlertSummaryQuery): Promise<AlertSummaryRow[]> {
    return await this.reader.summarizeAlerts(scope, query);
  }

  async listAllAssets(scope: Scope): Promise<StoredAsset[]> {
    return await this.reader.listAllAssets(scope);
  }

  async insertRiskScores(scores: RiskScore[]): Promise<number> {
    return await this.write('insertRiskScores', scores);
  }

  async latestRiskScores(scope: Scope): Promise<RiskScore[]> {
    return await this.reader.latestRiskScores(scope);
  }

  async riskHistory(scope: Scope, enterpriseId: string, from?: string, to?: string): Promise<RiskScore[]> {
    return await this.reader.riskHistory(scope, enterpriseId, from, to);
  }

  async issueWarning(w: NewWarning): Promise<{ warning: WarningRecord; created: boolean }> {
    return await this.write('issueWarning', w);
  }

  async listWarnings(scope: Scope, filter: WarningFilter, page: Page): Promise<PageResult<WarningRecord>> {
    return await this.reader.listWarnings(scope, filter, page);
  }

  async getWarning(scope: Scope, id: string): Promise<WarningRecord | null> {
    return await this.reader.getWarning(scope, id);
  }

  async ackWarning(
    scope: Scope,
    id: string,
    enterpriseId: string,
    by: string,
    note?: string,
  ): Promise<WarningRecord | null> {
    return await this.write('ackWarning', scope, id, enterpriseId, by, note);
  }

  async closeWarning(scope: Scope, id: string, by: string, note: string): Promise<WarningRecord | null> {
    return await this.write('closeWarning', scope, id, by, note);
  }

  async aggregate(scope: Scope, query: AggregateQuery): Promise<AggregateRow[]> {
    return await this.reader.aggregate(scope, query);
  }

  async listAssets(scope: Scope, enterpriseId: string): Promise<StoredAsset[]> {
    return await this.reader.listAssets(scope, enterpriseId);
  }

  async listAssetChanges(scope: Scope, enterpriseId: string, page: Page): Promise<PageResult<StoredAssetChange>> {
    return await this.reader.listAssetChanges(scope, enterpriseId, page);
  }

  async trafficByProtocol(
    scope: Scope,
    filter: { enterpriseId?: string; from?: string; to?: string },
  ): Promise<{ protocol: string; pdus: number }[]> {
    return await this.reader.trafficByProtocol(scope, filter);
  }

  async createToken(t: Omit<ApiToken, 'id' | 'createdAt' | 'revokedAt'>): Promise<{ token: ApiToken; secret: string }> {
    return await this.write('createToken', t);
  }

  async authenticate(secret: string): Promise<ApiToken | null> {
    return await this.reader.authenticate(secret);
  }

  async revokeToken(id: string): Promise<boolean> {
    return await this.write('revokeToken', id);
  }

  async listTokens(): Promise<ApiToken[]> {
    return await this.reader.listTokens();
  }

  async appendAudit(entry: Omit<AuditEntry, 'id' | 'at'>): Promise<void> {
    await this.write('appendAudit', entry);
  }

  async listAudit(page: Page, filter?: { enterpriseId?: string; action?: string }): Promise<PageResult<AuditEntry>> {
    return await this.reader.listAudit(page, filter);
  }

  async applyRetention(before: string): Promise<number> {
    return await this.write('applyRetention', before);
  }

  async stats(): Promise<StoreStats> {
    return await this.reader.stats();
  }
}

export async function openSqliteStore(path: string, options: SqliteStoreOptions = {}): Promise<SqliteStore> {
  return await SqliteStore.open(path, options);
}
