/**
 * Runs mbpoll (libmodbus) once per line of a fixed sequence, with -v so that mbpoll itself prints every frame it sent
 * ([..] bytes) and received (<..> bytes), and turns those printed frames into one JSON log line per request.
 *
 * Usage: node tests/peers/client-mbpoll.mjs PORT LOGFILE
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, writeFileSync } from 'node:fs';

const port = String(Number(process.argv[2]));
const logFile = process.argv[3];
writeFileSync(logFile, '');

// mbpoll arguments after `-m tcp -p PORT -1 -v`; references are 1-based (-r 1 is address 0).
const RUNS = [
  ['-a', '1', '-r', '1', '-c', '10', '-t', '4', '127.0.0.1'],
  ['-a', '1', '-r', '1', '-c', '8', '-t', '0', '127.0.0.1'],
  ['-a', '1', '-r', '5', '-c', '12', '-t', '1', '127.0.0.1'],
  ['-a', '2', '-r', '101', '-c', '4', '-t', '3', '127.0.0.1'],
  ['-a', '2', '-r', '21', '-t', '4', '127.0.0.1', '4321'],
  ['-a', '2', '-r', '31', '-t', '4', '127.0.0.1', '7', '8', '9'],
  ['-a', '5', '-r', '8', '-t', '0', '127.0.0.1', '1'],
  ['-a', '5', '-r', '40', '-t', '0', '127.0.0.1', '1', '0', '1'],
  ['-a', '5', '-r', '1', '-c', '3', '-t', '4', '127.0.0.1'],
  // illegal data addresses (exception 02)
  ['-a', '1', '-r', '1001', '-c', '2', '-t', '4', '127.0.0.1'],
  ['-a', '2', '-r', '1500', '-c', '1', '-t', '3', '127.0.0.1'],
  ['-a', '5', '-r', '1200', '-t', '4', '127.0.0.1', '5'],
];

function frames(text, open, close) {
  const re = new RegExp(`^((?:\\${open}[0-9A-F]{2}\\${close})+)\\s*$`, 'gim');
  return [...text.matchAll(re)].map(
    (m) => (m[1] ?? '').match(/[0-9A-F]{2}/gi)?.map((h) => Number.parseInt(h, 16)) ?? [],
  );
}

for (const args of RUNS) {
  const full = ['-m', 'tcp', '-p', port, '-1', '-v', ...args];
  const res = spawnSync('mbpoll', full, { encoding: 'utf8', timeout: 10_000 });
  const out = `${res.stdout}\n${res.stderr}`;
  const sent = frames(out, '[', ']');
  const got = frames(out, '<', '>');
  if (sent.length === 0) throw new Error(`mbpoll ${full.join(' ')} printed no request frame:\n${out}`);
  sent.forEach((req, i) => {
    const rsp = got[i];
    const entry = {
      client: 'mbpoll',
      args: full.join(' '),
      unit: req[6],
      fc: req[7],
      address: ((req[8] ?? 0) << 8) | (req[9] ?? 0),
      request_hex: Buffer.from(req).toString('hex'),
      response_fc: rsp ? rsp[7] : null,
      exception_code: rsp && (rsp[7] ?? 0) >= 0x80 ? rsp[8] : null,
      exit_status: res.status,
    };
    appendFileSync(logFile, `${JSON.stringify(entry)}\n`);
  });
}
