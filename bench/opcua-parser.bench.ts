/**
 * OPC UA parser throughput (counting mode, as the pipeline runs it without an event sink): a synthetic session of
 * 200,000 Read request/response pairs, fed in 1460-byte segments through OpcuaFlowApp, so framing, header
 * decoding, service naming, pairing and counting are measured without capture I/O.
 * Run: npm run bench:opcua-parser  (the capture-driven figures are `npm run bench`)
 */
import { encodingId } from '../protocols/opcua/names.ts';
import { concat, msg, W } from '../protocols/opcua/test-support.ts';
import { OpcuaCounters, OpcuaFlowApp } from '../sensor/apps/opcua-app.ts';
import type { Flow } from '../sensor/flow/flow.ts';

const READ_REQ = encodingId('ReadRequest');
const READ_RESP = encodingId('ReadResponse');
const PAIRS = 200_000;

function stream(dir: 0 | 1): Uint8Array {
  const parts: Uint8Array[] = [];
  for (let i = 1; i <= 1000; i++) {
    parts.push(
      dir === 0
        ? msg(
            i,
            i,
            new W()
              .nodeId(READ_REQ)
              .requestHeader(i)
              .f64(0)
              .u32(0)
              .u32(1)
              .nodeId(2258)
              .u32(13)
              .str(null)
              .u16(0)
              .str(null)
              .done(),
          )
        : msg(i, i, new W().nodeId(READ_RESP).responseHeader(i).u32(1).u8(1).u8(11).f64(i).u32(0).done()),
    );
  }
  return concat(...parts);
}

const req = stream(0);
const resp = stream(1);
const flow = { srcIp: () => '10.0.0.1', dstIp: () => '10.0.0.2' } as unknown as Flow;
const counters = new OpcuaCounters();
const app = new OpcuaFlowApp(flow, { counters, events: null }, { requestTimeoutSec: 1e9 });
const SEG = 1460;
const rounds = PAIRS / 1000;
const t0 = process.hrtime.bigint();
let bytes = 0;
for (let r = 0; r < rounds; r++) {
  // Request ids repeat per round; each round's responses close the round's requests first.
  for (let o = 0; o < req.length; o += SEG) app.data(0, req, o, Math.min(SEG, req.length - o), r, o);
  for (let o = 0; o < resp.length; o += SEG) app.data(1, resp, o, Math.min(SEG, resp.length - o), r, o + 1);
  bytes += req.length + resp.length;
}
const sec = Number(process.hrtime.bigint() - t0) / 1e9;
const messages = counters.messages;
// Correctness inside the run: every message fed is counted and every request paired with its response.
if (messages !== 2 * PAIRS || counters.transactions !== PAIRS) {
  throw new Error(`counted ${messages} messages / ${counters.transactions} transactions, fed ${2 * PAIRS} / ${PAIRS}`);
}
console.log(
  JSON.stringify({
    messages,
    transactions: counters.transactions,
    seconds: Number(sec.toFixed(3)),
    messagesPerSec: Math.round(messages / sec),
    mbPerSec: Number((bytes / 1e6 / sec).toFixed(1)),
    rssMB: Math.round(process.memoryUsage().rss / 1e6),
  }),
);
