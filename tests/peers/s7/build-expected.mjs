// Expected counts for one own capture: from the client's log (which operations succeeded) plus tshark's view of the
// capture (decoded as TPKT on the non-standard port), written to <name>.expected.json.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

const [name, port] = process.argv.slice(2);
const log = readFileSync(`${name}.clientlog.jsonl`, 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l));
const ok = (op) => log.some((e) => e.op === op && e.ok);

// What each successful client operation must have put on the wire (at least), by S7 function / userdata key.
const atLeast = {};
const add = (k, n = 1) => (atLeast[k] = (atLeast[k] ?? 0) + n);
if (ok('connect')) {
  add('0xf0 Setup communication (Job)');
  add('0xf0 Setup communication (Ack_Data)');
}
for (const e of log.filter((x) => x.ok)) {
  if (e.op === 'DBRead' || e.op === 'ReadMultiVars' || e.op === 'read') {
    add('0x04 Read Var (Job)');
    add('0x04 Read Var (Ack_Data)');
  }
  if (e.op === 'DBWrite' || e.op === 'write') {
    add('0x05 Write Var (Job)');
    add('0x05 Write Var (Ack_Data)');
  }
  if (e.op.startsWith('ReadSZL')) {
    add('4 CPU functions / 1 Read SZL (request)');
    add('4 CPU functions / 1 Read SZL (response)');
  }
  if (e.op === 'GetPlcDateTime') add('7 Time functions / 1 Read clock (request)');
  if (e.op === 'ListBlocks') add('3 Block functions / 1 List blocks (request)');
  if (e.op === 'ListBlocksOfType_DB') add('3 Block functions / 2 List blocks of type (request)');
  if (e.op === 'PlcStop') add('0x29 PLC Stop (Job)');
  if (e.op === 'PlcHotStart') add('0x28 PI-Service (Job)');
}
// Requests are sent even when the server refuses them (e.g. upload): count attempts from the log too.
const attempted = Object.fromEntries(log.map((e) => [e.op, e.ok]));

const fields = [
  's7comm.header.rosctr',
  's7comm.param.func',
  's7comm.param.userdata.funcgroup',
  's7comm.param.userdata.subfunc',
  's7comm.param.userdata.type',
];
const out = execFileSync(
  'tshark',
  [
    '-n',
    '-r',
    `${name}.pcap`,
    '-d',
    `tcp.port==${port},tpkt`,
    '-Y',
    's7comm',
    '-T',
    'fields',
    '-E',
    'occurrence=f',
    ...fields.flatMap((f) => ['-e', f]),
  ],
  { encoding: 'utf8' },
);
const tshark = { pdus: 0, rosctr: {} };
for (const line of out.trim().split('\n').filter(Boolean)) {
  const [rosctr] = line.split('\t');
  tshark.pdus++;
  tshark.rosctr[rosctr] = (tshark.rosctr[rosctr] ?? 0) + 1;
}
writeFileSync(
  `${name}.expected.json`,
  `${JSON.stringify({ capture: `${name}.pcap`, port: Number(port), operations: attempted, atLeast, tshark }, null, 2)}\n`,
);
console.log(name, JSON.stringify({ atLeast, tshark }));
