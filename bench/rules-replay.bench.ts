/**
 * `npm run -s bench:rules-replay`: the rule engine alone on modbus_big's real Modbus transactions, without the
 * pipeline, in nanoseconds per transaction; optionally with cache pressure between transactions.
 *
 * Why beside `bench:rules-ab`: there the engine's share of a pass moves by ±10 ms with the machine, which hides any
 * change of a few ns per transaction. Here one pipeline pass records every transaction (its record, its request
 * bytes and its flow); each later pass replays them through a fresh RuleEngine per rule-set variant, the variants
 * alternating pass by pass, and the minimum over the passes after warm-up moves by 1–2 ns.
 *
 * Realism: the parser hands rules a reused per-slot buffer for the request bytes, so the replay copies each request
 * into one of a few reused buffers too (the copy is in every variant's time, `none` included). Copies made once per
 * transaction at record time would put a cold buffer behind every field read: reading `request.address` then cost
 * 67 ns instead of 9.
 *
 * `--pressure KB` walks KB of unrelated memory between transactions, standing in for what the pipeline touches
 * between two transactions (packets, flow table, reassembly and parser state). With it the engine's cost grows far
 * beyond its own instructions: its per-group state no longer stays in the L1 cache (docs/benchmarks.md, "cache
 * pressure"). `--batch N` walks the pressure of N transactions at once and then evaluates the N back to back: what
 * evaluating rules once per packet batch would do to that growth.
 *
 *   npm run -s bench:rules-replay -- [--passes 10] [--pressure KB] [--batch N] [--rules-file F.yml] [REGEX ...]
 *
 * Each REGEX is one variant: the bundled rules (and those of --rules-file) whose id matches it (`^$`: none).
 * Default variants: none and all. Prints one JSON document: per variant, min and median ns per transaction over the
 * passes after warm-up, the difference to the first variant, and the alerts of the last pass.
 */
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { ModbusTransaction } from '../protocols/modbus/types.ts';
import { buildRuleSet, type CompiledRule, compileRules } from '../rules/engine/compile.ts';
import { RuleEngine } from '../rules/engine/runtime.ts';
import { type FlowLike, K_MODBUS_TX, ModbusTxSubject } from '../rules/engine/subjects.ts';
import { loadRules } from '../rules/loader.ts';
import { analyseFile } from '../sensor/analyse-file.ts';
import { ModbusApp, type ModbusFlowContext } from '../sensor/apps/modbus-app.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    passes: { type: 'string', default: '10' },
    pressure: { type: 'string', default: '0' },
    batch: { type: 'string', default: '1' },
    'rules-file': { type: 'string', multiple: true, default: [] },
  },
});

const WARM_UP_PASSES = 3;
const passes = Number(values.passes);
if (!Number.isInteger(passes) || passes <= WARM_UP_PASSES) throw new Error(`--passes must be > ${WARM_UP_PASSES}`);
const pressureKB = Number(values.pressure);
if (!Number.isInteger(pressureKB) || pressureKB < 0) throw new Error('--pressure must be an integer ≥ 0 (KB)');
const batch = Number(values.batch);
if (!Number.isInteger(batch) || batch < 1) throw new Error('--batch must be an integer ≥ 1');
// The decompressed copy `npm run bench` keeps (run it once first).
const file = join(tmpdir(), 'otwatch-bench', 'modbus_big.pcap');

let pool: CompiledRule[] = (await loadRules([])).rules;
for (const path of values['rules-file'] ?? []) {
  const compiled = compileRules([{ file: path, text: readFileSync(path, 'utf8') }]);
  if (compiled.problems.length > 0) throw new Error(JSON.stringify(compiled.problems));
  pool = [...pool, ...compiled.rules];
}
const patterns = positionals.length > 0 ? positionals : ['^$', ''];
const variants = patterns.map((re) => {
  const pattern = new RegExp(re);
  return { re, set: buildRuleSet(pool.filter((r) => pattern.test(r.meta.id))), ns: [] as number[], alerts: 0 };
});

// Record: every transaction the Modbus app sees in one pass without rules (the parser reuses its record: copy it).
const txs: ModbusTransaction[] = [];
const requests: Uint8Array[] = [];
const flows: FlowLike[] = [];
const appTransaction = ModbusApp.prototype.transaction;
ModbusApp.prototype.transaction = function record(ctx: ModbusFlowContext, tx: ModbusTransaction): void {
  requests.push(tx.reqBuf.slice(tx.reqOff, tx.reqOff + tx.reqLen));
  const respBuf = tx.respBuf.slice(tx.respOff, tx.respOff + tx.respLen);
  txs.push({ ...tx, reqOff: 0, respBuf, respOff: 0 });
  flows.push(ctx.flow);
  appTransaction.call(this, ctx, tx);
};
const recorded = await analyseFile(file, {});
ModbusApp.prototype.transaction = appTransaction;
if (recorded.error) throw recorded.error;

const n = txs.length;
const SLOT_BYTES = 260;
const slots = Array.from({ length: 8 }, () => new Uint8Array(SLOT_BYTES));
// Pressure: one 4-byte read and write per 64-byte line, walking a 64 MiB array.
const junk = new Int32Array(16 << 20);
const junkMask = junk.length - 1;
const linesPerTx = pressureKB * 16;
let junkAt = 0;
let junkSum = 0;

for (let pass = 0; pass < passes; pass++) {
  for (const v of variants) {
    const engine = new RuleEngine(v.set, { alert: () => undefined });
    const s = new ModbusTxSubject();
    const start = process.hrtime.bigint();
    for (let first = 0; first < n; first += batch) {
      const end = Math.min(n, first + batch);
      for (let k = linesPerTx * (end - first); k > 0; k--) {
        junkSum += junk[junkAt] as number;
        junk[junkAt] = k;
        junkAt = (junkAt + 16) & junkMask;
      }
      for (let i = first; i < end; i++) {
        const tx = txs[i] as ModbusTransaction;
        const slot = slots[i & 7] as Uint8Array;
        slot.set(requests[i] as Uint8Array);
        tx.reqBuf = slot;
        s.set(tx, flows[i] as FlowLike, null);
        engine.evaluate(K_MODBUS_TX, s);
      }
    }
    engine.flush();
    v.ns.push(Number(process.hrtime.bigint() - start) / n);
    v.alerts = engine.stats.alerts;
  }
}

const afterWarmUp = (xs: number[]) => xs.slice(WARM_UP_PASSES).sort((a, b) => a - b);
const base = afterWarmUp((variants[0] as (typeof variants)[number]).ns)[0] ?? Number.NaN;
const report = {
  capture: 'modbus_big',
  transactions: n,
  passes,
  pressureKB,
  batch,
  // Printed so the pressure loop cannot be optimized away.
  pressureChecksum: junkSum,
  variants: variants.map((v) => {
    const ns = afterWarmUp(v.ns);
    const min = ns[0] ?? Number.NaN;
    return {
      pattern: v.re,
      rules: v.set.rules.length,
      minNsPerTx: Number(min.toFixed(1)),
      medianNsPerTx: Number((ns[Math.floor(ns.length / 2)] ?? Number.NaN).toFixed(1)),
      minNsOverFirst: Number((min - base).toFixed(1)),
      alerts: v.alerts,
    };
  }),
};
process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
