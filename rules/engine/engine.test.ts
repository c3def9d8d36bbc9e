import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildRuleSet, type CompiledRule, compileRules, formatProblem, parseDuration } from './compile.ts';
import { FIELD_REGISTRIES } from './fields.ts';
import { parseIPv4, parseIPv6 } from './matchers.ts';
import { type RuleAlert, RuleEngine, type RuleEngineOptions } from './runtime.ts';
import { type FlowLike, K_COTP_CONNECT, K_MODBUS_TX, KIND_NAMES, ModbusTxSubject, RecordSubject } from './subjects.ts';

function compileOk(text: string): CompiledRule[] {
  const { rules, problems } = compileRules([{ file: 'mem.yml', text }]);
  expect(problems.map(formatProblem)).toEqual([]);
  return rules;
}

function problemsOf(text: string): string[] {
  return compileRules([{ file: 'bad.yml', text }]).problems.map(formatProblem);
}

const FLOW: FlowLike = {
  id: 'f1',
  clientIp: '10.1.2.3',
  serverIp: 'fe80::1',
  clientPort: 40000,
  serverPort: 102,
  vlanOuter: -1,
};

/** A COTP-connect rule around `detection` (a YAML block indented 2). */
function cotpRule(detection: string, extra = '', id = 'r1'): string {
  return `title: t
id: ${id}
level: low
logsource: {product: ot, service: cotp}
detection:
${detection}
${extra}`;
}

class Harness {
  readonly alerts: RuleAlert[] = [];
  readonly engine: RuleEngine;
  readonly subject = new RecordSubject();
  constructor(text: string, options: RuleEngineOptions = {}) {
    this.engine = new RuleEngine(buildRuleSet(compileOk(text)), { alert: (a) => this.alerts.push(a) }, options);
  }
  feed(data: Record<string, unknown>, tsSec = 1000, tsNsec = 0, flow: FlowLike = FLOW): void {
    this.subject.set(data, flow, tsSec, tsNsec, null);
    this.engine.evaluate(K_COTP_CONNECT, this.subject);
  }
  matches(data: Record<string, unknown>, flow: FlowLike = FLOW): boolean {
    const before = this.alerts.length;
    this.feed(data, 1000, 0, flow);
    return this.alerts.length > before;
  }
}

describe('field tests and modifiers', () => {
  it('equality is case-insensitive; lists are OR; |cased is exact', () => {
    const h = new Harness(cotpRule('  s: {srcTsap: [simatic-root-es, "0x0100"]}\n  condition: s'));
    expect(h.matches({ srcTsap: 'SIMATIC-ROOT-ES' })).toBe(true);
    expect(h.matches({ srcTsap: '0x0100' })).toBe(true);
    expect(h.matches({ srcTsap: '0x0101' })).toBe(false);
    expect(h.matches({})).toBe(false);
    const c = new Harness(cotpRule('  s: {srcTsap|cased: simatic}\n  condition: s'));
    expect(c.matches({ srcTsap: 'SIMATIC' })).toBe(false);
    expect(c.matches({ srcTsap: 'simatic' })).toBe(true);
  });

  it('contains / startswith / endswith / re, and |all', () => {
    const h = new Harness(
      cotpRule(
        '  a: {srcTsap|contains: ROOT}\n  b: {dstTsap|startswith: "0x01"}\n  c: {typeName|endswith: request}\n  d: {kind|re: "^cotp\\\\.connect_(request|confirm)$"}\n  condition: a and b and c and d',
      ),
    );
    expect(
      h.matches({
        srcTsap: 'SIMATIC-root-ES',
        dstTsap: '0x0102',
        typeName: 'Connect Request',
        kind: 'cotp.connect_request',
      }),
    ).toBe(true);
    expect(
      h.matches({
        srcTsap: 'SIMATIC-ES',
        dstTsap: '0x0102',
        typeName: 'Connect Request',
        kind: 'cotp.connect_request',
      }),
    ).toBe(false);
    expect(
      h.matches({ srcTsap: 'ROOT', dstTsap: '0x0202', typeName: 'Connect Request', kind: 'cotp.connect_request' }),
    ).toBe(false);
    expect(h.matches({ srcTsap: 'ROOT', dstTsap: '0x0102', typeName: 'Request x', kind: 'cotp.connect_request' })).toBe(
      false,
    );
    expect(h.matches({ srcTsap: 'ROOT', dstTsap: '0x0102', typeName: 'request', kind: 'cotp.connect_requestX' })).toBe(
      false,
    );
    const all = new Harness(cotpRule('  s: {srcTsap|contains|all: [SIMATIC, ES]}\n  condition: s'));
    expect(all.matches({ srcTsap: 'SIMATIC-ROOT-ES' })).toBe(true);
    expect(all.matches({ srcTsap: 'SIMATIC-ROOT' })).toBe(false);
  });

  it('gt / gte / lt / lte on numbers (a range is two keys)', () => {
    const h = new Harness(cotpRule('  s: {rack|gte: 1, rack|lt: 3, slot|gt: 0, slot|lte: 2}\n  condition: s'));
    expect(h.matches({ rack: 1, slot: 2 })).toBe(true);
    expect(h.matches({ rack: 2, slot: 1 })).toBe(true);
    expect(h.matches({ rack: 3, slot: 1 })).toBe(false);
    expect(h.matches({ rack: 0, slot: 1 })).toBe(false);
    expect(h.matches({ rack: 1, slot: 0 })).toBe(false);
    expect(h.matches({ rack: 1, slot: 3 })).toBe(false);
  });

  it('cidr on IPv4 and IPv6 addresses, and address equality', () => {
    const v4 = new Harness(cotpRule('  s: {client.ip|cidr: [10.1.0.0/16, 192.168.0.0/24]}\n  condition: s'));
    expect(v4.matches({})).toBe(true);
    expect(v4.matches({}, { ...FLOW, clientIp: '10.2.0.1' })).toBe(false);
    expect(v4.matches({}, { ...FLOW, clientIp: '192.168.0.255' })).toBe(true);
    const v6 = new Harness(cotpRule('  s: {server.ip|cidr: "fe80::/10"}\n  condition: s'));
    expect(v6.matches({})).toBe(true);
    expect(v6.matches({}, { ...FLOW, serverIp: '2001:db8::1' })).toBe(false);
    const eq = new Harness(cotpRule('  s: {server.ip: "fe80:0:0::1"}\n  condition: s'));
    expect(eq.matches({})).toBe(true);
    expect(parseIPv4('10.1.2.3')).toBe(0x0a010203);
    expect(parseIPv4('10.1.2')).toBe(-1);
    expect(parseIPv4('10.1.2.256')).toBe(-1);
    expect(parseIPv6('::ffff:1.2.3.4')).toEqual([0, 0, 0, 0, 0, 0xffff, 0x0102, 0x0304]);
  });

  it('exists true / false', () => {
    const h = new Harness(cotpRule('  s: {rack|exists: true}\n  f: {slot|exists: false}\n  condition: s and f'));
    expect(h.matches({ rack: 0 })).toBe(true);
    expect(h.matches({ rack: 0, slot: 2 })).toBe(false);
    expect(h.matches({ slot: 2 })).toBe(false);
  });

  it('booleans, and list fields match when any element matches', () => {
    const session = `title: t
id: s1
level: low
logsource: {product: ot, service: opcua, category: session}
detection:
  s: {passwordPresent: true}
  condition: s
`;
    const rules = compileOk(session);
    const alerts: RuleAlert[] = [];
    const engine = new RuleEngine(buildRuleSet(rules), { alert: (a) => alerts.push(a) });
    const subj = new RecordSubject();
    subj.set({ passwordPresent: false }, FLOW, 1, 0, null);
    engine.evaluate(rules[0]?.kinds[0] ?? -1, subj);
    subj.set({ passwordPresent: true }, FLOW, 1, 0, null);
    engine.evaluate(rules[0]?.kinds[0] ?? -1, subj);
    expect(alerts.length).toBe(1);

    const modbus = compileOk(`title: t
id: m1
level: low
logsource: {product: ot, service: modbus}
detection:
  w: {func: 16, request.values|gte: 1000}
  condition: w
`);
    const malerts: RuleAlert[] = [];
    const me = new RuleEngine(buildRuleSet(modbus), { alert: (a) => malerts.push(a) });
    const ms = new ModbusTxSubject();
    // FC 16: address 0x0010, 2 registers, 4 bytes: 5, 1234.
    const req = Uint8Array.from([16, 0, 0x10, 0, 2, 4, 0, 5, 0x04, 0xd2]);
    const tx = {
      func: 16,
      reqBuf: req,
      reqOff: 0,
      reqLen: req.length,
      request: null,
      response: null,
      respLen: 0,
      requestTsSec: 1,
      requestTsNsec: 0,
    };
    ms.set(tx as never, FLOW, null);
    me.evaluate(K_MODBUS_TX, ms);
    expect(malerts.length).toBe(1);
    expect(malerts[0]?.matched).toEqual({ func: 16, 'request.values': [5, 1234] });
    const low = Uint8Array.from([16, 0, 0x10, 0, 2, 4, 0, 5, 0, 6]);
    ms.set({ ...tx, reqBuf: low } as never, FLOW, null);
    me.evaluate(K_MODBUS_TX, ms);
    expect(malerts.length).toBe(1);
  });
});

describe('condition grammar', () => {
  const det = (cond: string) =>
    cotpRule(`  sel_a: {rack: 1}\n  sel_b: {slot: 2}\n  other: {srcRef: 3}\n  condition: ${cond}`);
  const cases: [string, Record<string, unknown>, boolean][] = [
    ['sel_a and sel_b and not other', { rack: 1, slot: 2 }, true],
    ['sel_a and sel_b and not other', { rack: 1, slot: 3 }, false],
    ['sel_a or sel_b and other', { rack: 1 }, true],
    ['(sel_a or sel_b) and other', { rack: 1 }, false],
    ['(sel_a or sel_b) and other', { slot: 2, srcRef: 3 }, true],
    ['sel_a and not sel_b and not other', { rack: 1, slot: 5 }, true],
    ['not not sel_a and other and not sel_b', { rack: 1, srcRef: 3 }, true],
    ['1 of sel_* and other', { slot: 2, srcRef: 3 }, true],
    ['all of sel_* and other', { slot: 2, srcRef: 3 }, false],
    ['all of them', { rack: 1, slot: 2, srcRef: 3 }, true],
    ['any of them', { srcRef: 3 }, true],
    ['1 of them', {}, false],
  ];
  for (const [cond, data, want] of cases) {
    it(`${cond} on ${JSON.stringify(data)} → ${want}`, () => {
      expect(new Harness(det(cond)).matches(data)).toBe(want);
    });
  }
});

describe('correlation on packet time', () => {
  const flood = (extra: string) =>
    cotpRule(
      '  s: {kind: cotp.connect_request}\n  condition: s',
      `correlation:\n  type: event_count\n  group_by: [client.ip]\n  timespan: 10s\n  condition: {gte: 3}\n${extra}`,
    );

  it('event_count fires when N events fall within the timespan, then starts afresh', () => {
    const h = new Harness(flood(''));
    const e = { kind: 'cotp.connect_request' };
    h.feed(e, 100);
    h.feed(e, 105);
    expect(h.alerts.length).toBe(0);
    h.feed(e, 109, 999_000_000);
    expect(h.alerts.length).toBe(1);
    expect(h.alerts[0]?.correlation).toEqual({
      type: 'event_count',
      groupBy: { 'client.ip': '10.1.2.3' },
      count: 3,
      timespanMs: 10_000,
    });
    // Afresh: two more do not fire, a third does.
    h.feed(e, 110);
    h.feed(e, 111);
    expect(h.alerts.length).toBe(1);
    h.feed(e, 112);
    expect(h.alerts.length).toBe(2);
  });

  it('events spread wider than the timespan never fire; groups are separate', () => {
    const h = new Harness(flood(''));
    const e = { kind: 'cotp.connect_request' };
    for (let t = 0; t < 10; t++) h.feed(e, 1000 + t * 6);
    expect(h.alerts.length).toBe(0);
    const other = { ...FLOW, clientIp: '10.9.9.9' };
    h.feed(e, 2000, 0, FLOW);
    h.feed(e, 2001, 0, other);
    h.feed(e, 2002, 0, FLOW);
    expect(h.alerts.length).toBe(0);
    h.feed(e, 2003, 0, FLOW);
    expect(h.alerts.length).toBe(1);
  });

  it('value_count counts distinct values within the timespan', () => {
    const h = new Harness(
      cotpRule(
        '  s: {kind: cotp.connect_request}\n  condition: s',
        'correlation:\n  type: value_count\n  field: rack\n  group_by: [client.ip]\n  timespan: 5s\n  condition: {gt: 2}',
      ),
    );
    const e = (rack: number) => ({ kind: 'cotp.connect_request', rack });
    h.feed(e(0), 10);
    h.feed(e(0), 11);
    h.feed(e(1), 12);
    h.feed(e(1), 12);
    expect(h.alerts.length).toBe(0);
    h.feed(e(2), 20); // racks 0 and 1 are older than 5 s by now
    expect(h.alerts.length).toBe(0);
    h.feed(e(3), 21);
    h.feed(e(4), 22);
    expect(h.alerts.length).toBe(1);
    expect(h.alerts[0]?.correlation?.count).toBe(3);
  });

  it('a selection the condition does not use is a load error', () => {
    expect(problemsOf(cotpRule('  a: {rack: 1}\n  b: {slot: 1}\n  condition: a')).join()).toContain(
      'selection "b" is not used',
    );
  });

  it('caps groups and counts evictions', () => {
    const h = new Harness(flood(''), { maxGroupsPerRule: 2 });
    const e = { kind: 'cotp.connect_request' };
    for (const ip of ['1.1.1.1', '2.2.2.2', '3.3.3.3', '1.1.1.1']) h.feed(e, 100, 0, { ...FLOW, clientIp: ip });
    expect(h.engine.stats.groupsEvicted).toBe(2);
  });
});

describe('suppression', () => {
  const rule = cotpRule('  s: {rack: 0}\n  condition: s', 'suppress: {by: [client.ip], window: 60s}');

  it('folds repeats into one closing alert with a count; a new window raises again', () => {
    const h = new Harness(rule);
    for (let i = 0; i < 5; i++) h.feed({ rack: 0 }, 100 + i);
    expect(h.alerts.length).toBe(1);
    expect(h.alerts[0]?.count).toBe(1);
    expect(h.engine.stats.suppressed).toBe(4);
    h.feed({ rack: 0 }, 161); // window [100, 160) is over: closing alert, then a new first alert
    expect(h.alerts.map((a) => a.count)).toEqual([1, 5, 1]);
    expect(h.alerts[1]?.suppressed).toEqual({ firstTsSec: 100, firstTsNsec: 0, lastTsSec: 104, lastTsNsec: 0 });
    h.feed({ rack: 0 }, 170);
    h.engine.flush();
    expect(h.alerts.map((a) => a.count)).toEqual([1, 5, 1, 2]);
  });

  it('keys are separate; sweep closes ended windows; a key cap closes the oldest early', () => {
    const h = new Harness(rule, { maxSuppressKeysPerRule: 2 });
    const at = (ip: string, t: number) => h.feed({ rack: 0 }, t, 0, { ...FLOW, clientIp: ip });
    at('1.1.1.1', 100);
    at('1.1.1.1', 101);
    at('2.2.2.2', 102);
    expect(h.alerts.length).toBe(2);
    at('3.3.3.3', 103); // evicts 1.1.1.1's window, which had a repeat
    expect(h.engine.stats.suppressKeysEvicted).toBe(1);
    expect(h.alerts.map((a) => [a.client.ip, a.count])).toEqual([
      ['1.1.1.1', 1],
      ['2.2.2.2', 1],
      ['1.1.1.1', 2],
      ['3.3.3.3', 1],
    ]);
    at('2.2.2.2', 104);
    h.engine.sweep(200);
    expect(h.alerts.at(-1)?.count).toBe(2);
    expect(h.alerts.at(-1)?.client.ip).toBe('2.2.2.2');
  });
});

describe('load errors name file, line and problem', () => {
  const base = (detection: string, extra = '') => `title: t
id: bad1
level: high
logsource:
  product: ot
  service: s7comm
detection:
${detection}
${extra}`;

  const cases: [string, string, string][] = [
    [
      'unknown field',
      base('  s:\n    fucn: 41\n  condition: s'),
      'bad.yml:9:5: rule bad1: unknown field "fucn" for s7comm/transaction (did you mean "func"?)',
    ],
    [
      'unknown modifier',
      base('  s:\n    func|bigger: 41\n  condition: s'),
      'bad.yml:9:18: rule bad1: "func|bigger": unknown modifier "bigger"',
    ],
    [
      'modifier on wrong type',
      base('  s:\n    func|contains: 4\n  condition: s'),
      'modifier "contains" needs a string field',
    ],
    [
      'wrong value type',
      base('  s:\n    func: PLC Stop\n  condition: s'),
      'bad.yml:9:11: rule bad1: "func": expects a number, got string PLC Stop',
    ],
    ['bad regex', base('  s:\n    funcName|re: "(unclosed"\n  condition: s'), 'bad regular expression'],
    ['bad cidr', base('  s:\n    client.ip|cidr: 10.0.0.0/33\n  condition: s'), 'bad CIDR "10.0.0.0/33"'],
    [
      'condition syntax',
      base('  s:\n    func: 41\n  condition: s and (s'),
      'bad.yml:10:14: rule bad1: condition: missing ")"',
    ],
    ['unknown selection', base('  s:\n    func: 41\n  condition: s or t'), 'condition: unknown selection "t"'],
    [
      'unused selection',
      base('  s:\n    func: 41\n  t:\n    func: 40\n  condition: s'),
      'bad.yml:10:3: rule bad1: selection "t" is not used',
    ],
    [
      'bad duration',
      base('  s:\n    func: 41\n  condition: s', 'suppress: {by: [client.ip], window: soon}'),
      '"suppress.window" must be a duration',
    ],
    [
      'unknown correlation field',
      base(
        '  s:\n    func: 41\n  condition: s',
        'correlation: {type: value_count, field: nope, timespan: 1s, condition: {gte: 2}}',
      ),
      'unknown field "nope"',
    ],
    [
      'bad level',
      base('  s:\n    func: 41\n  condition: s').replace('level: high', 'level: severe'),
      'bad.yml:3:8: rule bad1: "level" must be one of',
    ],
    ['unknown top key', `${base('  s:\n    func: 41\n  condition: s')}\nseverity: 3\n`, 'unknown key "severity"'],
    [
      'bad service',
      base('  s:\n    func: 41\n  condition: s').replace('service: s7comm', 'service: dnp3'),
      'bad.yml:6:12: rule bad1: "logsource.service" must be one of',
    ],
    [
      'bad test',
      base('  s:\n    func: 41\n  condition: s', 'tests:\n  - pcap: x.pcap\n'),
      'a test needs "count", "min" or "max"',
    ],
    ['yaml syntax', 'title: [unclosed\nid: x\n', 'bad.yml:'],
    ['missing id', 'title: t\nlevel: low\n', 'missing "id"'],
  ];
  for (const [what, text, want] of cases) {
    it(what, () => {
      const problems = problemsOf(text);
      expect(problems.length).toBeGreaterThan(0);
      expect(problems.join('\n')).toContain(want);
    });
  }

  it('duplicate ids across files name both places; a bad rule does not drop the good ones', () => {
    const ok = base('  s:\n    func: 41\n  condition: s');
    const { rules, problems } = compileRules([
      { file: 'a.yml', text: ok },
      { file: 'b.yml', text: `${ok}---\n${ok.replace('bad1', 'bad2').replace('func: 41', 'fnc: 41')}` },
    ]);
    expect(rules.map((r) => r.meta.id)).toEqual(['bad1']);
    expect(problems.map(formatProblem)).toEqual([
      'b.yml:2:1: rule bad1: duplicate id "bad1" (also a.yml:1)',
      expect.stringMatching(/^b\.yml:20:5: rule bad2: unknown field "fnc"/),
    ]);
  });

  it('durations', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('10s')).toBe(10_000);
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration('1h')).toBe(3_600_000);
    expect(parseDuration(2)).toBe(2000);
    expect(parseDuration('0s')).toBe(-1);
    expect(parseDuration('soon')).toBe(-1);
  });
});

describe('rule set index', () => {
  it('a rule is indexed only under its kinds; service any covers every anomaly kind', () => {
    const rules = compileOk(`title: a
id: any1
level: low
logsource: {product: ot, service: any, category: anomaly}
detection:
  s: {name|endswith: request_unanswered}
  condition: s
---
title: b
id: mb1
level: low
logsource: {product: ot, service: modbus}
detection:
  s: {func: 5}
  condition: s
`);
    const set = buildRuleSet(rules);
    const kinds = set.byKind.map((list, k) => [KIND_NAMES[k], list.map((r) => r.meta.id)]);
    expect(kinds.filter(([, ids]) => (ids as string[]).length > 0)).toEqual([
      ['modbus/transaction', ['mb1']],
      ['modbus/anomaly', ['any1']],
      ['s7comm/anomaly', ['any1']],
      ['cotp/anomaly', ['any1']],
      ['opcua/anomaly', ['any1']],
    ]);
  });
});

describe('dispatch by function code', () => {
  const rule = (id: string, detection: string) =>
    `title: t\nid: ${id}\nlevel: low\nlogsource: {product: ot, service: modbus}\ndetection:\n${detection}\n---\n`;
  it('rules requiring func values see only those; others see every event, in rule order', () => {
    const rules = compileOk(
      rule('w', '  s: {func: [5, 6]}\n  condition: s') +
        rule('not5', '  s: {func: 5}\n  condition: not s') +
        rule('or', '  a: {func: 16}\n  b: {unit: 9}\n  condition: a or b') +
        rule('and', '  a: {func: 3}\n  b: {unit: 1}\n  condition: b and a'),
    );
    expect(rules.map((r) => r.dispatch)).toEqual([[5, 6], null, null, [3]]);
    const fired: string[] = [];
    const engine = new RuleEngine(buildRuleSet(rules), { alert: (a) => fired.push(a.rule.id) });
    const ms = new ModbusTxSubject();
    for (const [func, unit] of [
      [5, 1],
      [6, 9],
      [3, 1],
      [16, 2],
      [4, 1],
    ] as const) {
      fired.push(`|${func}`);
      ms.set({ func, unit, reqLen: 0, request: null, requestTsSec: 1, requestTsNsec: 0 } as never, FLOW, null);
      engine.evaluate(K_MODBUS_TX, ms);
    }
    expect(fired.join(' ')).toBe('|5 w |6 w not5 or |3 not5 and |16 not5 or |4 not5');
  });
});

describe('docs/rules.md', () => {
  it('lists exactly the fields of the registry, per service/category', () => {
    const doc = readFileSync(new URL('../../docs/rules.md', import.meta.url), 'utf8');
    const sections = new Map<string, Set<string>>();
    let current: Set<string> | null = null;
    for (const line of doc.split('\n')) {
      const h = /^### (.+)$/.exec(line);
      if (h) {
        current = new Set();
        sections.set((h[1] ?? '').trim(), current);
        continue;
      }
      const row = /^\| ([^|]+) \|/.exec(line);
      if (current !== null && row) for (const m of (row[1] ?? '').matchAll(/`([^`]+)`/g)) current.add(m[1] ?? '');
    }
    const common = sections.get('Common to every service and category') ?? new Set();
    expect([...common].sort()).toEqual(['client.ip', 'client.port', 'server.ip', 'server.port', 'vlan']);
    KIND_NAMES.forEach((name, k) => {
      const [service, category] = name.split('/');
      const title =
        category === 'anomaly'
          ? 'SERVICE / anomaly (service `modbus`, `s7comm`, `cotp`, `opcua` or `any`)'
          : `${service} / ${category}`;
      const documented = sections.get(title);
      expect(documented, `section for ${name}`).toBeDefined();
      const registry = Object.keys(FIELD_REGISTRIES[k] ?? {}).filter((f) => !common.has(f));
      expect([...(documented ?? [])].sort(), name).toEqual(registry.sort());
    });
  });
});
