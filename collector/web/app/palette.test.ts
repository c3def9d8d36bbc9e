import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { contrast, INK, LEVEL_COLORS, LINK, MUTED, SERIES, SURFACE } from './palette.ts';

const css = readFileSync(join(import.meta.dirname, 'styles.css'), 'utf8');
function cssVar(name: string): string {
  const m = new RegExp(`--${name}:\\s*(#[0-9a-f]{6})`, 'i').exec(css);
  if (!m?.[1]) throw new Error(`--${name} not in styles.css`);
  return m[1].toLowerCase();
}

describe('palette contrast (WCAG 2.x, text ≥ 4.5:1)', () => {
  it('computes contrast like the WCAG formula', () => {
    expect(contrast('#000000', '#ffffff')).toBeCloseTo(21, 5);
    expect(contrast('#777777', '#ffffff')).toBeCloseTo(4.48, 2);
  });

  it('text colours are readable on cards and on the page background', () => {
    for (const bg of [SURFACE, cssVar('page'), '#e9edf1']) {
      for (const fg of [INK, MUTED, LINK]) expect(contrast(fg, bg), `${fg} on ${bg}`).toBeGreaterThanOrEqual(4.5);
    }
  });

  it('white badge text is readable on every level colour, and levels are readable as text', () => {
    for (const [level, color] of Object.entries(LEVEL_COLORS)) {
      expect(contrast('#ffffff', color), level).toBeGreaterThanOrEqual(4.5);
    }
  });

  it('chart series colours stand out from white at text contrast', () => {
    for (const color of SERIES) expect(contrast(color, SURFACE), color).toBeGreaterThanOrEqual(4.5);
  });

  it('styles.css uses the same colours as palette.ts', () => {
    expect(cssVar('ink')).toBe(INK);
    expect(cssVar('muted')).toBe(MUTED);
    expect(cssVar('link')).toBe(LINK);
    for (const [level, color] of Object.entries(LEVEL_COLORS)) expect(cssVar(`l-${level}`)).toBe(color);
  });

  it('banner, status and error colours are readable', () => {
    expect(contrast('#ffffff', cssVar('banner'))).toBeGreaterThanOrEqual(4.5);
    expect(contrast(cssVar('ok'), SURFACE)).toBeGreaterThanOrEqual(4.5);
    expect(contrast(cssVar('bad'), SURFACE)).toBeGreaterThanOrEqual(4.5);
    expect(contrast('#7d1d13', '#fdeceb')).toBeGreaterThanOrEqual(4.5);
    expect(contrast('#1b1f24', '#fff4d6')).toBeGreaterThanOrEqual(4.5);
  });
});

describe('warning level colours', () => {
  it('badge text is readable on each warning level, and styles.css matches palette.ts', async () => {
    const { WARNING_COLORS } = await import('./palette.ts');
    for (const [level, { bg, fg }] of Object.entries(WARNING_COLORS)) {
      expect(contrast(fg, bg), level).toBeGreaterThanOrEqual(4.5);
      expect(cssVar(`w-${level}`), level).toBe(bg);
    }
  });
});
