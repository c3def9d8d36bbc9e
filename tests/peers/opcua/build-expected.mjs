/**
 * Writes NAME.expected.json from NAME.clientlog.jsonl (what the node-opcua client says it sent and received), then
 * reads NAME.pcap with tshark (`-d tcp.port==PORT,opcua`) and records whether tshark agrees on the readable
 * services. Expected counts never come from our own decoder. Exits 1 when tshark disagrees.
 * Usage: node build-expected.mjs NAME PORT
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const [name, port] = process.argv.slice(2);
const here = dirname(fileURLToPath(import.meta.url));
const log = readFileSync(join(here, `${name}.clientlog.jsonl`), 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l));

const inc = (o, k, n = 1) => {
  o[k] = (o[k] ?? 0) + n;
};
// node-opcua's send_request/receive_response cover every service except OpenSecureChannel (sent by the channel
// layer, not logged). For a secured session the client first fetches the endpoints over a separate None channel, so
// GetEndpoints travels in clear even in a Basic256Sha256 session; everything else of a secured session is encrypted.
const { ObjectIds } = createRequire(import.meta.url)('node-opcua-constants');
const idOf = (svc) => ObjectIds[`${svc}_Encoding_DefaultBinary`];
const clear = {};
let encryptedMessages = 0;
const sessions = {};
const identityTokens = {};
for (const e of log) {
  if (e.done) {
    inc(sessions, `${e.policy}/${e.mode}/${e.login}`);
    if (e.policy === 'None') inc(identityTokens, e.login);
    else encryptedMessages += 2; // the OPN request and response of the secured channel, asymmetrically encrypted
    continue;
  }
  if (e.policy === 'None' || e.service.startsWith('GetEndpoints')) inc(clear, `${idOf(e.service)} ${e.service}`);
  else encryptedMessages++;
}

const out = execFileSync(
  'tshark',
  [
    '-n',
    '-r',
    join(here, `${name}.pcap`),
    '-d',
    `tcp.port==${port},opcua`,
    '-T',
    'fields',
    '-E',
    'occurrence=a',
    '-E',
    'aggregator=|',
    '-e',
    'opcua.transport.type',
    '-e',
    'opcua.servicenodeid.numeric',
    '-e',
    'opcua.security.spu',
  ],
  { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
);
const tshark = { messages: 0, message_types: {}, services: {}, security_policies: [] };
const policies = new Set();
tshark.secure_messages_without_service = 0;
for (const line of out.split('\n')) {
  const [types = '', ids = '', spu = ''] = line.split('\t');
  const secure = types.split('|').filter((t) => t === 'OPN' || t === 'MSG' || t === 'CLO').length;
  tshark.secure_messages_without_service += Math.max(0, secure - ids.split('|').filter(Boolean).length);
  for (const t of types.split('|').filter(Boolean)) {
    tshark.messages++;
    inc(tshark.message_types, t);
  }
  for (const id of ids.split('|').filter(Boolean)) inc(tshark.services, id);
  for (const p of spu.split('|').filter(Boolean)) policies.add(p);
}
tshark.security_policies = [...policies].sort();

const expected = {
  client: 'node-opcua 2.182.2',
  port: Number(port),
  sessions,
  clear_services: clear,
  encrypted_messages: encryptedMessages,
  identity_tokens_in_clear: identityTokens,
  tshark,
};
writeFileSync(join(here, `${name}.expected.json`), `${JSON.stringify(expected, null, 2)}\n`);
// node-opcua also opens short discovery channels of its own (GetEndpoints + CloseSecureChannel over None) that its
// send_request events do not report: tshark must show at least what the client logged, per service.
const missing = Object.entries(clear).filter(([key, n]) => (tshark.services[key.split(' ')[0]] ?? 0) < n);
console.log(JSON.stringify({ sessions, clear, tshark: tshark.services }));
if (missing.length > 0) {
  console.error(`tshark shows fewer services than the client logged: ${JSON.stringify(missing)}`);
  process.exit(1);
}
