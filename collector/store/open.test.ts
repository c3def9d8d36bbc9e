import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStore } from './open.ts';

describe('openStore', () => {
  it('opens and migrates a SQLite store from sqlite:PATH and sqlite:///PATH', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'otwatch-open-'));
    try {
      for (const url of [`sqlite:${join(dir, 'a.db')}`, `sqlite://${join(dir, 'b.db')}`]) {
        const store = await openStore(url);
        try {
          expect(store.backend).toBe('sqlite');
          expect((await store.stats()).enterprises).toBe(0);
        } finally {
          await store.close();
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses URLs it cannot serve with a clear message', async () => {
    await expect(openStore('sqlite::memory:')).rejects.toThrow(/needs a file path/);
    await expect(openStore('mysql://x')).rejects.toThrow(/unsupported store URL/);
    await expect(openStore('postgres://nobody@127.0.0.1:1/none')).rejects.toThrow(/cannot connect to PostgreSQL/);
  });
});
