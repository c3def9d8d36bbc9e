/**
 * S7 throughput: ../shared/pcaps/ct__Plant1_S7comm.pcap (22,234 packets, 10,568 S7 PDUs; one master polling ~20
 * PLCs) replayed `--repeat` times in one run, alternating
 *   walk — the capture reader only walking the records;
 *   s7   — reader → link → flow table → TCP reassembly → S7 probe → TPKT/COTP framing → S7 header, pairing, counters
 *          (the full pipeline once it registers the module, else the same front half driving the S7 module alone).
 * Correctness is checked in the run: every replay must count tshark's 10,568 PDUs. Reports packets/s, MB/s, ratio.
 *
 *   npx tsx bench/s7.bench.ts [--repeat N]
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { analyseFile } from '../sensor/analyse-file.ts';
import { walkRecords } from '../sensor/capture/file-source.ts';
import { driveS7 } from '../tests/peers/s7/drive-s7.ts';

const FILE = join(import.meta.dirname, '../../shared/pcaps/ct__Plant1_S7comm.pcap');
const EXPECTED_PDUS = 10_568;
const { values } = parseArgs({ options: { repeat: { type: 'string', default: '30' } } });
const repeat = Number(values.repeat);

/** Does the pipeline report S7 yet? Decided once, so the timed loop runs one path only. */
const viaPipeline = ((await analyseFile(FILE)).report as unknown as { s7comm?: unknown }).s7comm !== undefined;

async function s7Pdus(): Promise<number> {
  if (viaPipeline) return ((await analyseFile(FILE)).report as unknown as { s7comm: { pdus: number } }).s7comm.pdus;
  return ((await driveS7(FILE)).summary.s7comm as { pdus: number }).pdus;
}

const bytes = statSync(FILE).size;
let walkSec = 0;
let s7Sec = 0;
let packets = 0;
for (let i = 0; i < repeat; i++) {
  let t = process.hrtime.bigint();
  packets = (await walkRecords(FILE)).packets;
  walkSec += Number(process.hrtime.bigint() - t) / 1e9;
  t = process.hrtime.bigint();
  const pdus = await s7Pdus();
  s7Sec += Number(process.hrtime.bigint() - t) / 1e9;
  if (pdus !== EXPECTED_PDUS) throw new Error(`S7 PDUs ${pdus} ≠ tshark ${EXPECTED_PDUS}`);
}
const total = packets * repeat;
const out = {
  file: FILE,
  repeat,
  path: viaPipeline ? 'pipeline' : 'module driver (pipeline does not register S7 yet)',
  packets: total,
  walk: { pps: Math.round(total / walkSec), mbps: +((bytes * repeat) / walkSec / 1e6).toFixed(1) },
  s7: { pps: Math.round(total / s7Sec), mbps: +((bytes * repeat) / s7Sec / 1e6).toFixed(1) },
  ratio: +(walkSec / s7Sec).toFixed(3),
  peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
};
console.log(JSON.stringify(out, null, 2));
