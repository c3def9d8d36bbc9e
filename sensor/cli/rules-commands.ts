/** `otsensor rules list` and `otsensor rules test`, and rule loading for `read` / `live`. */
import { access } from 'node:fs/promises';
import type { CompiledRule } from '../../rules/engine/compile.ts';
import { buildRuleSet } from '../../rules/engine/compile.ts';
import { type LoadedRules, loadRules, RuleLoadError, resolveTestCapture } from '../../rules/loader.ts';
import { CollectingAlertSink } from '../alerts.ts';
import { analyseFile } from '../analyse-file.ts';

/** Loads rules for a command; prints every problem (file:line:col) and returns null when any rule is bad. */
export async function loadRulesOrReport(dirs: readonly string[], bundled = true): Promise<LoadedRules | null> {
  try {
    return await loadRules(dirs, { bundled });
  } catch (err) {
    if (!(err instanceof RuleLoadError)) throw err;
    process.stderr.write(`otsensor: ${err.message}\n`);
    return null;
  }
}

function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const r of rows) {
    r.forEach((c, i) => {
      widths[i] = Math.max(widths[i] ?? 0, c.length);
    });
  }
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ')).join('\n');
}

export async function runRulesList(
  dirs: readonly string[],
  options: { json: boolean; bundled: boolean },
): Promise<number> {
  const loaded = await loadRulesOrReport(dirs, options.bundled);
  if (loaded === null) return 1;
  if (options.json) {
    for (const r of loaded.rules) {
      const m = r.meta;
      const line = {
        id: m.id,
        title: m.title,
        level: m.level,
        status: m.status,
        service: m.service,
        category: m.category,
        tags: m.tags,
        correlation: r.correlation?.type ?? null,
        suppress: r.suppress !== null,
        tests: r.tests.length,
        file: m.file,
        line: m.line,
      };
      process.stdout.write(`${JSON.stringify(line)}\n`);
    }
    return 0;
  }
  const rows = [['ID', 'LEVEL', 'LOGSOURCE', 'TESTS', 'TITLE']];
  for (const r of loaded.rules) {
    const m = r.meta;
    rows.push([m.id, m.level, `${m.service}/${m.category}`, String(r.tests.length), m.title]);
  }
  process.stdout.write(`${table(rows)}\n${loaded.rules.length} rules from ${loaded.files.length} files\n`);
  return 0;
}

export interface TestOutcome {
  rule: string;
  pcap: string;
  expected: string;
  got: number | null;
  pass: boolean;
  note: string;
}

function expectation(t: CompiledRule['tests'][number]): string {
  if (t.count !== undefined) return `= ${t.count}`;
  const parts: string[] = [];
  if (t.min !== undefined) parts.push(`>= ${t.min}`);
  if (t.max !== undefined) parts.push(`<= ${t.max}`);
  return parts.join(', ');
}

/**
 * Runs every rule's tests: each capture once through a pipeline with all rules under test, then the alert count
 * of each rule that names the capture is checked. Rules without tests fail (every rule must carry one).
 */
export async function runRuleTests(rules: readonly CompiledRule[]): Promise<TestOutcome[]> {
  const set = buildRuleSet([...rules]);
  const byCapture = new Map<string, CompiledRule[]>();
  for (const r of rules) {
    for (const t of r.tests) {
      const path = resolveTestCapture(t.pcap);
      const list = byCapture.get(path) ?? [];
      if (!list.includes(r)) list.push(r);
      byCapture.set(path, list);
    }
  }
  const counts = new Map<string, Map<string, number>>();
  const failures = new Map<string, string>();
  for (const path of [...byCapture.keys()].sort()) {
    try {
      await access(path);
    } catch {
      failures.set(path, 'capture not found');
      continue;
    }
    const sink = new CollectingAlertSink();
    const { error } = await analyseFile(path, { rules: set, alerts: sink });
    if (error) failures.set(path, `capture damaged: ${error.message}`);
    const perRule = new Map<string, number>();
    for (const a of sink.alerts) perRule.set(a.rule.id, (perRule.get(a.rule.id) ?? 0) + 1);
    counts.set(path, perRule);
  }
  const out: TestOutcome[] = [];
  for (const r of rules) {
    if (r.tests.length === 0) {
      out.push({ rule: r.meta.id, pcap: '-', expected: '-', got: null, pass: false, note: 'rule has no tests' });
      continue;
    }
    for (const t of r.tests) {
      const path = resolveTestCapture(t.pcap);
      const got = counts.get(path)?.get(r.meta.id) ?? (counts.has(path) ? 0 : null);
      const failure = failures.get(path);
      let pass = got !== null;
      if (got !== null) {
        if (t.count !== undefined && got !== t.count) pass = false;
        if (t.min !== undefined && got < t.min) pass = false;
        if (t.max !== undefined && got > t.max) pass = false;
      }
      out.push({ rule: r.meta.id, pcap: t.pcap, expected: expectation(t), got, pass, note: failure ?? '' });
    }
  }
  return out;
}

export async function runRulesTest(dir: string | undefined, options: { json: boolean }): Promise<number> {
  const loaded = await loadRulesOrReport(dir === undefined ? [] : [dir], dir === undefined);
  if (loaded === null) return 1;
  const outcomes = await runRuleTests(loaded.rules);
  const failed = outcomes.filter((o) => !o.pass).length;
  if (options.json) {
    for (const o of outcomes) process.stdout.write(`${JSON.stringify(o)}\n`);
  } else {
    const rows = [['RESULT', 'RULE', 'EXPECTED', 'GOT', 'CAPTURE']];
    for (const o of outcomes) {
      rows.push([
        o.pass ? 'PASS' : 'FAIL',
        o.rule,
        o.expected,
        o.got === null ? '-' : String(o.got),
        `${o.pcap}${o.note ? ` (${o.note})` : ''}`,
      ]);
    }
    process.stdout.write(`${table(rows)}\n`);
    process.stdout.write(
      `${loaded.rules.length} rules, ${outcomes.length} tests: ${outcomes.length - failed} passed, ${failed} failed\n`,
    );
  }
  return failed > 0 ? 1 : 0;
}
