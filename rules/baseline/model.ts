/**
 * The baseline as data: what a learning run saw per client → server → protocol, plus the enforcement settings. The
 * learner produces it, baseline-file.ts writes and reads it as YAML, the checker compiles it. Plain maps and arrays
 * only, so a hand-edited file and a learned one are the same thing.
 */
import type { BaselineProtocol } from './features.ts';
import type { Range } from './ranges.ts';

export const BASELINE_FILE_VERSION = 1;

export interface BaselineSettings {
  /** Alert when the requests in one window exceed this many times the learned peak. */
  rateFactor: number;
  /** The rate window in seconds (peak and live counts use the same window). */
  rateWindowSec: number;
  /** Never raise a rate alert below this many requests in a window (a learned peak of 1 would otherwise alert at 4). */
  rateMinRequests: number;
  /** A write is known when it lies within a learned range widened by this many addresses on each side. */
  rangeSlack: number;
}

export const DEFAULT_SETTINGS: Readonly<BaselineSettings> = {
  rateFactor: 3,
  rateWindowSec: 60,
  rateMinRequests: 20,
  rangeSlack: 0,
};

export interface FunctionProfile {
  name: string;
  count: number;
  /** Address space (Modbus table, S7 area/DB) → merged inclusive ranges. */
  read: Map<string, Range[]>;
  write: Map<string, Range[]>;
  /** OPC UA nodes written / methods called (`objectId/methodId`), S7 PI services. */
  targets: string[];
}

export interface RateProfile {
  /** Mean requests per window over the pair's active span (at least one window). */
  typicalPerMin: number;
  /** Highest request count seen in one sliding window. */
  peakPerMin: number;
  /** Optional hand-set ceiling: when present it replaces `rateFactor × peakPerMin`. */
  limitPerMin?: number;
}

export interface ProtocolProfile {
  ports: number[];
  /** Modbus unit ids seen. */
  units: number[];
  requests: number;
  firstSeen: string;
  lastSeen: string;
  rate: RateProfile;
  /** Function / service key → profile (Modbus FC, S7 Job function, OPC UA service id, S7comm-plus opcode). */
  functions: Map<string, FunctionProfile>;
  /** S7 userdata `group.subfunction` → profile. */
  userdata: Map<string, FunctionProfile>;
  /** S7 SZL ids requested (`0x0011`). */
  szlIds: string[];
}

export interface LearnedPeriod {
  from: string;
  to: string;
  files: string[];
  /** Live learning: the interface. */
  iface?: string;
  events: number;
  /** What the learner's caps left out (non-zero counters only). */
  dropped: Record<string, number>;
}

export interface Baseline {
  version: number;
  sensor: string;
  learned: LearnedPeriod;
  settings: BaselineSettings;
  /** client ip → server ip → protocol → profile. */
  talkers: Map<string, Map<string, Map<BaselineProtocol, ProtocolProfile>>>;
}

/** Natural order ("9" before "10", "192.168.1.9" before "192.168.1.10"): how keys are sorted in the file. */
export function naturalCompare(a: string, b: string): number {
  const ra = a.match(/\d+|\D+/g) ?? [];
  const rb = b.match(/\d+|\D+/g) ?? [];
  const n = Math.min(ra.length, rb.length);
  for (let i = 0; i < n; i++) {
    const x = ra[i] as string;
    const y = rb[i] as string;
    if (x === y) continue;
    const dx = /^\d/.test(x);
    const dy = /^\d/.test(y);
    if (dx && dy) {
      const d = Number(x) - Number(y);
      if (d !== 0) return d;
      return x.length - y.length;
    }
    return x < y ? -1 : 1;
  }
  return ra.length - rb.length;
}

export function emptyFunctionProfile(name: string): FunctionProfile {
  return { name, count: 0, read: new Map(), write: new Map(), targets: [] };
}
