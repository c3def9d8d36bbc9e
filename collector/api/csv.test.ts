import { describe, expect, it } from 'vitest';
import { parseCsv } from './csv.ts';
import { parseEnterpriseClass, parseEnterpriseCsv, parseGrade } from './enterprise-import.ts';

describe('parseCsv', () => {
  it('reads plain records with their line numbers, with or without a final line end', () => {
    expect(parseCsv('a,b,c\n1,2,3\n')).toEqual({
      records: [
        { line: 1, fields: ['a', 'b', 'c'] },
        { line: 2, fields: ['1', '2', '3'] },
      ],
      errors: [],
    });
    expect(parseCsv('a,b\n1,2').records).toEqual([
      { line: 1, fields: ['a', 'b'] },
      { line: 2, fields: ['1', '2'] },
    ]);
  });

  it('keeps empty fields, including a trailing one', () => {
    expect(parseCsv('a,,c,\n').records[0]?.fields).toEqual(['a', '', 'c', '']);
  });

  it('reads quoted fields with commas, doubled quotes and line breaks, counting lines inside them', () => {
    const text = 'id,name\n1,"宁波, 港务"\n2,"说 ""你好"""\n3,"two\nlines"\n4,after\n';
    const { records, errors } = parseCsv(text);
    expect(errors).toEqual([]);
    expect(records).toEqual([
      { line: 1, fields: ['id', 'name'] },
      { line: 2, fields: ['1', '宁波, 港务'] },
      { line: 3, fields: ['2', '说 "你好"'] },
      { line: 4, fields: ['3', 'two\nlines'] },
      { line: 6, fields: ['4', 'after'] },
    ]);
  });

  it('accepts CRLF and CR line ends and a UTF-8 BOM, and skips blank lines', () => {
    const { records } = parseCsv('\uFEFFa,b\r\n\r\n1,"x\r\ny"\r2,3\r\n');
    expect(records).toEqual([
      { line: 1, fields: ['a', 'b'] },
      { line: 3, fields: ['1', 'x\r\ny'] },
      { line: 5, fields: ['2', '3'] },
    ]);
  });

  it('reports an unclosed quote, a stray quote and text after a closing quote at their record line', () => {
    expect(parseCsv('a\n"open\n').errors).toEqual([{ line: 2, message: expect.stringContaining('not closed') }]);
    const stray = parseCsv('a,b\nx"y,2\nok,3\n');
    expect(stray.errors).toEqual([{ line: 2, message: expect.stringContaining('quote inside') }]);
    expect(stray.records.map((r) => r.line)).toEqual([1, 3]);
    const after = parseCsv('a,b\n"x"y,2\n');
    expect(after.errors).toEqual([{ line: 2, message: expect.stringContaining('after a closing quote') }]);
  });

  it('enforces the record and field caps', () => {
    const many = parseCsv('a\n1\n2\n3\n', { maxRecords: 2 });
    expect(many.records).toHaveLength(2);
    expect(many.errors).toEqual([{ line: 3, message: 'more than 2 records' }]);
    const long = parseCsv(`a\n${'x'.repeat(11)}\n`, { maxFieldLength: 10 });
    expect(long.errors).toEqual([{ line: 2, message: 'field longer than 10 characters' }]);
  });

  it('returns nothing for empty input', () => {
    expect(parseCsv('')).toEqual({ records: [], errors: [] });
    expect(parseCsv('\uFEFF')).toEqual({ records: [], errors: [] });
  });
});

describe('enterprise rows', () => {
  it('maps zh-CN and coded classes and grades', () => {
    expect(parseEnterpriseClass('联网工业企业')).toBe('networked_industrial');
    expect(parseEnterpriseClass('平台企业')).toBe('platform');
    expect(parseEnterpriseClass(' 标识解析企业 ')).toBe('identifier_resolution');
    expect(parseEnterpriseClass('platform')).toBe('platform');
    expect(parseEnterpriseClass('工厂')).toBeNull();
    expect([parseGrade('一级'), parseGrade('二级'), parseGrade('三级'), parseGrade(2), parseGrade('3')]).toEqual([
      1, 2, 3, 2, 3,
    ]);
    expect(parseGrade('四级')).toBeNull();
    expect(parseGrade(0)).toBeNull();
  });

  it('accepts columns in any order and case, with optional contact columns absent', () => {
    const { rows, errors } = parseEnterpriseCsv(
      'Grade,CLASS,id,name,province,city,industry\n一级,平台企业,e1,名,zj,hz,chem\n',
    );
    expect(errors).toEqual([]);
    expect(rows).toEqual([
      {
        line: 2,
        enterprise: { id: 'e1', name: '名', province: 'zj', city: 'hz', industry: 'chem', class: 'platform', grade: 1 },
      },
    ]);
  });

  it('lists every problem of every row', () => {
    const csv =
      'id,name,province,city,industry,class,grade,contact_name,contact_phone\n' +
      'e1,,zj,hz,chem,平台企业,1,,13800000000\n' +
      'e.2,名,z j,hz,chem,platform,5,,\n';
    const { rows, errors } = parseEnterpriseCsv(csv);
    expect(rows).toEqual([]);
    expect(errors.map((e) => e.path)).toEqual([
      'line 2/name',
      'line 2/contact_name',
      'line 3/id',
      'line 3/province',
      'line 3/grade',
    ]);
  });
});
