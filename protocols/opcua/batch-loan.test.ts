/**
 * Lazy bodies with a lent batch buffer (core/batch-loan.ts): a request body kept by reference must decode the same as
 * a copied one, also when its batch ended and the buffer was reused before the response came.
 */
import { describe, expect, it } from 'vitest';
import { BatchLoan } from '../core/batch-loan.ts';
import { encodingId } from './names.ts';
import { OpcuaParser } from './parser.ts';
import { concat, msg, W } from './test-support.ts';
import type { OpcuaParserOptions } from './types.ts';

const READ_REQUEST = encodingId('ReadRequest');
const READ_RESPONSE = encodingId('ReadResponse');

function readRequest(requestId: number, nodes: number[]): Uint8Array {
  const w = new W().nodeId(READ_REQUEST).requestHeader(requestId).f64(0).u32(2).u32(nodes.length);
  for (const n of nodes) w.nodeId(n, 2).u32(13).str(null).u16(0).str(null);
  return msg(requestId, requestId, w.done());
}

function readResponse(requestId: number): Uint8Array {
  return msg(requestId, requestId, new W().nodeId(READ_RESPONSE).responseHeader(requestId).u32(0).u32(0).done());
}

/** Each transaction's decoded request, read (as a rule would) inside the callback. */
function parser(options: OpcuaParserOptions) {
  const requests: string[] = [];
  const p = new OpcuaParser<null>(
    {
      chunk() {},
      anomaly() {},
      transaction(_c, tx) {
        requests.push(JSON.stringify([tx.requestId, tx.request]));
      },
    },
    null,
    { lazyBodies: true, ...options },
  );
  return { p, requests };
}

describe('OPC UA request bodies borrowed from the batch buffer', () => {
  const REQ = [readRequest(1, [1001, 1002, 1003]), readRequest(2, [2001]), readRequest(3, [3001, 3002])];

  /** Reference: every body copied at once (no loan). */
  function expected(): string[] {
    const { p, requests } = parser({});
    for (const r of REQ) p.data(0, r, 0, r.length, 1, 0);
    for (const id of [1, 2, 3]) {
      const r = readResponse(id);
      p.data(1, r, 0, r.length, 2, 0);
    }
    return requests;
  }

  it('a body still open when its batch ends is copied before the buffer is reused', () => {
    const loan = new BatchLoan();
    const { p, requests } = parser({ loan });
    const batch = concat(...REQ);
    loan.begin(batch);
    p.data(0, batch, 0, batch.length, 1, 0);
    // Request 1 is answered in the same batch, 2 and 3 are not.
    const first = readResponse(1);
    const inBatch = concat(batch, first);
    loan.end();
    loan.begin(inBatch);
    p.data(1, inBatch, batch.length, first.length, 1, 0);
    loan.end();
    // The source reuses its buffers: the bytes the requests came in are gone.
    batch.fill(0xee);
    inBatch.fill(0xee);
    const next = concat(readResponse(2), readResponse(3));
    loan.begin(next);
    p.data(1, next, 0, next.length, 2, 0);
    loan.end();
    expect(loan.returns).toBe(1);
    expect(requests).toEqual(expected());
    expect(requests[0]).toContain('1003');
  });

  it('a body answered within its batch decodes from the lent buffer', () => {
    const loan = new BatchLoan();
    const { p, requests } = parser({ loan });
    const all = concat(...REQ, readResponse(1), readResponse(2), readResponse(3));
    loan.begin(all);
    p.data(
      0,
      all,
      0,
      REQ.reduce((n, r) => n + r.length, 0),
      1,
      0,
    );
    const off = REQ.reduce((n, r) => n + r.length, 0);
    p.data(1, all, off, all.length - off, 1, 0);
    loan.end();
    expect(requests).toEqual(expected());
  });

  it('bytes outside the lent buffer are copied at once', () => {
    const loan = new BatchLoan();
    const { p, requests } = parser({ loan });
    loan.begin(new Uint8Array(16));
    const own = concat(...REQ);
    p.data(0, own, 0, own.length, 1, 0);
    own.fill(0xee);
    loan.end();
    for (const id of [1, 2, 3]) {
      const r = readResponse(id);
      p.data(1, r, 0, r.length, 2, 0);
    }
    expect(loan.returns).toBe(0);
    expect(requests).toEqual(expected());
  });
});
