import { describe, expect, it } from 'vitest';
import { ByteBudget } from '../core/byte-budget.ts';
import { SECURITY_POLICY_NONE } from './constants.ts';
import { encodingId } from './names.ts';
import { ack, concat, feed, hello, msg, newParser, only, opn, type Piece, uacp, W } from './test-support.ts';
import { SECURITY_NONE, SECURITY_SECURED } from './types.ts';

const READ_REQ = encodingId('ReadRequest');
const READ_RESP = encodingId('ReadResponse');
const OPN_REQ = encodingId('OpenSecureChannelRequest');
const OPN_RESP = encodingId('OpenSecureChannelResponse');
const CLO_REQ = encodingId('CloseSecureChannelRequest');

const readRequest = (handle: number) =>
  new W()
    .nodeId(READ_REQ)
    .requestHeader(handle)
    .f64(0)
    .u32(0)
    .u32(1)
    .nodeId(2258)
    .u32(13)
    .str(null)
    .u16(0)
    .str(null)
    .done();
const readResponse = (handle: number) =>
  new W().nodeId(READ_RESP).responseHeader(handle).u32(1).u8(0x01).u8(6).u32(42).u32(0xffffffff).done();
const opnRequest = new W().nodeId(OPN_REQ).requestHeader().u32(0).u32(0).u32(1).bytes_(null).u32(600000).done();
const opnResponse = new W()
  .nodeId(OPN_RESP)
  .responseHeader()
  .u32(0)
  .u32(7)
  .u32(1)
  .i64(0)
  .u32(600000)
  .bytes_(null)
  .done();

function session(): Piece[] {
  return [
    { dir: 0, bytes: hello('opc.tcp://plc:4840') },
    { dir: 1, bytes: ack() },
    { dir: 0, bytes: opn(SECURITY_POLICY_NONE, 1, 1, opnRequest) },
    { dir: 1, bytes: opn(SECURITY_POLICY_NONE, 1, 1, opnResponse) },
    // Two requests in one segment, then their responses in one segment.
    { dir: 0, bytes: concat(msg(2, 2, readRequest(2)), msg(3, 3, readRequest(3))) },
    { dir: 1, bytes: concat(msg(2, 2, readResponse(2)), msg(3, 3, readResponse(3))) },
    { dir: 0, bytes: msg(4, 4, new W().nodeId(CLO_REQ).requestHeader().done(), 'F', 'CLO') },
  ];
}

describe('OpcuaParser framing', () => {
  it('frames a whole session: types, services, pairing by requestId', () => {
    const events = feed(session(), Number.POSITIVE_INFINITY, { decode: false });
    const chunks = only(events, 'chunk');
    expect(chunks.map((c) => c.typeName)).toEqual(['HEL', 'ACK', 'OPN', 'OPN', 'MSG', 'MSG', 'MSG', 'MSG', 'CLO']);
    expect(chunks.map((c) => c.serviceId)).toEqual([
      -1,
      -1,
      OPN_REQ,
      OPN_RESP,
      READ_REQ,
      READ_REQ,
      READ_RESP,
      READ_RESP,
      CLO_REQ,
    ]);
    expect(chunks.every((c) => c.complete && !c.encrypted)).toBe(true);
    expect(chunks[3]?.security).toBe(SECURITY_NONE);
    const txs = only(events, 'tx');
    expect(txs.map((t) => [t.kind, t.requestId, t.requestServiceName, t.responseServiceName, t.serviceResult])).toEqual(
      [
        ['paired', 1, 'OpenSecureChannelRequest', 'OpenSecureChannelResponse', 0],
        ['paired', 2, 'ReadRequest', 'ReadResponse', 0],
        ['paired', 3, 'ReadRequest', 'ReadResponse', 0],
      ],
    );
    expect(only(events, 'anomaly')).toEqual([]);
  });

  it('gives identical callbacks whole, byte by byte, and split at every offset', () => {
    const pieces = session();
    const whole = feed(pieces);
    expect(feed(pieces, 1)).toEqual(whole);
    const stream = pieces.map((p) => p.bytes);
    for (let i = 0; i < stream.length; i++) {
      const b = stream[i] as Uint8Array;
      for (let cut = 1; cut < b.length; cut++) {
        const { parser, events } = newParser();
        pieces.forEach((p, j) => {
          if (j === i) {
            parser.data(p.dir, p.bytes, 0, cut, j, 0);
            parser.data(p.dir, p.bytes, cut, p.bytes.length - cut, j, 0);
          } else parser.data(p.dir, p.bytes, 0, p.bytes.length, j, 0);
        });
        parser.end(pieces.length);
        expect(events).toEqual(whole);
      }
    }
  });

  it('reassembles a multi-chunk message and names its service once, on the final chunk', () => {
    const body = readRequest(9);
    const parts = [body.subarray(0, 10), body.subarray(10, 30), body.subarray(30)];
    const stream = concat(
      msg(5, 9, parts[0] as Uint8Array, 'C'),
      msg(6, 9, parts[1] as Uint8Array, 'C'),
      msg(7, 9, parts[2] as Uint8Array, 'F'),
    );
    for (const step of [Number.POSITIVE_INFINITY, 1, 7]) {
      const events = feed(
        [
          { dir: 0, bytes: stream },
          { dir: 1, bytes: msg(8, 9, readResponse(9)) },
        ],
        step,
      );
      const chunks = only(events, 'chunk');
      expect(chunks.map((c) => [c.chunkType, c.complete, c.serviceId, c.chunkCount])).toEqual([
        [0x43, false, -1, 1],
        [0x43, false, -1, 2],
        [0x46, true, READ_REQ, 3],
        [0x46, true, READ_RESP, 1],
      ]);
      const tx = only(events, 'tx')[0];
      expect(tx?.kind).toBe('paired');
      expect(tx?.request?.nodesToRead).toEqual([{ nodeId: 'i=2258', attributeId: 13, attributeName: 'Value' }]);
    }
  });

  it('drops a message on an abort chunk and reports it', () => {
    const abortBody = new W().u32(0x80010000).str('cancelled').done();
    const events = feed([
      { dir: 0, bytes: concat(msg(1, 4, readRequest(4).subarray(0, 12), 'C'), msg(2, 4, abortBody, 'A')) },
    ]);
    const chunks = only(events, 'chunk');
    expect(chunks.map((c) => [c.chunkType, c.aborted, c.serviceId])).toEqual([
      [0x43, false, -1],
      [0x41, true, -1],
    ]);
    expect(only(events, 'anomaly').map((a) => [a.kind, a.value])).toEqual([['message_aborted', 0x80010000]]);
    expect(only(events, 'tx')).toEqual([]);
  });

  it('caps reassembly by size and chunk count', () => {
    const part = new Uint8Array(100);
    const chunks = [msg(1, 1, concat(new W().nodeId(READ_REQ).done(), part), 'C')];
    for (let i = 0; i < 5; i++) chunks.push(msg(2 + i, 1, part, 'C'));
    chunks.push(msg(9, 1, part, 'F'));
    const { parser, events } = newParser({ maxChunkCount: 3 });
    for (const c of chunks) parser.data(0, c, 0, c.length, 0, 0);
    expect(only(events, 'anomaly').map((a) => a.kind)).toEqual(['too_many_chunks']);
    expect(only(events, 'chunk').at(-1)?.serviceId).toBe(-1);
    expect(parser.stats.reassemblyDropped).toBe(1);
    const bySize = newParser({ maxMessageSize: 250 });
    for (const c of chunks) bySize.parser.data(0, c, 0, c.length, 0, 0);
    expect(only(bySize.events, 'anomaly').map((a) => a.kind)).toEqual(['message_too_large']);
    expect(bySize.parser.bufferedBytes()).toBeLessThanOrEqual(250 + 2 * 1024);
  });

  it('marks bodies on a secured channel as encrypted and never guesses a service', () => {
    const policy = 'http://opcfoundation.org/UA/SecurityPolicy#Basic256Sha256';
    const garbage = Uint8Array.from({ length: 80 }, (_, i) => (i * 37 + 11) & 0xff);
    const events = feed([
      { dir: 0, bytes: opn(policy, 0, 0, garbage, Uint8Array.of(1, 2, 3)) },
      { dir: 1, bytes: opn(policy, 0, 0, garbage) },
      { dir: 0, bytes: msg(0, 0, garbage) },
    ]);
    const chunks = only(events, 'chunk');
    expect(chunks.map((c) => [c.typeName, c.encrypted, c.serviceId, c.requestId, c.security])).toEqual([
      ['OPN', true, -1, -1, SECURITY_SECURED],
      ['OPN', true, -1, -1, SECURITY_SECURED],
      ['MSG', true, -1, -1, SECURITY_SECURED],
    ]);
    expect(only(events, 'tx')).toEqual([]);
  });

  it('picks up mid-stream: after a gap, skips to the next plausible chunk header', () => {
    const first = msg(2, 2, readRequest(2));
    const second = msg(3, 3, readRequest(3));
    const { parser, events } = newParser();
    parser.gap(0, 0); // capture starts in the middle of a chunk
    const stream = concat(first.subarray(17), second);
    parser.data(0, stream, 0, stream.length, 0, 0);
    const chunks = only(events, 'chunk');
    expect(chunks.map((c) => [c.serviceId, c.requestId])).toEqual([[READ_REQ, 3]]);
    expect(parser.stats.resyncs).toBe(1);
    expect(only(events, 'anomaly')).toEqual([]);
  });

  it('mid-stream (no OPN seen) counts only bodies that start with a standard service id', () => {
    const events = feed([
      { dir: 0, bytes: msg(1, 1, readRequest(1)) },
      { dir: 0, bytes: msg(2, 2, Uint8Array.of(0x01, 0x00, 0x34, 0x12, 9, 9, 9, 9)) },
    ]);
    expect(only(events, 'chunk').map((c) => [c.serviceId, c.encrypted])).toEqual([
      [READ_REQ, false],
      [-1, true],
    ]);
  });

  it('jumps over the rest of a chunk cut by a gap', () => {
    const big = msg(2, 2, readRequest(2));
    const next = msg(3, 3, readRequest(3));
    const { parser, events } = newParser();
    parser.data(0, big, 0, 20, 0, 0);
    parser.gap(0, 10);
    parser.data(0, concat(big.subarray(30), next), 0, big.length - 30 + next.length, 0, 0);
    expect(only(events, 'chunk').map((c) => c.requestId)).toEqual([3]);
  });

  it('reports an invalid header once and resynchronises', () => {
    const junk = Uint8Array.from({ length: 40 }, (_, i) => 0x20 + i);
    const events = feed([{ dir: 0, bytes: concat(hello('opc.tcp://x:4840'), junk, msg(1, 1, readRequest(1))) }]);
    expect(only(events, 'anomaly').map((a) => a.kind)).toEqual(['invalid_header', 'request_unanswered']);
    expect(only(events, 'chunk').map((c) => c.typeName)).toEqual(['HEL', 'MSG']);
  });

  it('flags undersized Hello buffers and chunks over the negotiated receive buffer', () => {
    const big = msg(1, 1, concat(readRequest(1), new Uint8Array(9000)));
    const events = feed([
      { dir: 0, bytes: hello('opc.tcp://x:4840', 1024, 65536) },
      { dir: 1, bytes: ack(8192, 8192) },
      { dir: 0, bytes: big },
    ]);
    expect(only(events, 'anomaly').map((a) => [a.kind, a.value])).toEqual([
      ['invalid_buffer_size', 1024],
      ['chunk_exceeds_buffer', big.length],
      ['request_unanswered', -1],
    ]);
  });

  it('counts an over-cap chunk from its header and skips its body', () => {
    const big = msg(1, 1, concat(readRequest(1), new Uint8Array(5000)));
    const next = msg(2, 2, readRequest(2));
    const stream = concat(big, next);
    for (const step of [Number.POSITIVE_INFINITY, 1000, 1]) {
      const { parser, events } = newParser({ maxBufferedChunk: 1024 });
      for (let o = 0; o < stream.length; o += Math.min(step, stream.length)) {
        parser.data(0, stream, o, Math.min(step, stream.length - o), 0, 0);
      }
      const chunks = only(events, 'chunk');
      // Whole in one call the big chunk is framed in place; split, it is kept header-only.
      expect(chunks.map((c) => c.requestId)).toEqual([1, 2]);
      expect(parser.carried(0)).toBe(0);
      expect(parser.bufferedBytes()).toBeLessThanOrEqual(2 * 1024 + 16);
    }
  });

  it('a shared budget that cannot hold a chunk keeps it header-only, without a protocol anomaly', () => {
    const big = msg(1, 1, concat(readRequest(1), new Uint8Array(5000)));
    const next = msg(2, 2, readRequest(2));
    const stream = concat(big, next);
    const budget = new ByteBudget(4096);
    const { parser, events } = newParser({ budget, decode: false });
    for (let o = 0; o < stream.length; o += 1000) parser.data(0, stream, o, Math.min(1000, stream.length - o), 0, 0);
    // 5 kB does not fit in 4 kB: the big chunk is framed from its header and skipped; the next one decodes.
    const chunks = only(events, 'chunk');
    expect(chunks.map((c) => [c.requestId, c.headerOnly])).toEqual([
      [1, true],
      [2, false],
    ]);
    expect(only(events, 'anomaly')).toEqual([]);
    expect(budget.refused).toBe(1);
    expect(budget.peak).toBeLessThanOrEqual(4096);
    parser.end(1);
    expect(budget.used).toBe(0);
  });

  it('with room in the budget nothing changes, and the flow gives it all back at its end', () => {
    const big = msg(1, 1, concat(readRequest(1), new Uint8Array(5000)));
    const budget = new ByteBudget(1 << 20);
    const { parser, events } = newParser({ budget, decode: false });
    for (let o = 0; o < big.length; o += 700) parser.data(0, big, o, Math.min(700, big.length - o), 0, 0);
    expect(only(events, 'chunk').map((c) => c.headerOnly)).toEqual([false]);
    expect(budget.used).toBeGreaterThanOrEqual(big.length);
    expect(budget.refused).toBe(0);
    parser.end(1);
    expect(budget.used).toBe(0);
    expect(parser.bufferedBytes()).toBe(0);
  });

  it('a multi-chunk message that does not fit the budget is dropped, the next one is reassembled', () => {
    const part = (chunk: string, body: Uint8Array) => msg(1, 9, body, chunk);
    const first = concat(readRequest(9)).subarray(0, 20);
    const rest = concat(readRequest(9)).subarray(20);
    const filler = new Uint8Array(3000);
    const budget = new ByteBudget(2048);
    const events = feed(
      [
        { dir: 0, bytes: part('C', concat(first, filler)) },
        { dir: 0, bytes: part('F', rest) },
        { dir: 0, bytes: msg(2, 10, readRequest(10)) },
      ],
      Number.POSITIVE_INFINITY,
      { budget, decode: false },
    );
    expect(budget.refused).toBeGreaterThan(0);
    // The dropped message is not paired; the later one is, and the budget is back to zero after the flow.
    expect(only(events, 'tx').map((t) => [t.requestId, t.kind])).toEqual([[10, 'unanswered']]);
    expect(budget.used).toBe(0);
  });

  it('unanswered requests at flow end and unsolicited responses', () => {
    const events = feed([
      { dir: 0, bytes: hello('opc.tcp://x:4840') },
      { dir: 0, bytes: msg(1, 1, readRequest(1)) },
      { dir: 1, bytes: msg(2, 77, readResponse(1)) },
    ]);
    expect(only(events, 'tx').map((t) => [t.kind, t.reason, t.requestId])).toEqual([
      ['unsolicited', 'unsolicited', 77],
      ['unanswered', 'flow_end', 1],
    ]);
    expect(only(events, 'anomaly').map((a) => a.kind)).toEqual(['unsolicited_response', 'request_unanswered']);
  });

  it('at the end of the input, closes open requests within the timeout as capture_end without an anomaly', () => {
    const { parser, events } = newParser();
    const pieces: [Uint8Array, number][] = [
      [hello('opc.tcp://x:4840'), 0],
      [msg(1, 1, readRequest(1)), 0], // 70 s before the end: past the 60 s timeout
      [msg(2, 2, readRequest(2)), 60], // 10 s before the end
    ];
    for (const [bytes, ts] of pieces) parser.data(0, bytes, 0, bytes.length, ts, 0);
    parser.end(70, true);
    expect(only(events, 'tx').map((t) => [t.requestId, t.kind, t.reason])).toEqual([
      [1, 'unanswered', 'timeout'],
      [2, 'unanswered', 'capture_end'],
    ]);
    expect(only(events, 'anomaly').map((a) => a.kind)).toEqual(['request_unanswered']);
  });

  it('caps open requests, evicting the oldest', () => {
    const { parser, events } = newParser({ maxOpenRequests: 4, decode: false });
    for (let id = 1; id <= 10; id++) {
      const m = msg(id, id, readRequest(id));
      parser.data(0, m, 0, m.length, 0, 0);
    }
    expect(parser.stats.openRequests).toBe(4);
    expect(parser.stats.evicted).toBe(6);
    expect(only(events, 'anomaly').map((a) => a.kind)).toEqual(['too_many_open_requests']);
  });

  it('rejects an ERR with an abort chunk type as framing', () => {
    const bad = uacp('ERR', 'A', new W().u32(0x80020000).str('x').done());
    const events = feed([{ dir: 1, bytes: bad }]);
    expect(only(events, 'chunk')).toEqual([]);
    expect(only(events, 'anomaly').map((a) => a.kind)).toEqual(['invalid_header']);
  });
});
