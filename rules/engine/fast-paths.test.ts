/**
 * The engine's cheap paths must decide exactly as the general ones: byte-domain value_count arrays vs the Map,
 * serviceName dispatch vs evaluating every rule, S7 request parts read from header bytes vs decoding.
 */
import { describe, expect, it } from 'vitest';
import { decodePdu } from '../../protocols/modbus/decode.ts';
import { encodingId } from '../../protocols/opcua/names.ts';
import { decodeS7 } from '../../protocols/s7comm/decode.ts';
import { buildRuleSet, type CompiledRule, compileRules, formatProblem } from './compile.ts';
import { type RuleAlert, RuleEngine } from './runtime.ts';
import {
  type FlowLike,
  K_MODBUS_TX,
  K_S7_TX,
  ModbusTxSubject,
  OpcuaTxSubject,
  S7_PART_BLOCK,
  S7_PART_ITEMS,
  S7_PART_PI,
  S7_PART_USERDATA,
  S7TxSubject,
  WORD_ADDRESS,
  WORD_QUANTITY,
  WORD_VALUE,
} from './subjects.ts';

function compileOk(text: string): CompiledRule[] {
  const { rules, problems } = compileRules([{ file: 'mem.yml', text }]);
  expect(problems.map(formatProblem)).toEqual([]);
  return rules;
}

const FLOW: FlowLike = {
  id: 'f',
  clientIp: '10.0.0.1',
  serverIp: '10.0.0.2',
  clientPort: 4000,
  serverPort: 502,
  vlanOuter: -1,
};
const FLOW2: FlowLike = { ...FLOW, id: 'g', clientPort: 4001 };

function sweepRule(field: string, threshold: number): string {
  return `title: t
id: sweep
level: low
logsource: {product: ot, service: modbus}
detection:
  seen: {${field}|gte: 0}
  condition: seen
correlation: {type: value_count, group_by: [client.ip, server.ip], field: ${field}, timespan: 10s, condition: {gte: ${threshold}}}
`;
}

/** Feeds (time s, unit, func) triples; returns the counts of the correlation alerts. */
function runSweep(field: 'unit' | 'func' | 'tid', events: [number, number, number][]): number[] {
  const alerts: RuleAlert[] = [];
  const engine = new RuleEngine(buildRuleSet(compileOk(sweepRule(field, 3))), { alert: (a) => alerts.push(a) });
  const s = new ModbusTxSubject();
  events.forEach(([t, unit, func], i) => {
    const tx = {
      kind: 'paired',
      unit,
      func,
      tid: unit,
      reqBuf: new Uint8Array(0),
      reqOff: 0,
      reqLen: 0,
      request: null,
      requestTsSec: t,
      requestTsNsec: 0,
    };
    s.set(tx as never, i % 2 === 0 ? FLOW : FLOW2, null);
    engine.evaluate(K_MODBUS_TX, s);
  });
  return alerts.map((a) => a.correlation?.count ?? -1);
}

describe('value_count on byte fields (array) decides like the Map path', () => {
  // unit and func are byteDomain fields; tid is not (Map path). Same values through each: same alerts.
  const events: [number, number, number][] = [
    [0, 1, 1],
    [1, 1, 1],
    [2, 2, 2],
    [15, 3, 3], // 1 and 2 are stale by now: no alert
    [16, 4, 4], // 2, 3, 4 within 10 s... 2 was at t=2: stale; 3 and 4 only
    [17, 4, 4],
    [18, 5, 5], // 3, 4, 5 → alert (3)
    [19, 6, 6],
    [20, 7, 7],
    [21, 8, 8], // after the reset: 6, 7, 8 → alert (3)
  ];
  it('unit, func and tid give the same alerts', () => {
    const unit = runSweep('unit', events);
    expect(unit).toEqual([3, 3]);
    expect(runSweep('func', events)).toEqual(unit);
    expect(runSweep('tid', events)).toEqual(unit);
  });
});

describe('transaction subjects take their time from the record', () => {
  it('request time when there was a request, else the response time', () => {
    const times = { requestTsSec: 1_700_000_001, requestTsNsec: 5, responseTsSec: 1_700_000_002, responseTsNsec: 7 };
    const m = new ModbusTxSubject();
    m.set({ ...times } as never, FLOW, null);
    expect([m.tsSec, m.tsNsec, m.flow]).toEqual([1_700_000_001, 5, FLOW]);
    m.set({ ...times, requestTsSec: -1, requestTsNsec: -1 } as never, FLOW2, null);
    expect([m.tsSec, m.tsNsec, m.flow]).toEqual([1_700_000_002, 7, FLOW2]);
    const s7 = new S7TxSubject();
    s7.set({ ...times, requestTsSec: -1 } as never, FLOW, null);
    expect([s7.tsSec, s7.tsNsec]).toEqual([1_700_000_002, 7]);
    const ua = new OpcuaTxSubject();
    ua.set({ ...times } as never, { policyUri: null, securityMode: null, identityTokenType: null }, FLOW, null);
    expect([ua.tsSec, ua.tsNsec]).toEqual([1_700_000_001, 5]);
  });
});

describe('Modbus request words read in place', () => {
  it('equal decodePdu address / quantity / value for every function code and length', () => {
    const s = new ModbusTxSubject();
    // Bytes after the function code that differ per position, so a wrong offset shows.
    const body = Array.from({ length: 12 }, (_, i) => 0x11 * (i + 1));
    let checked = 0;
    for (let fc = 0; fc < 256; fc++) {
      for (let len = 1; len <= 13; len++) {
        const buf = Uint8Array.from([0xee, fc, ...body]).subarray(0, len + 1);
        const tx = { func: fc, reqBuf: buf, reqOff: 1, reqLen: len, request: null };
        s.set(tx as never, FLOW, null);
        const d = decodePdu(0, buf, 1, len);
        expect([fc, len, s.requestWord(WORD_ADDRESS)]).toEqual([fc, len, d.address]);
        expect([fc, len, s.requestWord(WORD_QUANTITY)]).toEqual([fc, len, d.quantity]);
        expect([fc, len, s.requestWord(WORD_VALUE)]).toEqual([fc, len, d.value]);
        if (d.address !== undefined) checked++;
      }
    }
    // The codes with an address (1–6, 15, 16, 22) were compared with one, not only as undefined.
    expect(checked).toBeGreaterThan(9 * 5);
  });
});

describe('serviceName dispatches like service', () => {
  it('a serviceName list becomes the service ids (case-insensitive); unknown names add none', () => {
    const [r] = compileOk(`title: t
id: w
level: low
logsource: {product: ot, service: opcua}
detection:
  w: {serviceName: [writerequest, CallRequest, NoSuchRequest]}
  condition: w
`);
    expect(r?.dispatch?.sort()).toEqual([encodingId('WriteRequest'), encodingId('CallRequest')].sort());
  });
  it('a modifier on serviceName keeps the rule undispatched', () => {
    const [r] = compileOk(`title: t
id: w
level: low
logsource: {product: ot, service: opcua}
detection:
  w: {serviceName|startswith: Write}
  condition: w
`);
    expect(r?.dispatch).toBeNull();
  });
});

describe('S7 request parts told from header bytes', () => {
  /** A job PDU (S7 header 10 bytes) whose parameter starts with `params`. */
  function job(params: number[], rosctr = 1): Uint8Array {
    const hlen = rosctr === 2 || rosctr === 3 ? 12 : 10;
    const b = new Uint8Array(hlen + params.length);
    b[0] = 0x32;
    b[1] = rosctr;
    b[6] = params.length >> 8;
    b[7] = params.length & 0xff;
    b.set(params, hlen);
    return b;
  }
  function subject(req: Uint8Array): S7TxSubject {
    const s = new S7TxSubject();
    s.set({ reqBuf: req, reqLen: req.length, rosctr: req[1] ?? 0, func: req[10] ?? 0 } as never, FLOW, null);
    return s;
  }
  it('a read-var request can only have items', () => {
    const s = subject(job([0x04, 0x00]));
    expect(s.requestMayHave(S7_PART_ITEMS)).toBe(true);
    expect(s.requestMayHave(S7_PART_PI)).toBe(false);
    expect(s.requestMayHave(S7_PART_BLOCK)).toBe(false);
    expect(s.requestMayHave(S7_PART_USERDATA)).toBe(false);
  });
  it('PI service, PLC stop, block transfer and userdata requests are recognised', () => {
    expect(subject(job([0x28, 0, 0, 0, 0, 0, 0, 0, 0, 0])).requestMayHave(S7_PART_PI)).toBe(true);
    expect(subject(job([0x29, 0, 0, 0, 0, 0, 0])).requestMayHave(S7_PART_PI)).toBe(true);
    expect(subject(job([0x1a, 0, 0, 0, 0, 0, 0, 0])).requestMayHave(S7_PART_BLOCK)).toBe(true);
    expect(subject(job([0x1f, 0, 0, 0, 0, 0, 0, 0])).requestMayHave(S7_PART_BLOCK)).toBe(true);
    expect(subject(job([0, 1, 0x12, 4, 0x11, 0x44, 1, 0], 7)).requestMayHave(S7_PART_USERDATA)).toBe(true);
  });
  it('request.items.area read in place equals the decoded items (S7ANY only, bounds, truncation)', () => {
    const any = (area: number) => [0x12, 0x0a, 0x10, 0x02, 0, 1, 0, 1, area, 0, 0, 0];
    const other = [0x12, 0x06, 0xb0, 0x01, 0, 0, 0, 0];
    const cases = [
      job([0x05, 2, ...any(0x82), ...any(0x84)]),
      job([0x04, 3, ...any(0x81), ...other, ...any(0x83)]),
      job([0x05, 3, ...any(0x82), ...any(0x84)]), // count says 3, only 2 present
      job([0x05, 2, ...any(0x82), ...any(0x84)].slice(0, 20)), // second item cut short
      job([0x04, 0]),
      job([0x05]), // no item count
      job([0x28, 0, 0, 0, 0, 0, 0, 0, 0, 0]), // PI service: no items
      job([0, 1, 0x12, 4, 0x11, 0x44, 1, 0], 7), // userdata
    ];
    // A parameter length longer than the PDU (items stop at the PDU end), and one shorter than the items.
    const long = job([0x05, 2, ...any(0x82), ...any(0x84)]);
    long[7] = 60;
    const short = job([0x05, 2, ...any(0x82), ...any(0x84)]);
    short[7] = 14;
    cases.push(long, short);
    const fromDecode = (b: Uint8Array) => {
      const d = decodeS7(b, 0, b.length);
      return d.items?.flatMap((i) => (i.area === undefined ? [] : [i.area]));
    };
    const seen: unknown[] = [];
    for (const b of cases) {
      const s = subject(b);
      const expected = s.requestMayHave(S7_PART_ITEMS) ? fromDecode(b) : undefined;
      const got = s.itemAreas();
      expect(got === undefined ? undefined : [...got]).toEqual(expected);
      seen.push(expected);
    }
    expect(seen[0]).toEqual([0x82, 0x84]);
    expect(seen[1]).toEqual([0x81, 0x83]);
    expect(seen[3]).toEqual([0x82]);
    // One subject for all requests, forwards and backwards: its reused array must not keep a longer earlier result.
    const reused = new S7TxSubject();
    for (const b of [...cases, ...[...cases].reverse()]) {
      reused.set({ reqBuf: b, reqLen: b.length, rosctr: b[1] ?? 0, func: b[10] ?? 0 } as never, FLOW, null);
      const expected = reused.requestMayHave(S7_PART_ITEMS) ? fromDecode(b) : undefined;
      const got = reused.itemAreas();
      expect(got === undefined ? undefined : [...got]).toEqual(expected);
    }
  });
  it('a rule on request.pi.service still matches PI requests and reads nothing from others', () => {
    const alerts: RuleAlert[] = [];
    const rules = compileOk(`title: t
id: pi
level: low
logsource: {product: ot, service: s7comm}
detection:
  p: {request.pi.service: _MODU}
  condition: p
`);
    const engine = new RuleEngine(buildRuleSet(rules), { alert: (a) => alerts.push(a) });
    // PI service: 2 bytes param block length 0, then name length 5 and "_MODU".
    const name = [...'_MODU'].map((c) => c.charCodeAt(0));
    const pi = job([0x28, 0, 0, 0, 0, 0, 0, 0xfd, 0, 0, 5, ...name]);
    engine.evaluate(K_S7_TX, subject(pi));
    expect(alerts.length).toBe(1);
    engine.evaluate(K_S7_TX, subject(job([0x04, 0x00])));
    expect(alerts.length).toBe(1);
  });
});

describe('fields that imply dispatch values', () => {
  const s7Rule = (sel: string) => `title: t
id: s
level: low
logsource: {product: ot, service: s7comm}
detection:
  s: {${sel}}
  condition: s
`;
  it('a test on request.pi.* dispatches on PI service / PLC stop', () => {
    expect(compileOk(s7Rule('request.pi.service: _INSE'))[0]?.dispatch).toEqual([0x28, 0x29]);
    expect(compileOk(s7Rule('request.block.blockType|startswith: O'))[0]?.dispatch).toEqual([
      0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
    ]);
  });
  it('|exists (which can match an absent field) keeps the rule undispatched', () => {
    expect(compileOk(s7Rule('request.pi.service|exists: false'))[0]?.dispatch).toBeNull();
    expect(compileOk(s7Rule('request.userdata.szlId: "0x0011"'))[0]?.dispatch).toBeNull();
  });
});

describe('isWrite: true dispatches on the write function codes', () => {
  it('compiles to the write codes; isWrite: false stays undispatched', () => {
    const rule = (v: string) => `title: t
id: w
level: low
logsource: {product: ot, service: modbus}
detection:
  w: {isWrite: ${v}}
  condition: w
`;
    expect(compileOk(rule('true'))[0]?.dispatch).toEqual([5, 6, 15, 16, 21, 22, 23]);
    expect(compileOk(rule('false'))[0]?.dispatch).toBeNull();
  });
});
