/**
 * A bulletin as one self-contained HTML file: inline CSS, charts as inline SVG (charts.ts), no scripts, no external
 * resources, so it opens offline, can be mailed, and prints (or renders to PDF) as it looks on screen.
 */
import type { BulletinData } from './build.ts';
import { chartSvg } from './charts.ts';
import { type Block, type BulletinDocument, layoutBulletin } from './layout.ts';

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const CSS = `
@page { size: A4; margin: 16mm 14mm; }
body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", sans-serif;
  color: #1f2937; max-width: 820px; margin: 24px auto; padding: 0 16px; line-height: 1.55; font-size: 14px; }
h1 { font-size: 22px; text-align: center; border-bottom: 3px double #b91c1c; padding-bottom: 10px; color: #b91c1c; }
h2 { font-size: 17px; border-left: 4px solid #b91c1c; padding-left: 8px; margin-top: 28px; break-after: avoid; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; font-size: 13px; color: #4b5563; }
dl.meta dt { font-weight: 600; }
dl.meta dd { margin: 0; }
.figures { display: grid; grid-template-columns: repeat(auto-fit, minmax(160px, 1fr)); gap: 10px; margin: 12px 0; }
.figure { border: 1px solid #e5e7eb; border-radius: 6px; padding: 8px 10px; break-inside: avoid; }
.figure .label { font-size: 12px; color: #6b7280; }
.figure .value { font-size: 22px; font-weight: 700; }
.figure .change { font-size: 12px; color: #6b7280; }
table { border-collapse: collapse; width: 100%; margin: 8px 0 14px; font-size: 12.5px; break-inside: auto; }
caption { text-align: left; font-weight: 600; padding: 4px 0; }
th, td { border: 1px solid #d1d5db; padding: 4px 6px; text-align: left; vertical-align: top; }
th { background: #f3f4f6; }
tr { break-inside: avoid; }
.ref { font-size: 11px; color: #2563eb; font-weight: normal; }
.empty { color: #6b7280; font-style: italic; }
.note { font-size: 12px; color: #4b5563; }
figure.chart { margin: 8px 0; text-align: center; break-inside: avoid; }
figure.chart svg { max-width: 100%; height: auto; }
.annex { font-size: 11.5px; }
.annex code { word-break: break-all; }
`;

function refs(ns: number[]): string {
  return ns.map((n) => `<a class="ref" href="#q${n}">[Q${n}]</a>`).join('');
}

function block(b: Block): string {
  switch (b.type) {
    case 'figures':
      return `<div class="figures">${b.items
        .map(
          (f) =>
            `<div class="figure"><div class="label">${escapeHtml(f.label)} ${refs(f.refs)}</div>` +
            `<div class="value">${escapeHtml(f.value)}</div>` +
            (f.previous !== undefined
              ? `<div class="change">${escapeHtml(f.previous)} → ${escapeHtml(f.value)}　${escapeHtml(f.change ?? '')}</div>`
              : '') +
            '</div>',
        )
        .join('')}</div>`;
    case 'table': {
      const caption = `<caption>${escapeHtml(b.caption)} ${refs(b.refs)}</caption>`;
      if (b.rows.length === 0) {
        return `<p class="empty">${b.caption !== '' ? `${escapeHtml(b.caption)}：` : ''}${escapeHtml(b.empty)} ${refs(b.refs)}</p>`;
      }
      const head = `<tr>${b.columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('')}</tr>`;
      const rows = b.rows.map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`).join('');
      return `<table>${caption}<thead>${head}</thead><tbody>${rows}</tbody></table>`;
    }
    case 'chart':
      return `<figure class="chart">${chartSvg(b.chart)}<figcaption>${refs(b.refs)}</figcaption></figure>`;
    case 'note':
      return `<p class="note">${escapeHtml(b.text)}</p>`;
  }
}

export function renderHtmlDocument(doc: BulletinDocument): string {
  const parts = [
    '<!doctype html>',
    `<html lang="${doc.lang}"><head><meta charset="utf-8">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(doc.title)}</title><style>${CSS}</style></head><body>`,
    `<h1>${escapeHtml(doc.title)}</h1>`,
    `<dl class="meta">${doc.meta.map((m) => `<dt>${escapeHtml(m.label)}</dt><dd>${escapeHtml(m.value)}</dd>`).join('')}</dl>`,
  ];
  for (const s of doc.sections) {
    parts.push(`<section><h2>${escapeHtml(s.title)}</h2>`);
    for (const b of s.blocks) parts.push(block(b));
    parts.push('</section>');
  }
  parts.push(
    `<section class="annex"><h2>${escapeHtml(doc.annexTitle)}</h2><p>${escapeHtml(doc.annexNote)}</p><ol>`,
    ...doc.annex.map(
      (q) =>
        `<li id="q${q.n}" value="${q.n}"><b>Q${q.n}</b> <code>${escapeHtml(q.name)}</code> <code>${escapeHtml(q.params)}</code></li>`,
    ),
    '</ol></section></body></html>',
  );
  return parts.join('\n');
}

export function renderHtml(data: BulletinData): string {
  return renderHtmlDocument(layoutBulletin(data));
}
