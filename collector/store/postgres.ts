/**
 * The multi-instance store: PostgreSQL through a `pg` pool. Several collector instances may share one database:
 * ingest is idempotent per event, rows are locked in sorted order (no deadlocks between instances), and migrations
 * run under an advisory lock. A commit returns after the WAL is flushed (the server's default
 * `synchronous_commit = on`), so `ingest()` resolving means the write is durable.
 */
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { KyselyStore } from './kysely-store.ts';
import type { Database } from './schema.ts';

export interface PostgresStoreOptions {
  /** Pool size (default 10). */
  maxConnections?: number;
  /** Rows deleted per retention transaction (default 5000). */
  retentionChunk?: number;
}

const INT8_OID = 20;
const NUMERIC_OID = 1700;

/**
 * `bigint` columns (millisecond times, counters) and `sum()` results come back from `pg` as strings by default;
 * every value we store fits a double exactly (times until year 287396, counts below 2^53), so parse them as numbers.
 * Set per pool, not globally, so other `pg` users in the process are unaffected.
 */
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID || oid === NUMERIC_OID) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format ?? 'text');
  },
};

export async function openPostgresStore(url: string, options: PostgresStoreOptions = {}): Promise<KyselyStore> {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.maxConnections ?? 10,
    types: types as pg.CustomTypesConfig,
  });
  // Fail now on a wrong URL or a server that is down, not at the first query.
  const client = await pool.connect().catch(async (error: unknown) => {
    await pool.end();
    throw new Error(`cannot connect to PostgreSQL: ${(error as Error).message}`);
  });
  client.release();
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  const store: KyselyStore = new KyselyStore(db, 'postgres', {
    ...(options.retentionChunk === undefined ? {} : { retentionChunk: options.retentionChunk }),
  });
  return store;
}
