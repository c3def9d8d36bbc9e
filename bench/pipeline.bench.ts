/**
 * `npm run bench`: throughput and memory of the whole sensor path on the real captures of ../shared/bench, measured as
 * ratios within one run (the machines are shared and noisy, so absolute figures move; the ratio to a walk-only
 * baseline taken a moment earlier moves much less).
 *
 * For each capture (default: all four; `--only modbus_big,s7_big`):
 *   1. decompress it once to a temporary file (reused while newer than the .gz), so gunzip is not measured;
 *   2. for each of `--rounds N` rounds (default 5) run two fresh child processes one after the other (clean heap, clean
 *      peak RSS, same disk cache), each making `--passes N` passes over the file (default 3):
 *        walk     — the same capture reader, only walking the records (the floor any pipeline pays);
 *        pipeline — read → link decode → flow table → TCP reassembly → detection → Modbus / S7 / OPC UA parsing and
 *                   pairing → counters, no event output (every module registered, as `otsensor read --summary`);
 *   3. check correctness inside the run, on every pass: the pipeline's counts must equal tshark's (the capture's
 *      .truth.json, or the README figure for modbus_big), except for a documented deliberate difference
 *      (DEVIATIONS); a wrong count marks the capture failed and the process exits 1.
 *   With `--rules`, each round also runs a third child, `rules`: the pipeline with every bundled rule loaded
 *   (rules/packs; alerts counted, nothing printed), and the report gives `rulesRatio` = rules rate / pipeline rate in
 *   CPU time (median of the per-round ratios; target ≥ 0.8: detection must not cost more than a fifth of throughput)
 *   and the alert count of each pass (checked equal over passes).
 * Reported (stdout, one JSON document): per capture, packets and MB per CPU-second of each mode (median over rounds
 * of each child's median pass; CPU time, because on a shared 2-core machine wall time mostly measures the
 * neighbours), the same per wall-clock second, the first (cold) pass alone, the pipeline/walk ratio in CPU time
 * (median of the per-round ratios; the wall-time ratio beside it), peak RSS after the first pass, RSS at each
 * quarter of the file (memory must not grow with the file's length), the checked counts and the targets met (judged
 * on the CPU-time figures). The JSON goes to stdout (`npm run -s` keeps npm's banner off it) or to `--out FILE`; a
 * short table goes to stderr.
 *
 *   npm run -s bench [-- --only NAME[,NAME]] [--rounds N] [--passes N] [--rules] [--out FILE]
 */
import { execFileSync } from 'node:child_process';
import {
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline as streamPipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { createGunzip } from 'node:zlib';
import { type LoadedRules, loadRules } from '../rules/loader.ts';
import { analyseFile } from '../sensor/analyse-file.ts';
import { walkRecords } from '../sensor/capture/file-source.ts';
import type { CaptureSource } from '../sensor/capture/source.ts';
import type { Pipeline } from '../sensor/pipeline.ts';

const BENCH_DIR = join(import.meta.dirname, '../../shared/bench');

/** The counts checked on every capture (each must equal tshark's, or be 0 where tshark sees none). */
const COUNT_KEYS = ['modbus.pdus', 'cotp.frames', 's7comm.pdus', 's7comm_plus.frames', 'opcua.messages'] as const;
type CountKey = (typeof COUNT_KEYS)[number];
type Counts = Record<CountKey, number>;

const TARGETS = { packetsPerSec: 1_000_000, ratio: 0.3, peakRssMB: 150, rulesRatio: 0.8 } as const;

type Mode = 'walk' | 'pipeline' | 'rules';

interface CaptureSpec {
  name: string;
  gz: string;
  /** Where the expected counts come from. */
  truthSource: string;
  expected: Counts;
}

/**
 * Where our count differs from tshark's on purpose: capture → key → our exact count and why. Empty: on these captures
 * we count what tshark counts (OPC UA chunks on the encrypted Basic256Sha256 channels of opcua_big are messages for
 * both; neither decodes their bodies — see tests/golden/opcua-truth.test.ts).
 */
const DEVIATIONS: Record<string, Partial<Record<CountKey, { ours: number; why: string }>>> = {};

/** modbus_big has no .truth.json: ../shared/bench/README.md gives tshark 4.0's count (`-d tcp.port==15020,mbtcp`). */
const MODBUS_BIG_EXPECTED: Counts = {
  'modbus.pdus': 610_720,
  'cotp.frames': 0,
  's7comm.pdus': 0,
  's7comm_plus.frames': 0,
  'opcua.messages': 0,
};

const CAPTURE_NAMES = ['modbus_big', 's7_big', 'opcua_big', 'mixed_big'] as const;

function loadSpec(name: string): CaptureSpec {
  const gz = join(BENCH_DIR, `${name}.pcap.gz`);
  const truthPath = `${gz}.truth.json`;
  if (!existsSync(truthPath)) {
    if (name !== 'modbus_big') throw new Error(`${truthPath} is missing: no expected counts for ${name}`);
    return { name, gz, truthSource: 'shared/bench/README.md (tshark 4.0)', expected: MODBUS_BIG_EXPECTED };
  }
  const truth = JSON.parse(readFileSync(truthPath, 'utf8')) as Record<string, Record<string, unknown>>;
  const expected = {} as Counts;
  for (const key of COUNT_KEYS) {
    const [section = '', field = ''] = key.split('.');
    const v = truth[section]?.[field];
    if (typeof v !== 'number') throw new Error(`${truthPath}: no number at ${key}`);
    expected[key] = v;
  }
  return { name, gz, truthSource: `shared/bench/${name}.pcap.gz.truth.json (tshark 4.0)`, expected };
}

interface Measurement {
  mode: Mode;
  packets: number;
  bytes: number;
  /** Wall time of each pass over the file in this child; the first is cold (fresh process, nothing compiled yet). */
  passSeconds: number[];
  /** CPU time (user + system, all threads of the child, so GC helpers count) of each pass. */
  passCpuSeconds: number[];
  /** Peak resident set of the child at the end of its first pass, MB (10^6 bytes): one run from a clean start. */
  peakRssMB: number;
  /** RSS after each quarter of the file's bytes, first pass. */
  rssAtQuartersMB: number[];
  /** Pipeline only: the checked counts of every pass (each pass is a fresh Pipeline). */
  counts: Counts[];
  /** Rules only: alerts raised in each pass. */
  alerts: number[];
  /** Rules only: rules loaded. */
  ruleCount: number;
}

async function decompressOnce(gz: string): Promise<string> {
  const dir = join(tmpdir(), 'otwatch-bench');
  mkdirSync(dir, { recursive: true });
  const out = join(dir, (gz.split('/').pop() ?? 'capture.pcap.gz').replace(/\.gz$/, ''));
  if (!existsSync(out) || statSync(out).mtimeMs < statSync(gz).mtimeMs) {
    process.stderr.write(`decompressing ${gz} → ${out}\n`);
    await streamPipeline(createReadStream(gz), createGunzip(), createWriteStream(`${out}.part`));
    renameSync(`${out}.part`, out);
  }
  return out;
}

const MB = 1e6;

function numberAt(sections: Record<string, unknown>, key: CountKey): number {
  const [section = '', field = ''] = key.split('.');
  const v = (sections[section] as Record<string, unknown> | undefined)?.[field];
  return typeof v === 'number' ? v : Number.NaN;
}

/** What the pipeline counted, read from the same sections the run report prints. */
function countsOf(pipeline: Pipeline): Counts {
  const sections: Record<string, unknown> = { modbus: { pdus: pipeline.modbus.pdus }, ...pipeline.sections() };
  const counts = {} as Counts;
  for (const key of COUNT_KEYS) counts[key] = numberAt(sections, key);
  return counts;
}

function endPass(m: Measurement, start: bigint, cpu: NodeJS.CpuUsage): void {
  m.passSeconds.push(Number(process.hrtime.bigint() - start) / 1e9);
  const used = process.cpuUsage(cpu);
  m.passCpuSeconds.push((used.user + used.system) / 1e6);
}

/**
 * One child's measurement: `passes` passes over the file in this process. The first pass alone gives the memory
 * figures (a clean process, one file, as `otsensor read` runs it); the later ones show the steady state once the
 * JIT has compiled the hot path, and steady the short walk timings (tens of milliseconds) against scheduler noise.
 */
async function measure(mode: Mode, file: string, passes: number): Promise<Measurement> {
  const size = statSync(file).size;
  const m: Measurement = {
    mode,
    packets: 0,
    bytes: size,
    passSeconds: [],
    passCpuSeconds: [],
    peakRssMB: 0,
    rssAtQuartersMB: [],
    counts: [],
    alerts: [],
    ruleCount: 0,
  };
  // Rules are loaded and compiled once, before any timed pass (as `otsensor read --alerts` does at start-up).
  let loaded: LoadedRules | null = null;
  if (mode === 'rules') {
    loaded = await loadRules([]);
    m.ruleCount = loaded.rules.length;
  }
  let nextQuarter = 1;
  // Created once, outside the timed loop; it only records RSS on the first pass.
  const hooks = {
    afterBatch: (source: CaptureSource) => {
      if (m.passSeconds.length === 0 && source.stats().inputBytes >= (size * nextQuarter) / 4) {
        m.rssAtQuartersMB.push(Math.round(process.memoryUsage().rss / MB));
        nextQuarter++;
      }
    },
  };
  for (let pass = 0; pass < passes; pass++) {
    const cpu = process.cpuUsage();
    const start = process.hrtime.bigint();
    if (mode === 'walk') {
      m.packets = (await walkRecords(file)).packets;
      endPass(m, start, cpu);
    } else {
      const { pipeline, error } = await analyseFile(file, loaded === null ? {} : { rules: loaded.set }, hooks);
      endPass(m, start, cpu);
      if (error) throw error;
      m.packets = pipeline.stats.packets;
      m.counts.push(countsOf(pipeline));
      if (pipeline.ruleHook !== null) m.alerts.push(pipeline.ruleHook.engine.stats.alerts);
    }
    if (pass === 0) m.peakRssMB = (process.resourceUsage().maxRSS * 1024) / MB;
  }
  return m;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  if (s.length === 0) return Number.NaN;
  return s.length % 2 === 1 ? (s[mid] ?? Number.NaN) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

const round1 = (x: number): number => Math.round(x * 10) / 10;

/** Median of a child's passes, in CPU time (the figure the targets and the ratio use) and wall time. */
const childCpu = (m: Measurement): number => median(m.passCpuSeconds);
const childWall = (m: Measurement): number => median(m.passSeconds);
/** CPU time of a child's last pass (steady state once the JIT compiled the hot path). */
const lastCpu = (m: Measurement): number => m.passCpuSeconds[m.passCpuSeconds.length - 1] ?? Number.NaN;

function summarise(ms: Measurement[]) {
  const first = ms[0];
  if (!first) throw new Error('no measurements');
  const cpu = median(ms.map(childCpu));
  const wall = median(ms.map(childWall));
  const firstPassWall = median(ms.map((m) => m.passSeconds[0] ?? Number.NaN));
  return {
    packets: first.packets,
    bytes: first.bytes,
    cpuSeconds: Number(cpu.toFixed(3)),
    packetsPerCpuSec: Math.round(first.packets / cpu),
    mbPerCpuSec: round1(first.bytes / cpu / MB),
    wallSeconds: Number(wall.toFixed(3)),
    packetsPerSec: Math.round(first.packets / wall),
    mbPerSec: round1(first.bytes / wall / MB),
    /** Wall time of the first (cold) pass of each child: what one `otsensor read FILE` sees. */
    firstPassPacketsPerSec: Math.round(first.packets / firstPassWall),
    peakRssMB: Math.round(Math.max(...ms.map((m) => m.peakRssMB))),
    roundsPacketsPerCpuSec: ms.map((m) => Math.round(m.packets / childCpu(m))),
  };
}

const RUNNER = join(import.meta.dirname, '../bin/run-ts.js');
/** A child stuck for this long is a bug, not a slow machine (the largest capture takes seconds). */
const CHILD_TIMEOUT_MS = 10 * 60 * 1000;

function runChild(mode: Mode, file: string, passes: number): Measurement {
  const args = [RUNNER, import.meta.filename, '--child', mode, '--file', file, '--passes', String(passes)];
  const out = execFileSync(process.execPath, args, {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
    timeout: CHILD_TIMEOUT_MS,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return JSON.parse(out) as Measurement;
}

interface Check {
  expected: number;
  got: number;
  ok: boolean;
  why?: string;
}

async function benchCapture(spec: CaptureSpec, rounds: number, passes: number, withRules: boolean) {
  const file = await decompressOnce(spec.gz);
  const walks: Measurement[] = [];
  const pipes: Measurement[] = [];
  const ruled: Measurement[] = [];
  const rulesRatios: number[] = [];
  const rulesRatiosWarm: number[] = [];
  const ratios: number[] = [];
  const wallRatios: number[] = [];
  const checks: Record<string, Check> = {};
  let correct = true;
  for (let r = 0; r < rounds; r++) {
    const walk = runChild('walk', file, passes);
    const pipe = runChild('pipeline', file, passes);
    walks.push(walk);
    pipes.push(pipe);
    const withR = withRules ? runChild('rules', file, passes) : null;
    if (withR !== null) {
      ruled.push(withR);
      rulesRatios.push(childCpu(pipe) / childCpu(withR));
      rulesRatiosWarm.push(lastCpu(pipe) / lastCpu(withR));
      if (withR.packets !== pipe.packets) {
        throw new Error(`${spec.name}: pipeline read ${pipe.packets} packets, with rules ${withR.packets}`);
      }
      // Rules must not change what the pipeline counts, and every pass must raise the same alerts.
      for (const counts of withR.counts) {
        for (const key of COUNT_KEYS) {
          if (counts[key] !== pipe.counts[0]?.[key]) {
            correct = false;
            process.stderr.write(`WRONG ${spec.name} round ${r + 1} with rules: ${key} = ${counts[key]}\n`);
          }
        }
      }
      if (new Set(withR.alerts).size !== 1) {
        correct = false;
        process.stderr.write(`WRONG ${spec.name} round ${r + 1}: alerts differ between passes: ${withR.alerts}\n`);
      }
    }
    ratios.push(childCpu(walk) / childCpu(pipe));
    wallRatios.push(childWall(walk) / childWall(pipe));
    if (walk.packets !== pipe.packets) {
      throw new Error(`${spec.name}: walk read ${walk.packets} packets, pipeline ${pipe.packets}`);
    }
    if (pipe.counts.length !== passes)
      throw new Error(`${spec.name}: ${pipe.counts.length} of ${passes} passes counted`);
    pipe.counts.forEach((counts, pass) => {
      for (const key of COUNT_KEYS) {
        const dev = DEVIATIONS[spec.name]?.[key];
        const expected = dev?.ours ?? spec.expected[key];
        const got = counts[key];
        const ok = got === expected;
        if (!ok) {
          correct = false;
          process.stderr.write(
            `WRONG ${spec.name} round ${r + 1} pass ${pass + 1}: ${key} = ${got}, expected ${expected}\n`,
          );
        }
        if (checks[key] === undefined || !ok) checks[key] = { expected, got, ok, ...(dev ? { why: dev.why } : {}) };
      }
    });
    process.stderr.write(
      `${spec.name.padEnd(10)} round ${r + 1}/${rounds}: walk ${(walk.packets / childCpu(walk) / 1e6).toFixed(2)} M pkt/cpu-s, ` +
        `pipeline ${(pipe.packets / childCpu(pipe) / 1e6).toFixed(2)} M pkt/cpu-s ` +
        `(wall ${(pipe.packets / childWall(pipe) / 1e6).toFixed(2)} M pkt/s), peak RSS ${pipe.peakRssMB.toFixed(0)} MB` +
        (withR === null
          ? ''
          : `, rules ${(withR.packets / childCpu(withR) / 1e6).toFixed(2)} M pkt/cpu-s ` +
            `(×${(childCpu(pipe) / childCpu(withR)).toFixed(2)}, last pass ×${(lastCpu(pipe) / lastCpu(withR)).toFixed(2)}, ` +
            `${withR.alerts[0] ?? 0} alerts)`) +
        '\n',
    );
  }
  const walk = summarise(walks);
  const pipe = summarise(pipes);
  const ratio = Number(median(ratios).toFixed(3));
  const rulesRatio = withRules ? Number(median(rulesRatios).toFixed(3)) : null;
  const rules =
    rulesRatio === null
      ? null
      : {
          ...summarise(ruled),
          ruleCount: ruled[0]?.ruleCount ?? 0,
          alerts: ruled[0]?.alerts[0] ?? 0,
          roundsRulesRatio: rulesRatios.map((x) => Number(x.toFixed(3))),
          /** The same ratio on each child's last pass only (JIT-compiled steady state; the target uses rulesRatio). */
          rulesRatioLastPass: Number(median(rulesRatiosWarm).toFixed(3)),
        };
  return {
    input: spec.gz,
    decompressedTo: file,
    expectedFrom: spec.truthSource,
    correct,
    checks,
    walk,
    pipeline: { ...pipe, rssAtQuartersMB: pipes[0]?.rssAtQuartersMB ?? [] },
    ratioPipelineToWalk: ratio,
    ratioPipelineToWalkWall: Number(median(wallRatios).toFixed(3)),
    ...(rules === null || rulesRatio === null ? {} : { rules, rulesRatio }),
    targets: {
      packetsPerSec: pipe.packetsPerCpuSec >= TARGETS.packetsPerSec,
      ratio: ratio >= TARGETS.ratio,
      peakRssMB: pipe.peakRssMB <= TARGETS.peakRssMB,
      ...(rulesRatio === null ? {} : { rulesRatio: rulesRatio >= TARGETS.rulesRatio }),
    },
  };
}

type CaptureResult = Awaited<ReturnType<typeof benchCapture>>;

function table(results: Record<string, CaptureResult>): string {
  const mark = (ok: boolean) => (ok ? ' ' : '✗');
  const lines = [
    'capture      packets   walk Mpkt/cpu-s   pipe Mpkt/cpu-s   pipe MB/cpu-s   ratio   pipe Mpkt/s wall   peak RSS MB   counts   rules Mpkt/cpu-s   rulesRatio   alerts',
    '----------   -------   ---------------   ---------------   -------------   -----   ----------------   -----------   ------   ----------------   ----------   ------',
  ];
  for (const [name, r] of Object.entries(results)) {
    lines.push(
      [
        name.padEnd(10),
        `${(r.walk.packets / 1000).toFixed(0)}k`.padStart(7),
        (r.walk.packetsPerCpuSec / 1e6).toFixed(2).padStart(15),
        `${(r.pipeline.packetsPerCpuSec / 1e6).toFixed(2)}${mark(r.targets.packetsPerSec)}`.padStart(16),
        r.pipeline.mbPerCpuSec.toFixed(1).padStart(13),
        `${r.ratioPipelineToWalk.toFixed(2)}${mark(r.targets.ratio)}`.padStart(6),
        (r.pipeline.packetsPerSec / 1e6).toFixed(2).padStart(16),
        `${r.pipeline.peakRssMB}${mark(r.targets.peakRssMB)}`.padStart(12),
        (r.correct ? 'ok' : 'WRONG').padEnd(6),
        ...(r.rules === undefined || r.rulesRatio === undefined
          ? []
          : [
              (r.rules.packetsPerCpuSec / 1e6).toFixed(2).padStart(16),
              `${r.rulesRatio.toFixed(2)}${mark(r.rulesRatio >= TARGETS.rulesRatio)}`.padStart(10),
              String(r.rules.alerts).padStart(6),
            ]),
      ].join('   '),
    );
  }
  lines.push(
    `targets (on CPU time): ≥ ${TARGETS.packetsPerSec.toLocaleString('en')} packets/s, ratio ≥ ${TARGETS.ratio}, ` +
      `peak RSS ≤ ${TARGETS.peakRssMB} MB, rulesRatio ≥ ${TARGETS.rulesRatio} (with --rules) (✗ = not met)`,
  );
  return `${lines.join('\n')}\n`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      child: { type: 'string' },
      file: { type: 'string' },
      only: { type: 'string' },
      rounds: { type: 'string', default: '5' },
      passes: { type: 'string', default: '3' },
      out: { type: 'string' },
      rules: { type: 'boolean', default: false },
    },
  });
  if (values.child === 'walk' || values.child === 'pipeline' || values.child === 'rules') {
    process.stdout.write(JSON.stringify(await measure(values.child, values.file ?? '', Number(values.passes))));
    return;
  }
  const names = values.only ? values.only.split(',').map((s) => s.trim()) : [...CAPTURE_NAMES];
  for (const n of names) {
    if (!(CAPTURE_NAMES as readonly string[]).includes(n)) {
      throw new Error(`--only: unknown capture "${n}" (known: ${CAPTURE_NAMES.join(', ')})`);
    }
  }
  const rounds = Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be an integer ≥ 1, got ${values.rounds}`);
  const passes = Number(values.passes);
  if (!Number.isInteger(passes) || passes < 1) throw new Error(`--passes must be an integer ≥ 1, got ${values.passes}`);
  const startedAt = new Date().toISOString();
  const results: Record<string, CaptureResult> = {};
  for (const name of names) results[name] = await benchCapture(loadSpec(name), rounds, passes, values.rules === true);
  const all = Object.values(results);
  const report = {
    startedAt,
    node: process.version,
    cpus: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown'}`,
    rounds,
    passesPerChild: passes,
    targets: TARGETS,
    captures: results,
    allCorrect: all.every((r) => r.correct),
    allTargetsMet: all.every(
      (r) => r.targets.packetsPerSec && r.targets.ratio && r.targets.peakRssMB && r.targets.rulesRatio !== false,
    ),
  };
  process.stderr.write(`\n${table(results)}`);
  const json = `${JSON.stringify(report, null, 2)}\n`;
  if (values.out) {
    writeFileSync(values.out, json);
    process.stderr.write(`report written to ${values.out}\n`);
  } else process.stdout.write(json);
  if (!report.allCorrect) process.exitCode = 1;
}

await main();
