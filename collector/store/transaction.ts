/**
 * Write transactions for both backends. On SQLite a write transaction starts with `BEGIN IMMEDIATE`: it takes the
 * write lock up front, so two writers wait for each other through the busy timeout instead of failing with
 * SQLITE_BUSY when a deferred transaction tries to upgrade its read lock. On PostgreSQL it is a plain `BEGIN`
 * (READ COMMITTED): every write is an idempotent upsert, and rows are locked in a sorted order (see kysely-store.ts)
 * so concurrent collector instances do not deadlock.
 */
import { type Kysely, sql } from 'kysely';
import type { Database } from './schema.ts';

export type Backend = 'sqlite' | 'postgres';

export async function withWriteTransaction<T>(
  db: Kysely<Database>,
  backend: Backend,
  work: (tx: Kysely<Database>) => Promise<T>,
): Promise<T> {
  return await db.connection().execute(async (conn) => {
    await sql.raw(backend === 'sqlite' ? 'begin immediate' : 'begin').execute(conn);
    let result: T;
    try {
      result = await work(conn);
    } catch (error) {
      await sql`rollback`.execute(conn).catch(() => undefined);
      throw error;
    }
    await sql`commit`.execute(conn);
    return result;
  });
}
