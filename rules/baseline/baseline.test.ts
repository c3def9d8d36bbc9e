/**
 * Learn → file → check on real captures: a capture checked against its own baseline deviates nowhere; a capture that
 * adds writes / functions / talkers raises exactly those deviations; a hand-edited baseline (a function or node
 * removed) raises exactly the removed thing.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SensorEvent } from '../../protocols/wire/events.ts';
import { REPO_ROOT, SHARED_PCAPS } from '../../tests/support/paths.ts';
import { runCaptureThroughPipeline } from '../../tests/support/run-pipeline.ts';
import { formatBaseline, parseBaseline } from './baseline-file.ts';
import { type BaselineAlert, BaselineChecker } from './checker.ts';
import { BaselineLearner } from './learner.ts';
import type { Baseline } from './model.ts';

const shared = (name: string) => path.join(SHARED_PCAPS, name);
const peer = (name: string) => path.join(REPO_ROOT, 'tests/peers', name);

async function eventsOf(file: string): Promise<SensorEvent[]> {
  const run = await runCaptureThroughPipeline(file);
  expect(run.error).toBeNull();
  return run.events;
}

function learn(events: readonly SensorEvent[], files: string[] = ['x.pcap']): Baseline {
  const learner = new BaselineLearner();
  for (const e of events) learner.observe(e);
  return learner.baseline({ sensor: 'test', files });
}

/** Through the file and back, the way the CLI does it. */
function viaFile(b: Baseline): Baseline {
  return parseBaseline(formatBaseline(b), 'baseline.yml');
}

function check(b: Baseline, events: readonly SensorEvent[]): BaselineAlert[] {
  const checker = new BaselineChecker(b);
  const out: BaselineAlert[] = [];
  for (const e of events) out.push(...checker.check(e));
  return out;
}

/** A compact, comparable view of an alert. */
function brief(a: BaselineAlert): string {
  const d = a.alert.matched;
  const what =
    d.range !== undefined
      ? `${d.space} ${d.range}`
      : (d.function ?? d.userdata ?? d.service ?? d.szlId ?? d.method ?? d.nodeId ?? d.protocol ?? '');
  const extra = d.piService !== undefined ? ` ${d.piService}` : d.nodeId !== undefined ? ` ${d.nodeId}` : '';
  return `${a.alert.rule.id} ${a.alert.rule.level} ${String(what)}${extra}`;
}

/** Moves every event onto one client/server pair (to check one capture against a baseline learned on another). */
function onPair(events: readonly SensorEvent[], client: string, server: string): SensorEvent[] {
  return events.map((e) => ({ ...e, client: { ...e.client, ip: client }, server: { ...e.server, ip: server } }));
}

describe('baseline on real captures', () => {
  const selfChecked = [
    peer('mbpoll_1502.pcap'),
    peer('pymodbus_502.pcap'),
    peer('s7/snap7_1102.pcap'),
    peer('opcua/node-opcua_48010.pcap'),
    shared('icsnpp-modbus__modbus_example.pcap'),
    shared('iti__s7comm_varservice_libnodavedemo.pcap'),
    shared('icsnpp-s7comm__snap7.pcap'),
    shared('gymgit__step7_s300_download.pcapng'),
    shared('icsnpp-s7comm__s7comm_plus.pcap'),
    shared('icsnpp-opcua__open62541_client-server_mainloop.pcap'),
  ];
  it.each(selfChecked)('a capture checked against its own baseline has zero deviations: %s', async (file) => {
    const events = await eventsOf(file);
    const b = viaFile(learn(events, [file]));
    expect(b.talkers.size).toBeGreaterThan(0);
    expect(check(b, events)).toEqual([]);
  });

  it('Modbus: learned on mbpoll, checked on modbus-serial: exactly the new write ranges', async () => {
    const b = viaFile(learn(await eventsOf(peer('mbpoll_1502.pcap'))));
    const alerts = check(b, await eventsOf(peer('modbus-serial_5020.pcap')));
    expect(alerts.map(brief)).toEqual([
      'baseline.new_write_range high coils 32-40',
      'baseline.new_write_range high holding 40-43',
      'baseline.new_write_range high holding 500-502',
      'baseline.new_write_range high holding 1500',
      'baseline.new_write_range high holding 999-1000',
    ]);
    const first = alerts[0] as BaselineAlert;
    expect(first.alert.matched).toMatchObject({ function: '15', name: 'Write Multiple Coils', known: ['7', '39-41'] });
    // The evidence is the triggering event itself: flow, addresses, raw codes.
    expect(first.alert.event?.kind).toBe('modbus.transaction');
    expect(first.flow).toBe(first.alert.event?.flow);
    expect(first.alert.event).toMatchObject({ modbus: { func: 15, request: { address: 32, quantity: 9 } } });
    expect(first.id).toBe(`baseline.new_write_range@${first.alert.event?.id}`);
  });

  it('Modbus: learned on mbpoll, checked on pymodbus: new functions (FC 23 high, FC 43 medium) and new ranges', async () => {
    const b = viaFile(learn(await eventsOf(peer('mbpoll_1502.pcap'))));
    const alerts = check(b, await eventsOf(peer('pymodbus_502.pcap')));
    expect(alerts.map(brief)).toEqual([
      'baseline.new_write_range high holding 50-52',
      'baseline.new_function high 23',
      'baseline.new_write_range high holding 60-61',
      'baseline.new_function medium 43',
      'baseline.new_write_range high holding 1000',
    ]);
  });

  it('S7: learned on the libnodave demo, checked on snap7 (same pair): SZL, upload, clock, new areas, PLC stop', async () => {
    const learnedEvents = await eventsOf(shared('iti__s7comm_varservice_libnodavedemo.pcap'));
    const b = viaFile(learn(learnedEvents));
    const alerts = check(
      b,
      onPair(await eventsOf(shared('icsnpp-s7comm__snap7.pcap')), '192.168.1.10', '192.168.1.40'),
    );
    expect(alerts.map(brief)).toEqual([
      'baseline.new_function medium 4.1',
      'baseline.new_szl_id low 0x0011',
      'baseline.new_szl_id low 0x001c',
      'baseline.new_szl_id low 0x0131',
      'baseline.new_szl_id low 0x0424',
      'baseline.new_function medium 3.1',
      'baseline.new_function high 29',
      'baseline.new_function high 30',
      'baseline.new_function high 31',
      'baseline.new_function medium 3.3',
      'baseline.new_function medium 7.1',
      'baseline.new_function high 7.2',
      'baseline.new_write_range high M 16-19',
      // snap7 sends 25 requests within a minute; the demo's learned peak is 8 → limit max(3 × 8, 20) = 24.
      'baseline.rate_exceeded medium ',
      'baseline.new_write_range high M 0-31',
      'baseline.new_write_range high I 0-15',
      'baseline.new_write_range high Q 0-15',
      'baseline.new_write_range high T 0-15',
      'baseline.new_write_range high C 0-15',
      'baseline.new_function high 41',
      'baseline.new_function high 40',
    ]);
    const stop = alerts.find((a) => a.alert.matched.function === '41');
    expect(stop?.alert.matched).toMatchObject({ name: 'PLC Stop', targets: ['P_PROGRAM'] });
    const rate = alerts.find((a) => a.alert.rule.id === 'baseline.rate_exceeded');
    expect(rate?.alert.matched).toMatchObject({ requestsInWindow: 25, limit: 24, learnedPeakPerMin: 8 });
  });

  it('S7: learned on the first half of the threshold-change capture, the attacker writing later is a new talker', async () => {
    const events = await eventsOf(shared('qut__ChangeLowerThreshold.master.pcap'));
    const half = events.slice(0, Math.floor(events.length / 2));
    const alerts = check(viaFile(learn(half)), events);
    expect(alerts.map((a) => `${a.alert.rule.id} ${a.client.ip} → ${a.server.ip}`)).toEqual([
      'baseline.new_talker 10.10.10.66 → 10.10.10.10',
    ]);
    expect((alerts[0] as BaselineAlert).alert.event?.kind).toBe('s7comm.transaction');
  });

  it('S7: a known pair speaking a new protocol is baseline.new_protocol', async () => {
    const events = await eventsOf(shared('iti__s7comm_varservice_libnodavedemo.pcap'));
    const b = learn(events);
    const asModbus = (await eventsOf(peer('mbpoll_1502.pcap'))).slice(0, 3);
    const alerts = check(b, onPair(asModbus, '192.168.1.10', '192.168.1.40'));
    expect(alerts.map(brief)).toEqual(['baseline.new_protocol medium modbus']);
  });

  it('a hand-edited baseline without Write Var raises that function and its writes', async () => {
    const events = await eventsOf(shared('iti__s7comm_varservice_libnodavedemo.pcap'));
    const text = formatBaseline(learn(events));
    // Delete the `5:` entry (Write Var) the way an engineer would: remove its lines.
    const edited = text.replace(/\n {10}5:\n(?: {12}.*\n)+/, '\n');
    expect(edited).not.toContain('Write Var');
    const alerts = check(parseBaseline(edited, 'edited.yml'), events);
    expect(alerts.map(brief)).toEqual([
      'baseline.new_function high 5',
      'baseline.new_write_range high M 0-3',
      'baseline.new_write_range high M 4-7',
      'baseline.new_write_range high M 8-11',
      'baseline.new_write_range high M 12-15',
    ]);
  });

  it('OPC UA: a hand-edited baseline without the written node and the called method raises both', async () => {
    const events = await eventsOf(shared('icsnpp-opcua__open62541_client-server_mainloop.pcap'));
    const text = formatBaseline(learn(events));
    const edited = text
      .replace('targets: [ ns=1;s=the.answer ]', 'targets: []')
      .replace(/\n +targets: \[ i=85\/.*\]/, '');
    expect(edited).not.toBe(text);
    const alerts = check(parseBaseline(edited, 'edited.yml'), events);
    expect(
      alerts.map(
        (a) => `${a.alert.rule.id} ${a.alert.rule.level} ${String(a.alert.matched.nodeId ?? a.alert.matched.method)}`,
      ),
    ).toEqual(['baseline.new_write_range high ns=1;s=the.answer', 'baseline.new_method high i=85/ns=1;i=62541']);
  });
});
