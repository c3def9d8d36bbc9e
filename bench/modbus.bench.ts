/**
 * `npm run bench`: throughput of the whole sensor path on real traffic, as ratios measured in the same run.
 *
 * Input: ../shared/bench/modbus_big.pcap.gz (623,403 packets of Modbus/TCP on port 15020), decompressed once to a
 * temporary file. Each measurement runs in a fresh child process (clean heap, clean peak RSS), alternating:
 *   walk     — the same capture reader, only walking the records (the floor any pipeline pays);
 *   pipeline — read → link decode → flow table → TCP reassembly → detection → Modbus framing/pairing → counters,
 *              no output. Correctness is checked inside the run: the PDU count must equal tshark's.
 * Reported: packets/s and MB/s of each (median of the rounds), pipeline/walk ratio, peak RSS, and RSS sampled at
 * each quarter of the file (to show memory does not grow with the file's length).
 *
 *   npm run bench [-- --rounds N] [-- --file PATH.pcap[.gz] --expect-pdus N]
 */
import { execFileSync } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, mkdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { pipeline as streamPipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { createGunzip } from 'node:zlib';
import { analyseFile } from '../sensor/analyse-file.ts';
import { walkRecords } from '../sensor/capture/file-source.ts';

const DEFAULT_INPUT = join(import.meta.dirname, '../../shared/bench/modbus_big.pcap.gz');
/** tshark 4.0 with `-d tcp.port==15020,mbtcp` (../shared/bench/README.md). */
const DEFAULT_EXPECTED_PDUS = 610_720;

interface Measurement {
  mode: 'walk' | 'pipeline';
  packets: number;
  bytes: number;
  seconds: number;
  peakRssMiB: number;
  rssQuartersMiB: number[];
  pdus: number;
}

const { values } = parseArgs({
  options: {
    child: { type: 'string' },
    file: { type: 'string' },
    rounds: { type: 'string', default: '3' },
    'expect-pdus': { type: 'string' },
  },
});

async function decompressOnce(input: string): Promise<string> {
  if (!input.endsWith('.gz')) return input;
  const dir = join(tmpdir(), 'otwatch-bench');
  mkdirSync(dir, { recursive: true });
  const out = join(dir, basename(input, '.gz'));
  if (!existsSync(out) || statSync(out).mtimeMs < statSync(input).mtimeMs) {
    process.stderr.write(`decompressing ${input} → ${out}\n`);
    await streamPipeline(createReadStream(input), createGunzip(), createWriteStream(`${out}.part`));
    execFileSync('mv', [`${out}.part`, out]);
  }
  return out;
}

function rssMiB(): number {
  return process.memoryUsage().rss / 1048576;
}

async function runChild(mode: 'walk' | 'pipeline', file: string): Promise<Measurement> {
  const size = statSync(file).size;
  const start = process.hrtime.bigint();
  let packets = 0;
  let pdus = 0;
  const quarters: number[] = [];
  if (mode === 'walk') {
    const r = await walkRecords(file);
    packets = r.packets;
  } else {
    let nextQuarter = 1;
    const { pipeline, error } = await analyseFile(
      file,
      {},
      {
        afterBatch: (source) => {
          if (source.stats().inputBytes >= (size * nextQuarter) / 4) {
            quarters.push(Math.round(rssMiB()));
            nextQuarter++;
          }
        },
      },
    );
    if (error) throw error;
    packets = pipeline.stats.packets;
    pdus = pipeline.modbus.pdus;
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const peakRssMiB = process.resourceUsage().maxRSS / 1024;
  return { mode, packets, bytes: size, seconds, peakRssMiB, rssQuartersMiB: quarters, pdus };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

async function main(): Promise<void> {
  if (values.child === 'walk' || values.child === 'pipeline') {
    const file = values.file ?? '';
    process.stdout.write(JSON.stringify(await runChild(values.child, file)));
    return;
  }
  const input = values.file ?? DEFAULT_INPUT;
  const expectPdus = values['expect-pdus']
    ? Number(values['expect-pdus'])
    : input === DEFAULT_INPUT
      ? DEFAULT_EXPECTED_PDUS
      : null;
  const file = await decompressOnce(input);
  const rounds = Math.max(1, Number(values.rounds));
  const runner = join(import.meta.dirname, '../bin/run-ts.js');
  const results: Measurement[] = [];
  for (let r = 0; r < rounds; r++) {
    for (const mode of ['walk', 'pipeline'] as const) {
      const out = execFileSync(process.execPath, [runner, import.meta.filename, '--child', mode, '--file', file], {
        encoding: 'utf8',
        maxBuffer: 1 << 20,
      });
      const m = JSON.parse(out) as Measurement;
      if (mode === 'pipeline' && expectPdus !== null && m.pdus !== expectPdus) {
        throw new Error(`pipeline decoded ${m.pdus} Modbus PDUs, tshark says ${expectPdus}: results are wrong`);
      }
      results.push(m);
      process.stderr.write(
        `round ${r + 1} ${mode.padEnd(8)} ${(m.packets / m.seconds / 1e6).toFixed(2)} M packets/s, ` +
          `peak RSS ${m.peakRssMiB.toFixed(0)} MiB\n`,
      );
    }
  }
  const summarise = (mode: 'walk' | 'pipeline') => {
    const ms = results.filter((m) => m.mode === mode);
    const first = ms[0];
    if (!first) throw new Error('no measurements');
    const secs = median(ms.map((m) => m.seconds));
    return {
      packets: first.packets,
      seconds: Number(secs.toFixed(3)),
      packetsPerSec: Math.round(first.packets / secs),
      mbPerSec: Number((first.bytes / secs / 1e6).toFixed(1)),
      peakRssMiB: Math.round(Math.max(...ms.map((m) => m.peakRssMiB))),
      ...(mode === 'pipeline' ? { rssAtQuartersMiB: first.rssQuartersMiB, modbusPdus: first.pdus } : {}),
    };
  };
  const walk = summarise('walk');
  const pipe = summarise('pipeline');
  const report = {
    input,
    rounds,
    walk,
    pipeline: pipe,
    ratioPipelineToWalk: Number((pipe.packetsPerSec / walk.packetsPerSec).toFixed(3)),
    targets: {
      'pipeline >= 1,000,000 packets/s': pipe.packetsPerSec >= 1_000_000,
      'ratio >= 0.3': pipe.packetsPerSec / walk.packetsPerSec >= 0.3,
      'peak RSS <= 150 MB': pipe.peakRssMiB * 1.048576 <= 150,
    },
    node: process.version,
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}

await main();
