import { describe, expect, it } from 'vitest';
import { isUuidv7, uuidv7, uuidv7Time } from './uuidv7.ts';

describe('uuidv7', () => {
  it('is a version-7, variant-1 UUID carrying its millisecond time', () => {
    const at = Date.UTC(2099, 2, 10, 8, 0, 0, 123);
    const id = uuidv7(at + 1_000_000); // far ahead of any earlier call in this process (ids never go back)
    expect(isUuidv7(id)).toBe(true);
    expect(id[14]).toBe('7');
    expect('89ab').toContain(id[19]);
    expect(uuidv7Time(id)).toBe(at + 1_000_000);
  });

  it('increases strictly, also for thousands of ids in one millisecond and when the clock steps back', () => {
    const base = Date.UTC(2100, 0, 1);
    const ids = [uuidv7(base)];
    for (let i = 0; i < 10_000; i++) ids.push(uuidv7(base));
    ids.push(uuidv7(base - 5000));
    for (let i = 1; i < ids.length; i++) expect((ids[i - 1] ?? '') < (ids[i] ?? '')).toBe(true);
    // 4096 per millisecond, then it borrows the next milliseconds.
    expect(uuidv7Time(ids.at(-1) ?? '')).toBe(base + Math.floor(10_001 / 4096));
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('rejects what is not a UUIDv7', () => {
    expect(isUuidv7('0190a0a0-0000-4000-8000-000000000000')).toBe(false);
    expect(isUuidv7('not-a-uuid')).toBe(false);
  });
});
