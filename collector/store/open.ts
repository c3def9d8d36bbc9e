/**
 * Opens the store a URL names: `sqlite:PATH` (relative or absolute file path; `sqlite::memory:` is refused, the
 * writer and the readers need a shared file) or `postgres://…` / `postgresql://…`. The schema is migrated before the
 * store is returned (idempotent, safe with several instances starting together).
 */
import { openPostgresStore } from './postgres.ts';
import { openSqliteStore } from './sqlite.ts';
import type { CollectorStore } from './types.ts';

export async function openStore(url: string): Promise<CollectorStore> {
  let store: CollectorStore;
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (path === '' || path === ':memory:') {
      throw new Error(`store URL '${url}' needs a file path (sqlite:/var/lib/otcollector/store.db)`);
    }
    store = await openSqliteStore(path);
  } else if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    store = await openPostgresStore(url);
  } else {
    throw new Error(`unsupported store URL '${url}': use sqlite:PATH or postgres://USER@HOST:PORT/DB`);
  }
  try {
    await store.migrate();
  } catch (error) {
    await store.close();
    throw error;
  }
  return store;
}
