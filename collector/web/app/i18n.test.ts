import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DICTIONARIES, en, hasKey, t, zh } from './i18n.ts';
import { setState } from './store.ts';

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sources(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

describe('dashboard dictionaries', () => {
  it('have the same keys in zh-CN and English, none empty', () => {
    expect(Object.keys(en).sort()).toEqual(Object.keys(zh).sort());
    for (const dict of Object.values(DICTIONARIES)) {
      for (const [key, text] of Object.entries(dict)) expect(text.trim(), key).not.toBe('');
    }
  });

  it('use the same placeholders in both languages', () => {
    for (const key of Object.keys(zh) as (keyof typeof zh)[]) {
      expect(placeholders(en[key]), key).toEqual(placeholders(zh[key]));
    }
  });

  it('contain every key the app asks for by name', () => {
    const used = new Set<string>();
    for (const file of sources(import.meta.dirname)) {
      for (const m of readFileSync(file, 'utf8').matchAll(/\bt\('([\w.-]+)'/g)) if (m[1]) used.add(m[1]);
    }
    expect(used.size).toBeGreaterThan(100);
    for (const key of used) expect(hasKey(key), key).toBe(true);
  });

  it('translate with placeholders in the chosen language', () => {
    setState({ lang: 'en' });
    expect(t('alerts.pageInfo', { page: 2, count: 50 })).toBe('Page 2, 50 alerts');
    setState({ lang: 'zh-CN' });
    expect(t('alerts.pageInfo', { page: 2, count: 50 })).toBe('第 2 页，共 50 条');
  });

  it('zh-CN texts are Chinese, English texts are not', () => {
    const han = /\p{Script=Han}/u;
    const zhWithHan = Object.values(zh).filter((s) => han.test(s)).length;
    expect(zhWithHan / Object.keys(zh).length).toBeGreaterThan(0.9);
    for (const [key, text] of Object.entries(en)) expect(han.test(text), key).toBe(false);
  });
});
