import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadWarningRules, parseRuleFile, type RuleProblem, WarningRuleError } from './loader.ts';

const GOOD = `id: t.ok
title: { zh: 测试, en: Test }
level: yellow
description: d
audience: group
condition:
  kind: spread
  key: technique
  groupBy: city
  minEnterprises: 3
  window: 12h
  match: [T0843]
`;

function problemsOf(text: string): RuleProblem[] {
  const problems: RuleProblem[] = [];
  parseRuleFile('f.yaml', text, problems);
  return problems;
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('warning rule loader', () => {
  it('loads the bundled rules: every required kind is there', () => {
    const rules = loadWarningRules();
    const kinds = new Set(rules.map((r) => r.condition.kind));
    expect([...kinds].sort()).toEqual(['firmware_spread', 'grade_alert', 'score_rise', 'sensor_silence', 'spread']);
    for (const r of rules) expect(r.title.zh.length).toBeGreaterThan(0);
  });

  it('compiles a good rule: durations, techniques normalised, drill default on for alert rules', () => {
    const problems: RuleProblem[] = [];
    const [rule] = parseRuleFile('f.yaml', GOOD, problems);
    expect(problems).toEqual([]);
    expect(rule?.condition).toEqual({
      kind: 'spread',
      key: 'technique',
      groupBy: 'city',
      minEnterprises: 3,
      windowMs: 12 * 3_600_000,
      minLevel: 'low',
      match: ['attack.t0843'],
    });
    expect(rule?.drill).toBe(true);
    expect(rule?.source).toBe('f.yaml:1');
  });

  it.each([
    ['unknown level', GOOD.replace('level: yellow', 'level: purple'), 3, /level must be one of blue/],
    ['missing title', GOOD.replace('title: { zh: 测试, en: Test }\n', ''), 1, /missing 'title'/],
    ['title without en', GOOD.replace('en: Test', 'fr: Test'), 2, /'title' must be a map with 'zh' and 'en'/],
    ['bad duration', GOOD.replace('window: 12h', 'window: soon'), 11, /'window': duration must be like/],
    ['unknown condition key', GOOD.replace('  match: [T0843]', '  matches: [T0843]'), 12, /unknown key 'matches'/],
    ['unknown top key', `${GOOD}severity: 3\n`, 13, /unknown key 'severity'/],
    ['minEnterprises too small', GOOD.replace('minEnterprises: 3', 'minEnterprises: 1'), 10, /integer ≥ 2/],
    ['unknown kind', GOOD.replace('kind: spread', 'kind: magic'), 7, /condition kind must be one of/],
    ['bad audience', GOOD.replace('audience: group', 'audience: everyone'), 5, /'audience' must be/],
    ['YAML syntax', 'id: [unclosed\n', 2, /./],
  ])('%s is an error naming the line', (_name, text, line, message) => {
    const problems = problemsOf(text);
    expect(problems.length).toBe(1);
    expect(problems[0]).toMatchObject({ file: 'f.yaml', line });
    expect(problems[0]?.message).toMatch(message);
  });

  it('refuses to load anything when one file is bad, naming file, line and problem; duplicates too', () => {
    const dir = mkdtempSync(join(tmpdir(), 'otwatch-wrules-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'a.yaml'), GOOD);
    writeFileSync(join(dir, 'b.yaml'), `${GOOD}---\n${GOOD.replace('level: yellow', 'level: 5')}`);
    let error: unknown;
    try {
      loadWarningRules([dir]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(WarningRuleError);
    const message = (error as Error).message;
    expect(message).toContain(`${join(dir, 'b.yaml')}:1: duplicate rule id 't.ok'`);
    expect(message).toContain(`${join(dir, 'b.yaml')}:16: level must be one of`);
    expect(() => loadWarningRules([join(dir, 'missing')], { bundled: false })).toThrow(/cannot read/);
  });
});
