/**
 * Field tests: `field|mod...: value(s)` compiled once into a predicate over a subject. Types and modifiers are
 * checked here against the field registry, so a mistake is a load error instead of a rule that never matches.
 */
import type { FieldDef } from './fields.ts';
import type { Subject } from './subjects.ts';

export type Scalar = string | number | boolean;
export type Pred = (s: Subject) => boolean;
type Leaf = (x: unknown) => boolean;

export class MatchError extends Error {}

/**
 * What a compiled field test checks, for the code generator (rules/engine/codegen.ts): enough to inline the common
 * tests as plain comparisons. `pred` stays the reference (and the fallback for everything not described here).
 */
export type TestSpec =
  | { kind: 'exists'; want: boolean }
  /** Equality (`eq`, with `lower` = the lower-cased strings when case-insensitive) or a number comparison. */
  | {
      kind: 'compare';
      op: 'eq' | 'gt' | 'gte' | 'lt' | 'lte';
      values: readonly Scalar[];
      lower: readonly string[] | null;
    }
  | { kind: 'string'; op: 'contains' | 'startswith' | 'endswith'; values: readonly string[]; cased: boolean }
  /** IPv4 CIDRs as [base, size) ranges of the 32-bit address. */
  | { kind: 'cidr4'; ranges: readonly (readonly [number, number])[] }
  /** Anything else (regular expressions, address equality, IPv6 CIDRs): call `pred`. */
  | { kind: 'opaque' };

export interface CompiledTest {
  pred: Pred;
  spec: TestSpec;
  /** `|all` with a list: every value must match (else any). */
  all: boolean;
}

export const MODIFIERS = [
  'contains',
  'startswith',
  'endswith',
  're',
  'cased',
  'cidr',
  'gt',
  'gte',
  'lt',
  'lte',
  'exists',
  'all',
] as const;
type Modifier = (typeof MODIFIERS)[number];

const STRING_OPS = new Set<string>(['contains', 'startswith', 'endswith', 're']);
const NUMBER_OPS = new Set<string>(['gt', 'gte', 'lt', 'lte']);

// --- IP addresses ---------------------------------------------------------------------------------------------------

/** IPv4 text → 32-bit number, or -1. Hand-rolled: runs per evaluation of a CIDR test, must not allocate. */
export function parseIPv4(s: string): number {
  let value = 0;
  let part = 0;
  let digits = 0;
  let parts = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 46;
    if (c === 46) {
      if (digits === 0 || part > 255) return -1;
      value = value * 256 + part;
      parts++;
      part = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      part = part * 10 + (c - 48);
      if (++digits > 3) return -1;
    } else return -1;
  }
  return parts === 4 ? value : -1;
}

/** IPv6 text → 8 groups, or null. */
export function parseIPv6(s: string): number[] | null {
  if (!s.includes(':')) return null;
  let text = s;
  const lastColon = text.lastIndexOf(':');
  const v4 = text.slice(lastColon + 1);
  if (v4.includes('.')) {
    // Embedded IPv4 (::ffff:1.2.3.4): rewrite as two hex groups.
    const n = parseIPv4(v4);
    if (n < 0) return null;
    text = `${text.slice(0, lastColon + 1)}${Math.floor(n / 65536).toString(16)}:${(n % 65536).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const parse = (h: string | undefined): number[] | null => {
    if (h === undefined || h === '') return [];
    const out: number[] = [];
    for (const g of h.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      out.push(Number.parseInt(g, 16));
    }
    return out;
  };
  const head = parse(halves[0]);
  const rest = halves.length === 2 ? parse(halves[1]) : [];
  if (head === null || rest === null) return null;
  const groups = 8;
  if (halves.length === 1) {
    if (head.length !== groups) return null;
    return head;
  }
  const fill = groups - head.length - rest.length;
  if (fill < 1) return null;
  return [...head, ...new Array<number>(fill).fill(0), ...rest];
}

function cidrLeaf(spec: string): Leaf {
  const slash = spec.indexOf('/');
  const addr = slash < 0 ? spec : spec.slice(0, slash);
  const bitsText = slash < 0 ? null : spec.slice(slash + 1);
  const v4 = parseIPv4(addr);
  if (v4 >= 0) {
    const bits = bitsText === null ? 32 : Number(bitsText);
    if (!Number.isInteger(bits) || bits < 0 || bits > 32 || bitsText === '') throw new MatchError(`bad CIDR "${spec}"`);
    const size = 2 ** (32 - bits);
    const base = Math.floor(v4 / size) * size;
    return (x) => {
      if (typeof x !== 'string') return false;
      const n = parseIPv4(x);
      return n >= base && n < base + size;
    };
  }
  const v6 = parseIPv6(addr);
  if (v6 === null) throw new MatchError(`bad CIDR "${spec}"`);
  const bits = bitsText === null ? 128 : Number(bitsText);
  if (!Number.isInteger(bits) || bits < 0 || bits > 128 || bitsText === '') throw new MatchError(`bad CIDR "${spec}"`);
  return (x) => {
    if (typeof x !== 'string' || !x.includes(':')) return false;
    const g = parseIPv6(x);
    if (g === null) return false;
    let left = bits;
    for (let i = 0; i < 8 && left > 0; i++) {
      const take = Math.min(16, left);
      const mask = (0xffff << (16 - take)) & 0xffff;
      if (((g[i] ?? 0) & mask) !== ((v6[i] ?? 0) & mask)) return false;
      left -= take;
    }
    return true;
  };
}

function canonicalIp(s: string): string {
  const g = s.includes(':') ? parseIPv6(s) : null;
  return g === null ? s : g.map((n) => n.toString(16)).join(':');
}

// --- Leaves ---------------------------------------------------------------------------------------------------------

function typeName(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'list' : typeof v;
}

function stringLeaf(op: string, value: Scalar, cased: boolean): Leaf {
  if (typeof value !== 'string') throw new MatchError(`expects a string, got ${typeName(value)} ${String(value)}`);
  if (op === 're') {
    let re: RegExp;
    try {
      re = new RegExp(value, cased ? 'u' : 'iu');
    } catch (err) {
      throw new MatchError(`bad regular expression: ${(err as Error).message}`);
    }
    return (x) => typeof x === 'string' && re.test(x);
  }
  const v = cased ? value : value.toLowerCase();
  const norm = cased ? (x: string) => x : (x: string) => x.toLowerCase();
  switch (op) {
    case 'contains':
      return (x) => typeof x === 'string' && norm(x).includes(v);
    case 'startswith':
      return (x) => typeof x === 'string' && norm(x).startsWith(v);
    case 'endswith':
      return (x) => typeof x === 'string' && norm(x).endsWith(v);
    default:
      // Exact first: the common case (same spelling) needs no lower-casing.
      return (x) => typeof x === 'string' && (x === value || (!cased && x.length === v.length && norm(x) === v));
  }
}

function numberLeaf(op: string, value: Scalar): Leaf {
  if (typeof value !== 'number') throw new MatchError(`expects a number, got ${typeName(value)} ${String(value)}`);
  switch (op) {
    case 'gt':
      return (x) => typeof x === 'number' && x > value;
    case 'gte':
      return (x) => typeof x === 'number' && x >= value;
    case 'lt':
      return (x) => typeof x === 'number' && x < value;
    case 'lte':
      return (x) => typeof x === 'number' && x <= value;
    default:
      return (x) => x === value;
  }
}

/**
 * Compiles one detection entry. `mods` are the `|`-separated modifiers after the field name; `values` the value or
 * list of values from YAML (null when YAML gave null).
 */
export function compileFieldTest(field: string, def: FieldDef, mods: readonly string[], raw: unknown): Pred {
  return compileFieldTestSpec(field, def, mods, raw).pred;
}

/** compileFieldTest, plus a description of the test for the code generator. */
export function compileFieldTestSpec(
  field: string,
  def: FieldDef,
  mods: readonly string[],
  raw: unknown,
): CompiledTest {
  for (const m of mods) {
    if (!(MODIFIERS as readonly string[]).includes(m)) {
      throw new MatchError(`unknown modifier "${m}" (known: ${MODIFIERS.join(', ')})`);
    }
  }
  const set = new Set(mods as readonly Modifier[]);
  if (set.size !== mods.length) throw new MatchError('a modifier is repeated');
  const get = def.get;

  if (set.has('exists')) {
    if (mods.length !== 1) throw new MatchError('"exists" cannot be combined with other modifiers');
    if (typeof raw !== 'boolean') throw new MatchError('"exists" takes true or false');
    const pred: Pred = raw ? (s) => present(get(s)) : (s) => !present(get(s));
    return { pred, spec: { kind: 'exists', want: raw }, all: false };
  }

  const ops = mods.filter((m) => m !== 'cased' && m !== 'all');
  if (ops.length > 1) throw new MatchError(`modifiers ${ops.join(' and ')} cannot be combined`);
  const op = ops[0] ?? 'eq';
  const cased = set.has('cased');
  const all = set.has('all');

  if (STRING_OPS.has(op) && def.type !== 'string') {
    throw new MatchError(`modifier "${op}" needs a string field; "${field}" is ${def.type}`);
  }
  if (NUMBER_OPS.has(op) && def.type !== 'number') {
    throw new MatchError(`modifier "${op}" needs a number field; "${field}" is ${def.type}`);
  }
  if (op === 'cidr' && def.type !== 'ip')
    throw new MatchError(`modifier "cidr" needs an address field; "${field}" is ${def.type}`);
  if (cased && def.type !== 'string')
    throw new MatchError(`modifier "cased" needs a string field; "${field}" is ${def.type}`);

  if (raw === null || raw === undefined) throw new MatchError('null is not a value (use "|exists: false")');
  const values: unknown[] = Array.isArray(raw) ? raw : [raw];
  if (values.length === 0) throw new MatchError('empty list of values');
  if (NUMBER_OPS.has(op) && values.length !== 1) throw new MatchError(`"${op}" takes a single number`);
  if (all && values.length < 2) throw new MatchError('"all" needs a list of values');

  const leaves: Leaf[] = values.map((v) => {
    if (v === null || typeof v === 'object') throw new MatchError(`values must be scalars, got ${typeName(v)}`);
    const value = v as Scalar;
    switch (def.type) {
      case 'string':
        return stringLeaf(op, value, cased);
      case 'number':
        return numberLeaf(op, value);
      case 'boolean':
        if (typeof value !== 'boolean')
          throw new MatchError(`expects true or false, got ${typeName(value)} ${String(value)}`);
        return (x) => x === value;
      default: {
        if (typeof value !== 'string') throw new MatchError(`expects an address string, got ${typeName(value)}`);
        if (op === 'cidr') return cidrLeaf(value);
        if (parseIPv4(value) < 0 && parseIPv6(value) === null) throw new MatchError(`bad address "${value}"`);
        const want = canonicalIp(value);
        return (x) => typeof x === 'string' && (x === value || canonicalIp(x) === want);
      }
    }
  });

  const leaf = combineLeaves(leaves, all);
  const spec = describe(def, op, cased, values as Scalar[]);
  if (def.list) {
    const pred: Pred = (s) => {
      const v = get(s);
      if (!Array.isArray(v)) return false;
      for (let i = 0; i < v.length; i++) if (leaf(v[i])) return true;
      return false;
    };
    return { pred, spec, all };
  }
  const pred: Pred = (s) => {
    const v = get(s);
    return v !== undefined && leaf(v);
  };
  return { pred, spec, all };
}

/** The TestSpec of a validated value test (same semantics as the leaves built above). */
function describe(def: FieldDef, op: string, cased: boolean, values: Scalar[]): TestSpec {
  if (def.type === 'number' || def.type === 'boolean') {
    if (op === 'eq' || op === 'gt' || op === 'gte' || op === 'lt' || op === 'lte') {
      return { kind: 'compare', op, values, lower: null };
    }
    return { kind: 'opaque' };
  }
  if (def.type === 'string') {
    const strings = values as string[];
    if (op === 'eq') {
      return { kind: 'compare', op, values: strings, lower: cased ? null : strings.map((v) => v.toLowerCase()) };
    }
    if (op === 'contains' || op === 'startswith' || op === 'endswith') {
      return { kind: 'string', op, values: cased ? strings : strings.map((v) => v.toLowerCase()), cased };
    }
    return { kind: 'opaque' };
  }
  if (op === 'cidr') {
    const ranges: (readonly [number, number])[] = [];
    for (const v of values as string[]) {
      const r = cidr4Range(v);
      if (r === null) return { kind: 'opaque' };
      ranges.push(r);
    }
    return { kind: 'cidr4', ranges };
  }
  return { kind: 'opaque' };
}

/** [base, size) of an IPv4 CIDR (as cidrLeaf computes it), or null for IPv6. */
function cidr4Range(spec: string): readonly [number, number] | null {
  const slash = spec.indexOf('/');
  const v4 = parseIPv4(slash < 0 ? spec : spec.slice(0, slash));
  if (v4 < 0) return null;
  const bits = slash < 0 ? 32 : Number(spec.slice(slash + 1));
  const size = 2 ** (32 - bits);
  return [Math.floor(v4 / size) * size, size];
}

function present(v: unknown): boolean {
  return v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0);
}

function combineLeaves(leaves: Leaf[], all: boolean): Leaf {
  if (leaves.length === 1) return leaves[0] as Leaf;
  if (leaves.length === 2) {
    const a = leaves[0] as Leaf;
    const b = leaves[1] as Leaf;
    return all ? (x) => a(x) && b(x) : (x) => a(x) || b(x);
  }
  if (all) return (x) => leaves.every((l) => l(x));
  return (x) => {
    for (let i = 0; i < leaves.length; i++) if ((leaves[i] as Leaf)(x)) return true;
    return false;
  };
}
