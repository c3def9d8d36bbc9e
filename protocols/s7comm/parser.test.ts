/**
 * Stream tests for the ISO-on-TCP parser: every split of a stream gives the same callbacks (byte by byte, at every
 * offset), many TPKTs per chunk, one TPKT over many chunks, COTP fragments up to EOT (and the size cap), multi-part
 * userdata, pairing by PDU reference, open-request cap, gaps and resynchronisation, S7comm-plus recognition.
 */
import { describe, expect, it } from 'vitest';
import { ByteBudget } from '../core/byte-budget.ts';
import { S7Parser } from './parser.ts';
import { concat, dt, hex, recorder, s7 } from './test-support.ts';

// Job: Setup communication (ref 1); Ack_Data answer
const SETUP_JOB = s7(1, 1, hex('f0000001000101e0'));
const SETUP_ACK = s7(3, 1, hex('f0000001000100f0'));
// Job: Read Var M16.0 REAL x1 (ref 2); Ack_Data: success, 4 bytes
const READ_JOB = s7(1, 2, hex('0401120a10080001000083000080'));
const READ_ACK = s7(3, 2, hex('0401'), hex('ff07000400000000'));
// Userdata request: Read SZL 0x0011/0x0000 (ref 3)
const SZL_REQ = s7(7, 3, hex('0001120411440100'), hex('ff09000400110000'));
// COTP CR with TSAPs 0x0100 / 0x0102 and TPDU size 1024
const CR = hex('0300001611e00000000100c0010ac1020100c2020102');
const CC = hex('0300001611d00000000100c0010ac1020100c2020102');

function client(): Uint8Array {
  return concat(CR, dt(SETUP_JOB), dt(READ_JOB), dt(SZL_REQ));
}
function server(): Uint8Array {
  return concat(CC, dt(SETUP_ACK), dt(READ_ACK));
}

function run(chunks: [0 | 1, Uint8Array][]) {
  const r = recorder();
  const p = new S7Parser(r, null);
  for (const [dir, c] of chunks) p.data(dir, c, 0, c.length, 100, 0);
  p.end(200);
  const { frames: _f, ...rest } = r.rec;
  return { rec: rest, stats: p.stats, parser: p };
}

describe('S7Parser framing', () => {
  it('frames TPKTs, decodes CR/CC TSAPs, pairs by PDU reference', () => {
    const { rec, stats } = run([
      [0, client()],
      [1, server()],
    ]);
    expect(rec.tpdus.map((t) => t.type)).toEqual([0xe0, 0xf0, 0xf0, 0xf0, 0xd0, 0xf0, 0xf0]);
    expect(rec.connects[0]).toEqual({ dir: 0, type: 0xe0, srcTsap: '0100', dstTsap: '0102', tpduSizeCode: 0x0a });
    expect(rec.pdus.map((p) => [p.dir, p.rosctr, p.pduRef, p.func])).toEqual([
      [0, 1, 1, 0xf0],
      [0, 1, 2, 4],
      [0, 7, 3, -1],
      [1, 3, 1, 0xf0],
      [1, 3, 2, 4],
    ]);
    expect(rec.pdus[2]).toMatchObject({ udGroup: 4, udSub: 1, udType: 4, szlId: 0x11, szlIndex: 0 });
    expect(rec.txs.map((t) => [t.kind, t.reason, t.pduRef])).toEqual([
      ['paired', 'response', 1],
      ['paired', 'response', 2],
      ['unanswered', 'flow_end', 3],
    ]);
    expect(rec.anomalies.map((a) => a.kind)).toEqual(['s7comm.request_unanswered']);
    expect(stats.tpkts).toBe(7);
  });

  it('at the end of the input, closes open requests within the timeout as capture_end without an anomaly', () => {
    const r = recorder();
    const p = new S7Parser(r, null);
    const early = dt(READ_JOB);
    const late = dt(s7(1, 4, hex('0401120a10080001000083000080')));
    p.data(0, CR, 0, CR.length, 100, 0);
    p.data(0, early, 0, early.length, 100, 0); // 40 s before the end: past the 30 s timeout
    p.data(0, late, 0, late.length, 130, 0); // 10 s before the end
    p.end(140, true);
    expect(r.rec.txs.map((t) => [t.pduRef, t.kind, t.reason])).toEqual([
      [2, 'unanswered', 'timeout'],
      [4, 'unanswered', 'capture_end'],
    ]);
    expect(r.rec.anomalies.map((a) => a.kind)).toEqual(['s7comm.request_unanswered']);
  });

  it('a response without a request is an anomaly only once the connection start or a request was seen', () => {
    const anomaliesFor = (startSeen: boolean, first: Uint8Array | null) => {
      const r = recorder();
      const p = new S7Parser(r, null);
      p.connectionStartSeen = startSeen;
      if (first !== null) p.data(0, first, 0, first.length, 100, 0);
      const ack = dt(READ_ACK);
      p.data(1, ack, 0, ack.length, 100, 0);
      expect(r.rec.txs.filter((t) => t.kind === 'unsolicited')).toHaveLength(1);
      return r.rec.anomalies.map((a) => a.kind);
    };
    // Mid-stream pick-up: the Ack_Data answers a Job sent before the capture began.
    expect(anomaliesFor(false, null)).toEqual([]);
    // The TCP handshake, the COTP connect or another request was seen: nobody asked for this response.
    expect(anomaliesFor(true, null)).toEqual(['s7comm.unsolicited_response']);
    expect(anomaliesFor(false, CR)).toEqual(['s7comm.unsolicited_response']);
    expect(anomaliesFor(false, dt(SETUP_JOB))).toEqual(['s7comm.unsolicited_response']);
  });

  it('byte by byte gives exactly the callbacks of whole chunks', () => {
    const whole = run([
      [0, client()],
      [1, server()],
    ]).rec;
    const bytes: [0 | 1, Uint8Array][] = [];
    for (const [dir, buf] of [
      [0, client()],
      [1, server()],
    ] as [0 | 1, Uint8Array][])
      for (let i = 0; i < buf.length; i++) bytes.push([dir, buf.subarray(i, i + 1)]);
    expect(run(bytes).rec).toEqual(whole);
  });

  it('a split at every offset gives the same callbacks', () => {
    const c = client();
    const whole = run([[0, c]]).rec;
    for (let cut = 1; cut < c.length; cut++) {
      expect(
        run([
          [0, c.subarray(0, cut)],
          [0, c.subarray(cut)],
        ]).rec,
      ).toEqual(whole);
    }
  });

  it('many PDUs per chunk and one TPKT over many chunks', () => {
    const many = concat(...Array.from({ length: 200 }, (_, i) => dt(s7(1, i, hex('0401120a10080001000083000080')))));
    const one = run([[0, many]]);
    expect(one.rec.pdus).toHaveLength(200);
    const pieces: [0 | 1, Uint8Array][] = [];
    for (let i = 0; i < many.length; i += 7) pieces.push([0, many.subarray(i, i + 7)]);
    expect(run(pieces).rec).toEqual(one.rec);
  });

  it('reports one frame() per data call that completed TPKTs (tshark-style frame counts)', () => {
    const r = recorder();
    const p = new S7Parser(r, null);
    const c = client();
    p.data(0, c, 0, 10, 1, 0); // CR not complete yet
    p.data(0, c, 10, c.length - 10, 1, 0);
    expect(r.rec.frames).toEqual([[4, 3, 0]]);
  });
});

describe('COTP fragments', () => {
  it('reassembles a multi-fragment DT up to EOT, in any split', () => {
    const pdu = READ_ACK;
    const stream = concat(dt(pdu.subarray(0, 5), false), dt(pdu.subarray(5, 9), false), dt(pdu.subarray(9), true));
    const a = run([[1, stream]]);
    expect(a.rec.pduHex).toEqual([Buffer.from(pdu).toString('hex')]);
    expect(a.stats.cotpFragments).toBe(3);
    expect(a.stats.cotpReassembled).toBe(1);
    for (let cut = 1; cut < stream.length; cut++)
      expect(
        run([
          [1, stream.subarray(0, cut)],
          [1, stream.subarray(cut)],
        ]).rec,
      ).toEqual(a.rec);
  });

  it('empty DT with EOT=0 (STEP 7 keep-alive) joins the next DT harmlessly', () => {
    const { rec } = run([[0, concat(hex('0300000702f000'), dt(SETUP_JOB))]]);
    expect(rec.pdus).toHaveLength(1);
    expect(rec.tpdus).toHaveLength(2);
  });

  it('drops and counts a reassembled payload over the cap, then carries on', () => {
    const r = recorder();
    const p = new S7Parser(r, null, { maxPduBytes: 64 });
    const big = new Uint8Array(100).fill(0x32);
    const stream = concat(dt(big.subarray(0, 50), false), dt(big.subarray(50), true), dt(SETUP_JOB));
    p.data(0, stream, 0, stream.length, 1, 0);
    expect(p.stats.oversizePdus).toBe(1);
    expect(r.rec.anomalies.map((a) => a.kind)).toEqual(['cotp.pdu_too_large']);
    expect(r.rec.pdus.map((x) => x.pduRef)).toEqual([1]);
    expect(p.fragmented(0)).toBe(0);
  });
});

describe('multi-part userdata', () => {
  it('SZL answer in two parts: SZL id counted once, with the whole payload on the last part', () => {
    // Response part 1 (last data unit = 0x01 more follows): SZL 0x001c header + 1 record (index 1)
    const rec1 = `0001${Buffer.from('PLC').toString('hex')}${'00'.repeat(29)}`;
    const pay1 = `001c0000 0022 0002 ${rec1}`;
    const part1 = s7(
      7,
      5,
      hex('000112081284010201010000'),
      hex(`ff09${(pay1.replace(/ /g, '').length / 2).toString(16).padStart(4, '0')}${pay1}`),
    );
    // Part 2 (last): record index 2 "CPU"
    const rec2 = `0002${Buffer.from('CPU').toString('hex')}${'00'.repeat(29)}`;
    const part2 = s7(7, 6, hex('000112081284010201000000'), hex(`ff090022${rec2}`));
    const { rec } = run([[1, concat(dt(part1), dt(part2))]]);
    expect(rec.pdus.map((p) => [p.udFragment, p.szlId, p.udPayloadLen])).toEqual([
      [true, -1, -1],
      [false, 0x1c, 8 + 68],
    ]);
  });
});

describe('gaps and resynchronisation', () => {
  it('a TPKT the shared budget cannot buffer is skipped whole; framing carries on after it', () => {
    // A 3 kB write job split over two calls needs a 3 kB carry buffer; a 2 kB budget refuses it.
    const big = dt(s7(1, 5, hex('0501120a10020bb800008400000000'), new Uint8Array(3000)));
    const stream = concat(big, dt(READ_JOB));
    const budget = new ByteBudget(2048);
    const r = recorder();
    const p = new S7Parser(r, null, { budget });
    p.data(0, stream, 0, 1500, 100, 0);
    p.data(0, stream, 1500, stream.length - 1500, 100, 0);
    expect(budget.refused).toBe(1);
    expect(r.rec.pdus.map((x) => x.pduRef)).toEqual([2]);
    expect(r.rec.anomalies.filter((a) => a.kind !== 's7comm.request_unanswered')).toEqual([]);
    expect(p.stats.skippedBytes).toBe(big.length);
    p.end(200);
    expect(budget.used).toBe(0);
  });

  it('with room in the budget a split TPKT is carried as before and given back at the end', () => {
    const big = dt(s7(1, 5, hex('0501120a10020bb800008400000000'), new Uint8Array(3000)));
    const budget = new ByteBudget(1 << 20);
    const r = recorder();
    const p = new S7Parser(r, null, { budget });
    for (let o = 0; o < big.length; o += 700) p.data(0, big, o, Math.min(700, big.length - o), 100, 0);
    expect(r.rec.pdus.map((x) => x.pduRef)).toEqual([5]);
    expect(budget.used).toBeGreaterThanOrEqual(big.length);
    expect(budget.refused).toBe(0);
    p.end(200);
    expect(budget.used).toBe(0);
  });

  it('COTP fragments the budget cannot hold drop their payload only', () => {
    const payload = s7(1, 6, hex('0501120a10020bb800008400000000'), new Uint8Array(3000));
    const frags = concat(dt(payload.subarray(0, 1500), false), dt(payload.subarray(1500), true), dt(READ_JOB));
    const budget = new ByteBudget(1024);
    const r = recorder();
    const p = new S7Parser(r, null, { budget });
    p.data(0, frags, 0, frags.length, 100, 0);
    expect(budget.refused).toBeGreaterThan(0);
    expect(r.rec.pdus.map((x) => x.pduRef)).toEqual([2]);
    expect(r.rec.anomalies.filter((a) => a.kind !== 's7comm.request_unanswered')).toEqual([]);
    p.end(200);
    expect(budget.used).toBe(0);
  });

  it('gap drops the partial TPKT and resyncs on the next plausible header', () => {
    const r = recorder();
    const p = new S7Parser(r, null);
    const c = client();
    p.data(0, c, 0, 30, 1, 0);
    p.gap(0, 12);
    // Garbage then a clean TPKT.
    const rest = concat(hex('00ff1234'), dt(SETUP_JOB));
    p.data(0, rest, 0, rest.length, 2, 0);
    expect(r.rec.pdus.map((x) => x.pduRef)).toEqual([1]);
    expect(p.stats.resyncs).toBe(1);
    expect(p.stats.gaps).toBe(1);
  });

  it('a bad TPKT header raises one anomaly and the parser recovers', () => {
    const { rec, stats } = run([[0, concat(hex('0400000902f0803201'), dt(SETUP_JOB))]]);
    expect(rec.anomalies.map((a) => a.kind)).toContain('cotp.invalid_tpkt');
    expect(rec.pdus).toHaveLength(1);
    expect(stats.resyncs).toBe(1);
  });
});

describe('pairing', () => {
  it('unsolicited responses and the open-request cap', () => {
    const r = recorder();
    const p = new S7Parser(r, null, { maxOpenRequests: 4 });
    const jobs = concat(
      ...Array.from({ length: 10 }, (_, i) => dt(s7(1, 100 + i, hex('0401120a10080001000083000080')))),
    );
    p.data(0, jobs, 0, jobs.length, 1, 0);
    const ack = dt(s7(3, 999, hex('0401'), hex('ff07000400000000')));
    p.data(1, ack, 0, ack.length, 1, 0);
    expect(p.stats.evicted).toBe(6);
    expect(p.stats.openRequests).toBe(4);
    expect(r.rec.anomalies.filter((a) => a.kind === 's7comm.too_many_open_requests')).toHaveLength(1);
    expect(r.rec.txs.at(-1)).toMatchObject({ kind: 'unsolicited', pduRef: 999 });
    p.expire(1000);
    expect(p.stats.openRequests).toBe(0);
    expect(r.rec.txs.filter((t) => t.reason === 'timeout')).toHaveLength(4);
  });

  it('error Ack pairs with its Job and keeps class/code', () => {
    const { rec } = run([
      [0, dt(s7(1, 0x15, hex('1d00000000000000095f3038303030303041')))],
      [1, dt(s7(2, 0x15, new Uint8Array(0), new Uint8Array(0), [0xd2, 0x0c]))],
    ]);
    expect(rec.txs[0]).toMatchObject({ kind: 'paired', func: 0x1d, errorClass: 0xd2, errorCode: 0x0c });
    expect(rec.anomalies.map((a) => a.kind)).toEqual(['s7comm.error_response']);
  });
});

describe('S7comm-plus', () => {
  it('recognised per COTP payload, never desynchronising the stream', () => {
    const v3 = hex(`72030040 20 ${'ab'.repeat(32)} 31 0000 0586 0000 0011 00000abc`);
    const opaque = hex('72fe000512345678ff');
    const { rec } = run([[0, concat(dt(v3), dt(opaque), dt(SETUP_JOB))]]);
    expect(rec.plus.map((f) => [f.version, f.byte4, f.hasIntegrity, f.opcode, f.opaque])).toEqual([
      [3, 0x20, true, 0x31, false],
      [0xfe, 0x12, false, -1, true],
    ]);
    expect(rec.pdus).toHaveLength(1);
  });
});
