/**
 * Rule evaluation with its bounded state (correlation groups, suppression windows). Pure and deterministic: time is
 * the packet time of the subject, never the wall clock; alerts go synchronously to an AlertSink.
 *
 * The packet path calls `evaluate(kind, subject)`, which walks only the rules indexed under that kind: the cost per
 * event does not depend on rules for other protocols or event categories.
 */
import type { SensorEvent } from '../../protocols/wire/events.ts';
import type { CompiledRule, CompiledRuleSet, NamedField, RuleMeta } from './compile.ts';
import { KIND_COUNT, type Subject } from './subjects.ts';

export interface AlertCorrelation {
  type: 'event_count' | 'value_count';
  groupBy: Record<string, unknown>;
  /** Events counted (event_count) or distinct values seen (value_count) when it fired. */
  count: number;
  timespanMs: number;
}

/** What the engine raises; sensor/alerts.ts turns it into the JSON `alert` event. */
export interface RuleAlert {
  rule: RuleMeta;
  /** Matches this alert stands for (1, or the total of a closing suppression alert). */
  count: number;
  /** The fields the rule's detection names, as read from the triggering record. */
  matched: Record<string, unknown>;
  /** The triggering event (null only when no evidence builder was attached, e.g. in unit tests). */
  event: SensorEvent | null;
  flowId: string;
  client: { ip: string; port: number };
  server: { ip: string; port: number };
  tsSec: number;
  tsNsec: number;
  correlation?: AlertCorrelation;
  /** Closing alert of a suppression window: first/last match time. */
  suppressed?: { firstTsSec: number; firstTsNsec: number; lastTsSec: number; lastTsNsec: number };
}

export interface AlertSink {
  alert(alert: RuleAlert): void;
}

export interface RuleEngineOptions {
  /** Correlation groups kept per rule; the oldest is evicted beyond (default 10000). */
  maxGroupsPerRule?: number;
  /** Distinct values kept per value_count group (default 4096). */
  maxValuesPerGroup?: number;
  /** Suppression keys kept per rule; the oldest window is closed early beyond (default 10000). */
  maxSuppressKeysPerRule?: number;
}

export class RuleEngineStats {
  evaluations = 0;
  matches = 0;
  alerts = 0;
  /** Matches folded into an open suppression window. */
  suppressed = 0;
  groupsEvicted = 0;
  valuesDropped = 0;
  suppressKeysEvicted = 0;
  /** Alerts per rule id and per level. */
  readonly byRule = new Map<string, number>();
  readonly byLevel = new Map<string, number>();
}

interface Group {
  /** event_count: ring of the times (ms) of the newest counted events (capacity = threshold), oldest at `head`. */
  times: Float64Array | null;
  head: number;
  count: number;
  /** value_count: value → last time seen (ms); Map order = first sighting. Raw values as keys. */
  values: Map<unknown, number> | null;
}

interface Window {
  endMs: number;
  count: number;
  first: RuleAlert;
  lastTsSec: number;
  lastTsNsec: number;
}

/**
 * Builds the key of a field list (correlation group_by, suppress by) for the current subject without allocating in
 * the common case: the flow-scoped part (addresses, ports) is kept per flow, and when there is one other field the
 * whole key is reused while the flow and that field's value repeat (a master polling one unit).
 */
class KeyBuilder {
  private readonly flowFields: NamedField[];
  private readonly otherFields: NamedField[];
  /** Per flow object: its flow-scoped key part, and the last full key with the other field's value. */
  private readonly perFlow = new WeakMap<object, FlowKey>();
  private lastFlow: unknown = null;
  private last: FlowKey | null = null;

  constructor(fields: readonly NamedField[]) {
    this.flowFields = fields.filter((f) => f.def.flowScoped === true);
    this.otherFields = fields.filter((f) => f.def.flowScoped !== true);
  }

  key(s: Subject): string {
    let fk = this.last;
    if (this.lastFlow !== s.flow || fk === null) {
      // Interleaved flows: what was computed for a flow is kept with it (same strings, hashes already computed).
      fk = this.perFlow.get(s.flow) ?? null;
      if (fk === null) {
        fk = {
          part: this.flowFields.length > 0 ? keyOf(this.flowFields, s) : '',
          other: undefined,
          key: '',
          valid: false,
        };
        this.perFlow.set(s.flow, fk);
      }
      this.lastFlow = s.flow;
      this.last = fk;
    }
    const other = this.otherFields;
    if (other.length === 0) return fk.part;
    if (other.length === 1) {
      const v = (other[0] as NamedField).def.get(s);
      if (fk.valid && v === fk.other && !Array.isArray(v)) return fk.key;
      fk.other = v;
      fk.valid = true;
      fk.key = `${fk.part}\u0002${Array.isArray(v) ? v.join(',') : String(v)}`;
      return fk.key;
    }
    return `${fk.part}\u0002${keyOf(other, s)}`;
  }
}

interface FlowKey {
  part: string;
  other: unknown;
  key: string;
  valid: boolean;
}

class RuleState {
  readonly groups: Map<string, Group> | null;
  readonly windows: Map<string, Window> | null;
  readonly groupKey: KeyBuilder | null;
  readonly suppressKey: KeyBuilder | null;
  /** The group of the previous match and its key: consecutive events of one poller skip the Map lookup. */
  lastKey: string | null = null;
  lastGroup: Group | null = null;
  constructor(readonly rule: CompiledRule) {
    this.groups = rule.correlation === null ? null : new Map();
    this.windows = rule.suppress === null ? null : new Map();
    this.groupKey = rule.correlation === null ? null : new KeyBuilder(rule.correlation.groupBy);
    this.suppressKey = rule.suppress === null ? null : new KeyBuilder(rule.suppress.by);
  }
}

interface RuleList {
  rules: readonly CompiledRule[];
  states: RuleState[];
}

interface DispatchRuntime {
  get: (s: Subject) => unknown;
  byValue: Map<number, RuleList>;
  rest: RuleList;
}

function timeMs(tsSec: number, tsNsec: number): number {
  return tsSec * 1000 + tsNsec / 1e6;
}

function keyOf(fields: readonly NamedField[], s: Subject): string {
  if (fields.length === 0) return '';
  let key = '';
  for (let i = 0; i < fields.length; i++) {
    const v = (fields[i] as NamedField).def.get(s);
    key += `${i > 0 ? '\u0001' : ''}${Array.isArray(v) ? v.join(',') : String(v)}`;
  }
  return key;
}

function readFields(fields: readonly NamedField[], s: Subject): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    const v = f.def.get(s);
    if (v !== undefined) out[f.name] = Array.isArray(v) ? [...v] : v;
  }
  return out;
}

export class RuleEngine {
  readonly stats = new RuleEngineStats();
  private readonly byKind: (readonly CompiledRule[])[];
  /** The state of each rule of `byKind`, same positions (no lookup per match). */
  private readonly statesByKind: RuleState[][];
  /** Per kind with a dispatch index: the rule and state lists per dispatch value, and for other values. */
  private readonly dispatch: (DispatchRuntime | null)[];
  private readonly states = new Map<CompiledRule, RuleState>();
  /** States with suppression windows (swept on packet time). */
  private readonly suppressing: RuleState[] = [];
  private readonly maxGroups: number;
  private readonly maxValues: number;
  private readonly maxKeys: number;

  constructor(
    readonly set: CompiledRuleSet,
    private readonly sink: AlertSink,
    options: RuleEngineOptions = {},
  ) {
    this.maxGroups = positive(options.maxGroupsPerRule ?? 10_000, 'maxGroupsPerRule');
    this.maxValues = positive(options.maxValuesPerGroup ?? 4096, 'maxValuesPerGroup');
    this.maxKeys = positive(options.maxSuppressKeysPerRule ?? 10_000, 'maxSuppressKeysPerRule');
    this.byKind = [];
    for (let k = 0; k < KIND_COUNT; k++) this.byKind.push(set.byKind[k] ?? []);
    for (const r of set.rules) {
      const st = new RuleState(r);
      this.states.set(r, st);
      if (st.windows !== null) this.suppressing.push(st);
    }
    this.statesByKind = this.byKind.map((rules) => rules.map((r) => this.states.get(r) as RuleState));
    const statesOf = (rules: CompiledRule[]) => rules.map((r) => this.states.get(r) as RuleState);
    this.dispatch = [];
    for (let k = 0; k < KIND_COUNT; k++) {
      const d = set.dispatch[k] ?? null;
      if (d === null) {
        this.dispatch.push(null);
        continue;
      }
      const byValue = new Map<number, RuleList>();
      for (const [v, rules] of d.byValue) byValue.set(v, { rules, states: statesOf(rules) });
      this.dispatch.push({ get: d.def.get, byValue, rest: { rules: d.rest, states: statesOf(d.rest) } });
    }
  }

  /** True when some rule looks at `kind` (callers skip filling a subject otherwise). */
  wants(kind: number): boolean {
    return (this.byKind[kind]?.length ?? 0) > 0;
  }

  /** True when any rule looks at a kind in [from, to]. */
  wantsAny(kinds: readonly number[]): boolean {
    for (const k of kinds) if (this.wants(k)) return true;
    return false;
  }

  evaluate(kind: number, s: Subject): void {
    let rules = this.byKind[kind];
    let states = this.statesByKind[kind];
    if (rules === undefined || states === undefined) return;
    this.stats.evaluations++;
    const d = this.dispatch[kind];
    if (d !== undefined && d !== null) {
      const v = d.get(s);
      const list = (typeof v === 'number' ? d.byValue.get(v) : undefined) ?? d.rest;
      rules = list.rules;
      states = list.states;
    }
    for (let i = 0; i < rules.length; i++) {
      const r = rules[i] as CompiledRule;
      if (r.predicate(s)) this.onMatch(r, states[i] as RuleState, kind, s);
    }
  }

  /** Closes suppression windows that ended before packet time `tsSec` (call periodically). */
  sweep(tsSec: number): void {
    const now = tsSec * 1000;
    for (const st of this.suppressing) {
      const windows = st.windows as Map<string, Window>;
      for (const [key, w] of windows) {
        if (w.endMs <= now) {
          windows.delete(key);
          this.close(w);
        }
      }
    }
  }

  /** End of input: closes every open suppression window (raising closing alerts for repeats). */
  flush(): void {
    for (const st of this.suppressing) {
      const windows = st.windows as Map<string, Window>;
      for (const w of windows.values()) this.close(w);
      windows.clear();
    }
  }

  private onMatch(r: CompiledRule, st: RuleState, kind: number, s: Subject): void {
    this.stats.matches++;
    const cor = r.correlation;
    if (cor === null) {
      this.raise(r, st, kind, s, undefined);
      return;
    }
    const t = timeMs(s.tsSec, s.tsNsec);
    const groups = st.groups as Map<string, Group>;
    const key = (st.groupKey as KeyBuilder).key(s);
    let g = key === st.lastKey ? st.lastGroup : groups.get(key);
    if (g === undefined || g === null) {
      if (groups.size >= this.maxGroups) {
        const oldest = groups.keys().next().value;
        if (oldest !== undefined) groups.delete(oldest);
        this.stats.groupsEvicted++;
        st.lastKey = null; // the cached group may be the one evicted
      }
      const counting = cor.type === 'event_count';
      g = {
        times: counting ? new Float64Array(cor.threshold) : null,
        head: 0,
        count: 0,
        values: counting ? null : new Map(),
      };
      groups.set(key, g);
    }
    st.lastKey = key;
    st.lastGroup = g;
    let count = 0;
    const times = g.times;
    if (times !== null) {
      // Ring of the newest `threshold` times: only they can complete a count.
      const cap = times.length;
      if (g.count === cap) {
        g.head = (g.head + 1) % cap;
        g.count--;
      }
      times[(g.head + g.count) % cap] = t;
      g.count++;
      while (g.count > 0 && t - (times[g.head] as number) > cor.timespanMs) {
        g.head = (g.head + 1) % cap;
        g.count--;
      }
      if (g.count < cor.threshold) return;
      count = g.count;
      g.count = 0;
      g.head = 0;
    } else {
      const v = (cor.field as NamedField).def.get(s);
      if (v === undefined) return;
      const values = g.values as Map<unknown, number>;
      const vk = Array.isArray(v) ? v.join(',') : v;
      values.set(vk, t);
      // Stale values are dropped only when the count could fire (one Map write per event otherwise).
      if (values.size >= cor.threshold || values.size > this.maxValues) {
        for (const [k, seen] of values) if (t - seen > cor.timespanMs) values.delete(k);
      }
      while (values.size > this.maxValues) {
        const oldest = values.keys().next().value;
        if (oldest === undefined) break;
        values.delete(oldest);
        this.stats.valuesDropped++;
      }
      if (values.size < cor.threshold) return;
      count = values.size;
      values.clear();
    }
    const groupBy: Record<string, unknown> = {};
    for (const f of cor.groupBy) groupBy[f.name] = f.def.get(s);
    this.raise(r, st, kind, s, { type: cor.type, groupBy, count, timespanMs: cor.timespanMs });
  }

  private raise(r: CompiledRule, st: RuleState, kind: number, s: Subject, cor: AlertCorrelation | undefined): void {
    const windows = st.windows;
    let key = '';
    if (windows !== null) {
      const t = timeMs(s.tsSec, s.tsNsec);
      key = (st.suppressKey as KeyBuilder).key(s);
      const open = windows.get(key);
      if (open !== undefined) {
        if (t < open.endMs) {
          open.count++;
          open.lastTsSec = s.tsSec;
          open.lastTsNsec = s.tsNsec;
          this.stats.suppressed++;
          return;
        }
        windows.delete(key);
        this.close(open);
      }
    }
    const flow = s.flow;
    const alert: RuleAlert = {
      rule: r.meta,
      count: 1,
      matched: readFields(r.fields, s),
      event: s.evidence(kind),
      flowId: flow.id,
      client: { ip: flow.clientIp, port: flow.clientPort },
      server: { ip: flow.serverIp, port: flow.serverPort },
      tsSec: s.tsSec,
      tsNsec: s.tsNsec,
    };
    if (cor !== undefined) alert.correlation = cor;
    if (windows !== null) {
      if (windows.size >= this.maxKeys) {
        const oldest = windows.entries().next().value;
        if (oldest !== undefined) {
          windows.delete(oldest[0]);
          this.close(oldest[1]);
        }
        this.stats.suppressKeysEvicted++;
      }
      const windowMs = (r.suppress as NonNullable<CompiledRule['suppress']>).windowMs;
      windows.set(key, {
        endMs: timeMs(s.tsSec, s.tsNsec) + windowMs,
        count: 1,
        first: alert,
        lastTsSec: s.tsSec,
        lastTsNsec: s.tsNsec,
      });
    }
    this.emit(alert);
  }

  /** A window ends: one closing alert when it folded repeats. */
  private close(w: Window): void {
    if (w.count <= 1) return;
    const first = w.first;
    this.emit({
      ...first,
      count: w.count,
      tsSec: w.lastTsSec,
      tsNsec: w.lastTsNsec,
      suppressed: {
        firstTsSec: first.tsSec,
        firstTsNsec: first.tsNsec,
        lastTsSec: w.lastTsSec,
        lastTsNsec: w.lastTsNsec,
      },
    });
  }

  private emit(alert: RuleAlert): void {
    const st = this.stats;
    st.alerts++;
    st.byRule.set(alert.rule.id, (st.byRule.get(alert.rule.id) ?? 0) + 1);
    st.byLevel.set(alert.rule.level, (st.byLevel.get(alert.rule.level) ?? 0) + 1);
    this.sink.alert(alert);
  }
}

function positive(n: number, name: string): number {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`RuleEngine: ${name} must be an integer ≥ 1, got ${n}`);
  return n;
}
