/**
 * Rule loading: the only part of the rule engine that touches the file system. Finds `*.yml` / `*.yaml` files under
 * the bundled packs and the given directories, and compiles them (rules/engine/compile.ts).
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  buildRuleSet,
  type CompiledRule,
  type CompiledRuleSet,
  compileRules,
  formatProblem,
  type RuleProblem,
  type RuleSource,
} from './engine/compile.ts';

/** The repository (install) root: rule test capture paths are relative to it. */
export const REPO_ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
export const BUNDLED_RULES_DIR = join(REPO_ROOT, 'rules', 'packs');

export class RuleLoadError extends Error {
  constructor(readonly problems: RuleProblem[]) {
    super(
      `${problems.length} problem${problems.length === 1 ? '' : 's'} in rules:\n${problems.map(formatProblem).join('\n')}`,
    );
  }
}

/** Rule files below `dir`, recursively, sorted (deterministic rule order). A missing directory is an error. */
export async function listRuleFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(d: string): Promise<void> {
    const entries = await readdir(d, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile() && /\.ya?ml$/i.test(e.name)) out.push(p);
    }
  }
  await walk(dir);
  return out;
}

export interface LoadOptions {
  /** Load rules/packs too (default true). */
  bundled?: boolean;
}

export interface LoadedRules {
  set: CompiledRuleSet;
  rules: CompiledRule[];
  files: string[];
  /** Directories read (bundled first). */
  dirs: string[];
}

function displayPath(p: string): string {
  const rel = relative(process.cwd(), p);
  return rel.startsWith('..') && rel.split('/').length > 3 ? p : rel || p;
}

/** Loads and compiles rules; throws RuleLoadError listing every problem (file:line:col) when any rule is bad. */
export async function loadRules(dirs: readonly string[], options: LoadOptions = {}): Promise<LoadedRules> {
  const all: string[] = [];
  if (options.bundled ?? true) {
    const exists = await stat(BUNDLED_RULES_DIR).then(
      (s) => s.isDirectory(),
      () => false,
    );
    if (exists) all.push(BUNDLED_RULES_DIR);
  }
  for (const d of dirs) all.push(resolve(d));
  const files: string[] = [];
  const problems: RuleProblem[] = [];
  for (const d of all) {
    try {
      const s = await stat(d);
      if (s.isFile()) files.push(d);
      else for (const f of await listRuleFiles(d)) if (!files.includes(f)) files.push(f);
    } catch (err) {
      problems.push({ file: d, line: 0, col: 0, ruleId: null, message: `cannot read: ${(err as Error).message}` });
    }
  }
  const sources: RuleSource[] = [];
  for (const f of files) sources.push({ file: displayPath(f), text: await readFile(f, 'utf8') });
  const result = compileRules(sources);
  problems.push(...result.problems);
  if (problems.length > 0) throw new RuleLoadError(problems);
  return { set: buildRuleSet(result.rules), rules: result.rules, files, dirs: all };
}

/** Absolute path of a rule test's capture (absolute as given, else relative to the repository root). */
export function resolveTestCapture(pcap: string): string {
  return resolve(REPO_ROOT, pcap);
}
