/**
 * The scope rules against PostgreSQL (a private cluster of Debian's server, tests/support/postgres.ts): the store
 * applies scopes in SQL, so each backend's SQL is checked with the same table as SQLite's.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { type PostgresHandle, startPostgres } from '../../tests/support/postgres.ts';
import { openStore } from '../store/open.ts';
import { describeScopeRules } from './testing/scope-suite.ts';

let server: PostgresHandle;

beforeAll(async () => {
  server = await startPostgres({ settings: { fsync: 'off' } });
});
afterAll(async () => {
  await server?.dispose();
});

describeScopeRules('postgres', async () => {
  const store = await openStore(await server.createDatabase());
  // The API keeps bulletins and its signing key under `dir`: a temporary one, never the working directory.
  const dir = mkdtempSync(join(tmpdir(), 'otcollector-api-pg-'));
  return {
    store,
    dir,
    close: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
