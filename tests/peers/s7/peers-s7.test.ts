/**
 * Own S7 captures made with real peers (generate.sh: node-snap7 server with node-snap7 and nodes7 clients). The
 * expected counts come from the clients' logs (`atLeast`: what every successful operation must have sent) and from
 * tshark decoding the capture as TPKT on the non-standard port (`tshark`: PDUs and ROSCTR); never from our decoder.
 * Both captures go through the whole sensor pipeline (`analyseFile`, every module registered), so the S7 flow must be
 * found by payload probe on its non-standard port.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SensorEvent } from '../../../protocols/wire/events.ts';
import { analyseFile } from '../../../sensor/analyse-file.ts';

const DIR = import.meta.dirname;

interface Expected {
  capture: string;
  port: number;
  operations: Record<string, boolean>;
  atLeast: Record<string, number>;
  tshark: { pdus: number; rosctr: Record<string, number> };
}

interface S7Run {
  /** The report's `cotp`, `s7comm` and `s7comm_plus` sections. */
  summary: Record<string, unknown>;
  events: SensorEvent[];
  /** Flows the pipeline handed to the S7 module. */
  flows: number;
}

/** The capture through the whole pipeline; events are collected only when asked for (as `otsensor read` would). */
async function runS7(path: string, withEvents = false): Promise<S7Run> {
  const events: SensorEvent[] = [];
  const sink = withEvents ? { emit: (e: SensorEvent) => events.push(e) } : null;
  const { pipeline, report, error } = await analyseFile(path, { events: sink });
  expect(error).toBeNull();
  const summary = report as unknown as Record<string, unknown>;
  expect(summary.s7comm, 'the run report has an `s7comm` section').toBeDefined();
  return { summary, events, flows: pipeline.stats.moduleFlows.s7comm ?? 0 };
}

function byCode(counts: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).map(([k, v]) => [k.split(' ')[0] ?? k, v]));
}

for (const name of ['snap7_1102', 'nodes7_1103']) {
  describe(name, () => {
    const expected = JSON.parse(readFileSync(join(DIR, `${name}.expected.json`), 'utf8')) as Expected;

    it('S7 PDUs and ROSCTR equal tshark; every logged operation is on the wire', async () => {
      const { summary, flows } = await runS7(join(DIR, expected.capture));
      const s7 = summary.s7comm as Record<string, unknown> & { pdus: number; rosctr: Record<string, number> };
      expect(flows).toBe(1);
      expect(s7.pdus).toBe(expected.tshark.pdus);
      expect(byCode(s7.rosctr)).toEqual(expected.tshark.rosctr);
      const seen = { ...(s7.functions as Record<string, number>), ...(s7.userdata as Record<string, number>) };
      for (const [key, n] of Object.entries(expected.atLeast)) expect(seen[key] ?? 0, key).toBeGreaterThanOrEqual(n);
      expect((summary.cotp as { connection_tsaps: string[][] }).connection_tsaps).toEqual([
        ['127.0.0.1', '127.0.0.1', '0x0100', '0x0102'],
      ]);
      expect(s7.anomalies).toEqual({});
    });
  });
}

describe('snap7 identity and control as events', () => {
  it('SZL identity, PLC stop / hot start and the COTP rack/slot reach the events', async () => {
    const { events, summary } = await runS7(join(DIR, 'snap7_1102.pcap'), true);
    const s7 = summary.s7comm as { identity: Record<string, string[]>; pi_services: Record<string, number> };
    // Snap7's server answers with its built-in identity (a CPU 315-2 PN/DP named SNAP7-SERVER).
    expect(s7.identity.szl_001c_plc_name).toEqual(['SNAP7-SERVER']);
    expect(s7.pi_services).toEqual({ P_PROGRAM: 2 });
    const txs = events.filter((e) => e.kind === 's7comm.transaction') as unknown as {
      s7comm: Record<string, unknown>;
    }[];
    const withIdentity = txs.filter((t) => Array.isArray(t.s7comm.identity));
    expect(withIdentity.flatMap((t) => (t.s7comm.identity as { key: string }[]).map((f) => f.key))).toContain(
      'szl_0011_index_0x0001',
    );
    const stop = txs.find((t) => t.s7comm.func === 0x29);
    expect(stop?.s7comm).toMatchObject({
      kind: 'paired',
      funcName: 'PLC Stop',
      request: { pi: { service: 'P_PROGRAM' } },
    });
    const connect = events.find((e) => e.kind === 'cotp.connect') as unknown as { cotp: Record<string, unknown> };
    expect(connect.cotp).toMatchObject({ srcTsap: '0x0100', dstTsap: '0x0102', rack: 0, slot: 2 });
  });
});
