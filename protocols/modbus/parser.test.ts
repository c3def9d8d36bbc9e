import { describe, expect, it } from 'vitest';
import { ModbusParser } from './parser.ts';
import {
  adu,
  type Chunk,
  concat,
  feedBytewise,
  feedWhole,
  hex,
  newParser,
  only,
  type Recorded,
  recorder,
} from './test-support.ts';

// A client→server stream with several requests, a bad header in the middle (resync), and a reserved code.
const REQUESTS = concat(
  adu(1, 1, hex('03 006B 0003')), // tid 1: FC3 read 3 registers at 107
  adu(2, 1, hex('01 0013 0013')), // tid 2: FC1 read 19 coils at 19
  adu(3, 9, hex('10 0001 0002 04 000A 0102')), // tid 3, unit 9: FC16 write 2 registers
  hex('00 04 00 07 00 06 01 03'), // garbage: protocol id 7 → invalid_protocol_id, resync
  hex('DE AD BE EF'), // more garbage skipped during the scan
  adu(4, 1, hex('2B 0E 01 00')), // tid 4: FC43/14 read device id
  adu(5, 1, hex('2A 00')), // tid 5: reserved FC42 (valid header: framed, unknown_function)
  adu(6, 1, hex('06 0001 0003')), // tid 6: FC6, never answered
);
// The server→client stream: answers out of order, an exception, an unsolicited response, a mismatch.
const RESPONSES = concat(
  adu(2, 1, hex('01 03 CD6B05')), // tid 2: FC1 response
  adu(1, 1, hex('83 02')), // tid 1: exception Illegal Data Address
  adu(3, 9, hex('10 0001 0002')), // tid 3: FC16 echo
  adu(4, 1, hex('2B 0E 01 01 00 00 01 0003 414243')), // tid 4: one object VendorName "ABC"
  adu(77, 1, hex('03 02 0001')), // tid 77: nobody asked → unsolicited
  adu(5, 1, hex('04 02 0001')), // tid 5: FC4 answers FC42 → function_mismatch
  hex('00 00 00 00 00 01 01 03'), // length 1 → invalid_length
);
const STREAM: Chunk[] = [
  { dir: 0, bytes: REQUESTS },
  { dir: 1, bytes: RESPONSES },
];

function kinds(events: Recorded[]): string[] {
  return events.map((e) => (e.t === 'anomaly' ? `anomaly:${e.kind}` : e.t === 'tx' ? `tx:${e.kind}` : 'pdu'));
}

describe('framing', () => {
  it('decodes the reference stream with the expected callbacks', () => {
    const events = feedWhole(STREAM);
    expect(kinds(events)).toEqual([
      'pdu',
      'pdu',
      'pdu',
      'anomaly:invalid_protocol_id',
      'pdu',
      'pdu',
      'anomaly:unknown_function',
      'pdu',
      'pdu',
      'tx:paired',
      'pdu',
      'tx:paired',
      'pdu',
      'tx:paired',
      'pdu',
      'tx:paired',
      'pdu',
      'anomaly:unsolicited_response',
      'tx:unsolicited',
      'pdu',
      'anomaly:function_mismatch',
      'tx:paired',
      'anomaly:invalid_length',
      'anomaly:request_unanswered',
      'tx:unanswered',
    ]);
    const txs = only(events, 'tx');
    expect(txs.map((t) => t.tid)).toEqual([2, 1, 3, 4, 77, 5, 6]);
    expect(txs[1]).toMatchObject({ isException: true, exceptionCode: 2, exceptionName: 'Illegal Data Address' });
    expect(txs[3]?.response?.objects).toEqual([{ id: 0, name: 'VendorName', value: 'ABC' }]);
    expect(txs[6]).toMatchObject({ kind: 'unanswered', reason: 'flow_end', func: 6, unit: 1 });
  });

  it('at the end of the input, closes open requests within the timeout as capture_end without an anomaly', () => {
    const { parser, events } = newParser();
    const early = adu(1, 1, hex('03 0000 0001'));
    const late = adu(2, 1, hex('03 0000 0001'));
    parser.data(0, early, 0, early.length, 100, 0); // 20 s before the end: past the 15 s timeout
    parser.data(0, late, 0, late.length, 115, 0); // 5 s before the end
    parser.end(120, true);
    expect(only(events, 'tx').map((t) => [t.tid, t.kind, t.reason])).toEqual([
      [1, 'unanswered', 'timeout'],
      [2, 'unanswered', 'capture_end'],
    ]);
    expect(only(events, 'anomaly').map((a) => [a.kind, a.tid])).toEqual([['request_unanswered', 1]]);
  });

  it('a response without a request is an anomaly only once the connection start or a request was seen', () => {
    const response = adu(9, 1, hex('03 02 0001'));
    const request = adu(1, 1, hex('03 0000 0001'));
    const anomaliesFor = (startSeen: boolean, chunks: Chunk[]) => {
      const { parser, events } = newParser();
      parser.connectionStartSeen = startSeen;
      for (const c of chunks) parser.data(c.dir, c.bytes, 0, c.bytes.length, 1, 0);
      expect(only(events, 'tx').filter((t) => t.kind === 'unsolicited')).toHaveLength(1);
      return only(events, 'anomaly').map((a) => a.kind);
    };
    // Mid-stream pick-up: the response's request was sent before the capture began.
    expect(anomaliesFor(false, [{ dir: 1, bytes: response }])).toEqual([]);
    // The handshake was seen, or a request came first: nobody asked for this response.
    expect(anomaliesFor(true, [{ dir: 1, bytes: response }])).toEqual(['unsolicited_response']);
    expect(
      anomaliesFor(false, [
        { dir: 0, bytes: request },
        { dir: 1, bytes: response },
      ]),
    ).toEqual(['unsolicited_response']);
  });

  it('byte-by-byte feeding gives exactly the callbacks of feeding whole', () => {
    const whole = feedWhole(STREAM);
    const bytewise = feedBytewise(STREAM);
    expect(bytewise).toEqual(whole);
    expect(whole.length).toBeGreaterThan(20);
  });

  it('splitting each direction at every offset gives the same callbacks', () => {
    const whole = feedWhole(STREAM);
    for (const which of [0, 1] as const) {
      const bytes = STREAM[which]?.bytes ?? new Uint8Array(0);
      for (let k = 0; k <= bytes.length; k++) {
        const { parser, events } = newParser();
        STREAM.forEach((c, i) => {
          if (i === which) {
            parser.data(c.dir, c.bytes, 0, k, i, 0);
            parser.data(c.dir, c.bytes, k, c.bytes.length - k, i, 0);
          } else {
            parser.data(c.dir, c.bytes, 0, c.bytes.length, i, 0);
          }
        });
        parser.end(STREAM.length);
        expect(events, `dir ${which} split at ${k}`).toEqual(whole);
      }
    }
  });

  it('decodes many ADUs in one chunk in place, carrying nothing', () => {
    const n = 200;
    const reqs: Uint8Array[] = [];
    const resps: Uint8Array[] = [];
    for (let i = 0; i < n; i++) {
      reqs.push(adu(i, 1, [3, 0, i & 0xff, 0, 1]));
      resps.push(adu(i, 1, [3, 2, i >> 8, i & 0xff]));
    }
    const req = concat(...reqs);
    const resp = concat(...resps);
    const seen: Uint8Array[] = [];
    const r = recorder();
    const parser = new ModbusParser(
      {
        pdu: (ctx, p) => {
          seen.push(p.buf);
          r.listener.pdu(ctx, p);
        },
        transaction: r.listener.transaction,
        anomaly: r.listener.anomaly,
      },
      null,
      { maxOpenTransactions: 512 },
    );
    parser.data(0, req, 0, req.length, 0, 0);
    parser.data(1, resp, 0, resp.length, 0, 0);
    expect(parser.carried(0)).toBe(0);
    expect(parser.carried(1)).toBe(0);
    // Zero copy: every PDU view is the caller's own buffer.
    expect(seen.every((b, i) => b === (i < n ? req : resp))).toBe(true);
    const txs = only(r.events, 'tx');
    expect(txs).toHaveLength(n);
    expect(txs.every((t) => t.kind === 'paired')).toBe(true);
    expect(txs[150]?.response?.values).toEqual([150]);
    expect(parser.stats).toMatchObject({ pdus: 2 * n, requests: n, responses: n, paired: n, openTx: 0, anomalies: 0 });
  });

  it('carries a partial ADU across calls in a buffer of at most 260 bytes', () => {
    const { parser, events } = newParser();
    const big = adu(1, 1, concat(hex('41'), new Uint8Array(252))); // user-defined FC65, largest PDU (253 bytes)
    expect(big.length).toBe(260);
    parser.data(0, big, 0, 259, 0, 0);
    expect(parser.carried(0)).toBe(259);
    expect(only(events, 'pdu')).toHaveLength(0);
    parser.data(0, big, 259, 1, 0, 0);
    expect(parser.carried(0)).toBe(0);
    expect(only(events, 'pdu')).toHaveLength(1);
    expect(only(events, 'anomaly')).toHaveLength(0);
  });
});

describe('pairing', () => {
  it('pairs by unit id and transaction id, in any order', () => {
    const { parser, events } = newParser();
    const reqs = concat(adu(1, 1, hex('03 0000 0001')), adu(1, 2, hex('04 0000 0001')));
    const resps = concat(adu(1, 2, hex('04 02 0002')), adu(1, 1, hex('03 02 0001')));
    parser.data(0, reqs, 0, reqs.length, 1, 0);
    parser.data(1, resps, 0, resps.length, 2, 250);
    const txs = only(events, 'tx');
    expect(txs.map((t) => [t.unit, t.func, t.response?.values?.[0]])).toEqual([
      [2, 4, 2],
      [1, 3, 1],
    ]);
    expect(txs[0]).toMatchObject({ requestTsSec: 1, responseTsSec: 2, responseTsNsec: 250, rttNs: 1e9 + 250 });
    expect(parser.stats.openTx).toBe(0);
  });

  it('expire() turns old requests into unanswered transactions, young ones stay open', () => {
    const { parser, events } = newParser({ transactionTimeoutSec: 5 });
    const a = adu(1, 1, hex('03 0000 0001'));
    const b = adu(2, 1, hex('03 0000 0001'));
    parser.data(0, a, 0, a.length, 100, 0);
    parser.data(0, b, 0, b.length, 104, 0);
    parser.expire(103);
    expect(only(events, 'tx')).toHaveLength(0);
    parser.expire(106);
    const txs = only(events, 'tx');
    expect(txs.map((t) => [t.tid, t.kind, t.reason])).toEqual([[1, 'unanswered', 'timeout']]);
    const an = only(events, 'anomaly');
    expect(an.map((x) => [x.kind, x.tid, x.tsSec])).toEqual([['request_unanswered', 1, 106]]);
    expect(parser.stats).toMatchObject({ openTx: 1, unanswered: 1 });
  });

  it('a new request with the same key supersedes the open one', () => {
    const { parser, events } = newParser();
    const a = concat(adu(1, 1, hex('03 0000 0001')), adu(1, 1, hex('06 0000 0001')));
    parser.data(0, a, 0, a.length, 0, 0);
    const tx = only(events, 'tx')[0];
    expect(tx).toMatchObject({ kind: 'unanswered', reason: 'superseded', func: 3 });
    expect(parser.stats).toMatchObject({ superseded: 1, openTx: 1 });
  });

  it('pairs the same way with few or many requests open (list walk, then hash table, then list again)', () => {
    const { parser, events } = newParser();
    // Three rounds: 3 open (list), 40 open (table), 2 open (list again after draining); answered newest first.
    let tid = 0;
    for (const n of [3, 40, 2]) {
      const tids = Array.from({ length: n }, () => tid++);
      const reqs = concat(...tids.map((t) => adu(t, t % 3, hex('03 0000 0001'))));
      parser.data(0, reqs, 0, reqs.length, 1, 0);
      expect(parser.stats.openTx).toBe(n);
      // A duplicate key while open supersedes, in both modes.
      const dup = adu(tids[0] ?? 0, (tids[0] ?? 0) % 3, hex('06 0000 0001'));
      parser.data(0, dup, 0, dup.length, 1, 0);
      const resps = concat(
        ...[...tids].reverse().map((t) => adu(t, t % 3, hex(t === tids[0] ? '06 0000 0001' : '03 02 0007'))),
      );
      parser.data(1, resps, 0, resps.length, 2, 0);
      expect(parser.stats.openTx).toBe(0);
    }
    const txs = only(events, 'tx');
    expect(txs.filter((t) => t.kind === 'paired')).toHaveLength(45);
    expect(txs.filter((t) => t.reason === 'superseded')).toHaveLength(3);
    expect(txs.filter((t) => t.kind === 'unsolicited')).toHaveLength(0);
    expect(only(events, 'anomaly').filter((a) => a.kind === 'function_mismatch')).toHaveLength(0);
    // Each pair matched its own request: the superseding FC6 requests (first tid of each round) paired with FC6.
    expect(txs.filter((t) => t.reason === 'superseded').map((t) => t.func)).toEqual([3, 3, 3]);
    expect(txs.filter((t) => t.kind === 'paired' && [0, 3, 43].includes(t.tid)).map((t) => t.func)).toEqual([6, 6, 6]);
  });

  it('caps open transactions: evicts the oldest, one anomaly per burst', () => {
    const { parser, events } = newParser({ maxOpenTransactions: 4 });
    const reqs: Uint8Array[] = [];
    for (let i = 0; i < 10; i++) reqs.push(adu(i, 1, hex('03 0000 0001')));
    const a = concat(...reqs);
    parser.data(0, a, 0, a.length, 0, 0);
    expect(parser.stats.openTx).toBe(4);
    expect(parser.stats.maxOpenTx).toBe(4);
    expect(parser.stats.evicted).toBe(6);
    const txs = only(events, 'tx');
    expect(txs.map((t) => [t.tid, t.reason])).toEqual([
      [0, 'evicted'],
      [1, 'evicted'],
      [2, 'evicted'],
      [3, 'evicted'],
      [4, 'evicted'],
      [5, 'evicted'],
    ]);
    const an = only(events, 'anomaly');
    expect(an.map((x) => [x.kind, x.value])).toEqual([['too_many_open_transactions', 4]]);
    // The evicted requests' late responses are now unsolicited; tid 9 still pairs.
    const b = concat(adu(0, 1, hex('03 02 0000')), adu(9, 1, hex('03 02 0000')));
    parser.data(1, b, 0, b.length, 1, 0);
    expect(
      only(events, 'tx')
        .slice(6)
        .map((t) => t.kind),
    ).toEqual(['unsolicited', 'paired']);
    // Drain below half the cap, then overflow again: a second burst, a second anomaly.
    parser.expire(1e9);
    const c = concat(...reqs.slice(0, 6));
    parser.data(0, c, 0, c.length, 1e9, 0);
    expect(only(events, 'anomaly').filter((x) => x.kind === 'too_many_open_transactions')).toHaveLength(2);
  });
});

describe('anomalies', () => {
  it('invalid_length for 1, 255 and large lengths; invalid_protocol_id', () => {
    for (const [bytes, kind, value] of [
      ['0001 0000 0001 01 03', 'invalid_length', 1],
      ['0001 0000 00FF 01 03', 'invalid_length', 255],
      ['0001 0000 FFFF 01 03', 'invalid_length', 65535],
      ['0001 0001 0006 01 03', 'invalid_protocol_id', 1],
    ] as const) {
      const { parser, events } = newParser();
      const b = hex(bytes);
      parser.data(0, b, 0, b.length, 0, 0);
      const an = only(events, 'anomaly');
      expect(an).toHaveLength(1);
      expect(an[0]).toMatchObject({ kind, value, dir: 0, tid: 1, unit: 1 });
      expect(an[0]?.detail.length).toBeGreaterThan(10);
      expect(only(events, 'pdu')).toHaveLength(0);
    }
  });

  it('malformed_pdu when the byte count disagrees with the length', () => {
    const { parser, events } = newParser();
    // FC16: quantity 2 but byte count 2 (should be 4) and 2 value bytes
    const a = adu(1, 1, hex('10 0001 0002 02 000A'));
    parser.data(0, a, 0, a.length, 0, 0);
    const an = only(events, 'anomaly');
    expect(an.map((x) => [x.kind, x.detail, x.func])).toEqual([
      ['malformed_pdu', 'byte count disagrees with quantity', 16],
    ]);
    expect(parser.stats.malformed).toBe(1);
  });

  it('unknown_function for reserved, unassigned, zero codes and exception-bit requests', () => {
    const { parser, events } = newParser();
    const a = concat(adu(1, 1, [9]), adu(2, 1, [50]), adu(3, 1, [0]), adu(4, 1, [0x83, 0, 0, 0, 1]));
    parser.data(0, a, 0, a.length, 0, 0);
    const an = only(events, 'anomaly');
    expect(an.map((x) => [x.kind, x.value])).toEqual([
      ['unknown_function', 9],
      ['unknown_function', 50],
      ['unknown_function', 0],
      ['unknown_function', 0x83],
    ]);
    expect(only(events, 'pdu').map((p) => p.category)).toEqual(['reserved', 'unknown', 'invalid', 'invalid']);
  });
});

describe('gaps and garbage', () => {
  it('after a gap inside an ADU, skips its known remainder and frames the next one', () => {
    const { parser, events } = newParser();
    const first = adu(1, 1, hex('10 0001 0002 04 000A 0102'));
    const second = adu(2, 1, hex('03 0000 0001'));
    parser.data(0, first, 0, 9, 0, 0);
    parser.gap(0, 4); // bytes 9..12 of `first` were lost
    const rest = concat(first.subarray(13), second);
    parser.data(0, rest, 0, rest.length, 1, 0);
    expect(only(events, 'pdu').map((p) => p.tid)).toEqual([2]);
    expect(only(events, 'anomaly')).toEqual([]);
    expect(parser.stats).toMatchObject({ gaps: 1, gapBytes: 4, resyncs: 1, skippedBytes: 9 + first.length - 13 });
  });

  it('after a gap past the end of the cut ADU, scans strictly for the next plausible header', () => {
    const { parser, events } = newParser();
    const first = adu(1, 1, hex('10 0001 0002 04 000A 0102'));
    const second = adu(2, 1, hex('03 0000 0001'));
    parser.data(0, first, 0, 9, 0, 0);
    parser.gap(0, 100); // more than the 8 bytes left of `first`: where the next ADU starts is unknown
    // Tail of some lost ADU whose bytes include a header look-alike with a bad function code (0x00).
    const rest = concat(hex('0102 0000 0004 01 00 11 22 33'), second);
    parser.data(0, rest, 0, rest.length, 1, 0);
    expect(only(events, 'pdu').map((p) => p.tid)).toEqual([2]);
    expect(only(events, 'anomaly')).toEqual([]);
    expect(parser.stats).toMatchObject({ skippedBytes: 9 + 11, resyncs: 1, desyncs: 1 });
  });

  it('after a gap between ADUs, trusts the header at the boundary even with an unusual function code', () => {
    const { parser, events } = newParser();
    const a = adu(1, 1, hex('03 0000 0001'));
    const b = concat(adu(2, 1, hex('2A 0000')), adu(3, 1, hex('03 0000 0001'))); // reserved FC42, then FC3
    parser.data(0, a, 0, a.length, 0, 0);
    parser.gap(0, 12); // one whole ADU lost
    parser.data(0, b, 0, b.length, 1, 0);
    expect(only(events, 'pdu').map((p) => [p.tid, p.func])).toEqual([
      [1, 3],
      [2, 42],
      [3, 3],
    ]);
    expect(only(events, 'anomaly').map((x) => x.kind)).toEqual(['unknown_function']);
    expect(parser.stats.skippedBytes).toBe(0);
  });

  it('non-Modbus bytes give no PDUs, count anomalies, and never throw', () => {
    const { parser, events } = newParser();
    const http = new TextEncoder().encode('GET / HTTP/1.1\r\nHost: 160.97.70.34\r\nAccept: */*\r\n\r\n');
    const tls = hex('1603010085010000810303736ff818542129f78f492d9b1557dafcc7926f075fa314dc76a4');
    parser.data(0, http, 0, http.length, 0, 0);
    parser.gap(0, 0);
    parser.data(0, tls, 0, tls.length, 0, 0);
    parser.end(1);
    expect(only(events, 'pdu')).toHaveLength(0);
    expect(only(events, 'anomaly').map((a) => a.kind)).toEqual(['invalid_protocol_id']);
    expect(parser.stats.skippedBytes).toBe(http.length + tls.length);
  });

  it('ignores out-of-range views', () => {
    const { parser, events } = newParser();
    const a = adu(1, 1, hex('03 0000 0001'));
    parser.data(0, a, 5, 1000, 0, 0);
    parser.data(0, a, -3, 0, 0, 0);
    parser.data(0, a, 100, 5, 0, 0);
    expect(parser.stats.bytes).toBe(a.length - 5);
    expect(events).toEqual([]);
  });
});

describe('reuse', () => {
  it('a parser reused after end() reports exactly what a fresh one does', () => {
    const fresh = feedWhole(STREAM);
    const { parser, events } = newParser();
    // First life: the reference stream cut mid-ADU and left with open requests, so end() has state to clear.
    parser.data(0, REQUESTS, 0, REQUESTS.length - 3, 0, 0);
    parser.data(1, RESPONSES, 0, 5, 0, 0);
    parser.end(1);
    parser.reuse();
    expect(parser.stats.pdus).toBe(0);
    expect(parser.stats.openTx).toBe(0);
    expect(parser.carried(0) + parser.carried(1)).toBe(0);
    events.length = 0;
    STREAM.forEach((c, i) => {
      parser.data(c.dir, c.bytes, 0, c.bytes.length, i, 0);
    });
    parser.end(STREAM.length);
    expect(events).toEqual(fresh);
    expect(parser.stats.pdus).toBe(only(fresh, 'pdu').length);
  });
});
