/**
 * Kysely's SQLite driver prepares every statement it runs. Preparing costs about as much as running a small insert
 * (and far more for a multi-row one), while the store runs the same few statements over and over. This wrapper keeps
 * the most recently used prepared statements by SQL text, so each distinct statement is compiled once.
 */
import type Database from 'better-sqlite3';
import type { SqliteDatabase, SqliteStatement } from 'kysely';

export function withStatementCache(db: Database.Database, capacity = 200): SqliteDatabase {
  const cache = new Map<string, SqliteStatement>();
  return {
    prepare(text: string): SqliteStatement {
      const hit = cache.get(text);
      if (hit !== undefined) {
        // Re-insert: Map iteration order makes the first key the least recently used.
        cache.delete(text);
        cache.set(text, hit);
        return hit;
      }
      const statement = db.prepare(text) as unknown as SqliteStatement;
      cache.set(text, statement);
      if (cache.size > capacity) {
        const oldest = cache.keys().next().value;
        if (oldest !== undefined) cache.delete(oldest);
      }
      return statement;
    },
    close(): void {
      cache.clear();
      db.close();
    },
  };
}
