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
  /** Distinct flow key parts interned (shared by all rules); the table restarts beyond (default 65536). */
  maxInternedKeyParts?: number;
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
  /** Times the interned flow key parts table was full and restarted. */
  keyPartResets = 0;
  /** Alerts per rule id and per level. */
  readonly byRule = new Map<string, number>();
  readonly byLevel = new Map<string, number>();
}

interface Group {
  /** event_count: ring of the times (ms) of the newest counted events (capacity = threshold), oldest at `head`. */
  times: Float64Array | null;
  head: number;
  count: number;
  /**
   * value_count: value → its slot in `seen`; Map order = first sighting. Raw values as keys. The times live in a
   * Float64Array, not in the Map: a double stored as a Map value is a heap number, one allocation per event.
   */
  values: Map<unknown, number> | null;
  /** value_count: last time (ms) each slot's value was seen (grown by doubling up to maxValuesPerGroup + 1). */
  seen: Float64Array | null;
  /** value_count: slots freed by stale or evicted values, reused before `nextSlot`. */
  freeSlots: number[];
  nextSlot: number;
  /**
   * value_count on a byteDomain field: last time (ms) of each byte value, NOT_SEEN = not counted, and how many
   * are counted. Other values (none for such fields) go to the Map.
   */
  bytes: Float64Array | null;
  byteCount: number;
  /** value_count: the previous event's value and slot (a poller repeats its value: no Map access then). */
  lastValue: unknown;
  lastSlot: number;
}

interface Window {
  endMs: number;
  count: number;
  first: RuleAlert;
  lastTsSec: number;
  lastTsNsec: number;
  /** Still in its rule's `windows` (false once closed): RuleState.lastWindow is only used while live. */
  live: boolean;
}

/**
 * The flow-scoped key parts (addresses, ports, VLAN) of every field list of an engine, kept per flow and shared by
 * all its rules: when flows interleave, one WeakMap lookup per event instead of one per rule. Equal parts are
 * interned (one string object per distinct text), so a rule's "same key as last event" test is a pointer compare
 * even across the flows of one client/server pair.
 */
class FlowParts {
  private readonly lists: NamedField[][] = [];
  private readonly sigs = new Map<string, number>();
  private readonly perFlow = new WeakMap<object, (string | undefined)[]>();
  private readonly interned = new Map<string, string>();
  private lastFlow: unknown = null;
  private last: (string | undefined)[] = [];

  constructor(
    private readonly maxInterned: number,
    private readonly stats: RuleEngineStats,
  ) {}

  /** Index of a flow-field list (lists with the same fields share one). */
  register(fields: NamedField[]): number {
    const sig = fields.map((f) => f.name).join('\u0001');
    let i = this.sigs.get(sig);
    if (i === undefined) {
      i = this.lists.length;
      this.lists.push(fields);
      this.sigs.set(sig, i);
    }
    return i;
  }

  part(list: number, s: Subject): string {
    let parts = this.last;
    if (this.lastFlow !== s.flow) {
      parts = this.perFlow.get(s.flow) ?? [];
      if (parts.length === 0) this.perFlow.set(s.flow, parts);
      this.lastFlow = s.flow;
      this.last = parts;
    }
    let p = parts[list];
    if (p === undefined) {
      const text = keyOf(this.lists[list] as NamedField[], s);
      p = this.interned.get(text);
      if (p === undefined) {
        // Bounded: past the cap interning restarts (keys stay correct, only the pointer-compare shortcut is lost).
        if (this.interned.size >= this.maxInterned) {
          this.interned.clear();
          this.stats.keyPartResets++;
        }
        this.interned.set(text, text);
        p = text;
      }
      parts[list] = p;
    }
    return p;
  }
}

/**
 * Builds the key of a field list (correlation group_by, suppress by) for the current subject without allocating in
 * the common case: the flow-scoped part comes from FlowParts, and when there is one other field the whole key is
 * reused while the flow part and that field's value repeat (a master polling one unit).
 */
class KeyBuilder {
  private readonly flowList: number;
  private readonly otherFields: NamedField[];
  private lastPart: string | null = null;
  private lastOther: unknown = undefined;
  private lastKey = '';

  constructor(
    fields: readonly NamedField[],
    private readonly parts: FlowParts,
  ) {
    const flowFields = fields.filter((f) => f.def.flowScoped === true);
    this.flowList = flowFields.length > 0 ? parts.register(flowFields) : -1;
    this.otherFields = fields.filter((f) => f.def.flowScoped !== true);
  }

  key(s: Subject): string {
    const part = this.flowList < 0 ? '' : this.parts.part(this.flowList, s);
    const other = this.otherFields;
    if (other.length === 0) return part;
    if (other.length === 1) {
      const v = (other[0] as NamedField).def.get(s);
      if (part === this.lastPart && v === this.lastOther && !Array.isArray(v)) return this.lastKey;
      this.lastPart = part;
      this.lastOther = v;
      this.lastKey = `${part}\u0002${Array.isArray(v) ? v.join(',') : String(v)}`;
      return this.lastKey;
    }
    return `${part}\u0002${keyOf(other, s)}`;
  }
}

class RuleState {
  readonly groups: Map<string, Group> | null;
  readonly windows: Map<string, Window> | null;
  readonly groupKey: KeyBuilder | null;
  readonly suppressKey: KeyBuilder | null;
  /** The group of the previous match and its key: consecutive events of one poller skip the Map lookup. */
  lastKey: string | null = null;
  lastGroup: Group | null = null;
  /** group_by names flow-scoped fields only: the group follows from the flow (Flow objects are never reused). */
  readonly flowOnly: boolean;
  /** With flowOnly: the flow of the previous match (its group is lastGroup). */
  lastGroupFlow: unknown = null;
  /** The suppression window of the previous raise and its key (repeats of one match skip the Map lookup). */
  lastWindowKey: string | null = null;
  lastWindow: Window | null = null;
  constructor(
    readonly rule: CompiledRule,
    parts: FlowParts,
  ) {
    this.groups = rule.correlation === null ? null : new Map();
    this.windows = rule.suppress === null ? null : new Map();
    this.groupKey = rule.correlation === null ? null : new KeyBuilder(rule.correlation.groupBy, parts);
    this.flowOnly =
      rule.correlation !== null &&
      rule.correlation.groupBy.length > 0 &&
      rule.correlation.groupBy.every((f) => f.def.flowScoped === true);
    this.suppressKey = rule.suppress === null ? null : new KeyBuilder(rule.suppress.by, parts);
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

/** A byte value not counted in a value_count group (any packet time is later). */
const NOT_SEEN = Number.NEGATIVE_INFINITY;

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
    const parts = new FlowParts(positive(options.maxInternedKeyParts ?? 65_536, 'maxInternedKeyParts'), this.stats);
    this.byKind = [];
    for (let k = 0; k < KIND_COUNT; k++) this.byKind.push(set.byKind[k] ?? []);
    for (const r of set.rules) {
      const st = new RuleState(r, parts);
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
    let g: Group | null | undefined = null;
    let key: string | null = null;
    // Grouped by flow fields only and the same flow as the previous match: the same group, no key at all.
    if (st.flowOnly && s.flow === st.lastGroupFlow) g = st.lastGroup;
    if (g === null) {
      key = (st.groupKey as KeyBuilder).key(s);
      g = key === st.lastKey ? st.lastGroup : groups.get(key);
      st.lastKey = key;
    }
    if (g === undefined || g === null) {
      if (groups.size >= this.maxGroups) {
        const oldest = groups.keys().next().value;
        if (oldest !== undefined) groups.delete(oldest);
        this.stats.groupsEvicted++;
      }
      const counting = cor.type === 'event_count';
      g = {
        times: counting ? new Float64Array(cor.threshold) : null,
        head: 0,
        count: 0,
        values: counting ? null : new Map(),
        seen: counting ? null : new Float64Array(Math.min(16, this.maxValues + 1)),
        freeSlots: [],
        nextSlot: 0,
        lastValue: undefined,
        lastSlot: -1,
        bytes: !counting && cor.field?.def.byteDomain === true ? new Float64Array(256).fill(NOT_SEEN) : null,
        byteCount: 0,
      };
      groups.set(key as string, g);
    }
    st.lastGroup = g;
    st.lastGroupFlow = st.flowOnly ? s.flow : null;
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
      const bytes = g.bytes;
      if (bytes !== null && typeof v === 'number' && v >= 0 && v < 256 && Number.isInteger(v)) {
        // Same semantics as the Map below (stale values dropped only when the count could fire), no hashing.
        if (bytes[v] === NOT_SEEN) g.byteCount++;
        bytes[v] = t;
        const values = g.values as Map<unknown, number>;
        if (g.byteCount + values.size < cor.threshold) return;
        this.dropStale(g, t, cor.timespanMs);
        if (g.byteCount + values.size < cor.threshold) return;
        count = g.byteCount + values.size;
        this.clearValues(g);
      } else {
        count = this.countValue(g, v, t, cor.threshold, cor.timespanMs);
        if (count < 0) return;
      }
    }
    const groupBy: Record<string, unknown> = {};
    for (const f of cor.groupBy) groupBy[f.name] = f.def.get(s);
    this.raise(r, st, kind, s, { type: cor.type, groupBy, count, timespanMs: cor.timespanMs });
  }

  /** value_count: drops the values of `g` last seen more than `timespanMs` before `t`. */
  private dropStale(g: Group, t: number, timespanMs: number): void {
    const bytes = g.bytes;
    if (bytes !== null && g.byteCount > 0) {
      for (let b = 0; b < 256; b++) {
        const at = bytes[b] as number;
        if (at !== NOT_SEEN && t - at > timespanMs) {
          bytes[b] = NOT_SEEN;
          g.byteCount--;
        }
      }
    }
    const values = g.values as Map<unknown, number>;
    const seen = g.seen as Float64Array;
    for (const [k, at] of values) {
      if (t - (seen[at] as number) > timespanMs) {
        values.delete(k);
        g.freeSlots.push(at);
      }
    }
  }

  private clearValues(g: Group): void {
    (g.values as Map<unknown, number>).clear();
    g.freeSlots.length = 0;
    g.nextSlot = 0;
    g.lastSlot = -1;
    if (g.bytes !== null && g.byteCount > 0) g.bytes.fill(NOT_SEEN);
    g.byteCount = 0;
  }

  /** value_count through the Map: the count when it fires (values then cleared), else -1. */
  private countValue(g: Group, v: unknown, t: number, threshold: number, timespanMs: number): number {
    {
      const values = g.values as Map<unknown, number>;
      const vk = Array.isArray(v) ? v.join(',') : v;
      if (g.lastSlot >= 0 && vk === g.lastValue) {
        // Same value as the previous event (still counted: only a firing or a sweep unsets lastSlot).
        (g.seen as Float64Array)[g.lastSlot] = t;
        return -1;
      }
      let slot = values.get(vk);
      if (slot === undefined) {
        slot = this.allocSlot(g);
        values.set(vk, slot);
      }
      (g.seen as Float64Array)[slot] = t;
      g.lastValue = vk;
      g.lastSlot = slot;
      // Stale values are dropped only when the count could fire (no scan per event otherwise).
      if (values.size + g.byteCount >= threshold || values.size > this.maxValues) this.dropStale(g, t, timespanMs);
      while (values.size > this.maxValues) {
        const oldest = values.entries().next().value;
        if (oldest === undefined) break;
        values.delete(oldest[0]);
        g.freeSlots.push(oldest[1]);
        this.stats.valuesDropped++;
      }
      // The cached slot may have been freed above.
      if (values.get(vk) !== slot) g.lastSlot = -1;
      const count = values.size + g.byteCount;
      if (count < threshold) return -1;
      this.clearValues(g);
      return count;
    }
  }

  /** A free slot of a value_count group's `seen` (grows it when full). */
  private allocSlot(g: Group): number {
    const free = g.freeSlots.pop();
    if (free !== undefined) return free;
    const seen = g.seen as Float64Array;
    if (g.nextSlot === seen.length) {
      const grown = new Float64Array(Math.max(16, seen.length * 2));
      grown.set(seen);
      g.seen = grown;
    }
    return g.nextSlot++;
  }

  private raise(r: CompiledRule, st: RuleState, kind: number, s: Subject, cor: AlertCorrelation | undefined): void {
    const windows = st.windows;
    let key = '';
    if (windows !== null) {
      const t = timeMs(s.tsSec, s.tsNsec);
      key = (st.suppressKey as KeyBuilder).key(s);
      const last = st.lastWindow;
      const open = key === st.lastWindowKey && last !== null && last.live ? last : windows.get(key);
      if (open !== undefined) {
        if (t < open.endMs) {
          st.lastWindowKey = key;
          st.lastWindow = open;
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
      const w: Window = {
        endMs: timeMs(s.tsSec, s.tsNsec) + windowMs,
        count: 1,
        first: alert,
        lastTsSec: s.tsSec,
        lastTsNsec: s.tsNsec,
        live: true,
      };
      windows.set(key, w);
      st.lastWindowKey = key;
      st.lastWindow = w;
    }
    this.emit(alert);
  }

  /** A window ends: one closing alert when it folded repeats. */
  private close(w: Window): void {
    w.live = false;
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
