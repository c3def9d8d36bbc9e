/**
 * Whole-pipeline fuzzing: seeded random and mutated traffic (tests/support/fuzz-traffic.ts, built from the real
 * Modbus captures in ../shared/pcaps) goes through `Pipeline.processBatch` with small caps, and after every batch the
 * caps must hold. At the end: every event is schema-v1 JSON with a unique id, nothing was mutated after it was
 * emitted, the same seed gives the same events, and memory stops growing once the tables are warm.
 */
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { beforeAll, describe, expect, it } from 'vitest';
import { EVENT_KINDS, type SensorEvent } from '../../protocols/wire/events.ts';
import { ModbusFlowContext } from '../../sensor/apps/modbus-app.ts';
import type { EventSink } from '../../sensor/event-factory.ts';
import { Pipeline } from '../../sensor/pipeline.ts';
import { buildReport } from '../../sensor/run-report.ts';
import { BatchPacker, loadCapturePackets } from '../support/batches.ts';
import { buildCorpus, type FuzzCorpus, TrafficGenerator } from '../support/fuzz-traffic.ts';
import { SHARED_PCAPS } from '../support/paths.ts';
import { Rng } from '../support/prng.ts';
import { CollectingSink } from '../support/run-pipeline.ts';

const CAPTURES = [
  'zeek__modbusSmall.pcap',
  'zeek__modbusBig.pcap',
  'icsnpp-modbus__modbus_example.pcap',
  'suricata-verify__modbus.pcap',
  'quickdraw__modbus_test_data_part1.pcap',
  'zeek__modbus-and-non-modbus-p502.pcap',
  'emre__modbus-mask-write-register.pcap',
  'emre__modbus-read-write-multiple-registers.pcap',
  'iti__modicon_test.pcap',
  'qut__ChangeLowerThreshold.master.pcap',
  'zeek__fuzz-72.pcap',
];

const MAX_FLOWS = 32;
const PER_STREAM_BYTES = 2500;
const TOTAL_BYTES = 3500;
const PER_STREAM_SEGMENTS = 12;
const MAX_OPEN_TX = 16;

/** Small caps so that a short run hits every one of them. */
const PIPELINE_OPTIONS = {
  flows: { maxFlows: MAX_FLOWS, idleTimeoutSec: 30, closedTimeoutSec: 5, udpTimeoutSec: 10 },
  tcp: {
    maxBufferedBytesPerStream: PER_STREAM_BYTES,
    maxBufferedBytesTotal: TOTAL_BYTES,
    maxBufferedSegmentsPerStream: PER_STREAM_SEGMENTS,
    gapTimeoutSec: 5,
  },
  modbus: { maxOpenTransactions: MAX_OPEN_TX, transactionTimeoutSec: 10 },
};

const TS_FORMAT = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;

let corpus: FuzzCorpus;

beforeAll(async () => {
  corpus = buildCorpus(await Promise.all(CAPTURES.map((name) => loadCapturePackets(join(SHARED_PCAPS, name)))));
});

/** Highest values seen by the per-batch checks. */
interface Peaks {
  active: number;
  buffered: number;
  streamBytes: number;
  streamSegments: number;
  openTx: number;
  modbusContexts: number;
}

/** Checks every cap after a batch (and returns what it saw, so the test can show the caps were actually reached). */
function checkCaps(p: Pipeline, peaks: Peaks): void {
  const active = p.flows.stats.active;
  if (active > MAX_FLOWS) throw new Error(`flow table holds ${active} flows, cap ${MAX_FLOWS}`);
  if (p.tcp.stats.bufferedBytes > TOTAL_BYTES) throw new Error(`${p.tcp.stats.bufferedBytes} bytes buffered`);
  peaks.active = Math.max(peaks.active, active);
  peaks.buffered = Math.max(peaks.buffered, p.tcp.stats.bufferedBytes);
  let contexts = 0;
  p.flows.forEach((flow) => {
    for (const s of flow.tcp ?? []) {
      if (s.bufferedBytes > PER_STREAM_BYTES || s.bufferedSegments > PER_STREAM_SEGMENTS) {
        throw new Error(`stream holds ${s.bufferedBytes} bytes in ${s.bufferedSegments} pieces`);
      }
      peaks.streamBytes = Math.max(peaks.streamBytes, s.bufferedBytes);
      peaks.streamSegments = Math.max(peaks.streamSegments, s.bufferedSegments);
    }
    if (flow.app instanceof ModbusFlowContext) {
      contexts++;
      const open = flow.app.parser.stats.openTx;
      if (open > MAX_OPEN_TX) throw new Error(`Modbus parser holds ${open} open transactions, cap ${MAX_OPEN_TX}`);
      peaks.openTx = Math.max(peaks.openTx, open);
    }
  });
  peaks.modbusContexts = Math.max(peaks.modbusContexts, contexts);
}

interface FuzzRun {
  pipeline: Pipeline;
  sink: CollectingSink;
  peaks: Peaks;
  linkTypes: Set<number>;
}

function fuzz(seed: number, packets: number): FuzzRun {
  const gen = new TrafficGenerator(new Rng(seed), corpus, { hosts: 48, connections: 96 });
  const packer = new BatchPacker(256, 512 * 1024);
  const sink = new CollectingSink();
  const pipeline = new Pipeline({ ...PIPELINE_OPTIONS, sensorId: 'fuzz', events: sink });
  const peaks: Peaks = { active: 0, buffered: 0, streamBytes: 0, streamSegments: 0, openTx: 0, modbusContexts: 0 };
  const linkTypes = new Set<number>();
  for (let done = 0; done < packets; ) {
    const chunk = gen.take(Math.min(2048, packets - done));
    for (const p of chunk) linkTypes.add(p.linkType);
    for (const batch of packer.batches(chunk)) {
      pipeline.processBatch(batch);
      checkCaps(pipeline, peaks);
    }
    done += chunk.length;
  }
  pipeline.finish();
  checkCaps(pipeline, peaks);
  return { pipeline, sink, peaks, linkTypes };
}

/** Problems with the emitted events (an empty list when all is well); plain checks, as there are ~10^5 events. */
function eventProblems(events: readonly SensorEvent[], json: readonly string[]): string[] {
  const problems: string[] = [];
  const ids = new Set<string>();
  events.forEach((e, i) => {
    const fail = (what: string) => problems.push(`event ${i} (${json[i]?.slice(0, 300)}): ${what}`);
    // Serialisable and stable through a JSON round trip, and not changed after the sink got it (a sink may keep it).
    const text = JSON.stringify(e);
    if (text !== json[i]) fail('changed after it was emitted');
    if (JSON.stringify(JSON.parse(text)) !== text) fail('not stable through JSON');
    if (e.v !== 1) fail('v is not 1');
    if (!(EVENT_KINDS as readonly string[]).includes(e.kind)) fail(`kind ${String(e.kind)} not in the schema`);
    if (!/^[0-9a-f]{16}$/.test(e.flow)) fail('flow is not a 16-hex-digit id');
    if (!/^[0-9a-f]{16}:[1-9]\d*$/.test(e.id) || !e.id.startsWith(`${e.flow}:`)) fail('id is not <flow>:<n>');
    if (!TS_FORMAT.test(e.ts)) fail('ts is not ISO-8601 with microseconds');
    if (!Number.isInteger(e.tsNs) || e.tsNs < 0 || e.tsNs >= 1e9) fail('tsNs out of range');
    if (typeof e.client?.ip !== 'string' || typeof e.server?.port !== 'number') fail('endpoints missing');
    if (e.sensor !== 'fuzz') fail('sensor id not carried');
    if (ids.has(e.id)) fail('duplicate id');
    ids.add(e.id);
    if (problems.length > 20) throw new Error(problems.join('\n'));
  });
  return problems;
}

/** Index of the first difference between two event streams, or -1. */
function firstDifference(a: readonly string[], b: readonly string[]): number {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return -1;
}

function countKinds(events: readonly SensorEvent[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of events) {
    const key = e.kind === 'anomaly' ? e.anomaly.name : e.kind;
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}

describe('pipeline fuzz (seeded)', () => {
  const PACKETS = 32_000;

  for (const seed of [0x5eed0001, 0x0badcafe]) {
    it(`seed ${seed.toString(16)}: no exception, caps hold, events are valid and unique, replay is identical`, () => {
      const a = fuzz(seed, PACKETS);
      const p = a.pipeline;

      // The traffic reached every part of the pipeline it is meant to stress (else the caps prove nothing).
      expect(p.stats.packets).toBe(PACKETS);
      expect(a.linkTypes.size).toBeGreaterThanOrEqual(4);
      expect(p.stats.decodeErrors).toBeGreaterThan(0);
      expect(p.stats.modbusFlows).toBeGreaterThan(MAX_FLOWS);
      expect(p.modbus.pdus).toBeGreaterThan(1000);
      expect(p.flows.stats.evictedLru).toBeGreaterThan(0);
      expect(p.tcp.stats.outOfOrderSegments).toBeGreaterThan(0);
      expect(p.tcp.stats.gaps).toBeGreaterThan(0);
      expect(p.tcp.stats.streamBufferExceeded + p.tcp.stats.segmentCapExceeded).toBeGreaterThan(0);

      // Caps: flows, buffered bytes (global and per stream), open Modbus transactions.
      expect(p.flows.stats.peak).toBeLessThanOrEqual(MAX_FLOWS);
      expect(a.peaks.active).toBe(MAX_FLOWS);
      expect(p.tcp.stats.bufferedBytesPeak).toBeLessThanOrEqual(TOTAL_BYTES);
      expect(p.tcp.stats.bufferedBytes).toBe(0); // finish() returned every buffered byte
      expect(a.peaks.streamBytes).toBeGreaterThan(0);
      expect(a.peaks.openTx).toBeLessThanOrEqual(MAX_OPEN_TX);
      expect(p.flows.stats.active).toBe(0);

      // Events.
      const events = a.sink.events;
      const kinds = countKinds(events);
      expect(kinds['modbus.transaction'] ?? 0).toBeGreaterThan(500);
      expect(Object.keys(kinds).filter((k) => k.startsWith('modbus.')).length).toBeGreaterThan(3);
      expect(events.filter((e) => e.kind === 'modbus.transaction').length).toBe(p.modbus.transactions);
      expect(eventProblems(events, a.sink.json)).toEqual([]);

      // Determinism: the same seed gives the same events and the same counters.
      const b = fuzz(seed, PACKETS);
      const diff = firstDifference(a.sink.json, b.sink.json);
      expect(diff, `replay differs at event ${diff}: ${a.sink.json[diff]} vs ${b.sink.json[diff]}`).toBe(-1);
      expect(b.sink.json.length).toBe(a.sink.json.length);
      expect(JSON.stringify(buildReport(b.pipeline, null))).toBe(JSON.stringify(buildReport(p, null)));
    });
  }

  it('a different seed gives different traffic (the generator is not stuck)', () => {
    const a = fuzz(1, 3000);
    const b = fuzz(2, 3000);
    expect(a.sink.json.length).toBeGreaterThan(0);
    expect(firstDifference(a.sink.json, b.sink.json)).not.toBe(-1);
  });
});

/** A sink that only counts: events are built (that path is exercised) but not retained. */
class CountingSink implements EventSink {
  count = 0;
  emit(_event: SensorEvent): void {
    this.count++;
  }
}

/** V8's collector, exposed at run time (vitest's workers are not started with --expose-gc). */
function exposeGc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

describe('pipeline memory under a long fuzz run', () => {
  it('heap stops growing once the tables are warm; retained structures stay within their caps', () => {
    const gc = exposeGc();
    const gen = new TrafficGenerator(new Rng(0x00c0ffee), corpus, { hosts: 48, connections: 96 });
    const packer = new BatchPacker(256, 512 * 1024);
    const sink = new CountingSink();
    const pipeline = new Pipeline({ ...PIPELINE_OPTIONS, sensorId: 'fuzz', events: sink });
    const peaks: Peaks = { active: 0, buffered: 0, streamBytes: 0, streamSegments: 0, openTx: 0, modbusContexts: 0 };
    const round = (packets: number) => {
      for (let done = 0; done < packets; done += 2048) {
        for (const batch of packer.batches(gen.take(Math.min(2048, packets - done)))) pipeline.processBatch(batch);
        checkCaps(pipeline, peaks);
      }
    };
    const heapAfterGc = () => {
      gc();
      gc();
      return process.memoryUsage().heapUsed;
    };

    round(40_000); // warm-up: flow table full, code optimised, counters' maps populated
    const warm = heapAfterGc();
    const talkersWarm = pipeline.modbus.talkers.size;
    for (let r = 0; r < 4; r++) round(40_000);
    const later = heapAfterGc();
    const talkersLater = pipeline.modbus.talkers.size;

    expect(sink.count).toBeGreaterThan(10_000);
    expect(pipeline.stats.packets).toBe(200_000);
    expect(peaks.active).toBeLessThanOrEqual(MAX_FLOWS);
    expect(peaks.modbusContexts).toBeLessThanOrEqual(MAX_FLOWS);
    expect(peaks.openTx).toBeLessThanOrEqual(MAX_OPEN_TX);
    expect(pipeline.tcp.stats.bufferedBytesPeak).toBeLessThanOrEqual(TOTAL_BYTES);
    // 160k packets after warm-up. What may legitimately grow is the run summary's talker set (one short string per
    // new address pair seen speaking Modbus); allow 200 bytes for each, plus 2 MiB of noise.
    const growth = later - warm;
    const allowance = 2 * 1024 * 1024 + 200 * (talkersLater - talkersWarm);
    expect(growth, `heap grew ${growth} bytes; talkers ${talkersWarm} → ${talkersLater}`).toBeLessThan(allowance);
  });
});
