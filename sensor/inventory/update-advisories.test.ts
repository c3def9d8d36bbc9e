import { describe, expect, it } from 'vitest';
import { advisoryFromCsvRow, mergeAdvisories, parseCsv } from '../../scripts/update-advisories.ts';
import type { AdvisoryFile } from './advisories.ts';

const BASE: AdvisoryFile = { version: 1, updated: '2020-01-01', advisories: [] };

describe('update-advisories', () => {
  it('reads a CSV export (quoted commas, ranges, lists) into validated records, merged by id', () => {
    const [header = [], row = []] = parseCsv(
      'id,title,vendor,product,orderNumber,affected,cve,cnvd,severity,source,confidence\r\n' +
        'X-1,"Title, quoted ""here""",Siemens,S7-1500,^6ES751\\d,..2.9.2;3.0..3.0.1,CVE-2020-15782,,high,https://example.org/a,medium\r\n',
    );
    const a = advisoryFromCsvRow(header, row);
    expect(a).toMatchObject({
      id: 'X-1',
      title: 'Title, quoted "here"',
      match: { orderNumber: '^6ES751\\d' },
      affected: [{ below: '2.9.2' }, { from: '3.0', below: '3.0.1' }],
      cve: ['CVE-2020-15782'],
    });
    const merged = mergeAdvisories(BASE, [a], false, '2026-01-01');
    expect(merged.updated).toBe('2026-01-01');
    const again = mergeAdvisories(merged, [{ ...a, severity: 'critical' }], false, '2026-01-02');
    expect(again.advisories).toHaveLength(1);
    expect(again.advisories[0]?.severity).toBe('critical');
  });

  it('refuses invalid records', () => {
    expect(() => mergeAdvisories(BASE, [{ id: 'Y', cve: ['nope'] }], false, '2026-01-01')).toThrow(
      /invalid advisory data/,
    );
  });
});
