/**
 * Warning rule files (`data/warnings/*.yaml`, bundled, plus `--warning-rules DIR`): YAML documents separated by
 * `---`, one rule each (docs/warnings.md). Every problem is a load-time error naming the file, the line and what
 * is wrong; nothing loads when any rule is bad.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMap, LineCounter, type Node, parseAllDocuments, type YAMLMap } from 'yaml';
import { LEVELS, type Level } from '../store/types.ts';
import { parseDuration } from './duration.ts';
import { type RuleAudience, WARNING_LEVELS, type WarningCondition, type WarningRule } from './types.ts';

export const BUNDLED_WARNING_RULES = fileURLToPath(new URL('../../data/warnings/', import.meta.url));

export interface RuleProblem {
  file: string;
  line: number;
  message: string;
}

export class WarningRuleError extends Error {
  constructor(readonly problems: RuleProblem[]) {
    super(
      `${problems.length} problem${problems.length === 1 ? '' : 's'} in warning rules:\n${problems
        .map((p) => `${p.file}:${p.line}: ${p.message}`)
        .join('\n')}`,
    );
  }
}

const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const TOP_KEYS = new Set(['id', 'title', 'level', 'description', 'audience', 'condition', 'drill']);
const CONDITION_KEYS: Record<WarningCondition['kind'], string[]> = {
  spread: ['kind', 'key', 'groupBy', 'minEnterprises', 'window', 'minLevel', 'match'],
  grade_alert: ['kind', 'grades', 'minLevel', 'window'],
  firmware_spread: ['kind', 'minEnterprises', 'severities', 'window'],
  sensor_silence: ['kind', 'silentFor'],
  score_rise: ['kind', 'rise', 'window', 'minScore'],
};

class Problem extends Error {
  constructor(
    message: string,
    readonly node: Node | null | undefined,
  ) {
    super(message);
  }
}

/** Reads a rule document: the plain values plus the node of each key (for line numbers). */
function fields(map: YAMLMap): Map<string, { value: unknown; node: Node | null }> {
  const out = new Map<string, { value: unknown; node: Node | null }>();
  for (const pair of map.items) {
    const key = (pair.key as { value?: unknown } | null)?.value;
    const node = (pair.value ?? pair.key) as Node | null;
    const v = pair.value as { toJSON?: () => unknown } | null;
    out.set(String(key), { value: v !== null && typeof v?.toJSON === 'function' ? v.toJSON() : v, node });
  }
  return out;
}

function str(f: { value: unknown; node: Node | null } | undefined, what: string, parent: Node | null): string {
  if (f === undefined) throw new Problem(`missing '${what}'`, parent);
  if (typeof f.value !== 'string' || f.value.trim() === '') throw new Problem(`'${what}' must be text`, f.node);
  return f.value;
}

function int(value: unknown, what: string, node: Node | null, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new Problem(`'${what}' must be an integer ≥ ${min}`, node);
  }
  return value;
}

function numberAtLeast(value: unknown, what: string, node: Node | null, min: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw new Problem(`'${what}' must be a number ≥ ${min}`, node);
  }
  return value;
}

function duration(value: unknown, what: string, node: Node | null): number {
  try {
    return parseDuration(value);
  } catch (error) {
    throw new Problem(`'${what}': ${(error as Error).message}`, node);
  }
}

function level(value: unknown, node: Node | null): Level {
  if (!LEVELS.includes(value as Level)) throw new Problem(`minLevel must be one of ${LEVELS.join(', ')}`, node);
  return value as Level;
}

function stringList(value: unknown, what: string, node: Node | null): string[] {
  if (!Array.isArray(value) || value.length === 0 || !value.every((s) => typeof s === 'string' && s !== '')) {
    throw new Problem(`'${what}' must be a non-empty list of text`, node);
  }
  return value as string[];
}

function condition(f: { value: unknown; node: Node | null } | undefined, parent: Node | null): WarningCondition {
  if (f === undefined) throw new Problem("missing 'condition'", parent);
  const node = f.node;
  if (!isMap(node)) throw new Problem("'condition' must be a map with a 'kind'", node);
  const c = fields(node);
  const kind = c.get('kind')?.value;
  if (typeof kind !== 'string' || !(kind in CONDITION_KEYS)) {
    throw new Problem(
      `condition kind must be one of ${Object.keys(CONDITION_KEYS).join(', ')}`,
      c.get('kind')?.node ?? node,
    );
  }
  const allowed = CONDITION_KEYS[kind as WarningCondition['kind']];
  for (const [k, v] of c)
    if (!allowed.includes(k)) throw new Problem(`unknown key '${k}' in a ${kind} condition`, v.node);
  const need = (k: string) => {
    const v = c.get(k);
    if (v === undefined) throw new Problem(`a ${kind} condition needs '${k}'`, node);
    return v;
  };
  switch (kind as WarningCondition['kind']) {
    case 'spread': {
      const key = need('key');
      if (key.value !== 'rule' && key.value !== 'technique')
        throw new Problem("'key' must be rule or technique", key.node);
      const groupBy = need('groupBy');
      if (groupBy.value !== 'industry' && groupBy.value !== 'city') {
        throw new Problem("'groupBy' must be industry or city", groupBy.node);
      }
      const match = c.get('match');
      const n = need('minEnterprises');
      const w = need('window');
      const ml = c.get('minLevel');
      return {
        kind: 'spread',
        key: key.value,
        groupBy: groupBy.value,
        minEnterprises: int(n.value, 'minEnterprises', n.node, 2),
        windowMs: duration(w.value, 'window', w.node),
        minLevel: ml === undefined ? 'low' : level(ml.value, ml.node),
        ...(match === undefined
          ? {}
          : {
              match: stringList(match.value, 'match', match.node).map((m) =>
                key.value === 'technique' ? normalizeTechnique(m) : m,
              ),
            }),
      };
    }
    case 'grade_alert': {
      const g = need('grades');
      const grades = Array.isArray(g.value) ? g.value : [g.value];
      if (grades.length === 0 || !grades.every((x) => x === 1 || x === 2 || x === 3)) {
        throw new Problem("'grades' must be a list of 1, 2 or 3", g.node);
      }
      const ml = need('minLevel');
      const w = need('window');
      return {
        kind: 'grade_alert',
        grades: grades as (1 | 2 | 3)[],
        minLevel: level(ml.value, ml.node),
        windowMs: duration(w.value, 'window', w.node),
      };
    }
    case 'firmware_spread': {
      const n = need('minEnterprises');
      const sev = c.get('severities');
      const w = c.get('window');
      return {
        kind: 'firmware_spread',
        minEnterprises: int(n.value, 'minEnterprises', n.node, 1),
        windowMs: w === undefined ? 7 * 86_400_000 : duration(w.value, 'window', w.node),
        ...(sev === undefined
          ? {}
          : { severities: stringList(sev.value, 'severities', sev.node).map((s) => s.toLowerCase()) }),
      };
    }
    case 'sensor_silence': {
      const s = need('silentFor');
      return { kind: 'sensor_silence', silentMs: duration(s.value, 'silentFor', s.node) };
    }
    case 'score_rise': {
      const r = need('rise');
      const w = need('window');
      const m = c.get('minScore');
      return {
        kind: 'score_rise',
        minRise: numberAtLeast(r.value, 'rise', r.node, 0.01),
        windowMs: duration(w.value, 'window', w.node),
        minScore: m === undefined ? 0 : numberAtLeast(m.value, 'minScore', m.node, 0),
      };
    }
  }
}

/** `T0843`, `t0843` and `attack.t0843` all name the same technique. */
export function normalizeTechnique(text: string): string {
  const t = text.trim().toLowerCase();
  return t.startsWith('attack.') ? t : `attack.${t}`;
}

function audience(f: { value: unknown; node: Node | null } | undefined): RuleAudience {
  if (f === undefined) return { kind: 'subjects' };
  if (f.value === 'group' || f.value === 'subjects' || f.value === 'province') return { kind: f.value };
  if (typeof f.value === 'object' && f.value !== null && !Array.isArray(f.value)) {
    const v = f.value as Record<string, unknown>;
    const out: RuleAudience = { kind: 'list' };
    for (const [k, list] of Object.entries(v)) {
      if (k !== 'cities' && k !== 'industries' && k !== 'enterprises') {
        throw new Problem(`unknown audience key '${k}' (cities, industries, enterprises)`, f.node);
      }
      out[k] = stringList(list, `audience.${k}`, f.node);
    }
    if (out.cities === undefined && out.industries === undefined && out.enterprises === undefined) {
      throw new Problem('an audience list needs cities, industries or enterprises', f.node);
    }
    return out;
  }
  throw new Problem("'audience' must be group, subjects, province or a map of cities/industries/enterprises", f.node);
}

function compileRule(map: YAMLMap, source: string): WarningRule {
  const f = fields(map);
  for (const [k, v] of f) if (!TOP_KEYS.has(k)) throw new Problem(`unknown key '${k}'`, v.node);
  const id = str(f.get('id'), 'id', map);
  if (!ID.test(id)) throw new Problem(`id '${id}' must be letters, digits, '_', '.', '-' (1-64)`, f.get('id')?.node);
  const t = f.get('title');
  if (t === undefined) throw new Problem("missing 'title'", map);
  const title = t.value as { zh?: unknown; en?: unknown };
  if (typeof title !== 'object' || title === null || typeof title.zh !== 'string' || typeof title.en !== 'string') {
    throw new Problem("'title' must be a map with 'zh' and 'en' text", t.node);
  }
  const l = f.get('level');
  if (l === undefined) throw new Problem("missing 'level'", map);
  if (!WARNING_LEVELS.includes(l.value as never)) {
    throw new Problem(`level must be one of ${WARNING_LEVELS.join(', ')} (蓝色/黄色/橙色/红色)`, l.node);
  }
  const cond = condition(f.get('condition'), map);
  const d = f.get('drill');
  if (d !== undefined && typeof d.value !== 'boolean') throw new Problem("'drill' must be true or false", d.node);
  return {
    id,
    title: { zh: title.zh, en: title.en },
    level: l.value as WarningRule['level'],
    description: str(f.get('description'), 'description', map),
    audience: audience(f.get('audience')),
    condition: cond,
    drill: d === undefined ? cond.kind === 'spread' || cond.kind === 'grade_alert' : (d.value as boolean),
    source,
  };
}

/** Compiles the rules of one file's text; problems are collected, not thrown. */
export function parseRuleFile(file: string, text: string, problems: RuleProblem[]): WarningRule[] {
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false });
  const lineOf = (node: Node | null | undefined) => lines.linePos(node?.range?.[0] ?? 0).line;
  const rules: WarningRule[] = [];
  const list = Array.isArray(docs) ? docs : [docs];
  for (const doc of list) {
    if (doc.errors.length > 0) {
      for (const e of doc.errors)
        problems.push({ file, line: lines.linePos(e.pos[0]).line, message: e.message.split('\n')[0] ?? e.message });
      continue;
    }
    if (doc.contents === null) continue;
    if (!isMap(doc.contents)) {
      problems.push({ file, line: lineOf(doc.contents), message: 'a rule must be a map' });
      continue;
    }
    try {
      rules.push(compileRule(doc.contents, `${file}:${lineOf(doc.contents)}`));
    } catch (error) {
      if (error instanceof Problem) problems.push({ file, line: lineOf(error.node), message: error.message });
      else throw error;
    }
  }
  return rules;
}

function ruleFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...ruleFiles(p));
    else if (/\.ya?ml$/i.test(name)) out.push(p);
  }
  return out;
}

/** Loads the bundled rules (unless `bundled: false`) and every `*.yaml`/`*.yml` under `dirs`. */
export function loadWarningRules(dirs: readonly string[] = [], options: { bundled?: boolean } = {}): WarningRule[] {
  const all = [...(options.bundled === false ? [] : [BUNDLED_WARNING_RULES]), ...dirs];
  const problems: RuleProblem[] = [];
  const rules: WarningRule[] = [];
  const seen = new Map<string, string>();
  for (const dir of all) {
    let files: string[];
    try {
      files = ruleFiles(dir);
    } catch (error) {
      problems.push({ file: dir, line: 0, message: `cannot read: ${(error as Error).message}` });
      continue;
    }
    for (const file of files) {
      for (const rule of parseRuleFile(file, readFileSync(file, 'utf8'), problems)) {
        const before = seen.get(rule.id);
        if (before !== undefined) {
          problems.push({
            file,
            line: Number(rule.source.split(':').pop()),
            message: `duplicate rule id '${rule.id}' (first at ${before})`,
          });
          continue;
        }
        seen.set(rule.id, rule.source);
        rules.push(rule);
      }
    }
  }
  if (problems.length > 0) throw new WarningRuleError(problems);
  return rules;
}
