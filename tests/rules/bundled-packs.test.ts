/**
 * Every bundled rule (rules/packs) passes its own test cases — the same check as `otsensor rules test` — so CI
 * fails when a decoder change or a rule edit breaks a detection. Also guards the minimum of 40 detections
 * and that every rule carries at least one test.
 */
import { describe, expect, it } from 'vitest';
import { loadRules } from '../../rules/loader.ts';
import { runRuleTests, type TestOutcome } from '../../sensor/cli/rules-commands.ts';

describe('bundled rule packs', async () => {
  const loaded = await loadRules([], { bundled: true });
  const outcomes: TestOutcome[] = await runRuleTests(loaded.rules);

  it('has at least 40 detections, each with its own tests', () => {
    expect(loaded.rules.length).toBeGreaterThanOrEqual(40);
    for (const r of loaded.rules) expect(r.tests.length, r.meta.id).toBeGreaterThan(0);
  });

  const byRule = new Map<string, TestOutcome[]>();
  for (const o of outcomes) byRule.set(o.rule, [...(byRule.get(o.rule) ?? []), o]);
  for (const [rule, cases] of [...byRule.entries()].sort()) {
    it(`${rule}: ${cases.length} case(s) pass`, () => {
      const failed = cases
        .filter((c) => !c.pass)
        .map((c) => `${c.pcap}: expected ${c.expected}, got ${c.got} ${c.note}`);
      expect(failed).toEqual([]);
    });
  }
});
