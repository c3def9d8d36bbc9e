/**
 * The periodic reports a publishing sensor sends besides alerts and assets: `health` (is the sensor seeing and
 * decoding traffic, is it losing anything, is its clock right) and `stats` (traffic per protocol and function
 * since the previous report). Built from the pipeline's counters every N seconds (wall clock), never per packet.
 */
import { EVENT_SCHEMA_VERSION } from '../../protocols/wire/events.ts';
import { type HealthItem, type StatsItem, WIRE_VERSION } from '../../protocols/wire/messages.ts';
import type { CaptureStats } from '../capture/source.ts';
import type { Pipeline } from '../pipeline.ts';
import type { OutboxStats } from './outbox.ts';
import type { PublisherStats } from './publisher.ts';
import type { ClockSample } from './transport.ts';

export const SENSOR_VERSION = '0.1.0';

/** What one protocol section of the run summary says about parse health. */
interface SectionShape {
  pdus?: number;
  messages?: number;
  frames?: number;
  anomalies?: Record<string, number>;
  func_codes?: Record<string, number>;
  functions?: Record<string, number>;
  services?: Record<string, number>;
  opcodes?: Record<string, number>;
}

/** Per-protocol sections of a pipeline, keyed by protocol name. */
function sectionsOf(pipeline: Pipeline): Record<string, SectionShape> {
  return {
    modbus: pipeline.modbus.toJSON() as unknown as SectionShape,
    ...(pipeline.sections() as Record<string, SectionShape>),
  };
}

function sum(values: Record<string, number> | undefined): number {
  let n = 0;
  for (const v of Object.values(values ?? {})) if (typeof v === 'number') n += v;
  return n;
}

function pdusOf(s: SectionShape): number {
  return s.pdus ?? s.messages ?? s.frames ?? 0;
}

/** PDUs decoded, malformed ones (parser anomalies), TCP bytes lost, per protocol with any traffic. */
export function parseHealth(pipeline: Pipeline): HealthItem['parse'] {
  const out: HealthItem['parse'] = {};
  const gaps = pipeline.stats.gapBytesByProto;
  for (const [proto, s] of Object.entries(sectionsOf(pipeline))) {
    const pdus = pdusOf(s);
    const malformed = sum(s.anomalies);
    const gapBytes = gaps[proto] ?? 0;
    if (pdus === 0 && malformed === 0 && gapBytes === 0) continue;
    out[proto] = { pdus, malformed, gapBytes };
  }
  return out;
}

/** Per-protocol function counts (cumulative for the pipeline). */
export function functionCounts(
  pipeline: Pipeline,
): Record<string, { pdus: number; functions: Record<string, number> }> {
  const out: Record<string, { pdus: number; functions: Record<string, number> }> = {};
  for (const [proto, s] of Object.entries(sectionsOf(pipeline))) {
    const pdus = pdusOf(s);
    if (pdus === 0) continue;
    const functions = s.func_codes ?? s.functions ?? s.services ?? s.opcodes ?? {};
    out[proto] = { pdus, functions: { ...functions } };
  }
  return out;
}

/** Counts of `now` minus those of `before` (a protocol or function absent before counts from zero). */
export function diffCounts(
  now: ReturnType<typeof functionCounts>,
  before: ReturnType<typeof functionCounts>,
): StatsItem['protocols'] {
  const out: StatsItem['protocols'] = {};
  for (const [proto, n] of Object.entries(now)) {
    const b = before[proto];
    const pdus = n.pdus - (b?.pdus ?? 0);
    if (pdus <= 0) continue;
    const functions: Record<string, number> = {};
    for (const [f, c] of Object.entries(n.functions)) {
      const d = c - (b?.functions[f] ?? 0);
      if (d > 0) functions[f] = d;
    }
    out[proto] = { pdus, functions };
  }
  return out;
}

export interface HealthInputs {
  startedAt: number;
  source: 'file' | 'live';
  name: string;
  pipeline: Pipeline | null;
  capture: CaptureStats | null;
  /** Packets and bytes of inputs already finished (read mode, several files). */
  earlier: { packets: number; bytes: number; drops: number; flowsEvicted: number; parse: HealthItem['parse'] };
  /** Its `dropped` counts both the outbox's overflow and sealed messages the disk could not take in time. */
  outbox: OutboxStats;
  /** Drops not yet told in a health report. */
  droppedSinceLast: OutboxStats['dropped'];
  publisher: PublisherStats;
  rulesLoaded: number;
  alerts: number;
  clock: ClockSample | null;
}

export function buildHealth(i: HealthInputs): HealthItem {
  const p = i.pipeline;
  const flows = p?.flows.stats as { active?: number; evictedLru?: number } | undefined;
  return {
    ts: new Date().toISOString(),
    uptimeSec: Math.round((Date.now() - i.startedAt) / 100) / 10,
    versions: { sensor: SENSOR_VERSION, wire: WIRE_VERSION, events: EVENT_SCHEMA_VERSION, node: process.version },
    capture: {
      source: i.source,
      name: i.name.slice(0, 500),
      packets: i.earlier.packets + (i.capture?.packets ?? 0),
      bytes: i.earlier.bytes + (i.capture?.bytes ?? 0),
      drops: i.earlier.drops + (i.capture?.sourceDrops ?? 0),
      kernelDrops:
        i.capture === null || i.capture.kernelDrops === null ? null : i.capture.kernelDrops + (i.capture.ifDrops ?? 0),
    },
    parse: p === null ? { ...i.earlier.parse } : addParse(i.earlier.parse, parseHealth(p)),
    flows: { active: flows?.active ?? 0, evicted: i.earlier.flowsEvicted + (flows?.evictedLru ?? 0) },
    ...(p === null ? {} : { buffers: p.appBuffers.snapshot() }),
    outbox: {
      depthMessages: i.outbox.depthMessages,
      depthBytes: i.outbox.depthBytes,
      capBytes: i.outbox.maxBytes,
      dropped: i.outbox.dropped,
      droppedSinceLast: i.droppedSinceLast,
      published: i.publisher.published,
      acked: i.publisher.acked,
      retries: i.publisher.retries,
    },
    rules: { loaded: i.rulesLoaded, alerts: i.alerts },
    clock: { offsetMs: i.clock?.offsetMs ?? null, rttMs: i.clock?.rttMs ?? null },
  };
}

/** Sum of two parse-health tables (inputs already finished plus the current one). */
export function addParse(a: HealthItem['parse'], b: HealthItem['parse']): HealthItem['parse'] {
  const out: HealthItem['parse'] = {};
  for (const [proto, h] of [...Object.entries(a), ...Object.entries(b)]) {
    const o = out[proto] ?? { pdus: 0, malformed: 0, gapBytes: 0 };
    out[proto] = { pdus: o.pdus + h.pdus, malformed: o.malformed + h.malformed, gapBytes: o.gapBytes + h.gapBytes };
  }
  return out;
}
