/**
 * Writes tests/peers/NAME.expected.json from NAME.clientlog.jsonl (what the client itself says it sent and got back),
 * then reads NAME.pcap with tshark and records whether tshark's counts agree. Exits 1 if they do not.
 * Expected counts never come from our own decoder; tshark is only the cross-check.
 *
 * Usage: node tests/peers/build-expected.mjs NAME PORT "client description"
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const [name, portArg, clientDesc] = process.argv.slice(2);
if (name === undefined || portArg === undefined) {
  console.error('usage: build-expected.mjs NAME PORT [CLIENT]');
  process.exit(2);
}
const port = Number(portArg);
const here = dirname(fileURLToPath(import.meta.url));
const pcap = join(here, `${name}.pcap`);
const log = readFileSync(join(here, `${name}.clientlog.jsonl`), 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '')
  .map((l) => JSON.parse(l));

const inc = (obj, key) => {
  obj[key] = (obj[key] ?? 0) + 1;
};
const sortKeys = (obj) => Object.fromEntries(Object.entries(obj).sort(([a], [b]) => Number(a) - Number(b)));

function countsFromLog(entries) {
  const c = {
    requests: 0,
    responses: 0,
    requests_by_fc: {},
    responses_by_fc: {},
    exceptions_by_fc: {},
    exceptions_by_code: {},
    requests_by_unit: {},
  };
  for (const e of entries) {
    c.requests++;
    inc(c.requests_by_fc, e.fc);
    inc(c.requests_by_unit, e.unit);
    if (e.response_fc === null || e.response_fc === undefined) continue;
    c.responses++;
    if (e.response_fc >= 0x80) {
      inc(c.exceptions_by_fc, e.response_fc & 0x7f);
      inc(c.exceptions_by_code, e.exception_code);
    } else {
      inc(c.responses_by_fc, e.response_fc);
    }
  }
  return c;
}

/** The same counts as tshark sees them: direction by TCP port, one row per Modbus PDU. */
function countsFromTshark() {
  const args = ['-r', pcap, '-d', `tcp.port==${port},mbtcp`, '-Y', 'mbtcp', '-T', 'fields', '-E', 'separator=/t'];
  for (const f of ['tcp.dstport', 'mbtcp.unit_id', 'modbus.func_code', 'modbus.exception_code']) args.push('-e', f);
  const out = execFileSync('tshark', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const c = {
    requests: 0,
    responses: 0,
    requests_by_fc: {},
    responses_by_fc: {},
    exceptions_by_fc: {},
    exceptions_by_code: {},
    requests_by_unit: {},
  };
  for (const line of out.split('\n')) {
    if (line.trim() === '') continue;
    const [dst, units, fcs, excs] = line.split('\t');
    const unitList = (units ?? '').split(',');
    const fcList = (fcs ?? '').split(',');
    const excList = (excs ?? '').split(',').filter((x) => x !== '');
    let excIdx = 0;
    fcList.forEach((fcText, i) => {
      const fc = Number(fcText);
      if (Number(dst) === port) {
        c.requests++;
        inc(c.requests_by_fc, fc & 0x7f);
        inc(c.requests_by_unit, Number(unitList[i] ?? unitList[0]));
        return;
      }
      c.responses++;
      // tshark shows the function code with the exception bit cleared and adds modbus.exception_code.
      const exc = fc >= 0x80 || excIdx < excList.length ? excList[excIdx++] : undefined;
      if (exc !== undefined) {
        inc(c.exceptions_by_fc, fc & 0x7f);
        inc(c.exceptions_by_code, Number(exc));
      } else {
        inc(c.responses_by_fc, fc);
      }
    });
  }
  return c;
}

function normalise(c) {
  return {
    requests: c.requests,
    responses: c.responses,
    requests_by_fc: sortKeys(c.requests_by_fc),
    responses_by_fc: sortKeys(c.responses_by_fc),
    exceptions_by_fc: sortKeys(c.exceptions_by_fc),
    exceptions_by_code: sortKeys(c.exceptions_by_code),
    requests_by_unit: sortKeys(c.requests_by_unit),
  };
}

const expected = normalise(countsFromLog(log));
const tshark = normalise(countsFromTshark());
const agrees = JSON.stringify(expected) === JSON.stringify(tshark);
const tsharkVersion = execFileSync('tshark', ['--version'], { encoding: 'utf8' }).split('\n')[0];

const doc = {
  pcap: `${name}.pcap`,
  bytes: statSync(pcap).size,
  port,
  server: 'modbus-serial 8.0.25 ServerTCP (tests/peers/modbus-server.mjs), 127.0.0.1',
  client: clientDesc ?? '',
  derived_from: `${name}.clientlog.jsonl: one line per request, written by the client itself (what it sent, the function/exception code it got back); not from our decoder, not from tshark`,
  ...expected,
  unit_ids: Object.keys(expected.requests_by_unit).map(Number),
  total_pdus: expected.requests + expected.responses,
  unanswered_requests: expected.requests - expected.responses,
  tshark_agrees: agrees,
  tshark_check: {
    tool: tsharkVersion,
    command: `tshark -r ${name}.pcap -d tcp.port==${port},mbtcp -Y mbtcp -T fields -e tcp.dstport -e mbtcp.unit_id -e modbus.func_code -e modbus.exception_code`,
    ...(agrees ? {} : { tshark_counts: tshark }),
  },
};
writeFileSync(join(here, `${name}.expected.json`), `${JSON.stringify(doc, null, 2)}\n`);
console.log(
  `${name}: ${doc.requests} requests, ${doc.responses} responses, exceptions ${JSON.stringify(doc.exceptions_by_code)}, ` +
    `${doc.bytes} bytes, tshark_agrees=${agrees}`,
);
if (!agrees) {
  console.error(`client log: ${JSON.stringify(expected)}\ntshark:     ${JSON.stringify(tshark)}`);
  process.exit(1);
}
