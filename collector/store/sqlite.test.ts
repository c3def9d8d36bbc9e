import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openSqliteStore } from './sqlite.ts';
import { describeStoreContract } from './store-suite.ts';

describeStoreContract({
  backend: 'sqlite',
  async fresh() {
    const dir = mkdtempSync(join(tmpdir(), 'otwatch-store-'));
    const path = join(dir, 'store.db');
    return {
      async open(options = {}) {
        const store = await openSqliteStore(path, { retentionChunk: 500 });
        if (options.migrate !== false) await store.migrate();
        return store;
      },
      async query<T>(text: string): Promise<T[]> {
        const db = new Database(path, { readonly: true });
        try {
          return db.prepare(text).all() as T[];
        } finally {
          db.close();
        }
      },
      async exec(text: string): Promise<void> {
        const db = new Database(path);
        try {
          db.pragma('busy_timeout = 10000');
          db.exec(text);
        } finally {
          db.close();
        }
      },
      async cleanup() {
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
});
