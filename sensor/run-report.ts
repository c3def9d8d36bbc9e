/**
 * The per-input report of a pipeline run: what `--summary` prints for each file (and for a live session).
 * Top-level keys mirror the `.truth.json` files of ../shared/pcaps (`frames`, `modbus.*`) so they can be compared
 * directly; the rest is the sensor's own health (decode, flow, reassembly and parser counters).
 */

import type { RuleEngineStats } from '../rules/engine/runtime.ts';
import type { CaptureStats } from './capture/source.ts';
import type { Pipeline } from './pipeline.ts';
import type { ModbusSummary } from './summary.ts';

export interface RunReport {
  file?: string;
  format?: string;
  frames: number;
  modbus: ModbusSummary;
  /** Sections of the other protocol modules: `cotp`, `s7comm`, `s7comm_plus`, `opcua`. */
  [section: string]: unknown;
  health: {
    capture: CaptureStats | null;
    link: Record<string, unknown>;
    flows: Record<string, unknown>;
    tcp: Record<string, unknown>;
    /** The protocol parsers' shared reassembly-buffer budget: limit, bytes taken at the end, peak, refusals. */
    appBuffers: { limit: number; used: number; peak: number; refused: number };
    /**
     * The rule engine's counters when rules ran (evaluations, matches, alerts, suppressed repeats) and what its caps
     * turned away: correlation groups evicted, distinct values dropped, suppression windows closed early.
     */
    rules?: Record<string, number>;
    pipeline: Record<string, unknown>;
  };
  error?: { code: string; message: string; byteOffset: number | null };
}

export function buildReport(pipeline: Pipeline, capture: CaptureStats | null): RunReport {
  const { fragments, nonIpByEthertype, ...link } = pipeline.link.stats as unknown as Record<string, unknown> & {
    fragments: unknown;
    nonIpByEthertype: Map<number, number>;
  };
  return {
    frames: pipeline.stats.packets,
    modbus: pipeline.modbus.toJSON(),
    ...pipeline.sections(),
    health: {
      capture,
      link: { ...link, fragments, nonIpByEthertype: Object.fromEntries(nonIpByEthertype ?? []) },
      flows: { ...pipeline.flows.stats },
      tcp: { ...pipeline.tcp.stats },
      appBuffers: pipeline.appBuffers.snapshot(),
      ...(pipeline.ruleHook === null ? {} : { rules: ruleCounters(pipeline.ruleHook.engine.stats) }),
      pipeline: { ...pipeline.stats },
    },
  };
}

function ruleCounters(s: RuleEngineStats): Record<string, number> {
  return {
    evaluations: s.evaluations,
    matches: s.matches,
    alerts: s.alerts,
    suppressed: s.suppressed,
    groupsEvicted: s.groupsEvicted,
    valuesDropped: s.valuesDropped,
    suppressKeysEvicted: s.suppressKeysEvicted,
    keyPartResets: s.keyPartResets,
  };
}
