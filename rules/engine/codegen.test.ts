/**
 * The generated evaluators (codegen.ts) must raise exactly what the interpreted engine raises: same alerts, same
 * order, same stats, on every bundled rule's test captures and on random synthetic traffic with small caps. And a
 * hostile rule value must stay data: it is matched literally and never appears in the generated source.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { alertEvent, CollectingAlertSink } from '../../sensor/alerts.ts';
import { analyseFile } from '../../sensor/analyse-file.ts';
import { Rng } from '../../tests/support/prng.ts';
import { loadRules, resolveTestCapture } from '../loader.ts';
import { eqFold } from './codegen.ts';
import { buildRuleSet, type CompiledRule, compileRules, formatProblem } from './compile.ts';
import { type RuleAlert, RuleEngine, type RuleEngineOptions, type RuleEngineStats } from './runtime.ts';
import { type FlowLike, K_COTP_CONNECT, K_MODBUS_TX, ModbusTxSubject, RecordSubject } from './subjects.ts';

function compileOk(text: string): CompiledRule[] {
  const { rules, problems } = compileRules([{ file: 'mem.yml', text }]);
  expect(problems.map(formatProblem)).toEqual([]);
  return rules;
}

function statsOf(s: RuleEngineStats): unknown {
  return { ...s, byRule: [...s.byRule], byLevel: [...s.byLevel] };
}

describe('generated and interpreted engines raise the same alerts', () => {
  it('on the test captures of every bundled rule (JSON alert stream and stats)', async () => {
    const loaded = await loadRules([]);
    const captures = [...new Set(loaded.rules.flatMap((r) => r.tests.map((t) => resolveTestCapture(t.pcap))))];
    const present = captures.filter((c) => existsSync(c));
    expect(present.length).toBeGreaterThan(20);
    let total = 0;
    for (const file of present) {
      const run = async (generated: boolean) => {
        const sink = new CollectingAlertSink();
        const { pipeline } = await analyseFile(file, {
          rules: loaded.set,
          alerts: sink,
          ruleEngine: { generated },
        });
        const engine = pipeline.ruleHook?.engine;
        return {
          alerts: sink.alerts.map((a) => JSON.stringify(alertEvent(a, 'test'))),
          stats: engine === undefined ? null : statsOf(engine.stats),
        };
      };
      const interpreted = await run(false);
      const generated = await run(true);
      expect(generated.alerts, file).toEqual(interpreted.alerts);
      expect(generated.stats, file).toEqual(interpreted.stats);
      total += generated.alerts.length;
    }
    // The captures make the bundled rules fire (else the comparison would be vacuous).
    expect(total).toBeGreaterThan(100);
  }, 120_000);

  /** Modbus rules covering every inline path: each test kind, suppress by a field, both correlation types. */
  const MODBUS_RULES = `
title: flood
id: flood
level: low
logsource: {product: ot, service: modbus}
detection:
  req: {kind: [paired, unanswered]}
  condition: req
correlation: {type: event_count, group_by: [client.ip, server.ip], timespan: 2s, condition: {gte: 5}}
suppress: {by: [client.ip, server.ip], window: 3s}
---
title: funcs
id: funcs
level: low
logsource: {product: ot, service: modbus}
detection:
  anyf: {func|gte: 0}
  condition: anyf
correlation: {type: value_count, group_by: [client.ip, server.ip], field: func, timespan: 4s, condition: {gte: 3}}
suppress: {by: [client.ip], window: 2s}
---
title: addresses
id: addresses
level: low
logsource: {product: ot, service: modbus}
detection:
  a: {request.address|gte: 0}
  condition: a
correlation: {type: value_count, group_by: [client.ip, server.ip, unit], field: request.address, timespan: 5s, condition: {gt: 4}}
suppress: {by: [client.ip, server.ip], window: 2s}
---
title: tids
id: tids
level: low
logsource: {product: ot, service: modbus}
detection:
  a: {tid|lt: 40}
  condition: a
correlation: {type: value_count, group_by: [unit, func], field: tid, timespan: 3s, condition: {gte: 4}}
---
title: writes
id: writes
level: low
logsource: {product: ot, service: modbus}
detection:
  w: {isWrite: true}
  odd: {unit: [1, 3]}
  condition: w and not odd
suppress: {by: [client.ip, server.ip, unit], window: 1s}
---
title: names
id: names
level: low
logsource: {product: ot, service: modbus}
detection:
  n1: {funcName|contains: REGISTER}
  n2: {funcName|startswith|cased: Write}
  n3: {client.ip|cidr: [10.0.0.0/31, 192.168.0.0/16]}
  n4: {funcName|re: "^read (coils|discrete)"}
  n5: {exceptionCode|exists: true}
  condition: (n1 and n3) or (n2 and not n3) or n4 or n5
suppress: {by: [client.ip, func], window: 2s}
---
title: exact
id: exact
level: low
logsource: {product: ot, service: modbus}
detection:
  e: {func: 3, request.quantity|lte: 3}
  condition: e
`;

  const NAMES: Record<number, string> = {
    1: 'Read Coils',
    2: 'Read Discrete Inputs',
    3: 'Read Holding Registers',
    5: 'Write Single Coil',
    6: 'Write Single Register',
    16: 'Write Multiple Registers',
  };

  function runRandom(seed: number, options: RuleEngineOptions): { alerts: unknown[]; stats: unknown } {
    const rng = new Rng(seed);
    const set = buildRuleSet(compileOk(MODBUS_RULES));
    const alerts: RuleAlert[] = [];
    const engine = new RuleEngine(set, { alert: (a) => alerts.push(a) }, options);
    const flows: FlowLike[] = [];
    for (let i = 0; i < 6; i++) {
      flows.push({
        id: `f${i}`,
        clientIp: ['10.0.0.1', '10.0.0.2', '192.168.3.4'][i % 3] as string,
        serverIp: i < 3 ? '10.0.1.1' : '10.0.1.2',
        clientPort: 4000 + i,
        serverPort: 502,
        vlanOuter: -1,
      });
    }
    const s = new ModbusTxSubject();
    let t = 1000;
    for (let i = 0; i < 3000; i++) {
      t += rng.int(400) / 1000;
      const func = [1, 2, 3, 5, 6, 16][rng.int(6)] as number;
      const address = rng.int(12);
      const req = new Uint8Array([func, address >> 8, address & 255, 0, 1 + rng.int(4), 0, 0]);
      const isException = rng.int(20) === 0;
      const tx = {
        kind: rng.int(10) === 0 ? 'unanswered' : 'paired',
        reason: 'response',
        tid: rng.int(60),
        unit: rng.int(4),
        func,
        funcName: NAMES[func],
        category: 'public',
        isException,
        exceptionCode: isException ? 2 : -1,
        exceptionName: isException ? 'Illegal Data Address' : '',
        rttNs: 1000,
        reqBuf: req,
        reqOff: 0,
        reqLen: req.length,
        respBuf: new Uint8Array(0),
        respOff: 0,
        respLen: 0,
        request: null,
        response: null,
        requestTsSec: Math.floor(t),
        requestTsNsec: Math.round((t % 1) * 1e9),
      };
      s.set(tx as never, flows[rng.int(flows.length)] as FlowLike, null);
      engine.evaluate(K_MODBUS_TX, s);
      if (i % 97 === 0) engine.sweep(Math.floor(t));
    }
    engine.flush();
    return {
      alerts: alerts.map((a) => ({ ...a, rule: a.rule.id })),
      stats: statsOf(engine.stats),
    };
  }

  it('on random Modbus traffic, with default and with tiny caps (evictions)', () => {
    let fired = 0;
    for (let seed = 1; seed <= 30; seed++) {
      const caps: RuleEngineOptions =
        seed % 2 === 0 ? {} : { maxGroupsPerRule: 2, maxValuesPerGroup: 3, maxSuppressKeysPerRule: 2 };
      const a = runRandom(seed, { ...caps, generated: false });
      const b = runRandom(seed, { ...caps, generated: true });
      expect(b.alerts, `seed ${seed}`).toEqual(a.alerts);
      expect(b.stats, `seed ${seed}`).toEqual(a.stats);
      fired += a.alerts.length;
    }
    expect(fired).toBeGreaterThan(500);
  });

  it('with runs of undispatched rules fused into one function, of any length, as with one function per rule', () => {
    const set = buildRuleSet(compileOk(MODBUS_RULES));
    const sources = (maxRulesPerRun: number) =>
      new RuleEngine(set, { alert() {} }, { maxRulesPerRun }).generatedSources().join('\n');
    // The fused functions exist by default and not with runs of one (else this test would compare nothing new).
    expect(sources(8)).toContain('function evaluateRun(');
    expect(sources(1)).not.toContain('function evaluateRun(');
    for (let seed = 31; seed <= 40; seed++) {
      const caps: RuleEngineOptions =
        seed % 2 === 0 ? {} : { maxGroupsPerRule: 2, maxValuesPerGroup: 3, maxSuppressKeysPerRule: 2 };
      const single = runRandom(seed, { ...caps, maxRulesPerRun: 1 });
      for (const maxRulesPerRun of [2, 3, 8]) {
        const fused = runRandom(seed, { ...caps, maxRulesPerRun });
        expect(fused.alerts, `seed ${seed}, runs of ${maxRulesPerRun}`).toEqual(single.alerts);
        expect(fused.stats, `seed ${seed}, runs of ${maxRulesPerRun}`).toEqual(single.stats);
      }
    }
  });
});

describe('case-insensitive equality without lower-casing', () => {
  it('decides as length check plus toLowerCase, also for characters that change length or map to ASCII', () => {
    // U+0130 lower-cases to two characters, U+212A (Kelvin) to ASCII k, final sigma depends on context.
    const words = [
      'vendor',
      'VENDOR',
      'Vendor',
      'public',
      'vendoR',
      'vend0r',
      'k',
      'K',
      '\u212a',
      'i\u0307',
      '\u0130',
      'ΟΔΟΣ',
      'οδος',
      'οδοσ',
      'οδος ',
      '',
      'vendör',
      'VENDÖR',
      'ab\u212ac',
      'abkc',
      'ABKC',
      42,
      undefined,
    ];
    let equal = 0;
    for (const x of words) {
      for (const w of words) {
        if (typeof w !== 'string') continue;
        const lower = w.toLowerCase();
        const want = typeof x === 'string' && x.length === lower.length && x.toLowerCase() === lower;
        expect([x, lower, eqFold(x, lower)]).toEqual([x, lower, want]);
        if (want) equal++;
      }
    }
    // Not only "different" pairs: case variants and the Kelvin sign compare equal.
    expect(equal).toBeGreaterThan(words.length);
  });
});

describe('generated code is built from compiled structures only', () => {
  // Quotes, a backtick template with a placeholder, a comment end and a statement: each breaks out if pasted.
  const HOSTILE = ['x\'"`$', '{globalThis.__codegenPwned = 1}`\\\n*/ }); globalThis.__codegenPwned = 2; (('].join('');

  function hostileRules(): string {
    const value = JSON.stringify(HOSTILE);
    return `title: t
id: hostile
level: low
logsource: {product: ot, service: cotp}
detection:
  eq: {dstTsap: ${value}}
  sw: {srcTsap|startswith|cased: ${value}}
  ct: {typeName|contains: ${value}}
  condition: eq or sw or ct
`;
  }

  it('matches a value with quotes, backticks and a template placeholder literally, and runs none of it', () => {
    const g = globalThis as { __codegenPwned?: number };
    delete g.__codegenPwned;
    const alerts: RuleAlert[] = [];
    const engine = new RuleEngine(buildRuleSet(compileOk(hostileRules())), { alert: (a) => alerts.push(a) });
    const s = new RecordSubject();
    const flow: FlowLike = {
      id: 'f',
      clientIp: '1.2.3.4',
      serverIp: '5.6.7.8',
      clientPort: 1,
      serverPort: 102,
      vlanOuter: -1,
    };
    const feed = (data: Record<string, unknown>) => {
      s.set(data, flow, 1, 0, null);
      engine.evaluate(K_COTP_CONNECT, s);
    };
    feed({ dstTsap: HOSTILE.toUpperCase() }); // equality is case-insensitive
    feed({ srcTsap: `${HOSTILE}tail` });
    feed({ typeName: `head${HOSTILE}tail` });
    feed({ dstTsap: 'x', srcTsap: 'x', typeName: 'globalThis.__codegenPwned = 1' });
    feed({ srcTsap: `${HOSTILE.toUpperCase()}tail` }); // startswith is |cased
    expect(alerts.length).toBe(3);
    expect(g.__codegenPwned).toBeUndefined();
  });

  it('the generated source names no rule text (values, fields, ids)', () => {
    const engine = new RuleEngine(buildRuleSet(compileOk(hostileRules())), { alert: () => {} });
    const source = engine.generatedSources().join('\n');
    expect(source).toContain('function evaluateRule(');
    for (const text of ['__codegenPwned', 'hostile', 'dstTsap', 'srcTsap', 'typeName', '`']) {
      expect(source).not.toContain(text);
    }
  });
});
