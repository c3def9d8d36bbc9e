/**
 * `npm run -s bench:rules-ab`: the cost of rule sets on one capture, measured in ONE process that alternates the
 * variants pass by pass (a fresh Pipeline and engine each pass), for judging engine changes of a few percent.
 *
 * Why beside `npm run bench -- --rules`: that harness runs each mode in its own child, which is the figure the target
 * is judged on, but a child measures only 0.1–0.7 CPU-s and its rounds move by ±0.2 on this shared machine. Here
 * every variant sees the same machine state within a round, and the minimum CPU time over the passes after warm-up
 * (passes 3 and later) moves by a few percent. The ratios come out a little lower than the bench's: the no-rules
 * passes share JIT code with the rules passes in one process. docs/benchmarks.md ("Where a rule's cost goes")
 * has figures made with it.
 *
 *   npm run -s bench:rules-ab -- [--capture modbus_big] [--rounds 12] [--only REGEX] [--rules-file F.yml ...] [--floor]
 *
 * Variants: `none` (no rules), `bundled` (every bundled rule, or those whose id matches --only), and one per
 * --rules-file (that file's rules alone); with --floor, `floor` and `floor-deferred`: the pipeline with the bundled
 * set's RuleHook whose engine is replaced by modbus-rules-floor.ts, a hand-written lower bound of the Modbus pack's
 * per-transaction work, done in place or in batches (Modbus captures only). Prints one JSON document with, per
 * variant, the minimum and median CPU seconds of passes 3.., the ratio none/variant on both, and the alerts of the
 * last pass.
 */
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildRuleSet, type CompiledRuleSet, compileRules } from '../rules/engine/compile.ts';
import type { RuleEngine } from '../rules/engine/runtime.ts';
import { loadRules } from '../rules/loader.ts';
import { analyseFile } from '../sensor/analyse-file.ts';
import { ModbusRulesFloor } from './modbus-rules-floor.ts';

const { values } = parseArgs({
  options: {
    capture: { type: 'string', default: 'modbus_big' },
    rounds: { type: 'string', default: '12' },
    only: { type: 'string' },
    'rules-file': { type: 'string', multiple: true, default: [] },
    floor: { type: 'boolean', default: false },
  },
});

const WARM_UP_PASSES = 2;
const rounds = Number(values.rounds);
if (!Number.isInteger(rounds) || rounds <= WARM_UP_PASSES) throw new Error(`--rounds must be > ${WARM_UP_PASSES}`);
// The decompressed copy `npm run bench` keeps (run it once first).
const file = join(tmpdir(), 'otwatch-bench', `${values.capture}.pcap`);

interface Variant {
  name: string;
  set: CompiledRuleSet | null;
  /** The floor variants: the bundled set's RuleHook, its engine replaced by the hand-written floor. */
  floor?: { deferred: boolean };
  cpu: number[];
  alerts: number;
}

const loaded = await loadRules([]);
const only = values.only === undefined ? null : new RegExp(values.only);
const variants: Variant[] = [
  { name: 'none', set: null, cpu: [], alerts: 0 },
  {
    name: 'bundled',
    set: only === null ? loaded.set : buildRuleSet(loaded.rules.filter((r) => only.test(r.meta.id))),
    cpu: [],
    alerts: 0,
  },
];
for (const path of values['rules-file'] ?? []) {
  const compiled = compileRules([{ file: path, text: readFileSync(path, 'utf8') }]);
  if (compiled.problems.length > 0) throw new Error(JSON.stringify(compiled.problems));
  variants.push({ name: basename(path), set: buildRuleSet(compiled.rules), cpu: [], alerts: 0 });
}

if (values.floor) {
  variants.push({ name: 'floor', set: loaded.set, floor: { deferred: false }, cpu: [], alerts: 0 });
  variants.push({ name: 'floor-deferred', set: loaded.set, floor: { deferred: true }, cpu: [], alerts: 0 });
}

for (let round = 0; round < rounds; round++) {
  for (const v of variants) {
    const start = process.cpuUsage();
    const floor = v.floor;
    const { pipeline, error } = await analyseFile(
      file,
      v.set === null ? {} : { rules: v.set },
      floor === undefined
        ? {}
        : {
            started: (p) => {
              // The hook's modules call `engine.wants / evaluate / flush / sweep` and read `engine.stats.alerts`
              // only: the floor implements those.
              if (p.ruleHook !== null)
                p.ruleHook.engine = new ModbusRulesFloor(floor.deferred) as unknown as RuleEngine;
            },
          },
    );
    const used = process.cpuUsage(start);
    if (error) throw error;
    v.cpu.push((used.user + used.system) / 1e6);
    v.alerts = pipeline.ruleHook?.engine.stats.alerts ?? 0;
  }
}

const afterWarmUp = (xs: number[]) => xs.slice(WARM_UP_PASSES).sort((a, b) => a - b);
const minOf = (xs: number[]) => afterWarmUp(xs)[0] ?? Number.NaN;
const medianOf = (xs: number[]) => {
  const s = afterWarmUp(xs);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
};
const base = variants[0] as Variant;
const report = {
  capture: values.capture,
  rounds,
  variants: variants.map((v) => ({
    name: v.name,
    minCpuSeconds: Number(minOf(v.cpu).toFixed(4)),
    medianCpuSeconds: Number(medianOf(v.cpu).toFixed(4)),
    ratioOfMin: Number((minOf(base.cpu) / minOf(v.cpu)).toFixed(3)),
    ratioOfMedian: Number((medianOf(base.cpu) / medianOf(v.cpu)).toFixed(3)),
    alerts: v.alerts,
  })),
};
process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
