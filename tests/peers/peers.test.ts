/**
 * Keeps the committed peer captures honest: each NAME.expected.json (counted from the client's own log) must still
 * match what tshark reads from NAME.pcap, and the set must stay small and cover a non-standard port.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

interface Expected {
  pcap: string;
  port: number;
  requests: number;
  responses: number;
  requests_by_fc: Record<string, number>;
  exceptions_by_code: Record<string, number>;
  unit_ids: number[];
  total_pdus: number;
  tshark_agrees: boolean;
}

const here = dirname(fileURLToPath(import.meta.url));
const files = readdirSync(here).filter((f) => f.endsWith('.expected.json'));
const all = files.map((f) => JSON.parse(readFileSync(join(here, f), 'utf8')) as Expected);

describe('peer captures', () => {
  it('exist, are small, and include a non-standard Modbus port', () => {
    expect(all.length).toBeGreaterThanOrEqual(3);
    for (const e of all) expect(statSync(join(here, e.pcap)).size).toBeLessThan(200 * 1024);
    expect(all.some((e) => e.port !== 502)).toBe(true);
  });

  for (const e of all) {
    it(`${e.pcap}: tshark's per-function requests, exceptions and unit ids match the client log`, () => {
      expect(e.tshark_agrees).toBe(true);
      expect(e.total_pdus).toBe(e.requests + e.responses);
      const out = execFileSync(
        'tshark',
        ['-r', join(here, e.pcap), '-d', `tcp.port==${e.port},mbtcp`, '-Y', 'mbtcp', '-T', 'fields'].concat([
          '-e',
          'tcp.dstport',
          '-e',
          'mbtcp.unit_id',
          '-e',
          'modbus.func_code',
          '-e',
          'modbus.exception_code',
        ]),
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
      );
      const byFc: Record<string, number> = {};
      const excs: Record<string, number> = {};
      const units = new Set<number>();
      let requests = 0;
      let responses = 0;
      for (const line of out.split('\n')) {
        if (line === '') continue;
        const [dst, unit, fc, exc] = line.split('\t');
        if (Number(dst) === e.port) {
          requests++;
          byFc[String(fc)] = (byFc[String(fc)] ?? 0) + 1;
          units.add(Number(unit));
        } else {
          responses++;
          if (exc !== undefined && exc !== '') excs[exc] = (excs[exc] ?? 0) + 1;
        }
      }
      expect({ requests, responses, byFc, excs, units: [...units].sort((a, b) => a - b) }).toEqual({
        requests: e.requests,
        responses: e.responses,
        byFc: e.requests_by_fc,
        excs: e.exceptions_by_code,
        units: e.unit_ids,
      });
    });
  }
});
