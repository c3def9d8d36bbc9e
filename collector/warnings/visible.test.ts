import { describe, expect, it } from 'vitest';
import type { WarningRecord } from '../store/types.ts';
import { warningVisibleTo } from './visible.ts';

/** A spread warning to three enterprises, as the evaluator issues it: a summary fact, then one fact each. */
function spread(): WarningRecord {
  const ids = ['chem1', 'chem2', 'chem3'];
  return {
    id: '0190d0c0-0000-7000-8000-000000000001',
    dedupeKey: 'w|ZJ|industry=化工|technique=attack.t0809|1',
    ruleId: 'ot.warn.technique_spread',
    title: { zh: '攻击技术在行业内扩散', en: 'Technique spreading in an industry' },
    description: '',
    level: 'orange',
    province: 'ZJ',
    audience: { province: 'ZJ', industries: ['化工'], enterprises: ids },
    targets: ids.map((enterpriseId) => ({ enterpriseId, ackAt: null, ackBy: null, ackNote: null })),
    facts: [
      {
        kind: 'spread',
        enterpriseId: null,
        text: "technique attack.t0809 at 3 enterprises of industry '化工' within 24 h",
        textZh: '攻击技术 attack.t0809 在行业“化工”的 3 家企业出现',
        evidence: ids.map((id) => ({ kind: 'rule' as const, id: 'attack.t0809', label: id })),
        data: { key: 'technique', value: 'attack.t0809', enterprises: ids },
      },
      ...ids.map((id) => ({
        kind: 'alert',
        enterpriseId: id,
        text: `${id}: rule ot.s7.block_delete (critical) 1 alerts`,
        textZh: `${id}：规则 ot.s7.block_delete（critical）1 条`,
        evidence: [{ kind: 'alert' as const, id: `uid-${id}` }],
        data: { level: 'critical' },
      })),
    ],
    issuedAt: '2026-11-24T10:00:00.000Z',
    issuedBy: 'evaluator@collector',
    state: 'issued',
    closedAt: null,
    closedBy: null,
    closeNote: null,
    drill: false,
  };
}

describe('warningVisibleTo', () => {
  it('shows a province or the whole system everything', () => {
    const w = spread();
    expect(warningVisibleTo(w, { kind: 'province', province: 'ZJ' })).toEqual(w);
    expect(warningVisibleTo(w, { kind: 'all' })).toEqual(w);
  });

  it('shows an enterprise its own part and the count, and nothing naming another enterprise', () => {
    const w = spread();
    const seen = warningVisibleTo(w, { kind: 'enterprises', enterprises: ['chem2'] });
    expect(seen.targets.map((t) => t.enterpriseId)).toEqual(['chem2']);
    expect(seen.audience.enterprises).toEqual(['chem2']);
    expect(seen.facts.map((f) => f.kind)).toEqual(['spread', 'alert']);
    expect(seen.facts[0]?.text).toContain('3 enterprises');
    expect(seen.facts[0]?.data['enterprises']).toEqual(['chem2']);
    expect(seen.facts[0]?.evidence).toEqual([{ kind: 'rule', id: 'attack.t0809', label: 'chem2' }]);
    const text = JSON.stringify(seen);
    expect(text).not.toContain('chem1');
    expect(text).not.toContain('chem3');
    // The stored record is not changed.
    expect(w.targets).toHaveLength(3);
  });

  it('shows an assessor the part of each assigned enterprise', () => {
    const seen = warningVisibleTo(spread(), { kind: 'enterprises', enterprises: ['chem1', 'chem3'] });
    expect(seen.targets.map((t) => t.enterpriseId)).toEqual(['chem1', 'chem3']);
    expect(seen.facts.filter((f) => f.kind === 'alert').map((f) => f.enterpriseId)).toEqual(['chem1', 'chem3']);
    expect(JSON.stringify(seen)).not.toContain('chem2');
  });
});
