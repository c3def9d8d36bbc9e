import { defineConfig } from 'vitest/config';

// vitest 5 reports failures with Map.groupBy, which Node 20 lacks (Node 21+): without this its reporter crashes
// while printing a failure and hides the assertion message. The config file runs in vitest's main process.
if (typeof (Map as { groupBy?: unknown }).groupBy !== 'function') {
  Object.defineProperty(Map, 'groupBy', {
    configurable: true,
    writable: true,
    value<K, V>(items: Iterable<V>, keyOf: (item: V, index: number) => K): Map<K, V[]> {
      const groups = new Map<K, V[]>();
      let index = 0;
      for (const item of items) {
        const key = keyOf(item, index++);
        const group = groups.get(key);
        if (group) group.push(item);
        else groups.set(key, [item]);
      }
      return groups;
    },
  });
}

export default defineConfig({
  test: {
    include: [
      'protocols/**/*.test.ts',
      'sensor/**/*.test.ts',
      'rules/**/*.test.ts',
      'collector/**/*.test.ts',
      'deploy/**/*.test.ts',
      'lab/**/*.test.ts',
      'tests/**/*.test.ts',
    ],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
