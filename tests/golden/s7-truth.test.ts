/**
 * Golden tests for S7comm / S7comm-plus: every capture in ../shared/pcaps through the whole sensor pipeline (reader →
 * link → flows → TCP reassembly → detection → S7 module), compared with the tshark 4.0 counts in its `.truth.json`.
 *
 * Compared, key for key and string for string (no name normalisation needed: our keys are the truth's):
 * - `cotp`: frames, pdu_types, connection_tsaps;
 * - `s7comm`: frames, pdus, rosctr, functions, userdata, szl_ids, pi_services, header_errors, talkers, identity;
 * - `s7comm_plus`: frames, versions, opcodes (the truth's heuristic: byte 4 of a COTP payload starting 0x72), talkers.
 * Captures without S7 (Modbus, OPC UA) must yield no COTP/S7 at all.
 *
 * How tshark counts, and how we match it:
 * - "frames" = frames in which at least one TPKT (cotp), S7comm PDU or S7comm-plus payload completed; we count the
 *   reassembled-stream deliveries (one per TCP segment) that completed one;
 * - pdu_types counts every COTP TPDU (DT fragments and empty DTs included); S7 PDUs are counted per reassembled COTP
 *   payload; multi-part userdata responses count each part, but the SZL id once, on the last part (tshark
 *   reassembles them), which is also where the identity records of a split SZL 0x001C answer are read;
 * - mode-transition userdata (group 0) is not in the truth's userdata histogram (tshark files it under a different
 *   field): we report it separately as `s7comm.mode_transitions`.
 * Deliberate differences: none at present (DEVIATIONS is empty; add the capture, reason and exact delta if one
 * becomes necessary).
 *
 * Source of the summary: `analyseFile`, the whole pipeline as `otsensor read` runs it (every module registered, so a
 * Modbus or OPC UA probe that wrongly claimed an S7 flow would show up here as missing S7).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyseFile } from '../../sensor/analyse-file.ts';

const PCAPS = join(import.meta.dirname, '../../../shared/pcaps');

interface Truth {
  cotp: Record<string, unknown>;
  s7comm: Record<string, unknown>;
  s7comm_plus: Record<string, unknown>;
}

type Sections = {
  cotp: Record<string, unknown>;
  s7comm: Record<string, unknown>;
  s7comm_plus: Record<string, unknown>;
};

async function summarise(path: string): Promise<Sections> {
  const { report, error } = await analyseFile(path);
  expect(error).toBeNull();
  const r = report as unknown as Partial<Sections>;
  expect(r.cotp, 'the run report has a `cotp` section').toBeDefined();
  expect(r.s7comm, 'the run report has an `s7comm` section').toBeDefined();
  expect(r.s7comm_plus, 'the run report has an `s7comm_plus` section').toBeDefined();
  return r as Sections;
}

const COMPARED = {
  cotp: ['frames', 'pdu_types', 'connection_tsaps'],
  s7comm: [
    'frames',
    'pdus',
    'rosctr',
    'functions',
    'userdata',
    'szl_ids',
    'pi_services',
    'header_errors',
    'talkers',
    'identity',
  ],
  s7comm_plus: ['frames', 'versions', 'opcodes', 'talkers'],
} as const;

/** Capture → section.key → [ours, truth] where we deliberately differ (with the reason in `why`). */
const DEVIATIONS: Record<string, { why: string; delta: Record<string, [unknown, unknown]> }> = {};

const captures = readdirSync(PCAPS).filter((f) => /\.pcap(ng)?(\.gz)?$/.test(f) && !f.endsWith('.json'));

describe('S7 golden (tshark truth)', () => {
  it('has captures with S7comm and with S7comm-plus to compare', () => {
    const truths = captures.map((f) => JSON.parse(readFileSync(join(PCAPS, `${f}.truth.json`), 'utf8')) as Truth);
    expect(truths.filter((t) => (t.s7comm.pdus as number) > 0).length).toBeGreaterThanOrEqual(10);
    expect(truths.filter((t) => (t.s7comm_plus.frames as number) > 0).length).toBeGreaterThanOrEqual(5);
  });

  for (const file of captures) {
    it(file, async () => {
      const truth = JSON.parse(readFileSync(join(PCAPS, `${file}.truth.json`), 'utf8')) as Truth;
      const ours = await summarise(join(PCAPS, file));
      const dev = DEVIATIONS[file]?.delta ?? {};
      for (const section of Object.keys(COMPARED) as (keyof typeof COMPARED)[]) {
        for (const key of COMPARED[section]) {
          const path = `${section}.${key}`;
          const deviation = dev[path];
          if (deviation !== undefined) {
            expect([ours[section][key], truth[section][key]], path).toEqual(deviation);
            continue;
          }
          expect(ours[section][key], `${file} ${path}`).toEqual(truth[section][key]);
        }
      }
      if ((truth.cotp.frames as number) === 0) {
        expect(ours.s7comm.pdus).toBe(0);
        expect(ours.s7comm_plus.frames).toBe(0);
      }
    }, 60_000);
  }
});
