/**
 * Rule evaluation with its bounded state (correlation groups, suppression windows). Pure and deterministic: time is
 * the packet time of the subject, never the wall clock; alerts go synchronously to an AlertSink.
 *
 * The packet path calls `evaluate(kind, subject)`, which walks only the rules indexed under that kind: the cost per
 * event does not depend on rules for other protocols or event categories.
 */
import type { SensorEvent } from '../../protocols/wire/events.ts';
import { generatedSource, generateRule, generateRun, type RuleFn } from './codegen.ts';
import {
  type CompiledRule,
  type CompiledRuleSet,
  type CorrelationSpec,
  type NamedField,
  type RuleMeta,
  splitRules,
} from './compile.ts';
import { NumberSet } from './number-set.ts';
import { type FlowLike, KIND_COUNT, type Subject } from './subjects.ts';

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
  /**
   * Evaluate each rule list through one generated function (codegen.ts; default true). False keeps the interpreted
   * loop over the rules' predicate closures: the reference the generated code is tested against.
   */
  generated?: boolean;
  /**
   * Longest run of consecutive rules that see every event of their kind evaluated by one generated function
   * (codegen.ts generateRun; default 8; 1 = one function per rule). Longer runs save calls and field reads, but a
   * rule's first match recompiles the whole run's function.
   */
  maxRulesPerRun?: number;
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

/** @internal A correlation group (exported for the generated code's types only). */
export class Group {
  /** Still in its rule's `groups` (false once evicted): per-flow caches hold a group only while live. */
  live = false;
  /** event_count: ring of the times (ms) of the newest counted events (capacity = threshold), oldest at `head`. */
  readonly times: Float64Array | null;
  head = 0;
  count = 0;
  /**
   * value_count: value → its slot in `seen`; Map order = first sighting. Raw values as keys. The times live in a
   * Float64Array, not in the Map: a double stored as a Map value is a heap number, one allocation per event.
   */
  readonly values: Map<unknown, number> | null;
  /**
   * `values.size`, mirrored after every change of the Map: the hot paths of byte and number groups (whose Map stays
   * empty) read this field of the group instead of the Map's table, one cache line less per counted event.
   */
  otherCount = 0;
  /**
   * value_count on a (non-list) number field: its numbers, first-sighting order (slots are NumberSet log positions);
   * the Map then only ever holds values that are not numbers (none from such fields).
   */
  readonly nums: NumberSet | null;
  /** value_count: last time (ms) each slot's value was seen (grown by doubling up to maxValuesPerGroup + 1). */
  seen: Float64Array | null;
  /** value_count: slots freed by stale or evicted values, reused before `nextSlot`. */
  readonly freeSlots: number[] = [];
  nextSlot = 0;
  /**
   * value_count on a byteDomain field: last time (ms) of each byte value, NOT_SEEN = not counted, and how many
   * are counted. Other values (none for such fields) go to the Map.
   */
  readonly bytes: Float64Array | null;
  byteCount = 0;
  /** value_count on a byteDomain field: the byte values counted, first `byteCount` entries (scans touch only them). */
  readonly byteList: Uint8Array | null;
  /** value_count: the previous event's value and slot (a poller repeats its value: no Map access then). */
  lastValue: unknown;
  lastSlot = -1;

  /**
   * A class, not an object literal: every group of every engine gets the constructor's map. Groups made from a
   * literal kept the literal's first map after V8 generalized a field, so code optimized on one pipeline's groups
   * deopted ("wrong map") on the next pipeline's first groups.
   */
  constructor(counting: boolean, threshold: number, seenSize: number, numberValues: boolean, byteValues: boolean) {
    this.times = counting ? new Float64Array(threshold) : null;
    this.values = counting ? null : new Map();
    this.seen = counting ? null : new Float64Array(seenSize);
    this.nums = numberValues ? new NumberSet() : null;
    this.bytes = byteValues ? new Float64Array(256).fill(NOT_SEEN) : null;
    this.byteList = byteValues ? new Uint8Array(256) : null;
    // Holds numbers, strings or undefined: a number stored first makes the field tagged (any value) from the first
    // group on, instead of generalizing it later under optimized code.
    this.lastValue = 0;
    this.lastValue = undefined;
    // Made live after creation, so V8 tracks `live` as a mutable field from the start: the first eviction would
    // otherwise invalidate the optimized code that read it as a constant.
    this.live = true;
  }
}

/** @internal A suppression window. */
export class Window {
  /** Its key in the rule's `windows`. */
  readonly key: string;
  readonly endMs: number;
  count = 1;
  readonly first: RuleAlert;
  lastTsSec: number;
  lastTsNsec: number;
  /** Still in its rule's `windows` (false once closed): RuleState.lastWindow is only used while live. */
  live = false;

  /** A class for the same reason as Group: one map for every engine's windows. */
  constructor(key: string, endMs: number, first: RuleAlert) {
    this.key = key;
    this.endMs = endMs;
    this.first = first;
    this.lastTsSec = first.tsSec;
    this.lastTsNsec = first.tsNsec;
    // Mutable from the start (see Group).
    this.live = true;
  }
}

/**
 * Initial "previous" values of the per-event repeat tests, of the type the tests later compare (an object for flows,
 * strings for keys): V8 allocates a function's type feedback only after its first calls, so a `null` seen only then
 * is missing from the feedback, and the optimized code deopts when the next engine (the next file's pipeline)
 * starts with `null` again — and is compiled again.
 */
const NO_FLOW_YET: object = Object.freeze({});
const NOT_A_VALUE: unique symbol = Symbol('none');

/** Per-flow engine state shared by all rules: found once per event (one pointer compare while the flow repeats). */
class FlowBlock {
  /** The flow-scoped key part of each registered field list (interned text), computed on first use. */
  readonly parts: (string | undefined)[];
  /**
   * Per kind (allocated on the flow's first match of that kind): for each cache slot of the kind, the group or
   * suppression window this flow last used and the value of the rule's one non-flow key field it was for. A live
   * entry whose value repeats is exactly what the rule's Map would return for the key: no key text, no Map lookup,
   * also when flows interleave.
   */
  readonly caches: (unknown[] | undefined)[];
  /**
   * The engine's FlowBlocks and the flow this block belongs to (a flow's slot holds one engine's block at a time; a
   * copy of a flow-like object, e.g. `{ ...flow }` in a test, carries the slot but is another flow).
   */
  constructor(
    readonly owner: FlowBlocks,
    readonly flow: object,
    partCount: number,
  ) {
    // Full length and filled from the start, so every block's arrays have one elements kind (HOLEY_ELEMENTS): grown
    // from `[]` by the first store, an array's kind depended on which kind or list a flow used first, and code
    // optimized for the blocks of one pipeline deopted ("wrong map") on the next pipeline's first blocks.
    this.parts = new Array<string | undefined>(Math.max(1, partCount)).fill(undefined);
    this.caches = new Array<unknown[] | undefined>(KIND_COUNT).fill(undefined);
  }
}

/**
 * The flow-scoped key parts (addresses, ports, VLAN) of every field list of an engine, kept per flow (in its
 * FlowBlock) and shared by all its rules. Equal parts are interned (one string object per distinct text), so a rule's
 * "same key as last event" test is a pointer compare even across the flows of one client/server pair.
 *
 * The block lives in the flow's `ruleState` slot (a field read; a WeakMap lookup cost ≈ 10 ns per event on captures
 * whose flow changes on almost every other transaction). A block of another engine (after a reload, or two engines
 * on one flow in tests) is replaced: everything in a block is a cache of what the engine's Maps hold (entries are
 * checked live before use, key parts are recomputed to the same interned text), so losing one changes no result.
 */
class FlowBlocks {
  private readonly lists: NamedField[][] = [];
  private readonly sigs = new Map<string, number>();
  private readonly interned = new Map<string, string>();
  private lastFlow: object = NO_FLOW_YET;
  private last: FlowBlock;

  constructor(
    private readonly maxInterned: number,
    private readonly stats: RuleEngineStats,
  ) {
    this.last = new FlowBlock(this, NO_FLOW_YET, 0);
  }

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

  /**
   * The block of a flow. Takes the flow, not the subject: every kind's subject class reaches this shared code, and a
   * load of `s.flow` here saw each class in turn and deoptimised ("wrong map") as each protocol's first events came,
   * re-optimised in the next file's pass. The caller loads it, in code that sees one subject class.
   */
  of(flow: FlowLike): FlowBlock {
    if (this.lastFlow === flow) return this.last;
    let b = flow.ruleState;
    if (!(b instanceof FlowBlock) || b.owner !== this || b.flow !== flow) {
      b = new FlowBlock(this, flow, this.lists.length);
      flow.ruleState = b;
    }
    this.lastFlow = flow;
    this.last = b as FlowBlock;
    return b as FlowBlock;
  }

  part(list: number, flow: FlowLike, s: Subject): string {
    const parts = this.of(flow).parts;
    const p = parts[list];
    return p === undefined ? this.fillPart(parts, list, s) : p;
  }

  /**
   * A flow's first use of a field list: its key part, interned. Out of `part` (see RuleEngine.raise): a new text
   * reaches the intern table's insert once per engine, and the deopt that follows recompiles only this function.
   */
  private fillPart(parts: (string | undefined)[], list: number, s: Subject): string {
    const text = keyOf(this.lists[list] as NamedField[], s);
    let p = this.interned.get(text);
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
    return p;
  }
}

/**
 * Builds the key of a field list (correlation group_by, suppress by) for the current subject without allocating in
 * the common case: the flow-scoped part comes from FlowBlocks, and when there is one other field the whole key is
 * reused while the flow part and that field's value repeat (a master polling one unit).
 */
class KeyBuilder {
  private readonly flowList: number;
  /** The fields that do not follow from the flow (unit, func, ...). */
  readonly otherFields: NamedField[];
  private lastPart = '';
  /** No value equals it, so the first key is always built (and `lastPart` can start as a string: see NO_FLOW_YET). */
  private lastOther: unknown = NOT_A_VALUE;
  private lastKey = '';

  constructor(
    fields: readonly NamedField[],
    private readonly parts: FlowBlocks,
  ) {
    const flowFields = fields.filter((f) => f.def.flowScoped === true);
    this.flowList = flowFields.length > 0 ? parts.register(flowFields) : -1;
    this.otherFields = fields.filter((f) => f.def.flowScoped !== true);
  }

  /** The key for subject `s` of flow `flow` (= `s.flow`, loaded by the caller: see FlowBlocks.of). */
  key(s: Subject, flow: FlowLike): string {
    const part = this.flowList < 0 ? '' : this.parts.part(this.flowList, flow, s);
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

/** No non-flow key field: the per-flow cache entry is valid for the flow alone. */
const NO_OTHER: NamedField | null = null;

/** @internal The state of one rule (exported for codegen.ts). */
export class RuleState {
  readonly groups: Map<string, Group> | null;
  readonly windows: Map<string, Window> | null;
  readonly groupKey: KeyBuilder | null;
  readonly suppressKey: KeyBuilder | null;
  /** The group of the previous match and its key: consecutive events of one poller skip the Map lookup. */
  lastKey = '';
  lastGroup: Group | null = null;
  /**
   * Per-flow cache slots (FlowBlock.caches[kind]) of the group and of the suppression window, -1 when the key has
   * more than one non-flow field or the rule spans several kinds; and that one non-flow field (null: none).
   */
  groupSlot = -1;
  groupOther: NamedField | null = NO_OTHER;
  windowSlot = -1;
  windowOther: NamedField | null = NO_OTHER;
  /** The suppression window of the previous raise and its key (repeats of one match skip the Map lookup). */
  lastWindowKey = '';
  lastWindow: Window | null = null;
  readonly threshold: number;
  readonly timespanMs: number;
  /** value_count: the field whose distinct values are counted, and whether it is byteDomain. */
  readonly valueField: NamedField | null;
  readonly byteValues: boolean;
  /** value_count on a number field that is not byteDomain: values in a NumberSet. */
  readonly numberValues: boolean;
  constructor(
    readonly rule: CompiledRule,
    parts: FlowBlocks,
  ) {
    const cor = rule.correlation;
    this.groups = cor === null ? null : new Map();
    this.windows = rule.suppress === null ? null : new Map();
    this.groupKey = cor === null ? null : new KeyBuilder(cor.groupBy, parts);
    this.suppressKey = rule.suppress === null ? null : new KeyBuilder(rule.suppress.by, parts);
    this.threshold = cor?.threshold ?? 0;
    this.timespanMs = cor?.timespanMs ?? 0;
    this.valueField = cor?.type === 'value_count' ? cor.field : null;
    this.byteValues = this.valueField?.def.byteDomain === true;
    const def = this.valueField?.def;
    this.numberValues = def !== undefined && def.type === 'number' && !def.list && !this.byteValues;
  }

  /** Gives this rule its per-flow cache slots in its kind's cache array (from `next`); returns the next free slot. */
  assignSlots(next: number): number {
    if (this.rule.kinds.length !== 1) return next;
    const g = this.groupKey?.otherFields;
    if (g !== undefined && g.length <= 1) {
      this.groupSlot = next;
      this.groupOther = g[0] ?? NO_OTHER;
      next += 2;
    }
    const w = this.suppressKey?.otherFields;
    if (w !== undefined && w.length <= 1) {
      this.windowSlot = next;
      this.windowOther = w[0] ?? NO_OTHER;
      next += 2;
    }
    return next;
  }
}

interface RuleList {
  rules: readonly CompiledRule[];
  states: RuleState[];
  /**
   * The generated functions evaluating the list in order (codegen.ts; null: interpreted): one per rule, or one per
   * run of consecutive undispatched rules; and each one's argument (the rule's state, or the run's states).
   */
  fns: RuleFn[] | null;
  args: (RuleState | readonly RuleState[])[];
  /** The list split by the kind's second dispatch field (null: not split). */
  second: DispatchRuntime | null;
}

interface DispatchRuntime {
  get: (s: Subject) => unknown;
  byValue: Map<number, RuleList>;
  /** byValue for the values 0–255 (index = value; null = none): an array index instead of a Map lookup. */
  small: (RuleList | null)[];
  rest: RuleList;
}

/** A byte value not counted in a value_count group (any packet time is later). */
export const NOT_SEEN = Number.NEGATIVE_INFINITY;

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
  /**
   * @internal The packet time (ms) of the matching event, set by the generated function (or `onMatch`) before it calls
   * the slow paths (the value count, stale-value drops), which read it here instead of taking it as an argument: a
   * double passed to a call that is not inlined is boxed into a new heap number, one allocation per counted event
   * (≈ 5 MB per pass of modbus_big). Not set in `evaluate`: reading the time there is a load from every subject class
   * at one site (megamorphic on a mixed capture), where each generated function reads it from one.
   */
  readonly now = new Float64Array(1);
  private readonly byKind: (readonly CompiledRule[])[];
  /** Per kind, all its rules as one list (with its generated function). */
  private readonly lists: RuleList[];
  /** Per kind with a dispatch index: the rule and state lists per dispatch value, and for other values. */
  private readonly dispatch: (DispatchRuntime | null)[];
  private readonly states = new Map<CompiledRule, RuleState>();
  /** States with suppression windows (swept on packet time). */
  private readonly suppressing: RuleState[] = [];
  private readonly blocks: FlowBlocks;
  /** Length of each kind's per-flow cache array (2 entries per slot). */
  private readonly cacheSize: number[] = [];
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
    this.blocks = new FlowBlocks(positive(options.maxInternedKeyParts ?? 65_536, 'maxInternedKeyParts'), this.stats);
    this.byKind = [];
    for (let k = 0; k < KIND_COUNT; k++) this.byKind.push(set.byKind[k] ?? []);
    for (let k = 0; k < KIND_COUNT; k++) this.cacheSize.push(0);
    for (const r of set.rules) {
      const st = new RuleState(r, this.blocks);
      const kind = r.kinds[0] ?? 0;
      this.cacheSize[kind] = st.assignSlots(this.cacheSize[kind] ?? 0);
      this.states.set(r, st);
      if (st.windows !== null) this.suppressing.push(st);
    }
    const generate = options.generated ?? true;
    // Built once here, never on the packet path; from the compiled structures only (see codegen.ts).
    const fns = new Map<CompiledRule, RuleFn>();
    if (generate) for (const [r, st] of this.states) fns.set(r, generateRule(r.kinds[0] ?? 0, st));
    const maxRun = positive(options.maxRulesPerRun ?? 8, 'maxRulesPerRun');
    // A rule that sees every event of the kind (no dispatch value): such rules make the same runs in every list.
    const fusable = (r: CompiledRule, kind: number): boolean =>
      r.dispatch === null && r.dispatch2 === null && r.kinds.length === 1 && r.kinds[0] === kind;
    const leaf = (kind: number, rules: readonly CompiledRule[]): RuleList => {
      const states = rules.map((r) => this.states.get(r) as RuleState);
      if (!generate) return { rules, states, fns: null, args: [], second: null };
      const listFns: RuleFn[] = [];
      const args: (RuleState | readonly RuleState[])[] = [];
      for (let i = 0; i < rules.length; ) {
        let end = i + 1;
        if (fusable(rules[i] as CompiledRule, kind)) {
          while (end < rules.length && end - i < maxRun && fusable(rules[end] as CompiledRule, kind)) end++;
        }
        if (end - i > 1) {
          const run = states.slice(i, end);
          listFns.push(generateRun(kind, run));
          args.push(run);
        } else {
          listFns.push(fns.get(rules[i] as CompiledRule) as RuleFn);
          args.push(states[i] as RuleState);
        }
        i = end;
      }
      return { rules, states, fns: listFns, args, second: null };
    };
    const runtimeOf = (
      kind: number,
      get: (s: Subject) => unknown,
      split: { byValue: Map<number, CompiledRule[]>; rest: CompiledRule[] },
      make: (kind: number, rules: readonly CompiledRule[]) => RuleList,
    ): DispatchRuntime => {
      const byValue = new Map<number, RuleList>();
      const small: (RuleList | null)[] = new Array<RuleList | null>(256).fill(null);
      for (const [v, rules] of split.byValue) {
        const list = make(kind, rules);
        byValue.set(v, list);
        if (Number.isInteger(v) && v >= 0 && v < 256) small[v] = list;
      }
      return { get, byValue, small, rest: make(kind, split.rest) };
    };
    // A list split by the kind's second dispatch field evaluates only the part for the event's value.
    const listOf = (kind: number, rules: readonly CompiledRule[]): RuleList => {
      const def = set.second[kind] ?? null;
      const split = def === null ? null : splitRules(rules, (r) => r.dispatch2);
      if (def === null || split === null) return leaf(kind, rules);
      const states = rules.map((r) => this.states.get(r) as RuleState);
      return { rules, states, fns: null, args: [], second: runtimeOf(kind, def.get, split, leaf) };
    };
    this.lists = this.byKind.map((rules, k) => listOf(k, rules));
    this.dispatch = [];
    for (let k = 0; k < KIND_COUNT; k++) {
      const d = set.dispatch[k] ?? null;
      if (d === null) {
        this.dispatch.push(null);
        continue;
      }
      this.dispatch.push(runtimeOf(k, d.def.get, d, listOf));
    }
  }

  /** The source of every generated rule function (tests and debugging). */
  generatedSources(): string[] {
    const out = new Set<string>();
    const visit = (l: RuleList): void => {
      if (l.fns !== null) for (const f of l.fns) out.add(generatedSource(f));
      if (l.second !== null) for (const x of [...l.second.byValue.values(), l.second.rest]) visit(x);
    };
    for (const l of this.lists) visit(l);
    for (const d of this.dispatch) if (d !== null) for (const l of [...d.byValue.values(), d.rest]) visit(l);
    return [...out];
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
    let list = this.lists[kind];
    if (list === undefined) return;
    this.stats.evaluations++;
    const d = this.dispatch[kind];
    if (d !== undefined && d !== null) {
      const v = d.get(s);
      list = (typeof v === 'number' ? ((v & 255) === v ? d.small[v] : d.byValue.get(v)) : undefined) ?? d.rest;
    }
    const s2 = list.second;
    if (s2 !== null) {
      const v = s2.get(s);
      list = (typeof v === 'number' ? ((v & 255) === v ? s2.small[v] : s2.byValue.get(v)) : undefined) ?? s2.rest;
    }
    const fns = list.fns;
    if (fns !== null) {
      // One megamorphic call per rule or run: see codegen.ts generateRule and generateRun.
      const args = list.args;
      for (let i = 0; i < fns.length; i++) (fns[i] as RuleFn)(s, args[i] as RuleState, this);
      return;
    }
    const states = list.states;
    const rules = list.rules;
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
      // Most rules have no open window: skip them without creating a Map iterator (this runs every few thousand
      // packets, too seldom to be optimized, so each iterator was a real allocation and a slow call).
      if (windows.size === 0) continue;
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

  /** @internal A rule matched (the generated code calls this for the rules it does not handle inline). */
  onMatch(r: CompiledRule, st: RuleState, kind: number, s: Subject): void {
    this.stats.matches++;
    this.now[0] = timeMs(s.tsSec, s.tsNsec);
    const flow = s.flow;
    const cor = r.correlation;
    if (cor === null) {
      this.raise(r, st, kind, s, null, 0, flow);
      return;
    }
    const g = this.groupOf(st, kind, s, flow);
    const count =
      g.times !== null
        ? this.countEvent(g, st.threshold, st.timespanMs)
        : st.byteValues
          ? this.countByte(st, g, (st.valueField as NamedField).def.get(s))
          : this.countOther(st, g, (st.valueField as NamedField).def.get(s));
    if (count >= 0) this.raise(r, st, kind, s, cor, count, flow);
  }

  /** @internal The per-flow cache array of `kind` for a flow (the subject's: see FlowBlocks.of). */
  cacheOf(kind: number, flow: FlowLike): unknown[] {
    const block = this.blocks.of(flow);
    let cache = block.caches[kind];
    if (cache === undefined) {
      // At least one entry, so that fill() makes every cache array HOLEY_ELEMENTS (one map for the optimized code).
      cache = new Array<unknown>(Math.max(1, this.cacheSize[kind] ?? 0)).fill(null);
      block.caches[kind] = cache;
    }
    return cache;
  }

  /** @internal The correlation group of the subject (created when new; the oldest evicted beyond the cap). */
  groupOf(st: RuleState, kind: number, s: Subject, flow: FlowLike): Group {
    const slot = st.groupSlot;
    let cache: unknown[] | null = null;
    let other: unknown;
    if (slot >= 0) {
      cache = this.cacheOf(kind, flow);
      other = st.groupOther === null ? undefined : st.groupOther.def.get(s);
      const cached = cache[slot] as Group | null;
      if (cached?.live && cache[slot + 1] === other && !Array.isArray(other)) return cached;
    }
    const groups = st.groups as Map<string, Group>;
    const key = (st.groupKey as KeyBuilder).key(s, flow);
    let g = key === st.lastKey ? st.lastGroup : groups.get(key);
    st.lastKey = key;
    if (g === undefined || g === null) g = this.addGroup(st, groups, key);
    st.lastGroup = g;
    if (cache !== null) {
      cache[slot] = g;
      cache[slot + 1] = other;
    }
    return g;
  }

  /**
   * A new group for `key` (the oldest evicted beyond the cap). Out of `groupOf` (see raise): every engine creates its
   * groups on its first events, a path the code optimized on the previous engine never took.
   */
  private addGroup(st: RuleState, groups: Map<string, Group>, key: string): Group {
    if (groups.size >= this.maxGroups) {
      const oldest = groups.entries().next().value;
      if (oldest !== undefined) {
        groups.delete(oldest[0]);
        oldest[1].live = false;
      }
      this.stats.groupsEvicted++;
    }
    const counting = st.rule.correlation?.type === 'event_count';
    const g = new Group(counting, st.threshold, Math.min(16, this.maxValues + 1), st.numberValues, st.byteValues);
    groups.set(key, g);
    return g;
  }

  /** event_count: records an event at the current time; the count when it fires (the window then starts afresh), else -1. */
  private countEvent(g: Group, threshold: number, timespanMs: number): number {
    const t = this.now[0] as number;
    // Ring of the newest `threshold` times: only they can complete a count.
    const times = g.times as Float64Array;
    const cap = times.length;
    if (g.count === cap) {
      g.head = g.head + 1 === cap ? 0 : g.head + 1;
      g.count--;
    }
    const at = g.head + g.count;
    times[at >= cap ? at - cap : at] = t;
    g.count++;
    while (g.count > 0 && t - (times[g.head] as number) > timespanMs) {
      g.head = g.head + 1 === cap ? 0 : g.head + 1;
      g.count--;
    }
    if (g.count < threshold) return -1;
    const count = g.count;
    g.count = 0;
    g.head = 0;
    return count;
  }

  /** value_count on a byteDomain field: countOther's semantics (stale values dropped only when it could fire), no hashing. */
  private countByte(st: RuleState, g: Group, v: unknown): number {
    if (v === undefined) return -1;
    if (typeof v !== 'number' || v < 0 || v >= 256 || !Number.isInteger(v)) return this.countOther(st, g, v);
    const t = this.now[0] as number;
    const bytes = g.bytes as Float64Array;
    if (bytes[v] === NOT_SEEN) (g.byteList as Uint8Array)[g.byteCount++] = v;
    bytes[v] = t;
    if (g.byteCount + g.otherCount < st.threshold) return -1;
    return this.countByteTail(st, g);
  }

  /** @internal countByte once the byte is recorded and the count could fire: drops stale values, fires or not. */
  countByteTail(st: RuleState, g: Group): number {
    this.dropStale(g, st.timespanMs);
    const count = g.byteCount + g.otherCount;
    if (count < st.threshold) return -1;
    this.clearValues(g);
    return count;
  }

  /** value_count: drops the values of `g` last seen more than `timespanMs` before the current time. */
  private dropStale(g: Group, timespanMs: number): void {
    const t = this.now[0] as number;
    const bytes = g.bytes;
    if (bytes !== null && g.byteCount > 0) {
      // Only the counted bytes, compacted in place (their order is never observed).
      const list = g.byteList as Uint8Array;
      let kept = 0;
      for (let i = 0; i < g.byteCount; i++) {
        const b = list[i] as number;
        if (t - (bytes[b] as number) > timespanMs) bytes[b] = NOT_SEEN;
        else list[kept++] = b;
      }
      g.byteCount = kept;
    }
    if (g.nums !== null && g.nums.size > 0) g.nums.dropOlderThan(t, timespanMs);
    const values = g.values as Map<unknown, number>;
    if (values.size === 0) return;
    const seen = g.seen as Float64Array;
    for (const [k, at] of values) {
      if (t - (seen[at] as number) > timespanMs) {
        values.delete(k);
        g.freeSlots.push(at);
      }
    }
    g.otherCount = values.size;
  }

  private clearValues(g: Group): void {
    // Only when not empty: Map.clear() allocates a fresh table even for an empty Map, and a byte-valued group (whose
    // values all live in `bytes`) fires every few dozen events on a scan.
    const values = g.values as Map<unknown, number>;
    if (values.size > 0) values.clear();
    g.otherCount = 0;
    g.nums?.clear();
    if (g.freeSlots.length > 0) g.freeSlots.length = 0;
    g.nextSlot = 0;
    g.lastSlot = -1;
    const bytes = g.bytes;
    if (bytes !== null) {
      const list = g.byteList as Uint8Array;
      for (let i = 0; i < g.byteCount; i++) bytes[list[i] as number] = NOT_SEEN;
    }
    g.byteCount = 0;
  }

  /** @internal value_count of value `v` through the Map: the count when it fires (values then cleared), else -1. */
  countOther(st: RuleState, g: Group, v: unknown): number {
    if (v === undefined) return -1;
    const nums = g.nums;
    // NaN (never equal to itself) stays in the Map, which treats all NaNs as one value.
    if (nums !== null && typeof v === 'number' && !Number.isNaN(v)) return this.countNumber(st, g, nums, v);
    const t = this.now[0] as number;
    const threshold = st.threshold;
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
    if (values.size + g.byteCount >= threshold || values.size > this.maxValues) this.dropStale(g, st.timespanMs);
    while (values.size > this.maxValues) {
      const oldest = values.entries().next().value;
      if (oldest === undefined) break;
      values.delete(oldest[0]);
      g.freeSlots.push(oldest[1]);
      this.stats.valuesDropped++;
    }
    g.otherCount = values.size;
    // The cached slot may have been freed above.
    if (values.get(vk) !== slot) g.lastSlot = -1;
    const count = values.size + g.byteCount;
    if (count < threshold) return -1;
    this.clearValues(g);
    return count;
  }

  /** countOther for a number of a NumberSet group: the same steps on the set (the Map holds nothing here). */
  private countNumber(st: RuleState, g: Group, nums: NumberSet, v: number): number {
    const t = this.now[0] as number;
    if (g.lastSlot >= 0 && v === g.lastValue) {
      // Same value as the previous event (its log position is stable until the set next grows or clears).
      nums.times[g.lastSlot] = t;
      return -1;
    }
    const slot = nums.findOrAdd(v);
    nums.times[slot] = t;
    g.lastValue = v;
    g.lastSlot = slot;
    const threshold = st.threshold;
    let size = nums.size + g.otherCount;
    if (size + g.byteCount >= threshold || size > this.maxValues) {
      const values = g.values as Map<unknown, number>;
      this.dropStale(g, st.timespanMs);
      while (nums.size + values.size > this.maxValues) {
        if (nums.size > 0) nums.dropFirst();
        else {
          const oldest = values.entries().next().value;
          if (oldest === undefined) break;
          values.delete(oldest[0]);
          g.freeSlots.push(oldest[1]);
        }
        this.stats.valuesDropped++;
      }
      g.otherCount = values.size;
      // The cached slot may have been freed above.
      if (nums.find(v) !== slot) g.lastSlot = -1;
      size = nums.size + values.size;
    }
    const count = size + g.byteCount;
    if (count < threshold) return -1;
    this.clearValues(g);
    return count;
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

  /**
   * A match to raise (`cor` with the count when a correlation fired): folded into the key's open suppression window,
   * or a new alert (opening a window when the rule suppresses). Alert objects are built only for a new alert.
   */
  /** @internal */
  raise(
    r: CompiledRule,
    st: RuleState,
    kind: number,
    s: Subject,
    cor: CorrelationSpec | null,
    count: number,
    flow: FlowLike,
  ): void {
    const windows = st.windows;
    let key = '';
    let cache: unknown[] | null = null;
    let other: unknown;
    const slot = st.windowSlot;
    if (windows !== null) {
      // The subject's time in ms, set by every caller (onMatch, generated code) before the match is raised.
      const t = this.now[0] as number;
      let open: Window | undefined;
      if (slot >= 0) {
        cache = this.cacheOf(kind, flow);
        other = st.windowOther === null ? undefined : st.windowOther.def.get(s);
        const cached = cache[slot] as Window | null;
        if (cached?.live && cache[slot + 1] === other && !Array.isArray(other)) open = cached;
      }
      if (open === undefined) {
        key = (st.suppressKey as KeyBuilder).key(s, flow);
        const last = st.lastWindow;
        open = key === st.lastWindowKey && last !== null && last.live ? last : windows.get(key);
        if (open !== undefined) {
          st.lastWindowKey = key;
          st.lastWindow = open;
        }
      }
      if (open !== undefined) {
        if (t < open.endMs) {
          if (cache !== null) {
            cache[slot] = open;
            cache[slot + 1] = other;
          }
          open.count++;
          open.lastTsSec = s.tsSec;
          open.lastTsNsec = s.tsNsec;
          this.stats.suppressed++;
          return;
        }
        key = open.key;
        windows.delete(key);
        this.close(open);
      }
    }
    this.newAlert(r, st, kind, s, cor, count, key, cache, other, flow);
  }

  /**
   * raise for a match not folded: builds the alert, opens the window (when the rule suppresses), emits. A separate
   * function so that raise, run on every correlation firing, stays small: each engine's first alerts take paths
   * (and object shapes) the code optimized on the previous engine never saw, and the deopt that follows then
   * recompiles this rarely-run function (or nothing, as it seldom gets hot) instead of all of raise.
   */
  private newAlert(
    r: CompiledRule,
    st: RuleState,
    kind: number,
    s: Subject,
    cor: CorrelationSpec | null,
    count: number,
    foundKey: string,
    cache: unknown[] | null,
    other: unknown,
    flow: FlowLike,
  ): void {
    const windows = st.windows;
    const slot = st.windowSlot;
    let key = foundKey;
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
    if (cor !== null) {
      const groupBy: Record<string, unknown> = {};
      for (const f of cor.groupBy) groupBy[f.name] = f.def.get(s);
      alert.correlation = { type: cor.type, groupBy, count, timespanMs: cor.timespanMs };
    }
    if (windows !== null) {
      if (key === '') key = (st.suppressKey as KeyBuilder).key(s, flow);
      if (windows.size >= this.maxKeys) {
        const oldest = windows.entries().next().value;
        if (oldest !== undefined) {
          windows.delete(oldest[0]);
          this.close(oldest[1]);
        }
        this.stats.suppressKeysEvicted++;
      }
      const windowMs = (r.suppress as NonNullable<CompiledRule['suppress']>).windowMs;
      const w = new Window(key, timeMs(s.tsSec, s.tsNsec) + windowMs, alert);
      windows.set(key, w);
      st.lastWindowKey = key;
      st.lastWindow = w;
      if (cache !== null) {
        cache[slot] = w;
        cache[slot + 1] = other;
      }
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
