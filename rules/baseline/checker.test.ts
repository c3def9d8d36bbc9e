/** Rates on packet time, alert-once, caps: with synthetic events whose times and addresses the test controls. */
import { describe, expect, it } from 'vitest';
import { formatEventTime, type SensorEvent } from '../../protocols/wire/events.ts';
import { formatBaseline, parseBaseline } from './baseline-file.ts';
import { BaselineChecker } from './checker.ts';
import { BaselineLearner } from './learner.ts';

const T0 = 1_700_000_000; // whole seconds

let serial = 0;
/** A Modbus transaction at `t` seconds after T0 (fractions allowed). */
function modbus(t: number, func = 3, address = 0, quantity = 1, client = '10.0.0.1', server = '10.0.0.2'): SensorEvent {
  const sec = T0 + Math.floor(t);
  const ns = Math.round((t - Math.floor(t)) * 1e9);
  serial++;
  return {
    v: 1,
    kind: 'modbus.transaction',
    id: `f:${serial}`,
    sensor: 's',
    flow: 'f',
    ts: formatEventTime(sec, ns),
    tsNs: ns,
    client: { ip: client, port: 40000 },
    server: { ip: server, port: 502 },
    proto: 'modbus',
    modbus: { kind: 'paired', unit: 1, func, funcName: `fc${func}`, request: { func, address, quantity } },
  };
}

/** `perMin` requests per minute, evenly spaced, for `minutes` minutes from `start`. */
function steady(start: number, minutes: number, perMin: number): SensorEvent[] {
  const out: SensorEvent[] = [];
  for (let i = 0; i < minutes * perMin; i++) out.push(modbus(start + (i * 60) / perMin));
  return out;
}

function learned(events: SensorEvent[], settings = {}) {
  const l = new BaselineLearner({ settings });
  for (const e of events) l.observe(e);
  return { learner: l, baseline: l.baseline({ sensor: 's', files: [] }) };
}

describe('baseline rates (packet time)', () => {
  it('learns the peak per sliding minute and the typical per-minute rate', () => {
    const { baseline } = learned([...steady(0, 5, 10), ...steady(300, 0.25, 40)]); // 5 min at 10/min, then 10 in 15 s
    const p = baseline.talkers.get('10.0.0.1')?.get('10.0.0.2')?.get('modbus');
    expect(p?.requests).toBe(60);
    // At the burst's last request (t = 313.5 s) the window is the 5-s buckets covering [255, 315): the burst's 10 plus
    // the steady requests at 258, 264, ..., 294 (7).
    expect(p?.rate.peakPerMin).toBe(17);
    // 60 requests over a 5.25-minute span.
    expect(p?.rate.typicalPerMin).toBeCloseTo(11.5, 0);
  });

  it('alerts when one window exceeds rateFactor × the learned peak, once per burst, re-arming after it', () => {
    const { baseline } = learned(steady(0, 5, 10)); // peak 10 → limit max(3 × 10, 20) = 30
    const checker = new BaselineChecker(parseBaseline(formatBaseline(baseline), 'b.yml'));
    const rates = (events: SensorEvent[]) =>
      events.flatMap((e) => checker.check(e)).filter((a) => a.alert.rule.id === 'baseline.rate_exceeded');

    expect(rates(steady(1000, 5, 25))).toEqual([]); // 2.5× the peak: fine
    const burst = steady(2000, 0.5, 80); // 40 requests in 30 s
    const first = rates(burst);
    expect(first).toHaveLength(1);
    expect(first[0]?.alert.matched).toMatchObject({ requestsInWindow: 31, limit: 30, learnedPeakPerMin: 10 });
    expect(first[0]?.alert.event?.ts).toBe((burst[30] as SensorEvent).ts); // the 31st request crossed the limit
    expect(rates(steady(3000, 2, 10))).toEqual([]); // back to normal: re-armed, no alert
    expect(rates(steady(4000, 0.5, 80))).toHaveLength(1); // a second burst alerts again
  });

  it('rateFactor, rateMinRequests and a per-pair limitPerMin in the file are obeyed', () => {
    const { baseline } = learned(steady(0, 2, 10));
    const text = formatBaseline(baseline)
      .replace('rateFactor: 3', 'rateFactor: 1.5')
      .replace('rateMinRequests: 20', 'rateMinRequests: 0');
    const check = (t: string) => {
      const c = new BaselineChecker(parseBaseline(t, 'b.yml'));
      return steady(1000, 1, 16)
        .flatMap((e) => c.check(e))
        .filter((a) => a.alert.rule.id === 'baseline.rate_exceeded');
    };
    expect(check(text)).toHaveLength(1); // 16 > 1.5 × 10
    expect(check(text.replace(/peakPerMin: 10 \}/, 'peakPerMin: 10, limitPerMin: 100 }'))).toEqual([]);
  });

  it('a new talker during the burst is its own alert; the known pair still rate-checks', () => {
    const { baseline } = learned(steady(0, 1, 10));
    const c = new BaselineChecker(baseline);
    const alerts = [...steady(100, 0.2, 300), modbus(106, 3, 0, 1, '10.0.0.9')].flatMap((e) => c.check(e));
    expect(alerts.map((a) => a.alert.rule.id)).toEqual(['baseline.rate_exceeded', 'baseline.new_talker']);
    expect(c.stats.byRule).toEqual({ 'baseline.rate_exceeded': 1, 'baseline.new_talker': 1 });
  });
});

describe('baseline checker bookkeeping', () => {
  it('alerts once per distinct deviation and counts the repeats', () => {
    const { baseline } = learned([modbus(0, 16, 100, 10)]);
    const c = new BaselineChecker(baseline);
    const events = [modbus(1, 16, 100, 10), modbus(2, 16, 105, 5), modbus(3, 16, 110, 1), modbus(4, 16, 110, 1)];
    const alerts = events.flatMap((e) => c.check(e));
    expect(alerts.map((a) => a.alert.matched.range)).toEqual(['110']);
    expect(c.stats).toMatchObject({ events: 4, alerts: 1, repeats: 1 });
  });

  it('range slack widens what counts as known', () => {
    const { baseline } = learned([modbus(0, 16, 100, 10)]); // 100-109
    const strict = new BaselineChecker(baseline);
    expect(strict.check(modbus(1, 16, 110, 1)).map((a) => a.alert.rule.id)).toEqual(['baseline.new_write_range']);
    const loose = new BaselineChecker({ ...baseline, settings: { ...baseline.settings, rangeSlack: 1 } });
    expect(loose.check(modbus(1, 16, 110, 1))).toEqual([]);
    expect(loose.check(modbus(2, 16, 111, 1)).map((a) => a.alert.rule.id)).toEqual(['baseline.new_write_range']);
  });

  it('past the alert-once memory, deviations alert every time and the overflow is counted', () => {
    const { baseline } = learned([modbus(0)]);
    const c = new BaselineChecker(baseline, { maxAlertKeys: 1 });
    const alerts = [modbus(1, 16, 1), modbus(2, 16, 1), modbus(3, 16, 1)].flatMap((e) => c.check(e));
    // FC 16 is new (remembered, the one key), and each write to 1 alerts because the memory is full.
    expect(alerts.map((a) => a.alert.rule.id)).toEqual([
      'baseline.new_function',
      'baseline.new_write_range',
      'baseline.new_write_range',
      'baseline.new_write_range',
    ]);
    expect(c.stats.alertKeysOverflow).toBe(3);
  });
});

describe('baseline learner caps', () => {
  it('caps profiles, functions and ranges, counts what it leaves out and writes the counts into the file', () => {
    const l = new BaselineLearner({ maxProfiles: 1, maxFunctions: 2, maxRanges: 2 });
    const events = [
      modbus(0, 3, 0, 1),
      modbus(1, 3, 10, 1),
      modbus(2, 3, 20, 1), // third range: the two closest merge
      modbus(3, 4, 0, 1),
      modbus(4, 16, 0, 1), // third function: dropped
      modbus(5, 3, 0, 1, '10.0.0.7'), // second profile: dropped
    ];
    for (const e of events) l.observe(e);
    expect(l.stats).toMatchObject({ events: 6, observed: 6, profilesDropped: 1, functionsDropped: 1, rangesMerged: 1 });
    const b = l.baseline({ sensor: 's', files: [] });
    expect(b.learned.dropped).toEqual({ profilesDropped: 1, functionsDropped: 1, rangesMerged: 1 });
    const p = b.talkers.get('10.0.0.1')?.get('10.0.0.2')?.get('modbus');
    expect([...(p?.functions.keys() ?? [])]).toEqual(['3', '4']);
    expect(p?.functions.get('3')?.read.get('holding')).toEqual([
      [0, 10],
      [20, 20],
    ]);
    expect(formatBaseline(b)).toContain(
      'dropped:\n    functionsDropped: 1\n    profilesDropped: 1\n    rangesMerged: 1\n',
    );
  });
});
