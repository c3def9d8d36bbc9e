/**
 * Whole-sensor fuzzing at the stream level, with every bundled rule loaded and the inventory on: the S7comm,
 * S7comm-plus, OPC UA and Modbus streams of real captures, mutated and re-sent as new connections
 * (tests/support/stream-fuzz.ts). The frame-level pipeline fuzz (pipeline.fuzz.test.ts) covers Modbus framing and
 * TCP; this one makes the other parsers' session state, the apps, the rule engine and the inventory face hostile
 * streams. What must hold: nothing throws, the flow and reassembly caps hold after every batch, every alert and
 * every asset the sensor would publish passes the collector's own message validation (an item the collector
 * rejects would be an alert lost), the inventory stays within its cap, and the same seed gives the same alerts.
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type MessageKind, subjectFor } from '../../protocols/wire/messages.ts';
import { validateMessage } from '../../protocols/wire/validate.ts';
import { type LoadedRules, loadRules } from '../../rules/loader.ts';
import { alertEvent, CollectingAlertSink } from '../../sensor/alerts.ts';
import { InventorySink } from '../../sensor/inventory/sink.ts';
import { Pipeline } from '../../sensor/pipeline.ts';
import { BatchPacker, loadCapturePackets } from '../support/batches.ts';
import { SHARED_PCAPS } from '../support/paths.ts';
import { Rng } from '../support/prng.ts';
import { CollectingSink } from '../support/run-pipeline.ts';
import { type CapturedStream, extractStreams, StreamFuzzer } from '../support/stream-fuzz.ts';

const CAPTURES = [
  // S7comm, S7comm-plus (COTP on port 102)
  'ct__Plant1_S7comm.pcap',
  'icsnpp-s7comm__s7comm_plus.pcap',
  'icsnpp-s7comm__s7ident.pcap',
  'icsnpp-s7comm__snap7.pcap',
  'iti__S7-1200-Uploading-OB1-TIAV12.pcap',
  'iti__s7comm_program_blocklist_onlineview.pcap',
  'iti__s7comm_reading_setting_plc_time.pcap',
  'gymgit__step7_s300_download.pcapng',
  'gymgit__step7_s300_stop.pcapng',
  // OPC UA (plain and SignAndEncrypt channels)
  'icsnpp-opcua__open62541_client-server-getEndpoints.pcap',
  'icsnpp-opcua__open62541_client-server_encrypted.pcap',
  'icsnpp-opcua__open62541_browse_next.pcap',
  'icsnpp-opcua__open62541_read_service_test_data.pcap',
  'icsnpp-opcua__python_opcua-client-server_minimal.pcap',
  'iti__opc-ua-ap-method-wireshark-freeze.pcap',
  // Modbus
  'icsnpp-modbus__modbus_example.pcap',
  'emre__modbus-read-write-multiple-registers.pcap',
];

const MAX_FLOWS = 32;
const PER_STREAM_BYTES = 8000;
const TOTAL_BYTES = 24_000;
const MAX_ASSETS = 40;
const CONNECTIONS = 160;
const IDENTITY = { province: 'fz', enterprise: 'fuzz-ent', sensor: 'fuzz' };

let streams: CapturedStream[];
let rules: LoadedRules;

beforeAll(async () => {
  const captures = await Promise.all(CAPTURES.map((name) => loadCapturePackets(join(SHARED_PCAPS, name))));
  streams = extractStreams(captures);
  rules = await loadRules([]);
});

interface Run {
  pipeline: Pipeline;
  alerts: CollectingAlertSink;
  inventory: InventorySink;
  packets: number;
}

function fuzz(seed: number, maxMutations = 6, appBufferBytes?: number): Run {
  const packets = new StreamFuzzer(new Rng(seed), streams, { maxMutations }).take(CONNECTIONS);
  const alerts = new CollectingAlertSink();
  const inventory = new InventorySink(new CollectingSink(), { maxAssets: MAX_ASSETS });
  const pipeline = new Pipeline({
    sensorId: IDENTITY.sensor,
    events: inventory,
    rules: rules.set,
    alerts,
    flows: { maxFlows: MAX_FLOWS, idleTimeoutSec: 30, closedTimeoutSec: 5, udpTimeoutSec: 10 },
    tcp: { maxBufferedBytesPerStream: PER_STREAM_BYTES, maxBufferedBytesTotal: TOTAL_BYTES, gapTimeoutSec: 5 },
    ...(appBufferBytes === undefined ? {} : { appBufferBytes }),
  });
  const packer = new BatchPacker(256, 512 * 1024);
  for (const batch of packer.batches(packets)) {
    pipeline.processBatch(batch);
    if (pipeline.flows.stats.active > MAX_FLOWS) throw new Error(`${pipeline.flows.stats.active} flows`);
    if (pipeline.tcp.stats.bufferedBytes > TOTAL_BYTES) throw new Error(`${pipeline.tcp.stats.bufferedBytes} bytes`);
    const b = pipeline.appBuffers;
    if (b.used > b.limit) throw new Error(`protocol buffers hold ${b.used} bytes, budget ${b.limit}`);
  }
  pipeline.finish();
  // Every flow ended and gave back what its buffers took.
  if (pipeline.appBuffers.used !== 0) throw new Error(`${pipeline.appBuffers.used} buffer bytes still taken`);
  inventory.finish();
  return { pipeline, alerts, inventory, packets: packets.length };
}

/** What the collector says of one message carrying `items` of `kind` (null: accepted). */
function rejection(kind: MessageKind, items: unknown[]): string | null {
  const message = { v: 1, kind, ...IDENTITY, seq: 1, sentAt: '2026-11-24T00:00:00.000Z', items };
  const result = validateMessage(subjectFor(IDENTITY, kind), new TextEncoder().encode(JSON.stringify(message)));
  return result.ok ? null : `${result.reason}: ${result.detail}`;
}

/** Count of a summary section's numeric field (0 when absent). */
function count(summary: Record<string, unknown>, section: string, field: string): number {
  const s = summary[section] as Record<string, unknown> | undefined;
  const v = s?.[field];
  return typeof v === 'number' ? v : 0;
}

function anomalyCount(summary: Record<string, unknown>, section: string): number {
  const a = (summary[section] as { anomalies?: Record<string, number> } | undefined)?.anomalies ?? {};
  return Object.values(a).reduce((x, y) => x + y, 0);
}

describe('stream fuzz: S7comm, OPC UA and Modbus streams mutated, all bundled rules, inventory on', () => {
  it('the corpus has streams of every protocol, and the wire check below can fail', () => {
    const ports = new Set(streams.map((s) => s.serverPort));
    for (const port of [102, 502, 4840]) expect(ports.has(port)).toBe(true);
    expect(streams.length).toBeGreaterThan(20);
    // An item the collector would refuse is seen as such by rejection(): an alert without its rule, an asset
    // without its address.
    expect(rejection('alert', [{ kind: 'alert', v: 1 }])).toMatch(/^schema/);
    expect(rejection('asset', [{ asset: {}, changes: [] }])).toMatch(/^schema/);
  });

  for (const seed of [0x57f0001, 0xf00dcafe]) {
    it(`seed ${seed.toString(16)}: no exception, caps hold, every alert and asset is a valid wire item`, () => {
      const run = fuzz(seed);
      const summary = run.pipeline.sections();
      // The mutations reached every parser (else this test would prove nothing about them).
      expect(count(summary, 's7comm', 'pdus')).toBeGreaterThan(100);
      expect(count(summary, 'opcua', 'messages')).toBeGreaterThan(100);
      expect(run.pipeline.modbus.pdus).toBeGreaterThan(10);
      expect(anomalyCount(summary, 's7comm') + anomalyCount(summary, 'cotp')).toBeGreaterThan(0);
      expect(anomalyCount(summary, 'opcua')).toBeGreaterThan(0);

      // Rules of each protocol fired on the fuzzed traffic, and every alert is one the collector accepts.
      const alerts = run.alerts.alerts;
      const byService = new Set(alerts.map((a) => a.rule.id.split('.')[1]));
      expect(byService.has('s7')).toBe(true);
      expect(byService.has('opcua')).toBe(true);
      const rejected: string[] = [];
      for (const a of alerts) {
        const why = rejection('alert', [alertEvent(a, IDENTITY.sensor)]);
        if (why !== null && rejected.length < 5) rejected.push(`${a.rule.id}: ${why}`);
      }
      expect(rejected).toEqual([]);

      // The inventory stays within its cap, and every asset record is a valid asset item.
      const snapshot = run.inventory.inventory.snapshot();
      expect(snapshot.assets.length).toBeGreaterThan(0);
      expect(snapshot.assets.length).toBeLessThanOrEqual(MAX_ASSETS);
      const badAssets = snapshot.assets
        .map((asset) => rejection('asset', [{ asset, changes: [] }]))
        .filter((why) => why !== null);
      expect(badAssets).toEqual([]);
    });
  }

  it('a small shared buffer budget refuses growths, and nothing else breaks', () => {
    const run = fuzz(0xf00dcafe, 6, 16 * 1024);
    expect(run.pipeline.appBuffers.refused).toBeGreaterThan(0);
    expect(run.pipeline.appBuffers.peak).toBeLessThanOrEqual(16 * 1024);
    expect(run.pipeline.sections().opcua).toBeDefined();
    expect(run.alerts.alerts.length).toBeGreaterThan(0);
  });

  it('the same seed gives the same alerts; unmutated streams give alerts too', () => {
    const ids = (run: Run) =>
      run.alerts.alerts.map((a) => `${a.rule.id}@${a.flowId}@${a.tsSec}.${a.tsNsec}#${a.count}`);
    const a = fuzz(0x57f0001);
    const b = fuzz(0x57f0001);
    expect(ids(b)).toEqual(ids(a));
    // Without mutations the same connections replay the captures' own traffic: the PLC stop, downloads and OPC UA
    // posture rules that the captures trigger fire here as well.
    const clean = fuzz(0x57f0001, 0);
    const rulesSeen = new Set(clean.alerts.alerts.map((x) => x.rule.id));
    expect(rulesSeen.size).toBeGreaterThan(3);
  });
});
