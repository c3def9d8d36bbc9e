/**
 * Where bulletins live: one directory per bulletin under the collector's data dir (`<dataDir>/bulletins/<id>/`),
 * holding `bulletin.json` (the figures with their queries: the record) and the rendered `bulletin.md`,
 * `bulletin.html` and, once asked for, `bulletin.pdf`. A bulletin is stored as generated and never regenerated: the
 * store keeps changing (late alerts, resolutions), and a bulletin is what was reported on the day. Its queries say
 * how to recompute any figure.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BulletinData } from './build.ts';
import { renderHtml } from './html.ts';
import { renderMarkdown } from './markdown.ts';
import { htmlToPdf, type PdfOptions } from './pdf.ts';

export const BULLETIN_FORMATS = ['json', 'md', 'html', 'pdf'] as const;
export type BulletinFormat = (typeof BULLETIN_FORMATS)[number];

export const CONTENT_TYPES: Record<BulletinFormat, string> = {
  json: 'application/json; charset=utf-8',
  md: 'text/markdown; charset=utf-8',
  html: 'text/html; charset=utf-8',
  pdf: 'application/pdf',
};

const ID = /^[A-Za-z0-9_-]{1,200}$/;

export function isBulletinId(id: string): boolean {
  return ID.test(id);
}

/** Renders one format of a bulletin. */
export async function renderBulletin(
  data: BulletinData,
  format: BulletinFormat,
  pdf: PdfOptions = {},
): Promise<Buffer> {
  switch (format) {
    case 'json':
      return Buffer.from(`${JSON.stringify(data, null, 2)}\n`);
    case 'md':
      return Buffer.from(renderMarkdown(data));
    case 'html':
      return Buffer.from(renderHtml(data));
    case 'pdf':
      return htmlToPdf(renderHtml(data), pdf);
  }
}

/** Writes the asked formats as `<dir>/bulletin.<ext>` (atomically: temp file, then rename); returns the paths. */
export async function writeBulletinFiles(
  data: BulletinData,
  dir: string,
  formats: readonly BulletinFormat[],
  pdf: PdfOptions = {},
): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const out: string[] = [];
  for (const f of formats) {
    const path = join(dir, `bulletin.${f}`);
    writeFileSync(`${path}.tmp`, await renderBulletin(data, f, pdf));
    renameSync(`${path}.tmp`, path);
    out.push(path);
  }
  return out;
}

/** The bulletins of one collector (under `<dataDir>/bulletins`). */
export class BulletinArchive {
  readonly root: string;

  constructor(dataDir: string) {
    this.root = join(dataDir, 'bulletins');
  }

  async save(data: BulletinData, formats: readonly BulletinFormat[] = ['json', 'md', 'html']): Promise<void> {
    const all = formats.includes('json') ? formats : (['json', ...formats] as BulletinFormat[]);
    await writeBulletinFiles(data, join(this.root, data.id), all);
  }

  load(id: string): BulletinData | null {
    if (!isBulletinId(id)) return null;
    try {
      return JSON.parse(readFileSync(join(this.root, id, 'bulletin.json'), 'utf8')) as BulletinData;
    } catch {
      return null;
    }
  }

  /** One format of a stored bulletin, rendering (and keeping) it on first request; null when there is no such id. */
  async file(id: string, format: BulletinFormat, pdf: PdfOptions = {}): Promise<Buffer | null> {
    const data = this.load(id);
    if (!data) return null;
    const path = join(this.root, id, `bulletin.${format}`);
    try {
      return readFileSync(path);
    } catch {
      await writeBulletinFiles(data, join(this.root, id), [format], pdf);
      return readFileSync(path);
    }
  }

  /** Every stored bulletin's data, newest first. */
  list(): BulletinData[] {
    let ids: string[];
    try {
      ids = readdirSync(this.root);
    } catch {
      return [];
    }
    const out: BulletinData[] = [];
    for (const id of ids) {
      const d = this.load(id);
      if (d) out.push(d);
    }
    return out.sort((a, b) => (a.generatedAt < b.generatedAt ? 1 : a.generatedAt > b.generatedAt ? -1 : 0));
  }
}
