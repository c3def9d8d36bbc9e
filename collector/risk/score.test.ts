import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { AlertSummaryRow, Enterprise, Sensor, StoredAsset } from '../store/types.ts';
import { loadRiskConfig, RiskConfigError } from './config.ts';
import { rollupRisk } from './engine.ts';
import { type EnterpriseFacts, scoreEnterprise } from './score.ts';
import { inWindow, parseWindow } from './windows.ts';

const config = loadRiskConfig();
const NOW = Date.parse('2026-03-10T12:00:00Z');
const HOUR = 3_600_000;

function enterprise(more: Partial<Enterprise> = {}): Enterprise {
  return {
    id: 'e1',
    name: 'E1',
    province: 'zj',
    city: '杭州',
    industry: '化工',
    class: 'networked_industrial',
    grade: 2,
    contacts: [],
    maintenanceWindows: [],
    createdAt: '',
    updatedAt: '',
    ...more,
  };
}

function row(more: Partial<AlertSummaryRow>): AlertSummaryRow {
  return {
    enterpriseId: 'e1',
    province: 'zj',
    ruleId: 'r1',
    ruleTitle: 'Rule 1',
    level: 'high',
    tags: [],
    resolved: false,
    bucketStart: new Date(NOW).toISOString(),
    alerts: 1,
    firstTs: new Date(NOW).toISOString(),
    lastTs: new Date(NOW).toISOString(),
    lastUid: '0190a000-0000-7000-8000-000000000001',
    ...more,
  };
}

function sensor(lastSeenMs: number | null): Sensor {
  return {
    id: `s${lastSeenMs}`,
    enterpriseId: 'e1',
    province: 'zj',
    name: 's',
    lastHealth: null,
    lastSeenAt: lastSeenMs === null ? null : new Date(lastSeenMs).toISOString(),
    lastSeq: 0,
    createdAt: '',
  };
}

function asset(ip: string, record: Record<string, unknown>, role = 'plc'): StoredAsset {
  return {
    enterpriseId: 'e1',
    ip,
    sensorId: 's',
    role,
    firstSeen: '',
    lastSeen: '',
    record: { ip, role, ...record } as unknown as StoredAsset['record'],
    updatedAt: '',
  };
}

function facts(more: Partial<EnterpriseFacts>): EnterpriseFacts {
  return { enterprise: enterprise(), alerts: [], engineering: [], assets: [], sensors: [sensor(NOW)], ...more };
}

const points = (f: EnterpriseFacts, factor: string) =>
  scoreEnterprise(f, config, NOW).contributions.find((c) => c.factor === factor)?.points ?? Number.NaN;

describe('risk formula', () => {
  it('is zero for a quiet, covered enterprise, and every factor is listed', () => {
    const s = scoreEnterprise(facts({}), config, NOW);
    expect(s.score).toBe(0);
    expect(s.contributions.map((c) => c.factor)).toEqual([
      'alerts',
      'opcua_unsecured',
      'plc_many_writers',
      'vulnerable_firmware',
      'engineering_outside_window',
      'sensor_silence',
    ]);
  });

  it('scores alerts as weight × (1 − e^(−mass/scale)) with level weights and half-life decay', () => {
    // 5 high alerts now: mass = 5 × 8 = 40 = scale → 40 × (1 − 1/e).
    expect(points(facts({ alerts: [row({ alerts: 5 })] }), 'alerts')).toBeCloseTo(40 * (1 - Math.exp(-1)), 2);
    // The same alerts one half-life (72 h) ago weigh half.
    const old = new Date(NOW - 72 * HOUR).toISOString();
    expect(points(facts({ alerts: [row({ alerts: 5, lastTs: old })] }), 'alerts')).toBeCloseTo(
      40 * (1 - Math.exp(-0.5)),
      2,
    );
    // Resolved ones count a quarter; informational ones not at all.
    expect(points(facts({ alerts: [row({ alerts: 20, resolved: true })] }), 'alerts')).toBeCloseTo(
      40 * (1 - Math.exp(-1)),
      2,
    );
    expect(points(facts({ alerts: [row({ alerts: 100, level: 'informational' })] }), 'alerts')).toBe(0);
  });

  it('sums the rounded contributions to the score exactly, and caps at 100', () => {
    const heavy = facts({
      alerts: [row({ alerts: 1000, level: 'critical' })],
      engineering: [row({ ruleId: 'stop', tags: ['attack.t0881'], alerts: 1000 })],
      assets: [
        asset('10.0.0.9', { served: [{ proto: 'opcua', port: 4840 }], certificates: [] }, 'opcua_server'),
        asset('10.0.0.1', {
          peers: { '10.0.0.2': {}, '10.0.0.3': {}, '10.0.0.4': {}, '10.0.0.5': {} },
          advisories: [{ advisory: 'ADV-1', title: 't', severity: 'critical', status: 'affected' }],
        }),
        ...['10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5'].map((ip) =>
          asset(ip, { activity: { 's7.write': 1 } }, 'hmi'),
        ),
      ],
      sensors: [],
    });
    const s = scoreEnterprise(heavy, config, NOW);
    const sum = s.contributions.reduce((n, c) => n + c.points, 0);
    expect(Math.round(sum * 100) / 100).toBe(s.score);
    expect(s.score).toBeLessThanOrEqual(100);
    expect(s.score).toBeGreaterThan(70);
    for (const c of s.contributions) {
      expect([c.factor, c.points > 0]).toEqual([c.factor, true]);
      expect(c.points).toBeLessThanOrEqual(c.weight);
      // Every factor names its facts (no sensor at all: the detail says so, there is nothing to reference).
      if (c.factor === 'sensor_silence') expect(c.detail).toBe('no sensor registered (no monitoring coverage)');
      else expect([c.factor, c.evidence.length > 0]).toEqual([c.factor, true]);
    }
    const plc = s.contributions.find((c) => c.factor === 'plc_many_writers');
    expect(plc?.evidence[0]).toMatchObject({ kind: 'asset', id: '10.0.0.1' });
    expect(s.contributions.find((c) => c.factor === 'sensor_silence')?.points).toBe(10);
  });

  it('counts engineering actions outside the declared windows only', () => {
    // 2026-03-10T12:00Z is 20:00 on Tuesday in +08:00.
    const eng = [row({ ruleId: 'download', tags: ['attack.t0843'], alerts: 3 })];
    expect(points(facts({ engineering: eng }), 'engineering_outside_window')).toBeGreaterThan(0);
    const inside = enterprise({ maintenanceWindows: ['Tue 19:00-21:00'] });
    expect(points(facts({ enterprise: inside, engineering: eng }), 'engineering_outside_window')).toBe(0);
    const otherDay = enterprise({ maintenanceWindows: ['Sat 19:00-21:00', 'nonsense'] });
    const s = scoreEnterprise(facts({ enterprise: otherDay, engineering: eng }), config, NOW);
    const c = s.contributions.find((x) => x.factor === 'engineering_outside_window');
    expect(c?.points).toBeGreaterThan(0);
    expect(c?.detail).toContain("ignored unparsable windows: 'nonsense'");
    // Alerts of other techniques are not engineering actions.
    expect(points(facts({ engineering: [row({ tags: ['attack.t0846'] })] }), 'engineering_outside_window')).toBe(0);
  });

  it('counts silent sensors as a fraction of the enterprise’s sensors', () => {
    const two = [sensor(NOW - 60_000), sensor(NOW - 3 * HOUR)];
    expect(points(facts({ sensors: two }), 'sensor_silence')).toBe(5);
    expect(points(facts({ sensors: [sensor(null)] }), 'sensor_silence')).toBe(10);
  });

  it('rolls up by city, industry and grade', () => {
    const a = { ...scoreEnterprise(facts({}), config, NOW), enterpriseId: 'a', score: 10 };
    const b = { ...a, enterpriseId: 'b', score: 30 };
    const ents = [enterprise({ id: 'a' }), enterprise({ id: 'b', grade: 3 })];
    expect(rollupRisk([a, b], ents, 'industry')).toEqual([
      { key: '化工', enterprises: 2, mean: 20, max: 30, top: { enterpriseId: 'b', score: 30 } },
    ]);
    expect(rollupRisk([a, b], ents, 'grade').map((r) => r.key)).toEqual(['3', '2']);
  });
});

describe('maintenance windows', () => {
  it('parses days, ranges, daily and windows across midnight', () => {
    const off = 8 * 60;
    const at = (iso: string) => Date.parse(iso);
    const w = parseWindow('Fri 22:00-02:00');
    expect(inWindow(w, at('2026-03-13T14:30:00Z'), off)).toBe(true); // Fri 22:30 local
    expect(inWindow(w, at('2026-03-13T17:30:00Z'), off)).toBe(true); // Sat 01:30 local
    expect(inWindow(w, at('2026-03-13T18:30:00Z'), off)).toBe(false); // Sat 02:30 local
    expect(inWindow(parseWindow('Mon-Fri 08:00-09:00'), at('2026-03-11T00:30:00Z'), off)).toBe(true);
    expect(inWindow(parseWindow('Sat,Sun 08:00-09:00'), at('2026-03-11T00:30:00Z'), off)).toBe(false);
    expect(inWindow(parseWindow('每天 00:00-24:00'), at('2026-03-11T00:30:00Z'), off)).toBe(true);
    expect(() => parseWindow('Funday 01:00-02:00')).toThrow(/unknown day/);
    expect(() => parseWindow('Mon 25:00-26:00')).toThrow(/bad time/);
  });
});

describe('risk configuration', () => {
  const dir = mkdtempSync(join(tmpdir(), 'otwatch-risk-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };

  it('bundled weights sum to 100; an override replaces only the keys it sets', () => {
    expect(Object.values(config.weights).reduce((a, b) => a + b, 0)).toBe(100);
    const c = loadRiskConfig(file('o.yaml', 'alerts:\n  halfLifeHours: 24\nweights:\n  alerts: 30\n'));
    expect(c.alerts.halfLifeHours).toBe(24);
    expect(c.alerts.lookbackDays).toBe(config.alerts.lookbackDays);
    expect(c.weights.alerts).toBe(30);
    expect(c.weights.sensor_silence).toBe(10);
  });

  it('refuses unknown keys, bad values and weights over 100, naming file and key', () => {
    expect(() => loadRiskConfig(file('a.yaml', 'weights:\n  alertz: 3\n'))).toThrow(
      /a\.yaml: unknown key 'weights\.alertz'/,
    );
    expect(() => loadRiskConfig(file('b.yaml', 'weights:\n  alerts: 90\n'))).toThrow(/weights sum to 150, at most 100/);
    expect(() => loadRiskConfig(file('c.yaml', 'alerts:\n  halfLifeHours: soon\n'))).toThrow(RiskConfigError);
    expect(() => loadRiskConfig(file('d.yaml', 'engineering:\n  utcOffset: "+8"\n'))).toThrow(/utcOffset/);
  });
});
