/**
 * Imports advisories from a JSON or CSV export into data/advisories/advisories.json, validating every record.
 *
 *   node bin/run-ts.js scripts/update-advisories.ts EXPORT.json|EXPORT.csv [--replace] [--dry-run] [--out FILE]
 *
 * JSON: an array of advisory records, or an object with `advisories`. CSV (header row, RFC 4180 quoting) columns:
 * id,title,vendor,product,orderNumber,vendorName,productName,productUri,affected,cve,cnvd,references,severity,cvss,
 * source,confidence,note — `affected` as ranges separated by `;`, each `FROM..BELOW` (either side may be empty;
 * empty = all versions, `?` = fixed versions unknown); cve/cnvd/references separated by spaces or `;`.
 * Records replace those with the same id; `--replace` drops every record not in the export. Exit 1 on invalid input
 * (nothing is written).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  type Advisory,
  type AdvisoryFile,
  DEFAULT_ADVISORIES_PATH,
  validateAdvisoryFile,
} from '../sensor/inventory/advisories.ts';

/** Minimal RFC 4180 reader: quoted fields, doubled quotes, CRLF or LF. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      field = '';
      if (row.some((f) => f !== '')) rows.push(row);
      row = [];
    } else field += c;
  }
  row.push(field);
  if (row.some((f) => f !== '')) rows.push(row);
  return rows;
}

const list = (v: string | undefined) => (v ?? '').split(/[\s;]+/).filter((x) => x !== '');

export function advisoryFromCsvRow(h: string[], r: string[]): Advisory {
  const get = (k: string) => {
    const i = h.indexOf(k);
    return i < 0 ? undefined : (r[i] ?? '').trim();
  };
  const match: Advisory['match'] = {};
  for (const k of ['orderNumber', 'vendorName', 'productName', 'productUri'] as const) {
    const v = get(k);
    if (v !== undefined && v !== '') match[k] = v;
  }
  const affectedText = get('affected') ?? '';
  const a: Advisory = {
    id: get('id') ?? '',
    title: get('title') ?? '',
    vendor: get('vendor') ?? '',
    product: get('product') ?? '',
    match,
    affected:
      affectedText === '?'
        ? []
        : list(affectedText).map((range) => {
            const [from = '', below = ''] = range.split('..');
            return { ...(from !== '' ? { from } : {}), ...(below !== '' ? { below } : {}) };
          }),
    cve: list(get('cve')),
    cnvd: list(get('cnvd')),
    references: list(get('references')),
    severity: (get('severity') ?? '') as Advisory['severity'],
    source: get('source') ?? '',
    confidence: (get('confidence') ?? '') as Advisory['confidence'],
  };
  if (affectedText === '?') a.rangeKnown = false;
  const cvss = get('cvss');
  if (cvss !== undefined && cvss !== '') a.cvss = Number(cvss);
  const note = get('note');
  if (note !== undefined && note !== '') a.note = note;
  return a;
}

export function readExport(path: string): unknown[] {
  const text = readFileSync(path, 'utf8');
  if (/\.csv$/i.test(path)) {
    const [header, ...rows] = parseCsv(text);
    if (header === undefined) return [];
    return rows.map((r) => advisoryFromCsvRow(header, r));
  }
  const data = JSON.parse(text) as unknown;
  if (Array.isArray(data)) return data;
  const adv = (data as { advisories?: unknown }).advisories;
  if (!Array.isArray(adv)) throw new Error(`${path}: expected an array or an object with 'advisories'`);
  return adv;
}

/** Merges `incoming` into `current` (same id replaces), validates, sorts by id. Throws when invalid. */
export function mergeAdvisories(
  current: AdvisoryFile,
  incoming: unknown[],
  replace: boolean,
  today: string,
): AdvisoryFile {
  const byId = new Map<string, unknown>(replace ? [] : current.advisories.map((a) => [a.id, a]));
  for (const a of incoming) byId.set(String((a as { id?: unknown }).id ?? ''), a);
  const merged = {
    ...current,
    updated: today,
    advisories: [...byId.entries()].sort(([x], [y]) => x.localeCompare(y)).map(([, a]) => a),
  };
  return validateAdvisoryFile(merged);
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      replace: { type: 'boolean', default: false },
      'dry-run': { type: 'boolean', default: false },
      out: { type: 'string' },
    },
  });
  const input = positionals[0];
  if (input === undefined) {
    process.stderr.write('usage: update-advisories EXPORT.json|EXPORT.csv [--replace] [--dry-run] [--out FILE]\n');
    return 2;
  }
  const target = values.out ?? DEFAULT_ADVISORIES_PATH;
  try {
    const current = validateAdvisoryFile(JSON.parse(readFileSync(target, 'utf8')));
    const incoming = readExport(input);
    const merged = mergeAdvisories(current, incoming, values.replace, new Date().toISOString().slice(0, 10));
    process.stderr.write(
      `update-advisories: ${incoming.length} record(s) read, ${merged.advisories.length} in the data file` +
        `${values['dry-run'] ? ' (dry run: nothing written)' : ''}\n`,
    );
    if (!values['dry-run']) writeFileSync(target, `${JSON.stringify(merged, null, 2)}\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`update-advisories: ${(err as Error).message}\n`);
    return 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('update-advisories.ts')) {
  process.exitCode = await main();
}
