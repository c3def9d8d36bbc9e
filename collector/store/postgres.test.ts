import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { type PostgresHandle, startPostgres } from '../../tests/support/postgres.ts';
import { openPostgresStore } from './postgres.ts';
import { describeStoreContract } from './store-suite.ts';

let server: PostgresHandle;

beforeAll(async () => {
  server = await startPostgres();
});

afterAll(async () => {
  await server?.dispose();
});

describeStoreContract({
  backend: 'postgres',
  async fresh() {
    const url = await server.createDatabase();
    return {
      async open(options = {}) {
        const store = await openPostgresStore(url, { retentionChunk: 500 });
        if (options.migrate !== false) await store.migrate();
        return store;
      },
      async query<T>(text: string): Promise<T[]> {
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        try {
          return (await client.query(text)).rows as T[];
        } finally {
          await client.end();
        }
      },
      async exec(text: string): Promise<void> {
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        try {
          await client.query(text);
        } finally {
          await client.end();
        }
      },
      async cleanup() {
        // The cluster (and every database in it) is removed in afterAll.
      },
    };
  },
});
