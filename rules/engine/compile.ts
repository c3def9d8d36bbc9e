/**
 * Rule compiler: YAML text → CompiledRule objects (pure: text in, predicates out; the loader does the file I/O).
 *
 * Every mistake becomes a RuleProblem with file, line and column taken from the YAML node it is about, so an
 * analyst can jump to it. A file with problems contributes no rules; the caller decides whether problems are fatal.
 */
import { isMap, isScalar, isSeq, LineCounter, type Node, parseAllDocuments, type YAMLMap } from 'yaml';
import { ConditionError, type ConditionNode, parseCondition, usedSelections } from './condition.ts';
import {
  DISPATCH_FIELDS,
  DISPATCH_NAME_FIELDS,
  FIELD_REGISTRIES,
  type FieldDef,
  type FieldRegistry,
  SECOND_DISPATCH_FIELDS,
} from './fields.ts';
import { type CompiledTest, compileFieldTestSpec, MatchError, type Pred } from './matchers.ts';
import {
  K_ANOMALY_COTP,
  K_ANOMALY_MODBUS,
  K_ANOMALY_OPCUA,
  K_ANOMALY_S7COMM,
  K_COTP_CONNECT,
  K_MODBUS_TX,
  K_OPCUA_CHANNEL,
  K_OPCUA_SESSION,
  K_OPCUA_TRANSPORT,
  K_OPCUA_TX,
  K_S7_TX,
  K_S7PLUS_FRAME,
  KIND_COUNT,
} from './subjects.ts';

export const LEVELS = ['informational', 'low', 'medium', 'high', 'critical'] as const;
export type Level = (typeof LEVELS)[number];
export const STATUSES = ['stable', 'test', 'experimental', 'deprecated'] as const;

export interface RuleProblem {
  file: string;
  line: number;
  col: number;
  ruleId: string | null;
  message: string;
}

export function formatProblem(p: RuleProblem): string {
  return `${p.file}:${p.line}:${p.col}: ${p.ruleId === null ? '' : `rule ${p.ruleId}: `}${p.message}`;
}

export interface RuleTest {
  pcap: string;
  count?: number;
  min?: number;
  max?: number;
  line: number;
}

export interface RuleMeta {
  id: string;
  title: string;
  level: Level;
  status: string;
  description: string;
  tags: string[];
  falsepositives: string[];
  service: string;
  category: string;
  file: string;
  line: number;
}

export interface NamedField {
  name: string;
  def: FieldDef;
}

export interface SuppressSpec {
  by: NamedField[];
  windowMs: number;
}

export interface CorrelationSpec {
  type: 'event_count' | 'value_count';
  groupBy: NamedField[];
  field: NamedField | null;
  timespanMs: number;
  /** Fires when the count is ≥ this (a `gt: N` condition is stored as N + 1). */
  threshold: number;
}

/**
 * The detection as a tree (selections and condition inlined), each node with its predicate: what the code generator
 * (codegen.ts) turns into inline comparisons. `tree.pred` is the rule's predicate.
 */
export type PredNode =
  | { op: 'and' | 'or'; args: PredNode[]; pred: Pred }
  | { op: 'not'; arg: PredNode; pred: Pred }
  | { op: 'test'; name: string; def: FieldDef; test: CompiledTest; pred: Pred };

export interface CompiledRule {
  meta: RuleMeta;
  /** Kinds (K_*) whose events this rule sees. */
  kinds: number[];
  predicate: Pred;
  tree: PredNode;
  /** Fields the detection names: read into `matched` when the rule fires. */
  fields: NamedField[];
  suppress: SuppressSpec | null;
  correlation: CorrelationSpec | null;
  tests: RuleTest[];
  /** Values of the kind's dispatch field (DISPATCH_FIELDS) the rule requires; null = it must see every event. */
  dispatch: number[] | null;
  /** Values of the kind's second dispatch field (SECOND_DISPATCH_FIELDS) the rule requires; null = any. */
  dispatch2: number[] | null;
}

/** Rules of one kind split by the dispatch field's value (each list in rule order, including the undispatched). */
export interface Dispatch {
  def: FieldDef;
  byValue: Map<number, CompiledRule[]>;
  /** For values no rule names. */
  rest: CompiledRule[];
}

export interface CompiledRuleSet {
  rules: CompiledRule[];
  /** Rules per kind, index K_*: the only list the packet path walks. */
  byKind: CompiledRule[][];
  /** Per kind, the dispatch index (null when the kind has no dispatch field or no rule uses it). */
  dispatch: (Dispatch | null)[];
  /** Per kind, the second dispatch field each rule list is split by (splitRules), or null. */
  second: (FieldDef | null)[];
}

/**
 * Splits a rule list by a dispatch key (`key(rule)`: the values the rule requires, null = any): per value, the rules
 * that can match events carrying it (rule order kept), and the rules for any other value. Null when no rule has a key.
 */
export function splitRules(
  list: readonly CompiledRule[],
  key: (r: CompiledRule) => number[] | null,
): { byValue: Map<number, CompiledRule[]>; rest: CompiledRule[] } | null {
  if (!list.some((r) => key(r) !== null)) return null;
  const values = new Set<number>();
  for (const r of list) for (const v of key(r) ?? []) values.add(v);
  const byValue = new Map<number, CompiledRule[]>();
  for (const v of values) {
    byValue.set(
      v,
      list.filter((r) => {
        const k = key(r);
        return k === null || k.includes(v);
      }),
    );
  }
  return { byValue, rest: list.filter((r) => key(r) === null) };
}

export function buildRuleSet(rules: CompiledRule[]): CompiledRuleSet {
  const byKind: CompiledRule[][] = [];
  const dispatch: (Dispatch | null)[] = [];
  for (let k = 0; k < KIND_COUNT; k++) byKind.push([]);
  for (const r of rules) for (const k of r.kinds) byKind[k]?.push(r);
  for (let k = 0; k < KIND_COUNT; k++) {
    const field = DISPATCH_FIELDS[k] ?? null;
    const list = byKind[k] ?? [];
    const def = field === null ? undefined : FIELD_REGISTRIES[k]?.[field];
    const split = def === undefined ? null : splitRules(list, (r) => r.dispatch);
    dispatch.push(def === undefined || split === null ? null : { def, ...split });
  }
  const second = byKind.map((_, k) => {
    const field = SECOND_DISPATCH_FIELDS[k] ?? null;
    return field === null ? null : (FIELD_REGISTRIES[k]?.[field] ?? null);
  });
  return { rules, byKind, dispatch, second };
}

export const EMPTY_RULE_SET: CompiledRuleSet = buildRuleSet([]);

/** service → category → kinds, and the default category per service. */
const KINDS: Record<string, { default: string; categories: Record<string, number[]> }> = {
  modbus: { default: 'transaction', categories: { transaction: [K_MODBUS_TX], anomaly: [K_ANOMALY_MODBUS] } },
  s7comm: { default: 'transaction', categories: { transaction: [K_S7_TX], anomaly: [K_ANOMALY_S7COMM] } },
  cotp: { default: 'connect', categories: { connect: [K_COTP_CONNECT], anomaly: [K_ANOMALY_COTP] } },
  s7comm_plus: { default: 'frame', categories: { frame: [K_S7PLUS_FRAME] } },
  opcua: {
    default: 'transaction',
    categories: {
      transaction: [K_OPCUA_TX],
      secure_channel: [K_OPCUA_CHANNEL],
      session: [K_OPCUA_SESSION],
      transport: [K_OPCUA_TRANSPORT],
      anomaly: [K_ANOMALY_OPCUA],
    },
  },
  any: {
    default: 'anomaly',
    categories: { anomaly: [K_ANOMALY_MODBUS, K_ANOMALY_S7COMM, K_ANOMALY_COTP, K_ANOMALY_OPCUA] },
  },
};

const TOP_KEYS = new Set([
  'title',
  'id',
  'status',
  'level',
  'description',
  'author',
  'date',
  'modified',
  'references',
  'tags',
  'logsource',
  'detection',
  'falsepositives',
  'suppress',
  'correlation',
  'tests',
]);

const ID_RE = /^[A-Za-z0-9._-]+$/;
const TAG_RE = /^[a-z0-9._-]+$/;

/** Parses a duration (`500ms`, `10s`, `5m`, `1h`, `1d`, or a number of seconds) to milliseconds, or -1. */
export function parseDuration(v: unknown): number {
  if (typeof v === 'number') return v > 0 && Number.isFinite(v) ? v * 1000 : -1;
  if (typeof v !== 'string') return -1;
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/.exec(v.trim());
  if (m === null) return -1;
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  const ms =
    unit === 'ms' ? n : unit === 's' ? n * 1e3 : unit === 'm' ? n * 6e4 : unit === 'h' ? n * 3.6e6 : n * 8.64e7;
  return ms > 0 ? ms : -1;
}

class Ctx {
  ruleId: string | null = null;
  constructor(
    readonly file: string,
    readonly lines: LineCounter,
    readonly problems: RuleProblem[],
  ) {}

  err(node: Node | null | undefined, message: string, fallbackOffset = 0): void {
    const offset = node?.range?.[0] ?? fallbackOffset;
    const pos = this.lines.linePos(offset);
    this.problems.push({ file: this.file, line: pos.line, col: pos.col, ruleId: this.ruleId, message });
  }
}

class Bad extends Error {}

function keyOf(pair: { key: unknown }): string {
  const k = pair.key;
  return isScalar(k) ? String(k.value) : String(k);
}

function nodeOf(map: YAMLMap, key: string): Node | null {
  for (const p of map.items) if (keyOf(p) === key) return (p.value as Node | null) ?? null;
  return null;
}

function keyNodeOf(map: YAMLMap, key: string): Node | null {
  for (const p of map.items) if (keyOf(p) === key && isScalar(p.key)) return p.key;
  return null;
}

function scalarValue(n: Node | null): unknown {
  return n !== null && isScalar(n) ? n.value : undefined;
}

function requireString(ctx: Ctx, map: YAMLMap, key: string, required: boolean): string | null {
  const n = nodeOf(map, key);
  if (n === null) {
    if (required) ctx.err(map, `missing "${key}"`);
    return null;
  }
  const v = scalarValue(n);
  if (typeof v !== 'string' || v.trim() === '') {
    ctx.err(n, `"${key}" must be a non-empty string`);
    return null;
  }
  return v;
}

function stringList(ctx: Ctx, map: YAMLMap, key: string): string[] {
  const n = nodeOf(map, key);
  if (n === null) return [];
  if (!isSeq(n)) {
    ctx.err(n, `"${key}" must be a list of strings`);
    return [];
  }
  const out: string[] = [];
  for (const item of n.items) {
    const v = scalarValue(item as Node);
    if (typeof v !== 'string') ctx.err(item as Node, `"${key}" entries must be strings`);
    else out.push(v);
  }
  return out;
}

function lookupField(ctx: Ctx, node: Node | null, name: string, registry: FieldRegistry, where: string): FieldDef {
  const def = registry[name];
  if (def !== undefined) return def;
  const near = suggest(name, Object.keys(registry));
  ctx.err(node, `unknown field "${name}" for ${where}${near === null ? '' : ` (did you mean "${near}"?)`}`);
  throw new Bad();
}

function suggest(name: string, known: string[]): string | null {
  let best: string | null = null;
  let bestD = Math.max(2, Math.floor(name.length / 3)) + 1;
  for (const k of known) {
    const d = editDistance(name.toLowerCase(), k.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] ?? 0;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j] ?? 0;
      row[j] = Math.min((row[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length] ?? 0;
}

function toJs(n: Node | null): unknown {
  if (n === null) return null;
  if (isScalar(n)) return n.value;
  if (isSeq(n)) return n.items.map((i) => toJs(i as Node));
  return { __map: true };
}

/** One selection: a map (AND) or a list of maps (OR). */
function compileSelection(
  ctx: Ctx,
  node: Node,
  registry: FieldRegistry,
  where: string,
  fields: Map<string, FieldDef>,
): PredNode {
  if (isSeq(node)) {
    if (node.items.length === 0) {
      ctx.err(node, 'a selection list must not be empty');
      throw new Bad();
    }
    const alts = node.items.map((item) => {
      if (!isMap(item)) {
        ctx.err(item as Node, 'a selection list holds maps of field: value (keyword lists are not supported)');
        throw new Bad();
      }
      return compileSelection(ctx, item, registry, where, fields);
    });
    return anyOfNodes(alts);
  }
  if (!isMap(node)) {
    ctx.err(node, 'a selection must be a map of field: value, or a list of such maps');
    throw new Bad();
  }
  if (node.items.length === 0) {
    ctx.err(node, 'a selection must name at least one field');
    throw new Bad();
  }
  const tests: { cost: number; node: PredNode }[] = [];
  for (const pair of node.items) {
    const keyNode = isScalar(pair.key) ? pair.key : null;
    const key = keyOf(pair);
    const [name = '', ...mods] = key.split('|');
    const def = lookupField(ctx, keyNode, name, registry, where);
    fields.set(name, def);
    const valueNode = (pair.value as Node | null) ?? null;
    if (valueNode !== null && isMap(valueNode)) {
      ctx.err(valueNode, `value of "${key}" must be a scalar or a list of scalars`);
      throw new Bad();
    }
    try {
      const test = compileFieldTestSpec(name, def, mods, toJs(valueNode));
      tests.push({ cost: def.cost, node: { op: 'test', name, def, test, pred: test.pred } });
    } catch (err) {
      if (!(err instanceof MatchError)) throw err;
      ctx.err(valueNode ?? keyNode, `"${key}": ${err.message}`);
      throw new Bad();
    }
  }
  // Cheap tests first: a field that decodes the PDU is read only when the cheap ones already passed.
  tests.sort((a, b) => a.cost - b.cost);
  return allOfNodes(tests.map((t) => t.node));
}

function allOfNodes(nodes: PredNode[]): PredNode {
  if (nodes.length === 1) return nodes[0] as PredNode;
  return { op: 'and', args: nodes, pred: allOf(nodes.map((n) => n.pred)) };
}

function anyOfNodes(nodes: PredNode[]): PredNode {
  if (nodes.length === 1) return nodes[0] as PredNode;
  return { op: 'or', args: nodes, pred: anyOf(nodes.map((n) => n.pred)) };
}

function allOf(preds: Pred[]): Pred {
  if (preds.length === 1) return preds[0] as Pred;
  if (preds.length === 2) {
    const a = preds[0] as Pred;
    const b = preds[1] as Pred;
    return (s) => a(s) && b(s);
  }
  return (s) => {
    for (let i = 0; i < preds.length; i++) if (!(preds[i] as Pred)(s)) return false;
    return true;
  };
}

function anyOf(preds: Pred[]): Pred {
  if (preds.length === 1) return preds[0] as Pred;
  if (preds.length === 2) {
    const a = preds[0] as Pred;
    const b = preds[1] as Pred;
    return (s) => a(s) || b(s);
  }
  return (s) => {
    for (let i = 0; i < preds.length; i++) if ((preds[i] as Pred)(s)) return true;
    return false;
  };
}

type NameField = NonNullable<(typeof DISPATCH_NAME_FIELDS)[number]>;

/**
 * The dispatch-field values a selection requires (`field: N` or `field: [N, M]`, no modifiers; or the same through
 * the kind's name field, `serviceName: WriteRequest`), else null.
 */
function selectionKeys(
  node: Node,
  field: string,
  nameField: NameField | null,
  registry: FieldRegistry | null,
): number[] | null {
  if (isSeq(node)) {
    const all: number[] = [];
    for (const item of node.items) {
      const k = selectionKeys(item as Node, field, nameField, registry);
      if (k === null) return null;
      all.push(...k);
    }
    return all;
  }
  if (!isMap(node)) return null;
  const v = toJs(nodeOf(node, field));
  const values = Array.isArray(v) ? v : [v];
  if (values.length > 0 && values.every((x) => typeof x === 'number')) return values as number[];
  // Without a registry: plain equality tests on `field` only (the second dispatch key).
  if (registry === null) return null;
  // A test on a field that has a value only for some dispatch values (FieldDef.impliesDispatch): any test but
  // `|exists: false` needs the field present, so the selection needs one of those values.
  for (const pair of node.items) {
    const [name = '', ...mods] = keyOf(pair).split('|');
    const implied = registry[name]?.impliesDispatch;
    if (implied !== undefined && !mods.includes('exists')) return [...implied];
    const whenTrue = registry[name]?.trueForDispatch;
    if (whenTrue !== undefined && mods.length === 0 && toJs(pair.value as Node) === true) return [...whenTrue];
  }
  if (nameField === null) return null;
  const n = toJs(nodeOf(node, nameField.field));
  const names = Array.isArray(n) ? n : [n];
  if (names.length === 0) return null;
  const ids: number[] = [];
  for (const name of names) {
    // A name no value has can never match: it adds no value (an unknown-only list dispatches to nothing).
    if (typeof name !== 'string') return null;
    ids.push(...(nameField.values(name) ?? []));
  }
  return ids;
}

/** The dispatch values the whole condition requires (an AND needs one child's, an OR all children's), or null. */
function conditionKeys(node: ConditionNode, keys: Map<string, number[] | null>): number[] | null {
  if (node.op === 'sel') return keys.get(node.name) ?? null;
  if (node.op === 'not') return null;
  if (node.op === 'and') {
    for (const a of node.args) {
      const k = conditionKeys(a, keys);
      if (k !== null) return k;
    }
    return null;
  }
  const all: number[] = [];
  for (const a of node.args) {
    const k = conditionKeys(a, keys);
    if (k === null) return null;
    all.push(...k);
  }
  return all;
}

function compileCondition(node: ConditionNode, sels: Map<string, PredNode>): PredNode {
  if (node.op === 'sel') return sels.get(node.name) as PredNode;
  if (node.op === 'not') {
    const arg = compileCondition(node.arg, sels);
    const p = arg.pred;
    return { op: 'not', arg, pred: (s) => !p(s) };
  }
  const args = node.args.map((a) => compileCondition(a, sels));
  return node.op === 'and' ? allOfNodes(args) : anyOfNodes(args);
}

function fieldList(ctx: Ctx, n: Node | null, registry: FieldRegistry, where: string, what: string): NamedField[] {
  if (n === null) return [];
  if (!isSeq(n)) {
    ctx.err(n, `"${what}" must be a list of field names`);
    throw new Bad();
  }
  return n.items.map((item) => {
    const name = scalarValue(item as Node);
    if (typeof name !== 'string') {
      ctx.err(item as Node, `"${what}" entries must be field names`);
      throw new Bad();
    }
    return { name, def: lookupField(ctx, item as Node, name, registry, where) };
  });
}

function checkKeys(ctx: Ctx, map: YAMLMap, allowed: readonly string[], what: string): void {
  for (const p of map.items) {
    const k = keyOf(p);
    if (!allowed.includes(k)) {
      ctx.err(isScalar(p.key) ? p.key : map, `unknown key "${k}" in ${what} (allowed: ${allowed.join(', ')})`);
      throw new Bad();
    }
  }
}

function compileSuppress(ctx: Ctx, n: Node, registry: FieldRegistry, where: string): SuppressSpec {
  if (!isMap(n)) {
    ctx.err(n, '"suppress" must be a map {by: [fields], window: duration}');
    throw new Bad();
  }
  checkKeys(ctx, n, ['by', 'window'], 'suppress');
  const by = fieldList(ctx, nodeOf(n, 'by'), registry, where, 'suppress.by');
  const wNode = nodeOf(n, 'window');
  const windowMs = parseDuration(scalarValue(wNode));
  if (windowMs < 0) {
    ctx.err(wNode ?? n, '"suppress.window" must be a duration like 60s, 5m, 500ms');
    throw new Bad();
  }
  return { by, windowMs };
}

function compileCorrelation(ctx: Ctx, n: Node, registry: FieldRegistry, where: string): CorrelationSpec {
  if (!isMap(n)) {
    ctx.err(n, '"correlation" must be a map');
    throw new Bad();
  }
  checkKeys(ctx, n, ['type', 'group_by', 'field', 'timespan', 'condition'], 'correlation');
  const typeNode = nodeOf(n, 'type');
  const type = scalarValue(typeNode);
  if (type !== 'event_count' && type !== 'value_count') {
    ctx.err(typeNode ?? n, '"correlation.type" must be event_count or value_count');
    throw new Bad();
  }
  const groupBy = fieldList(ctx, nodeOf(n, 'group_by'), registry, where, 'correlation.group_by');
  const fieldNode = nodeOf(n, 'field');
  let field: NamedField | null = null;
  if (type === 'value_count') {
    const name = scalarValue(fieldNode);
    if (typeof name !== 'string') {
      ctx.err(fieldNode ?? n, 'value_count needs "field": the field whose distinct values are counted');
      throw new Bad();
    }
    field = { name, def: lookupField(ctx, fieldNode, name, registry, where) };
  } else if (fieldNode !== null) {
    ctx.err(fieldNode, '"field" only applies to value_count');
    throw new Bad();
  }
  const tsNode = nodeOf(n, 'timespan');
  const timespanMs = parseDuration(scalarValue(tsNode));
  if (timespanMs < 0) {
    ctx.err(tsNode ?? n, '"correlation.timespan" must be a duration like 10s, 1m');
    throw new Bad();
  }
  const cNode = nodeOf(n, 'condition');
  if (cNode === null || !isMap(cNode) || cNode.items.length !== 1) {
    ctx.err(cNode ?? n, '"correlation.condition" must be {gte: N} or {gt: N}');
    throw new Bad();
  }
  checkKeys(ctx, cNode, ['gte', 'gt'], 'correlation.condition');
  const op = keyOf(cNode.items[0] as { key: unknown });
  const vNode = nodeOf(cNode, op);
  const v = scalarValue(vNode);
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    ctx.err(vNode ?? cNode, 'the correlation threshold must be an integer ≥ 1');
    throw new Bad();
  }
  return { type, groupBy, field, timespanMs, threshold: op === 'gt' ? v + 1 : v };
}

function compileTests(ctx: Ctx, n: Node): RuleTest[] {
  if (!isSeq(n)) {
    ctx.err(n, '"tests" must be a list of {pcap, count | min | max}');
    throw new Bad();
  }
  return n.items.map((item) => {
    const node = item as Node;
    if (!isMap(node)) {
      ctx.err(node, 'a test must be a map {pcap, count | min | max}');
      throw new Bad();
    }
    checkKeys(ctx, node, ['pcap', 'count', 'min', 'max'], 'a test');
    const pcap = requireString(ctx, node, 'pcap', true);
    if (pcap === null) throw new Bad();
    const test: RuleTest = { pcap, line: ctx.lines.linePos(node.range?.[0] ?? 0).line };
    for (const k of ['count', 'min', 'max'] as const) {
      const vn = nodeOf(node, k);
      if (vn === null) continue;
      const v = scalarValue(vn);
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
        ctx.err(vn, `"${k}" must be an integer ≥ 0`);
        throw new Bad();
      }
      test[k] = v;
    }
    if (test.count === undefined && test.min === undefined && test.max === undefined) {
      ctx.err(node, 'a test needs "count", "min" or "max"');
      throw new Bad();
    }
    return test;
  });
}

function compileRule(ctx: Ctx, map: YAMLMap): CompiledRule {
  const idNode = nodeOf(map, 'id');
  const id = scalarValue(idNode);
  if (typeof id === 'string' && ID_RE.test(id)) ctx.ruleId = id;
  for (const p of map.items) {
    const k = keyOf(p);
    if (!TOP_KEYS.has(k)) {
      ctx.err(isScalar(p.key) ? p.key : map, `unknown key "${k}"`);
      throw new Bad();
    }
  }
  if (idNode === null) {
    ctx.err(map, 'missing "id"');
    throw new Bad();
  }
  if (typeof id !== 'string' || !ID_RE.test(id)) {
    ctx.err(idNode, '"id" must be a string of letters, digits, ".", "_" or "-"');
    throw new Bad();
  }
  const title = requireString(ctx, map, 'title', true);
  const levelNode = nodeOf(map, 'level');
  const level = scalarValue(levelNode);
  if (!(LEVELS as readonly unknown[]).includes(level)) {
    ctx.err(levelNode ?? map, `"level" must be one of ${LEVELS.join(', ')}`);
    throw new Bad();
  }
  const statusNode = nodeOf(map, 'status');
  const status = statusNode === null ? 'experimental' : scalarValue(statusNode);
  if (!(STATUSES as readonly unknown[]).includes(status)) {
    ctx.err(statusNode, `"status" must be one of ${STATUSES.join(', ')}`);
    throw new Bad();
  }
  const description = requireString(ctx, map, 'description', false) ?? '';
  for (const k of ['author', 'date', 'modified'] as const)
    if (nodeOf(map, k) !== null) requireString(ctx, map, k, false);
  stringList(ctx, map, 'references');
  const tags = stringList(ctx, map, 'tags');
  const tagsNode = nodeOf(map, 'tags');
  for (const t of tags) {
    if (!TAG_RE.test(t)) ctx.err(tagsNode, `tag "${t}" must be lower case (e.g. attack.t0858)`);
  }
  const falsepositives = stringList(ctx, map, 'falsepositives');
  if (title === null) throw new Bad();

  // logsource
  const lsNode = nodeOf(map, 'logsource');
  if (lsNode === null || !isMap(lsNode)) {
    ctx.err(lsNode ?? map, '"logsource" must be a map {product: ot, service: ..., category: ...}');
    throw new Bad();
  }
  checkKeys(ctx, lsNode, ['product', 'service', 'category'], 'logsource');
  const productNode = nodeOf(lsNode, 'product');
  if (scalarValue(productNode) !== 'ot') {
    ctx.err(productNode ?? lsNode, '"logsource.product" must be ot');
    throw new Bad();
  }
  const serviceNode = nodeOf(lsNode, 'service');
  const service = scalarValue(serviceNode);
  const svc = typeof service === 'string' ? KINDS[service] : undefined;
  if (svc === undefined || typeof service !== 'string') {
    ctx.err(serviceNode ?? lsNode, `"logsource.service" must be one of ${Object.keys(KINDS).join(', ')}`);
    throw new Bad();
  }
  const catNode = nodeOf(lsNode, 'category');
  const category = catNode === null ? svc.default : scalarValue(catNode);
  const kinds = typeof category === 'string' ? svc.categories[category] : undefined;
  if (kinds === undefined || typeof category !== 'string') {
    ctx.err(catNode, `service ${service} has categories ${Object.keys(svc.categories).join(', ')}`);
    throw new Bad();
  }
  const registry = FIELD_REGISTRIES[kinds[0] ?? 0] as FieldRegistry;
  const where = `${service}/${category}`;

  // detection
  const detNode = nodeOf(map, 'detection');
  if (detNode === null || !isMap(detNode)) {
    ctx.err(detNode ?? map, '"detection" must be a map of selections plus "condition"');
    throw new Bad();
  }
  const sels = new Map<string, PredNode>();
  const selNodes = new Map<string, Node>();
  const selKeys = new Map<string, number[] | null>();
  const selKeys2 = new Map<string, number[] | null>();
  // Only a kind-specific dispatch field (service `any` spans kinds: no dispatch).
  const dispatchField = kinds.length === 1 ? (DISPATCH_FIELDS[kinds[0] ?? 0] ?? null) : null;
  const secondField = kinds.length === 1 ? (SECOND_DISPATCH_FIELDS[kinds[0] ?? 0] ?? null) : null;
  const fields = new Map<string, FieldDef>();
  let condNode: Node | null = null;
  for (const pair of detNode.items) {
    const name = keyOf(pair);
    const value = (pair.value as Node | null) ?? null;
    if (name === 'condition') {
      condNode = value;
      continue;
    }
    if (!/^[A-Za-z0-9_.-]+$/.test(name) || ['and', 'or', 'not', 'of', 'them', 'all', 'any', '1'].includes(name)) {
      ctx.err(isScalar(pair.key) ? pair.key : detNode, `"${name}" cannot name a selection`);
      throw new Bad();
    }
    if (value === null) {
      ctx.err(isScalar(pair.key) ? pair.key : detNode, `selection "${name}" is empty`);
      throw new Bad();
    }
    sels.set(name, compileSelection(ctx, value, registry, where, fields));
    selNodes.set(name, isScalar(pair.key) ? pair.key : value);
    selKeys.set(
      name,
      dispatchField === null
        ? null
        : selectionKeys(value, dispatchField, DISPATCH_NAME_FIELDS[kinds[0] ?? 0] ?? null, registry),
    );
    selKeys2.set(name, secondField === null ? null : selectionKeys(value, secondField, null, null));
  }
  if (sels.size === 0) {
    ctx.err(detNode, '"detection" needs at least one selection');
    throw new Bad();
  }
  const condText = scalarValue(condNode);
  if (typeof condText !== 'string') {
    ctx.err(condNode ?? detNode, '"detection.condition" must be a string (e.g. "sel and not filter")');
    throw new Bad();
  }
  let tree: ConditionNode;
  try {
    tree = parseCondition(condText, [...sels.keys()]);
  } catch (err) {
    if (!(err instanceof ConditionError)) throw err;
    ctx.err(condNode, `condition: ${err.message}`);
    throw new Bad();
  }
  const used = usedSelections(tree);
  for (const [name, node] of selNodes) {
    if (!used.has(name)) {
      ctx.err(node, `selection "${name}" is not used by the condition`);
      throw new Bad();
    }
  }
  const predTree = compileCondition(tree, sels);

  const supNode = nodeOf(map, 'suppress');
  const suppress = supNode === null ? null : compileSuppress(ctx, supNode, registry, where);
  const corNode = nodeOf(map, 'correlation');
  const correlation = corNode === null ? null : compileCorrelation(ctx, corNode, registry, where);
  const testsNode = nodeOf(map, 'tests');
  const tests = testsNode === null ? [] : compileTests(ctx, testsNode);

  return {
    meta: {
      id,
      title,
      level: level as Level,
      status: status as string,
      description,
      tags,
      falsepositives,
      service,
      category,
      file: ctx.file,
      line: ctx.lines.linePos(map.range?.[0] ?? 0).line,
    },
    kinds: [...kinds],
    predicate: predTree.pred,
    tree: predTree,
    fields: [...fields].map(([name, def]) => ({ name, def })),
    suppress,
    correlation,
    tests,
    dispatch: conditionKeys(tree, selKeys),
    dispatch2: conditionKeys(tree, selKeys2),
  };
}

export interface RuleSource {
  /** Shown in problems (a path, or a label for in-memory text). */
  file: string;
  text: string;
}

export interface CompileResult {
  rules: CompiledRule[];
  problems: RuleProblem[];
}

/** Compiles every rule document of every source; duplicate ids (across sources too) are problems. */
export function compileRules(sources: readonly RuleSource[]): CompileResult {
  const problems: RuleProblem[] = [];
  const rules: CompiledRule[] = [];
  const seen = new Map<string, CompiledRule>();
  for (const src of sources) {
    const lines = new LineCounter();
    const ctx = new Ctx(src.file, lines, problems);
    const docs = parseAllDocuments(src.text, { lineCounter: lines, prettyErrors: false });
    const docList = Array.isArray(docs) ? docs : [docs];
    for (const doc of docList) {
      ctx.ruleId = null;
      if (doc.errors.length > 0) {
        for (const e of doc.errors) {
          const pos = lines.linePos(e.pos[0]);
          problems.push({ file: src.file, line: pos.line, col: pos.col, ruleId: null, message: `YAML: ${e.message}` });
        }
        continue;
      }
      const root = doc.contents as Node | null;
      if (root === null || (isScalar(root) && root.value === null)) continue; // empty document (e.g. trailing ---)
      if (!isMap(root)) {
        ctx.err(root, 'a rule document must be a map');
        continue;
      }
      try {
        const rule = compileRule(ctx, root);
        const prev = seen.get(rule.meta.id);
        if (prev !== undefined) {
          ctx.err(keyNodeOf(root, 'id'), `duplicate id "${rule.meta.id}" (also ${prev.meta.file}:${prev.meta.line})`);
          continue;
        }
        seen.set(rule.meta.id, rule);
        rules.push(rule);
      } catch (err) {
        if (!(err instanceof Bad)) throw err;
      }
    }
  }
  return { rules, problems };
}
