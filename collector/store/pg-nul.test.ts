import { describe, expect, it } from 'vitest';
import { jsonWithoutNul, withoutNul } from './pg-nul.ts';

describe('U+0000 for PostgreSQL', () => {
  it('replaces U+0000 in a string and leaves other strings as they are', () => {
    expect(withoutNul('a\u0000b\u0000')).toBe('a\uFFFDb\uFFFD');
    const plain = 'no nul here';
    expect(withoutNul(plain)).toBe(plain);
  });

  it('replaces the escape in JSON text, not a literal backslash followed by "u0000"', () => {
    const rows = [{ title: 'a\u0000b', path: 'C:\\u0000dir', both: '\\\u0000' }];
    const fixed = JSON.parse(jsonWithoutNul(JSON.stringify(rows)));
    expect(fixed).toEqual([{ title: 'a\uFFFDb', path: 'C:\\u0000dir', both: '\\\uFFFD' }]);
    const clean = JSON.stringify([{ title: 'x' }]);
    expect(jsonWithoutNul(clean)).toBe(clean);
  });
});
