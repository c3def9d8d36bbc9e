import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { SensorEvent } from '../protocols/wire/events.ts';
import { buildRuleSet, compileRules, EMPTY_RULE_SET, formatProblem } from '../rules/engine/compile.ts';
import { loadRules } from '../rules/loader.ts';
import { SHARED_PCAPS } from '../tests/support/paths.ts';
import { alertEvent, CollectingAlertSink } from './alerts.ts';
import { RuleReloader } from './alerts-reload.ts';
import { analyseFile, drainSource } from './analyse-file.ts';
import { openCaptureFile } from './capture/file-source.ts';
import { runRuleTests } from './cli/rules-commands.ts';
import { Pipeline } from './pipeline.ts';

const TESTDATA = fileURLToPath(new URL('../rules/engine/testdata/', import.meta.url));
const pcap = (name: string) => join(SHARED_PCAPS, name);

async function testRules() {
  return (await loadRules([TESTDATA], { bundled: false })).set;
}

function ruleSet(text: string) {
  const { rules, problems } = compileRules([{ file: 'inline.yml', text }]);
  expect(problems.map(formatProblem)).toEqual([]);
  return buildRuleSet(rules);
}

class Events {
  readonly events: SensorEvent[] = [];
  emit(e: SensorEvent): void {
    this.events.push(e);
  }
}

describe('alerts through the pipeline on real captures', () => {
  it('S7 PLC stop fires once, with the decoded request as evidence (counting mode)', async () => {
    const sink = new CollectingAlertSink();
    await analyseFile(pcap('gymgit__step7_s300_stop.pcapng'), { rules: await testRules(), alerts: sink });
    const stops = sink.alerts.filter((a) => a.rule.id === 'test.s7.plc_stop');
    expect(stops.length).toBe(1);
    const json = alertEvent(stops[0] as never, 'local');
    expect(json.kind).toBe('alert');
    expect(json.alert.rule).toMatchObject({ id: 'test.s7.plc_stop', level: 'high', tags: ['attack.t0881'] });
    expect(json.alert.matched).toEqual({ func: 41 });
    expect(json.server.port).toBe(102);
    const ev = json.alert.event as SensorEvent & { s7comm: { func: number; request: { pi: { service: string } } } };
    expect(ev.kind).toBe('s7comm.transaction');
    expect(ev.s7comm.func).toBe(41);
    expect(ev.s7comm.request.pi.service).toBe('P_PROGRAM');
    expect(json.id).toBe(`test.s7.plc_stop@${ev.id}`);
    expect(json.ts).toBe(ev.ts);
  });

  it('same alerts with and without an event sink; with one, evidence is the emitted event itself', async () => {
    const file = pcap('icsnpp-modbus__modbus_example.pcap');
    const rules = ruleSet(`title: writes
id: w
level: medium
logsource: {product: ot, service: modbus}
detection:
  w: {isWrite: true}
  condition: w
`);
    const counting = new CollectingAlertSink();
    await analyseFile(file, { rules, alerts: counting });
    const withEvents = new CollectingAlertSink();
    const events = new Events();
    await analyseFile(file, { rules, alerts: withEvents, events });
    const writes = events.events.filter(
      (e) => e.kind === 'modbus.transaction' && [5, 6, 15, 16, 21, 22, 23].includes(Number(e.modbus.func)),
    );
    expect(writes.length).toBeGreaterThan(0);
    expect(counting.alerts.length).toBe(writes.length);
    expect(withEvents.alerts.length).toBe(writes.length);
    withEvents.alerts.forEach((a, i) => {
      expect(a.event).toBe(writes[i]);
    });
    // Counting-mode evidence carries the lazily decoded request too.
    const fc16 = counting.alerts.find((a) => (a.event as unknown as { modbus: { func: number } }).modbus.func === 16);
    const request = (fc16?.event as unknown as { modbus: { request?: { quantity?: number } } } | undefined)?.modbus
      .request;
    expect(request?.quantity).toBeGreaterThan(0);
  });

  it('every Modbus anomaly is matchable: one alert per anomaly the parser counted', async () => {
    const file = pcap('icsnpp-modbus__modbus_example.pcap');
    const rules = ruleSet(`title: any modbus anomaly
id: a
level: low
logsource: {product: ot, service: any, category: anomaly}
detection:
  s: {protocol: modbus}
  condition: s
`);
    const sink = new CollectingAlertSink();
    const { pipeline } = await analyseFile(file, { rules, alerts: sink });
    const counted = [...pipeline.modbus.anomalies.values()].reduce((a, b) => a + b, 0);
    expect(counted).toBeGreaterThan(0);
    expect(sink.alerts.length).toBe(counted);
    expect(sink.alerts[0]?.event?.kind).toBe('anomaly');
  });

  it('OPC UA posture fields: a UserName session on a None channel', async () => {
    const rules = ruleSet(`title: username on none
id: u
level: high
logsource: {product: ot, service: opcua, category: session}
detection:
  s: {identityTokenType: UserName, securityPolicy: None, passwordPresent: true}
  condition: s
---
title: calls on a None channel
id: c
level: medium
logsource: {product: ot, service: opcua}
detection:
  s: {serviceName: [ReadRequest, BrowseRequest], securityMode: None}
  condition: s
suppress: {by: [client.ip], window: 1h}
`);
    const sink = new CollectingAlertSink();
    await analyseFile(pcap('icsnpp-opcua__open62541_client-server_mainloop.pcap'), { rules, alerts: sink });
    const ids = sink.alerts.map((a) => a.rule.id);
    expect(ids.filter((i) => i === 'u').length).toBeGreaterThan(0);
    const closing = sink.alerts.filter((a) => a.rule.id === 'c' && a.suppressed !== undefined);
    const first = sink.alerts.filter((a) => a.rule.id === 'c' && a.suppressed === undefined);
    expect(first.length).toBeGreaterThan(0);
    expect(closing.every((a) => a.count > 1)).toBe(true);
  });

  it('the test pack passes its own tests (rules test runner)', async () => {
    const loaded = await loadRules([TESTDATA], { bundled: false });
    const outcomes = await runRuleTests(loaded.rules);
    expect(outcomes.length).toBe(5);
    expect(outcomes.filter((o) => !o.pass)).toEqual([]);
  });

  it('the runner fails a rule whose expectation is wrong', async () => {
    const { rules } = compileRules([
      {
        file: 'x.yml',
        text: `title: t
id: wrong
level: low
logsource: {product: ot, service: s7comm}
detection:
  s: {func: 0x29}
  condition: s
tests:
  - pcap: ../shared/pcaps/gymgit__step7_s300_stop.pcapng
    count: 2
  - pcap: ../shared/pcaps/does-not-exist.pcap
    count: 0
`,
      },
    ]);
    const outcomes = await runRuleTests(rules);
    expect(outcomes.map((o) => [o.pass, o.got])).toEqual([
      [false, 1],
      [false, null],
    ]);
  });
});

describe('live rule reload', () => {
  it('Pipeline.setRules swaps the set between batches', async () => {
    const sink = new CollectingAlertSink();
    const file = pcap('gymgit__step7_s300_stop.pcapng');
    const pipeline = new Pipeline({ rules: EMPTY_RULE_SET, alerts: sink });
    await drainSource(await openCaptureFile(file), pipeline);
    expect(sink.alerts.length).toBe(0);
    const swapped = new Pipeline({ rules: EMPTY_RULE_SET, alerts: sink });
    swapped.setRules(await testRules());
    await drainSource(await openCaptureFile(file), swapped);
    expect(sink.alerts.filter((a) => a.rule.id === 'test.s7.plc_stop').length).toBe(1);
  });

  it('a changed rule file is recompiled and offered; a bad edit keeps the old set and is logged', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'otsensor-rules-'));
    try {
      const file = join(dir, 'r.yml');
      const rule = (id: string, field = 'func') =>
        `title: t\nid: ${id}\nlevel: low\nlogsource: {product: ot, service: s7comm}\ndetection:\n  s: {${field}: 41}\n  condition: s\n`;
      await writeFile(file, rule('first'));
      const loaded = await loadRules([dir], { bundled: false });
      const logs: string[] = [];
      let resolve: (ok: boolean) => void = () => {};
      const next = () => new Promise<boolean>((r) => (resolve = r));
      const reloader = new RuleReloader(loaded, {
        dirs: [dir],
        bundled: false,
        debounceMs: 20,
        log: (m) => logs.push(m),
        onReload: (ok) => resolve(ok),
      });
      reloader.start();
      try {
        let done = next();
        await writeFile(file, rule('second'));
        expect(await done).toBe(true);
        expect(reloader.take()?.rules.map((r) => r.meta.id)).toEqual(['second']);
        expect(reloader.take()).toBeNull();
        done = next();
        await writeFile(file, rule('third', 'fnuc'));
        expect(await done).toBe(false);
        expect(reloader.take()).toBeNull();
        expect(logs.at(-1)).toMatch(/rejected.*r\.yml:6:\d+: rule third: unknown field "fnuc"/s);
        expect(reloader.stats.rejected).toBe(1);
      } finally {
        reloader.stop();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
