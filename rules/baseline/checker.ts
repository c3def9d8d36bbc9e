/**
 * Enforces a baseline: compares each event with what was learned and returns alerts for deviations. Pure and
 * deterministic (packet time only). Each distinct deviation alerts once (new pair, new function on a pair, write
 * range, SZL id, ...); repeats are counted in `stats.repeats`. Rate alerts fire when the sliding window crosses the
 * limit and re-arm when it falls back below it.
 *
 * Deviations (rule ids):
 * - baseline.new_talker      a client → server pair never seen talking an OT protocol
 * - baseline.new_protocol    a known pair talking a protocol it never used
 * - baseline.new_function    a function code / service / userdata function / PI service never used on this pair
 * - baseline.new_write_range a write outside every learned write range of that address space (or an OPC UA node
 *                            never written)
 * - baseline.new_method      an OPC UA method never called on this pair
 * - baseline.new_szl_id      an S7 SZL id never requested on this pair
 * - baseline.rate_exceeded   requests in one window above rateFactor × learned peak (or the profile's limitPerMin)
 */
import { type AlertEvent, EVENT_SCHEMA_VERSION, type SensorEvent } from '../../protocols/wire/events.ts';
import { type BaselineProtocol, type FunctionUse, type Observation, observe } from './features.ts';
import type { Baseline, BaselineSettings, ProtocolProfile } from './model.ts';
import { addRange, formatRange, type Range, rangeCovered } from './ranges.ts';
import { RateWindow } from './rate-window.ts';

export type AlertLevel = 'informational' | 'low' | 'medium' | 'high' | 'critical';

export const BASELINE_RULES = {
  'baseline.new_talker': { title: 'New talker pair', tags: ['attack.t0848'] },
  'baseline.new_protocol': { title: 'New protocol between a known pair', tags: ['attack.t0848'] },
  'baseline.new_function': { title: 'Function or service never used by this pair', tags: ['attack.t0855'] },
  'baseline.new_write_range': { title: 'Write to an address never written', tags: ['attack.t0855', 'attack.t0836'] },
  'baseline.new_method': { title: 'OPC UA method never called by this pair', tags: ['attack.t0855'] },
  'baseline.new_szl_id': { title: 'SZL id never requested by this pair', tags: ['attack.t0888'] },
  'baseline.rate_exceeded': { title: 'Request rate far above the learned rate', tags: ['attack.t0814'] },
} as const;

export type BaselineRuleId = keyof typeof BASELINE_RULES;

/**
 * A baseline alert is the schema's `alert` event (protocols/wire/events.ts, the same shape the rule engine prints):
 * `alert.rule` names the deviation, `alert.matched` says what deviated and what the baseline knew, `alert.event` is the
 * triggering event (flow, addresses, raw codes and names) as evidence.
 */
export type BaselineAlert = AlertEvent;

export interface CheckerOptions {
  /** Distinct deviations remembered for alert-once; past it, deviations alert every time (counted). */
  maxAlertKeys?: number;
}

export interface CheckerStats {
  events: number;
  alerts: number;
  /** Deviations already alerted (not raised again). */
  repeats: number;
  /** Deviations raised again because the alert-once memory was full. */
  alertKeysOverflow: number;
  byRule: Record<string, number>;
}

/** A profile compiled for lookups: write ranges unioned per address space across functions. */
interface CompiledProfile {
  profile: ProtocolProfile;
  writes: Map<string, Range[]>;
  window: RateWindow;
  limit: number;
  /** The window is above the limit (alerted; re-arms when it falls back). */
  over: boolean;
}

const NO_ALERTS: readonly BaselineAlert[] = Object.freeze([]);

export class BaselineChecker {
  readonly stats: CheckerStats = { events: 0, alerts: 0, repeats: 0, alertKeysOverflow: 0, byRule: {} };
  private readonly pairs = new Set<string>();
  private readonly profiles = new Map<string, CompiledProfile>();
  private readonly alerted = new Set<string>();
  private readonly settings: BaselineSettings;
  private readonly maxAlertKeys: number;

  constructor(baseline: Baseline, options: CheckerOptions = {}) {
    this.settings = baseline.settings;
    this.maxAlertKeys = options.maxAlertKeys ?? 65_536;
    for (const [client, servers] of baseline.talkers) {
      for (const [server, protos] of servers) {
        this.pairs.add(`${client}|${server}`);
        for (const [proto, profile] of protos) {
          this.profiles.set(`${client}|${server}|${proto}`, this.compile(profile));
        }
      }
    }
  }

  private compile(profile: ProtocolProfile): CompiledProfile {
    const writes = new Map<string, Range[]>();
    for (const table of [profile.functions, profile.userdata]) {
      for (const f of table.values()) {
        for (const [space, ranges] of f.write) {
          let union = writes.get(space);
          if (!union) {
            union = [];
            writes.set(space, union);
          }
          for (const r of ranges) addRange(union, r[0], r[1], Number.MAX_SAFE_INTEGER);
        }
      }
    }
    const s = this.settings;
    const limit = profile.rate.limitPerMin ?? Math.max(s.rateFactor * profile.rate.peakPerMin, s.rateMinRequests);
    return { profile, writes, window: new RateWindow(s.rateWindowSec), limit, over: false };
  }

  /** Alerts for one event (usually none: a shared empty array). */
  check(event: SensorEvent): readonly BaselineAlert[] {
    this.stats.events++;
    const obs = observe(event);
    if (!obs) return NO_ALERTS;
    const out: BaselineAlert[] = [];
    const pairKey = `${obs.client}|${obs.server}`;
    const cp = this.profiles.get(`${pairKey}|${obs.proto}`);
    if (!cp) {
      // Everything on an unknown pair / protocol is new: one alert for the pair or protocol says it all.
      if (!this.pairs.has(pairKey)) {
        this.raise(out, event, 'baseline.new_talker', 'medium', pairKey, {
          pair: { client: obs.client, server: obs.server, port: obs.serverPort },
          protocol: obs.proto,
        });
      } else {
        this.raise(out, event, 'baseline.new_protocol', 'medium', `${pairKey}|${obs.proto}`, {
          pair: { client: obs.client, server: obs.server, port: obs.serverPort },
          protocol: obs.proto,
        });
      }
      return out.length === 0 ? NO_ALERTS : out;
    }
    const key = `${pairKey}|${obs.proto}`;
    if (obs.fn) this.checkFunction(out, event, key, cp, obs.proto, obs.fn);
    if (obs.szlId !== '' && !cp.profile.szlIds.includes(obs.szlId)) {
      this.raise(out, event, 'baseline.new_szl_id', 'low', `${key}|${obs.szlId}`, {
        szlId: obs.szlId,
        known: cp.profile.szlIds,
      });
    }
    if (obs.request) this.checkRate(out, event, cp, obs);
    return out.length === 0 ? NO_ALERTS : out;
  }

  private checkFunction(
    out: BaselineAlert[],
    event: SensorEvent,
    key: string,
    cp: CompiledProfile,
    proto: BaselineProtocol,
    fn: FunctionUse,
  ): void {
    const table = fn.section === 'userdata' ? cp.profile.userdata : cp.profile.functions;
    const learned = table.get(fn.key);
    const what = fn.section === 'userdata' ? 'userdata' : proto === 'opcua' ? 'service' : 'function';
    if (!learned) {
      this.raise(
        out,
        event,
        'baseline.new_function',
        fn.impacting ? 'high' : 'medium',
        `${key}|${fn.section}|${fn.key}`,
        {
          [what]: fn.key,
          name: fn.name,
          ...(fn.writes.length > 0 ? { writes: fn.writes } : {}),
          ...(fn.targets.length > 0 ? { targets: fn.targets } : {}),
          known: [...table.keys()],
        },
      );
    } else {
      for (const t of fn.targets) {
        if (learned.targets.includes(t)) continue;
        if (proto === 's7comm') {
          this.raise(out, event, 'baseline.new_function', 'high', `${key}|pi|${fn.key}|${t}`, {
            function: fn.key,
            name: fn.name,
            piService: t,
            known: learned.targets,
          });
        } else if (fn.name === 'CallRequest') {
          this.raise(out, event, 'baseline.new_method', 'high', `${key}|call|${t}`, {
            method: t,
            known: learned.targets,
          });
        } else {
          this.raise(out, event, 'baseline.new_write_range', 'high', `${key}|node|${t}`, {
            service: fn.key,
            name: fn.name,
            nodeId: t,
            known: learned.targets,
          });
        }
      }
    }
    // Address spaces are shared by functions (FC 6 and FC 16 both write holding registers): compare with the union.
    for (const w of fn.writes) {
      const ranges = cp.writes.get(w.space);
      if (ranges && rangeCovered(ranges, w.start, w.end, this.settings.rangeSlack)) continue;
      const range = formatRange([w.start, w.end]);
      this.raise(out, event, 'baseline.new_write_range', 'high', `${key}|${w.space}|${range}`, {
        function: fn.key,
        name: fn.name,
        space: w.space,
        range,
        known: (ranges ?? []).map(formatRange),
      });
    }
  }

  private checkRate(out: BaselineAlert[], event: SensorEvent, cp: CompiledProfile, obs: Observation): void {
    const n = cp.window.add(obs.time);
    if (n <= cp.limit) {
      cp.over = false;
      return;
    }
    if (cp.over) return;
    cp.over = true;
    // Not deduplicated by key: every separate burst is worth its own alert.
    this.emit(out, event, 'baseline.rate_exceeded', 'medium', {
      requestsInWindow: n,
      windowSec: this.settings.rateWindowSec,
      limit: cp.limit,
      learnedPeakPerMin: cp.profile.rate.peakPerMin,
      learnedTypicalPerMin: cp.profile.rate.typicalPerMin,
    });
  }

  private raise(
    out: BaselineAlert[],
    event: SensorEvent,
    rule: BaselineRuleId,
    level: AlertLevel,
    dedupeKey: string,
    deviation: Record<string, unknown>,
  ): void {
    const k = `${rule}|${dedupeKey}`;
    if (this.alerted.has(k)) {
      this.stats.repeats++;
      return;
    }
    if (this.alerted.size < this.maxAlertKeys) this.alerted.add(k);
    else this.stats.alertKeysOverflow++;
    this.emit(out, event, rule, level, deviation);
  }

  private emit(
    out: BaselineAlert[],
    event: SensorEvent,
    rule: BaselineRuleId,
    level: AlertLevel,
    deviation: Record<string, unknown>,
  ): void {
    this.stats.alerts++;
    this.stats.byRule[rule] = (this.stats.byRule[rule] ?? 0) + 1;
    // One event may deviate twice under one rule (two S7 items in new areas): number the later ones.
    let same = 0;
    for (const a of out) if (a.alert.rule.id === rule) same++;
    const alert: BaselineAlert = {
      v: EVENT_SCHEMA_VERSION,
      kind: 'alert',
      id: same === 0 ? `${rule}@${event.id}` : `${rule}@${event.id}#${same + 1}`,
      sensor: event.sensor,
      flow: event.flow,
      ts: event.ts,
      tsNs: event.tsNs,
      client: event.client,
      server: event.server,
      proto: event.proto,
      alert: {
        rule: {
          id: rule,
          title: BASELINE_RULES[rule].title,
          level,
          status: 'stable',
          tags: [...BASELINE_RULES[rule].tags],
        },
        count: 1,
        matched: deviation,
        event,
      },
    };
    if (event.vlan !== undefined) alert.vlan = event.vlan;
    out.push(alert);
  }
}
