/**
 * Live rule reload: watches the rule directories, recompiles after a change (debounced, on the event loop between
 * capture batches, never on the packet path) and offers the new set; the caller swaps it into the pipeline between
 * batches (`Pipeline.setRules`). A bad edit keeps the previous set and reports the problems.
 */
import { type FSWatcher, watch } from 'node:fs';
import type { CompiledRuleSet } from '../rules/engine/compile.ts';
import { type LoadedRules, loadRules, RuleLoadError } from '../rules/loader.ts';

export interface RuleReloaderOptions {
  /** User rule directories (the bundled packs are watched too unless `bundled` is false). */
  dirs: readonly string[];
  bundled?: boolean;
  /** Quiet period after the last change before recompiling, ms (default 250). */
  debounceMs?: number;
  /** Problems of a rejected edit, and successful reloads (default: stderr). */
  log?: (message: string) => void;
  /** Called after each reload attempt (tests wait on it). */
  onReload?: (ok: boolean) => void;
}

export class RuleReloader {
  private watchers: FSWatcher[] = [];
  private timer: NodeJS.Timeout | null = null;
  private pending: CompiledRuleSet | null = null;
  private loading = false;
  private again = false;
  readonly stats = { changes: 0, reloads: 0, rejected: 0 };
  private readonly log: (message: string) => void;

  constructor(
    private readonly current: LoadedRules,
    private readonly options: RuleReloaderOptions,
  ) {
    this.log = options.log ?? ((m) => process.stderr.write(`otsensor: ${m}\n`));
  }

  start(): void {
    for (const dir of this.current.dirs) {
      try {
        const w = watch(dir, { recursive: true }, () => this.changed());
        w.on('error', (err) => this.log(`rule watch on ${dir} failed: ${err.message}`));
        this.watchers.push(w);
      } catch (err) {
        this.log(`cannot watch ${dir}: ${(err as Error).message}`);
      }
    }
  }

  stop(): void {
    for (const w of this.watchers) w.close();
    this.watchers = [];
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  /** The newly compiled set, once (null when nothing changed since the last call). */
  take(): CompiledRuleSet | null {
    const p = this.pending;
    this.pending = null;
    return p;
  }

  private changed(): void {
    this.stats.changes++;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.reload(), this.options.debounceMs ?? 250);
  }

  /** Recompiles now (also what the watcher triggers). */
  async reload(): Promise<boolean> {
    this.timer = null;
    if (this.loading) {
      this.again = true;
      return false;
    }
    this.loading = true;
    let ok = false;
    try {
      const loaded = await loadRules(this.options.dirs, { bundled: this.options.bundled ?? true });
      this.pending = loaded.set;
      this.stats.reloads++;
      ok = true;
      this.log(`rules reloaded: ${loaded.rules.length} rules from ${loaded.files.length} files`);
    } catch (err) {
      if (!(err instanceof RuleLoadError)) throw err;
      this.stats.rejected++;
      this.log(`rule change rejected, keeping the previous rules. ${err.message}`);
    } finally {
      this.loading = false;
    }
    this.options.onReload?.(ok);
    if (this.again) {
      this.again = false;
      return this.reload();
    }
    return ok;
  }
}
