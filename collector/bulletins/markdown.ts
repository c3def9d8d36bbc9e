/** A bulletin as Markdown (GitHub-flavoured tables); charts are left out, their data is in the tables. */
import type { BulletinData } from './build.ts';
import { type Block, type BulletinDocument, layoutBulletin } from './layout.ts';

/** Escapes what would break a table cell or start Markdown markup. */
function cell(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

function refs(ns: number[]): string {
  return ns.map((n) => `[Q${n}]`).join('');
}

interface Punct {
  colon: string;
  open: string;
  close: string;
  comma: string;
}

const PUNCT: Record<BulletinDocument['lang'], Punct> = {
  'zh-CN': { colon: '：', open: '（', close: '）', comma: '，' },
  en: { colon: ': ', open: ' (', close: ')', comma: ', ' },
};

function block(b: Block, lines: string[], p: Punct): void {
  switch (b.type) {
    case 'figures':
      for (const f of b.items) {
        const prev =
          f.previous !== undefined ? `${p.open}${f.previous} → ${f.value}${p.comma}${f.change ?? ''}${p.close}` : '';
        lines.push(`- **${cell(f.label)}**${p.colon}${cell(f.value)}${prev} ${refs(f.refs)}`);
      }
      lines.push('');
      return;
    case 'table':
      if (b.caption !== '') lines.push(`**${cell(b.caption)}** ${refs(b.refs)}`, '');
      else lines.push(refs(b.refs), '');
      if (b.rows.length === 0) {
        lines.push(b.empty, '');
        return;
      }
      lines.push(`| ${b.columns.map(cell).join(' | ')} |`, `|${b.columns.map(() => ' --- |').join('')}`);
      for (const r of b.rows) lines.push(`| ${r.map(cell).join(' | ')} |`);
      lines.push('');
      return;
    case 'chart':
      return;
    case 'note':
      lines.push(`> ${cell(b.text)}`, '');
      return;
  }
}

export function renderMarkdownDocument(doc: BulletinDocument): string {
  const p = PUNCT[doc.lang];
  const lines: string[] = [`# ${doc.title}`, ''];
  for (const m of doc.meta) lines.push(`- ${m.label}${p.colon}${cell(m.value)}`);
  lines.push('');
  for (const s of doc.sections) {
    lines.push(`## ${s.title}`, '');
    for (const b of s.blocks) block(b, lines, p);
  }
  lines.push(`## ${doc.annexTitle}`, '', doc.annexNote, '');
  for (const q of doc.annex) lines.push(`- **Q${q.n}** \`${q.name}\` \`${q.params}\``);
  lines.push('');
  return lines.join('\n');
}

export function renderMarkdown(data: BulletinData): string {
  return renderMarkdownDocument(layoutBulletin(data));
}
