/**
 * Compiles each rule into its own JavaScript function (see generateRule for why one per rule), built once when the
 * engine is created (load / reload), never on the packet path.
 *
 * Why: interpreted, every rule's test calls a tree of predicate closures (each calling its field getter again) and
 * every match goes through generic methods. The generated function reads each field the rule names at most once per
 * event (a local, filled on first use), tests it inline as plain comparisons, and does the common per-match work
 * inline with the rule's constants: the per-flow group / window cache check, the event_count ring, the byte-valued
 * value_count, folding a repeat into an open suppression window. Everything else calls the same RuleEngine methods
 * the interpreted path uses, so both give the same alerts, in the same order, with the same stats (engine.test.ts
 * and codegen.test.ts compare them).
 *
 * Safety: the source text is assembled only from fixed templates and integer indices. No rule text (ids, field
 * names, values, regular expressions) is ever written into it: values are read from the constant array `C.k` that
 * the generated factory captures in a closure, getters and fallback predicates from `C.g` / `C.p`. A hostile rule
 * file therefore cannot inject code (codegen.test.ts checks values with quotes, backticks and `${}`).
 */
import type { CompiledRule, PredNode } from './compile.ts';
import type { FieldDef } from './fields.ts';
import { type Pred, parseIPv4 } from './matchers.ts';
import type { RuleEngine, RuleState } from './runtime.ts';
import { NOT_SEEN } from './runtime.ts';
import type { Subject } from './subjects.ts';

type Factory = (c: unknown) => RuleFn;

/**
 * Factories by generated source. The source depends only on the rule's shape (rule values are constants passed in),
 * so rules of the same shape share one factory: their functions share V8's compiled code and type feedback.
 */
const FACTORIES = new Map<string, Factory>();
const MAX_FACTORIES = 4096;

/** "Not read yet" for a field local (no getter returns it). */
const UNSET: unique symbol = Symbol('unset');

function present(v: unknown): boolean {
  return v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0);
}

/**
 * `typeof x === 'string' && x.length === lower.length && x.toLowerCase() === lower` (the matcher's case-insensitive
 * equality) without lower-casing into a new string per event: e.g. Modbus `category: vendor` met `public` (same
 * length) on every transaction, one string allocated each time. ASCII characters lower-case one to one and without
 * context, so comparing them in place decides the same; from the first non-ASCII character on, `toLowerCase` decides.
 */
export function eqFold(x: unknown, lower: string): boolean {
  if (typeof x !== 'string' || x.length !== lower.length) return false;
  for (let i = 0; i < x.length; i++) {
    let c = x.charCodeAt(i);
    if (c >= 0x80) return x.toLowerCase() === lower;
    if (c >= 0x41 && c <= 0x5a) c += 0x20;
    if (c !== lower.charCodeAt(i)) return false;
  }
  return true;
}

function inCidr4(x: unknown, base: number, size: number): boolean {
  if (typeof x !== 'string') return false;
  const n = parseIPv4(x);
  return n >= base && n < base + size;
}

/**
 * The internalized copy of a string (V8 internalizes property names): a rule value sliced out of the YAML text is a
 * separate string object, so `field === value` compared characters on every event; against the parsers' constant
 * strings (also internalized) the comparison is then a pointer test when equal.
 */
function intern(v: string): string {
  const o: Record<string, number> = {};
  o[v] = 0;
  return Object.keys(o)[0] ?? v;
}

/** Collects what the generated source refers to by index. */
class Emitter {
  readonly getters: ((s: Subject) => unknown)[] = [];
  readonly preds: Pred[] = [];
  readonly consts: unknown[] = [];
  private readonly fieldIndex = new Map<string, number>();
  /** Per field local: whether it is read (and so declared). */
  fieldDefs: FieldDef[] = [];

  field(name: string, def: FieldDef): number {
    let i = this.fieldIndex.get(name);
    if (i === undefined) {
      i = this.getters.length;
      this.getters.push(def.get);
      this.fieldDefs.push(def);
      this.fieldIndex.set(name, i);
    }
    return i;
  }

  /** An expression reading constant `v` (a closure variable, never a literal in the source). */
  konst(v: unknown): string {
    this.consts.push(typeof v === 'string' ? intern(v) : v);
    return `k${this.consts.length - 1}`;
  }

  pred(p: Pred): string {
    this.preds.push(p);
    return `p${this.preds.length - 1}(s)`;
  }

  /** The field's value, read on first use: `(fN === U && (fN = gN(s)), fN)`. */
  read(i: number): string {
    return `(f${i} === U && (f${i} = g${i}(s)), f${i})`;
  }
}

function testExpr(e: Emitter, node: Extract<PredNode, { op: 'test' }>): string {
  const { def, test } = node;
  const spec = test.spec;
  // List fields and the tests not described by a spec call the compiled predicate (same semantics, re-reads).
  if (def.list || spec.kind === 'opaque') return e.pred(test.pred);
  const i = e.field(node.name, def);
  const x = `f${i}`;
  const pre = `f${i} === U && (f${i} = g${i}(s))`;
  const join = test.all ? ' && ' : ' || ';
  let body: string;
  switch (spec.kind) {
    case 'exists':
      body = spec.want ? `present(${x})` : `!present(${x})`;
      break;
    case 'compare': {
      const parts = spec.values.map((v, j) => {
        const k = e.konst(v);
        if (spec.op === 'eq') {
          const lower = spec.lower?.[j];
          if (lower === undefined) return `${x} === ${k}`;
          // Values are lower-case constants (fields.ts lowerOnly): case-insensitive equality is plain equality.
          if (def.lowerOnly === true) return `${x} === ${e.konst(lower)}`;
          // Exact spelling first; else same length and equal lower-cased (the matcher's order).
          // The length test stays inline: most values differ in length and are rejected without a call.
          return `(${x} === ${k} || (typeof ${x} === 'string' && ${x}.length === ${e.konst(lower.length)} && eqFold(${x}, ${e.konst(lower)})))`;
        }
        const op = spec.op === 'gt' ? '>' : spec.op === 'gte' ? '>=' : spec.op === 'lt' ? '<' : '<=';
        return `(typeof ${x} === 'number' && ${x} ${op} ${k})`;
      });
      body = parts.join(join);
      break;
    }
    case 'string': {
      const method = spec.op === 'contains' ? 'includes' : spec.op === 'startswith' ? 'startsWith' : 'endsWith';
      const subject = spec.cased ? x : `${x}.toLowerCase()`;
      body = `typeof ${x} === 'string' && (${spec.values.map((v) => `${subject}.${method}(${e.konst(v)})`).join(join)})`;
      break;
    }
    case 'cidr4':
      body = spec.ranges.map(([base, size]) => `inCidr4(${x}, ${e.konst(base)}, ${e.konst(size)})`).join(join);
      break;
  }
  return `(${pre}, (${body}))`;
}

function predExpr(e: Emitter, node: PredNode): string {
  switch (node.op) {
    case 'test':
      return testExpr(e, node);
    case 'not':
      return `!${predExpr(e, node.arg)}`;
    default:
      return `(${node.args.map((a) => predExpr(e, a)).join(node.op === 'and' ? ' && ' : ' || ')})`;
  }
}

/** The value of a rule's one non-flow key field (`undefined` when the key has none). */
function otherExpr(e: Emitter, other: { name: string; def: FieldDef } | null): string {
  return other === null ? 'undefined' : e.read(e.field(other.name, other.def));
}

/**
 * The match handling of rule `r` (state `st`). Mirrors RuleEngine.onMatch / groupOf / countEvent /
 * countByte / raise: the inline parts are their fast paths, every other case calls the method itself.
 */
function matchCode(e: Emitter, st: RuleState, R = 'r', ST = 'st', COR = 'cor'): string {
  const r = st.rule;
  const cor = r.correlation;
  const inlineGroup = cor === null || st.groupSlot >= 0;
  const inlineWindow = r.suppress === null || st.windowSlot >= 0;
  const fallback = `E.onMatch(${R}, ${ST}, kind, s);`;
  if (!inlineGroup || !inlineWindow) return fallback;
  const lines: string[] = ['stats.matches++;'];
  const cor_ = cor === null ? 'null' : COR;
  let raise = `E.raise(${R}, ${ST}, kind, s, ${cor_}, c, s.flow);`;
  if (r.suppress !== null) {
    // A repeat inside the key's open window only counts (RuleEngine.raise's cached-window path).
    const slot = st.windowSlot;
    const o = otherExpr(e, st.windowOther);
    const listCheck = st.windowOther?.def.list === true ? ' && !isArray(o)' : '';
    raise = `cache === null && (cache = E.cacheOf(kind, s.flow));
      o = ${o};
      w = cache[${slot}];
      if (w !== null && w.live && cache[${slot + 1}] === o${listCheck} && t < w.endMs) {
        w.count++; w.lastTsSec = s.tsSec; w.lastTsNsec = s.tsNsec; stats.suppressed++;
      } else ${raise}`;
  }
  if (cor === null) {
    lines.push('c = 0;', raise);
    return lines.join('\n');
  }
  const slot = st.groupSlot;
  const listCheck = st.groupOther?.def.list === true ? ' || isArray(o)' : '';
  lines.push(`cache === null && (cache = E.cacheOf(kind, s.flow));
    o = ${otherExpr(e, st.groupOther)};
    g = cache[${slot}];
    if (g === null || !g.live || cache[${slot + 1}] !== o${listCheck}) g = E.groupOf(${ST}, kind, s, s.flow);`);
  const threshold = e.konst(st.threshold);
  const timespan = e.konst(st.timespanMs);
  if (cor.type === 'event_count') {
    // RuleEngine.countEvent.
    lines.push(`{
      const times = g.times, cap = times.length;
      if (g.count === cap) { g.head = g.head + 1 === cap ? 0 : g.head + 1; g.count--; }
      const at = g.head + g.count;
      times[at >= cap ? at - cap : at] = t;
      g.count++;
      while (g.count > 0 && t - times[g.head] > ${timespan}) { g.head = g.head + 1 === cap ? 0 : g.head + 1; g.count--; }
      if (g.count < ${threshold}) c = -1; else { c = g.count; g.count = 0; g.head = 0; }
    }`);
  } else {
    const vf = cor.field;
    if (vf === null) return fallback;
    lines.push(`v = ${e.read(e.field(vf.name, vf.def))};`);
    if (st.byteValues) {
      // RuleEngine.countByte.
      lines.push(`if (v === undefined) c = -1;
      else if (typeof v !== 'number' || v < 0 || v >= 256 || !Number.isInteger(v)) c = E.countOther(${ST}, g, v);
      else {
        const bytes = g.bytes;
        if (bytes[v] === NOT_SEEN) g.byteList[g.byteCount++] = v;
        bytes[v] = t;
        c = g.byteCount + g.otherCount < ${threshold} ? -1 : E.countByteTail(${ST}, g);
      }`);
    } else if (st.numberValues) {
      // RuleEngine.countNumber's repeat of the previous value, else countOther.
      lines.push(`if (typeof v === 'number' && g.lastSlot >= 0 && v === g.lastValue) { g.nums.times[g.lastSlot] = t; c = -1; }
      else c = E.countOther(${ST}, g, v);`);
    } else {
      lines.push(`c = E.countOther(${ST}, g, v);`);
    }
  }
  lines.push(`if (c >= 0) { ${raise} }`);
  return lines.join('\n');
}

/** A generated evaluator: `arg` is the rule's state (generateRule) or the run's states, in order (generateRun). */
export type RuleFn = (s: Subject, arg: RuleState | readonly RuleState[], engine: RuleEngine) => void;

/**
 * The function evaluating one rule on a subject: the same effects as `if (rule.predicate(s)) engine.onMatch(rule,
 * st, kind, s)`. One function per rule (not per rule list or per kind), called from the engine's loop over the
 * event's dispatch list, for V8's sake:
 *  - it is the same function in every dispatch list holding the rule and for every engine built from the same
 *    rules (a pipeline per file, a reload), and per-engine things (state, engine) are arguments, not closure
 *    context: V8 compiles it once (code optimized for one closure's context, or that inlined a per-engine helper,
 *    would be compiled again for the next pipeline);
 *  - a rule matching for the first time reaches code the optimizer had no feedback for and deopts: a small function
 *    is recompiled in a few ms, a list's or a kind's function took 50–300 ms of compiler time each time;
 *  - the loop's call site is megamorphic, so the optimizer does not inline rule functions back into one big body.
 * Rules whose generated source is the same (same shape, other constants) share one factory, so their code is
 * compiled and warmed up once.
 */
export function generateRule(kind: number, st: RuleState): RuleFn {
  const key = planKey(kind, st);
  let plan = PLANS.get(key);
  if (plan === undefined) {
    plan = buildPlan(kind, st);
    if (PLANS.size >= MAX_FACTORIES) PLANS.clear();
    PLANS.set(key, plan);
  }
  return plan.run;
}

interface Plan {
  source: string;
  run: RuleFn;
}

const PLANS = new Map<string, Plan>();
const ruleIds = new WeakMap<CompiledRule, number>();
let nextRuleId = 0;

function planKey(kind: number, st: RuleState): string {
  let id = ruleIds.get(st.rule);
  if (id === undefined) {
    id = nextRuleId++;
    ruleIds.set(st.rule, id);
  }
  return `${kind},${id}:${st.groupSlot}:${st.windowSlot}`;
}

/**
 * The function evaluating a run of consecutive rules of a dispatch list, in order, called with the run's states:
 * the same effects as calling each rule's generateRule function in turn. For runs of rules that see every event of
 * their kind (no dispatch value), which make the same run in every dispatch list of the kind (e.g. the six Modbus
 * floods and sweeps): one call instead of one per rule, each field read once for all of them (a local), the
 * event time computed and the per-flow cache array found once. Runs are kept short (RuleEngine's maxRun), so a
 * first match still recompiles a small function; like generateRule's, the function is shared by every list and
 * every engine holding the same run.
 */
export function generateRun(kind: number, sts: readonly RuleState[]): RuleFn {
  if (sts.length === 1) return generateRule(kind, sts[0] as RuleState);
  const key = sts.map((st) => planKey(kind, st)).join('+');
  let plan = PLANS.get(key);
  if (plan === undefined) {
    plan = buildRunPlan(kind, sts);
    if (PLANS.size >= MAX_FACTORIES) PLANS.clear();
    PLANS.set(key, plan);
  }
  return plan.run;
}

function buildRunPlan(kind: number, sts: readonly RuleState[]): Plan {
  const e = new Emitter();
  const blocks: string[] = [];
  const head: string[] = [`'use strict';`, 'const kind = C.kind, U = C.unset, NOT_SEEN = C.notSeen;'];
  head.push('const isArray = Array.isArray, present = C.present, inCidr4 = C.inCidr4, eqFold = C.eqFold;');
  sts.forEach((st, j) => {
    head.push(`const r${j} = C.r[${j}], cor${j} = C.r[${j}].correlation;`);
    const pred = predExpr(e, st.rule.tree);
    const match = matchCode(e, st, `r${j}`, `st${j}`, `cor${j}`);
    blocks.push(`if (${pred}) {
    const st${j} = sts[${j}];
    ${match}
  }`);
  });
  const locals = declareEmitted(e, head);
  const source = `${head.join('\n')}
return function evaluateRun(s, sts, E) {
  ${locals}
  const stats = E.stats, t = s.tsSec * 1000 + s.tsNsec / 1e6;
  E.now[0] = t;
  let cache = null, g = null, w = null, o, v, c = 0;
  ${blocks.join('\n  ')}
};`;
  return instantiateEmitted(
    source,
    kind,
    e,
    sts.map((st) => st.rule),
  );
}

/**
 * Header lines binding the emitter's field getters, predicates and constants (appended to `head`); returns the
 * declaration of the per-event field locals, all starting unread.
 */
function declareEmitted(e: Emitter, head: string[]): string {
  for (let i = 0; i < e.getters.length; i++) head.push(`const g${i} = C.g[${i}];`);
  for (let i = 0; i < e.preds.length; i++) head.push(`const p${i} = C.p[${i}];`);
  for (let i = 0; i < e.consts.length; i++) head.push(`const k${i} = C.k[${i}];`);
  const locals = e.getters.map((_, i) => `f${i} = U`);
  return locals.length > 0 ? `let ${locals.join(', ')};` : '';
}

/** `source` bound to the constants every generated function reads (`r`: the rule, or the run's rules). */
function instantiateEmitted(source: string, kind: number, e: Emitter, r: unknown): Plan {
  return instantiate(source, {
    kind,
    unset: UNSET,
    notSeen: NOT_SEEN,
    present,
    inCidr4,
    eqFold,
    g: e.getters,
    p: e.preds,
    k: e.consts,
    r,
  });
}

/** The function of `source` (its factory shared by equal sources) bound to the constants `c`. */
function instantiate(source: string, c: Record<string, unknown>): Plan {
  let factory = FACTORIES.get(source);
  if (factory === undefined) {
    factory = new Function('C', source) as Factory;
    // Bounded: past the cap the table restarts (only a later engine's re-compilation is lost).
    if (FACTORIES.size >= MAX_FACTORIES) FACTORIES.clear();
    FACTORIES.set(source, factory);
  }
  const run = factory(c);
  SOURCES.set(run, source);
  return { source, run };
}

function buildPlan(kind: number, st: RuleState): Plan {
  const e = new Emitter();
  const r = st.rule;
  const pred = predExpr(e, r.tree);
  const match = matchCode(e, st);
  const head: string[] = [
    `'use strict';`,
    'const kind = C.kind, U = C.unset, NOT_SEEN = C.notSeen, r = C.r, cor = C.r.correlation;',
    'const isArray = Array.isArray, present = C.present, inCidr4 = C.inCidr4, eqFold = C.eqFold;',
  ];
  const locals = declareEmitted(e, head);
  const source = `${head.join('\n')}
return function evaluateRule(s, st, E) {
  ${locals}
  if (!${pred}) return;
  const stats = E.stats, t = s.tsSec * 1000 + s.tsNsec / 1e6;
  E.now[0] = t;
  let cache = null, g = null, w = null, o, v, c = 0;
  ${match}
};`;
  return instantiateEmitted(source, kind, e, r);
}

const SOURCES = new WeakMap<RuleFn, string>();

/** The generated source of a rule function (tests and debugging: it must never contain rule text). */
export function generatedSource(run: RuleFn): string {
  return SOURCES.get(run) ?? '';
}
