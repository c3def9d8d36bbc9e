/**
 * Enterprise registry rows: from the CSV import (columns id,name,province,city,industry,class,grade,contact_name,
 * contact_phone,contact_email) and from JSON bodies. Classes and grades are accepted as codes or in zh-CN
 * (联网工业企业 / 平台企业 / 标识解析企业, 一级 / 二级 / 三级), since registry spreadsheets are kept in Chinese.
 */
import { SUBJECT_TOKEN } from '../../protocols/wire/messages.ts';
import { type Contact, ENTERPRISE_CLASS_ZH, ENTERPRISE_CLASSES, type EnterpriseClass } from '../store/types.ts';
import { parseCsv } from './csv.ts';
import type { ErrorDetail } from './errors.ts';

/** What an import row or a JSON body describes (timestamps and anything not in the row come from the store). */
export interface EnterpriseInput {
  id: string;
  name: string;
  province: string;
  city: string;
  industry: string;
  class: EnterpriseClass;
  grade: 1 | 2 | 3;
  /** Undefined when the row has no contact: an update keeps the contacts already registered. */
  contacts?: Contact[];
}

export const CSV_COLUMNS = [
  'id',
  'name',
  'province',
  'city',
  'industry',
  'class',
  'grade',
  'contact_name',
  'contact_phone',
  'contact_email',
] as const;
const REQUIRED_COLUMNS = ['id', 'name', 'province', 'city', 'industry', 'class', 'grade'] as const;
type Column = (typeof CSV_COLUMNS)[number];

const CLASS_BY_NAME = new Map<string, EnterpriseClass>();
for (const c of ENTERPRISE_CLASSES) {
  CLASS_BY_NAME.set(c, c);
  CLASS_BY_NAME.set(ENTERPRISE_CLASS_ZH[c], c);
}
const GRADE_BY_NAME = new Map<string, 1 | 2 | 3>([
  ['1', 1],
  ['2', 2],
  ['3', 3],
  ['一级', 1],
  ['二级', 2],
  ['三级', 3],
]);

/** The class code for a code or zh-CN name, null when it is neither. */
export function parseEnterpriseClass(value: string): EnterpriseClass | null {
  return CLASS_BY_NAME.get(value.trim()) ?? null;
}

/** The grade for 1/2/3 (number or text) or 一级/二级/三级, null otherwise. */
export function parseGrade(value: string | number): 1 | 2 | 3 | null {
  return GRADE_BY_NAME.get(String(value).trim()) ?? null;
}

const LIMITS: Record<Column, number> = {
  id: 64,
  name: 200,
  province: 64,
  city: 100,
  industry: 100,
  class: 50,
  grade: 10,
  contact_name: 100,
  contact_phone: 50,
  contact_email: 200,
};

export interface EnterpriseCsvResult {
  rows: { line: number; enterprise: EnterpriseInput }[];
  /** Every problem found, each pointing at `line N/column`; the import writes nothing while there is one. */
  errors: ErrorDetail[];
}

/** Parses and validates a registry CSV (header line required; column order free; no unknown columns). */
export function parseEnterpriseCsv(text: string, options: { maxRows?: number } = {}): EnterpriseCsvResult {
  const errors: ErrorDetail[] = [];
  const rows: EnterpriseCsvResult['rows'] = [];
  if (text.includes('\uFFFD')) {
    // Bytes that were not UTF-8 (typically a GBK export from Excel): every Chinese name would be garbled.
    return {
      rows,
      errors: [{ path: 'body', message: 'file is not UTF-8 text (save it as "CSV UTF-8"); nothing was imported' }],
    };
  }
  const csv = parseCsv(text, { maxRecords: (options.maxRows ?? 10_000) + 1 });
  for (const e of csv.errors) errors.push({ path: `line ${e.line}`, message: e.message });
  const [header, ...data] = csv.records;
  if (!header) {
    errors.push({ path: 'line 1', message: `empty file: expected a header line (${CSV_COLUMNS.join(',')})` });
    return { rows, errors };
  }
  const index = new Map<Column, number>();
  header.fields.forEach((raw, i) => {
    const name = raw.trim().toLowerCase();
    if (!(CSV_COLUMNS as readonly string[]).includes(name)) {
      errors.push({ path: `line ${header.line}`, message: `unknown column '${raw.slice(0, 40)}'` });
    } else if (index.has(name as Column)) {
      errors.push({ path: `line ${header.line}`, message: `column '${name}' appears twice` });
    } else {
      index.set(name as Column, i);
    }
  });
  const missing = REQUIRED_COLUMNS.filter((c) => !index.has(c));
  if (missing.length > 0) {
    errors.push({ path: `line ${header.line}`, message: `missing column(s): ${missing.join(', ')}` });
    return { rows, errors };
  }
  const seen = new Map<string, number>();
  for (const record of data) {
    const at = (column: string) => `line ${record.line}/${column}`;
    if (record.fields.length !== header.fields.length) {
      errors.push({
        path: `line ${record.line}`,
        message: `has ${record.fields.length} fields, the header has ${header.fields.length}`,
      });
      continue;
    }
    const get = (column: Column): string => {
      const i = index.get(column);
      return i === undefined ? '' : (record.fields[i] ?? '').trim();
    };
    let ok = true;
    const fail = (column: string, message: string) => {
      errors.push({ path: at(column), message });
      ok = false;
    };
    for (const column of CSV_COLUMNS) {
      const value = get(column);
      if ((REQUIRED_COLUMNS as readonly string[]).includes(column) && value === '') fail(column, 'is empty');
      else if (value.length > LIMITS[column]) fail(column, `longer than ${LIMITS[column]} characters`);
    }
    const id = get('id');
    const province = get('province');
    if (id !== '' && !SUBJECT_TOKEN.test(id))
      fail('id', 'must be letters, digits, _ or - (it is the NATS subject token)');
    if (province !== '' && !SUBJECT_TOKEN.test(province)) fail('province', 'must be letters, digits, _ or -');
    const cls = parseEnterpriseClass(get('class'));
    if (get('class') !== '' && cls === null) {
      fail(
        'class',
        `must be one of ${ENTERPRISE_CLASSES.join(', ')} or ${Object.values(ENTERPRISE_CLASS_ZH).join(' / ')}`,
      );
    }
    const grade = parseGrade(get('grade'));
    if (get('grade') !== '' && grade === null) fail('grade', 'must be 1, 2, 3 or 一级, 二级, 三级');
    const email = get('contact_email');
    if (email !== '' && !/^[^@\s]+@[^@\s]+$/.test(email)) fail('contact_email', 'is not an e-mail address');
    const contactName = get('contact_name');
    if (contactName === '' && (get('contact_phone') !== '' || email !== '')) {
      fail('contact_name', 'is required when a phone or e-mail is given');
    }
    const first = seen.get(id);
    if (id !== '' && first !== undefined) fail('id', `duplicate of line ${first}`);
    else if (id !== '') seen.set(id, record.line);
    if (!ok || cls === null || grade === null) continue;
    const enterprise: EnterpriseInput = {
      id,
      name: get('name'),
      province,
      city: get('city'),
      industry: get('industry'),
      class: cls,
      grade,
    };
    if (contactName !== '') {
      const contact: Contact = { name: contactName };
      if (get('contact_phone') !== '') contact.phone = get('contact_phone');
      if (email !== '') contact.email = email;
      enterprise.contacts = [contact];
    }
    rows.push({ line: record.line, enterprise });
  }
  if (data.length === 0 && errors.length === 0) {
    errors.push({ path: `line ${header.line + 1}`, message: 'no data rows after the header' });
  }
  return { rows, errors };
}
