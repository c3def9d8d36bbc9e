/**
 * Event ids are `<flow id>:<n>` and must be unique within a run, even when a flow is evicted and the same tuple
 * comes back at the very same timestamp (coarse or batched capture clocks): the flow id folds in the flow's
 * creation serial. Regression for a repro found by the pipeline fuzz work.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LINKTYPE_RAW } from '../protocols/core/link-types.ts';
import { buildRuleSet } from '../rules/engine/compile.ts';
import { loadRules } from '../rules/loader.ts';
import { BatchPacker, type TestPacket } from '../tests/support/batches.ts';
import { buildModbusAdu, buildTcpPacket, wrapIp } from '../tests/support/frames.ts';
import { SHARED_PCAPS } from '../tests/support/paths.ts';
import { CollectingSink } from '../tests/support/run-pipeline.ts';
import { CollectingAlertSink } from './alerts.ts';
import { analyseFile } from './analyse-file.ts';
import { Pipeline } from './pipeline.ts';

const PSH_ACK = 0x18;

function request(src: number, tid: number): TestPacket {
  const adu = buildModbusAdu(tid, 1, 3, new Uint8Array([0x00, 0x00, 0x00, 0x01]));
  const ip = buildTcpPacket({
    src,
    dst: 0x0a000001,
    sport: 40000,
    dport: 502,
    seq: 1,
    ack: 1,
    flags: PSH_ACK,
    payload: adu,
  });
  return { data: wrapIp(ip, LINKTYPE_RAW), linkType: LINKTYPE_RAW, tsSec: 1000, tsNsec: 0 };
}

describe('event ids', () => {
  it('stay unique when an evicted flow returns at the same timestamp', () => {
    const sink = new CollectingSink();
    const pipeline = new Pipeline({ flows: { maxFlows: 1 }, events: sink });
    const packets = [request(0x0a000002, 1), request(0x0a000003, 1), request(0x0a000002, 2)];
    for (const batch of new BatchPacker(1, 4096).batches(packets)) pipeline.processBatch(batch);
    pipeline.finish();
    const ids = sink.events.map((e) => e.id);
    expect(pipeline.flows.stats.evictedLru).toBe(2);
    expect(ids.length).toBeGreaterThanOrEqual(3);
    expect(new Set(ids).size).toBe(ids.length);
    const flowIds = new Set(sink.events.map((e) => e.flow));
    expect(flowIds.size).toBe(3);
  });
});

describe('summary caps', () => {
  it('keep at most MAX_TALKERS talker pairs and count the rest', async () => {
    const { ModbusCounters } = await import('./summary.ts');
    const c = new ModbusCounters();
    for (let i = 0; i < ModbusCounters.MAX_TALKERS + 10; i++) c.countTalker(`10.0.${i >> 8}.${i & 255}`, '10.1.0.1');
    c.countTalker('10.0.0.0', '10.1.0.1'); // already kept: not a drop
    const json = c.toJSON();
    expect(json.talkers.length).toBe(ModbusCounters.MAX_TALKERS);
    expect(json.dropped.talkers).toBe(10);
    for (let i = 0; i < ModbusCounters.MAX_DEVICE_ID_VALUES + 3; i++) c.addDeviceIdentification(i % 7, `v${i}`);
    expect(c.toJSON().dropped.device_identification).toBe(3);
  });
});

describe('detection keeps bytes held from the other direction', () => {
  it('a response start too short to probe is parsed once the request decides the flow', () => {
    const client = 0x0a000002;
    const server = 0x0a000001;
    const request = buildModbusAdu(7, 1, 3, new Uint8Array([0x00, 0x10, 0x00, 0x01]));
    const response = buildModbusAdu(7, 1, 3, new Uint8Array([0x02, 0x12, 0x34]));
    const seg = (
      src: number,
      dst: number,
      sport: number,
      dport: number,
      seq: number,
      payload: Uint8Array,
      t: number,
    ) => {
      const ip = buildTcpPacket({ src, dst, sport, dport, seq, ack: 1, flags: PSH_ACK, payload });
      return { data: wrapIp(ip, LINKTYPE_RAW), linkType: LINKTYPE_RAW, tsSec: 1000, tsNsec: t };
    };
    // Capture starts mid-connection: the server's first 6 bytes (too short to probe), then the client's request,
    // then the rest of the server's response.
    const packets = [
      seg(server, client, 502, 40000, 5000, response.subarray(0, 6), 1),
      seg(client, server, 40000, 502, 9000, request, 2),
      seg(server, client, 502, 40000, 5006, response.subarray(6), 3),
    ];
    const pipeline = new Pipeline();
    for (const batch of new BatchPacker(4, 4096).batches(packets)) pipeline.processBatch(batch);
    pipeline.finish();
    const m = pipeline.modbus.toJSON();
    expect(m.pdus).toBe(2);
    expect(m.requests).toBe(1);
    expect(m.responses).toBe(1);
  });
});

/**
 * An alert's id is `<rule>@<evidence event id>`. With rules only (`otsensor read --alerts`) the evidence is built
 * after the fact, but it must carry the id the event has when every event is built (`--events`, a publishing
 * sensor): otherwise a local run could not be matched with what a sensor published, alert by alert.
 */
describe('alert evidence ids', () => {
  const CAPTURES = [
    'iti__ModbusTCP.pcap', // Modbus transactions and anomalies
    'suricata-verify__modbus.pcap', // Modbus anomalies
    'gymgit__wincc_s400_production.pcapng', // S7comm and COTP/S7 anomalies
    'iti__s7comm_varservice_libnodavedemo.pcap', // COTP connects, S7comm reads and writes
    'iti__opc-ua-ap-method-wireshark-freeze.pcap', // OPC UA transactions and anomalies
    'icsnpp-opcua__open62541_client-server_mainloop.pcap', // OPC UA transactions and sessions
  ];

  // All bundled rules, and only a few transaction rules: then no rule watches COTP connects or OPC UA transport,
  // channel and session messages, whose events (built with --events) must still be numbered without them.
  const FEW = /^ot\.(opcua\.(write|call|request_flood)|s7\.(write_var|request_flood)|modbus\.write_)/;
  it.each(CAPTURES.flatMap((c) => [[c, 'all'] as const, [c, 'few'] as const]))(
    'are the same with and without events: %s, %s rules',
    async (name, which) => {
      const file = join(SHARED_PCAPS, name);
      const loaded = await loadRules([]);
      const set = which === 'all' ? loaded.set : buildRuleSet(loaded.rules.filter((r) => FEW.test(r.meta.id)));
      const ids = (alerts: CollectingAlertSink) => alerts.alerts.map((a) => `${a.rule.id}@${a.event?.id}`);
      const rulesOnly = new CollectingAlertSink();
      await analyseFile(file, { rules: set, alerts: rulesOnly });
      const withEvents = new CollectingAlertSink();
      const events = new CollectingSink();
      await analyseFile(file, { rules: set, alerts: withEvents, events });
      expect(rulesOnly.alerts.length).toBeGreaterThan(0);
      expect(ids(rulesOnly)).toEqual(ids(withEvents));
      // With events the evidence is the emitted event itself.
      const emitted = new Set(events.events.map((e) => e.id));
      for (const a of withEvents.alerts) expect(emitted.has(a.event?.id ?? '')).toBe(true);
    },
  );
});
