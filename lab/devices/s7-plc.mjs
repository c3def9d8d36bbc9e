// Lab device: a real S7 server (node-snap7 / Snap7) with DB1 (process values, updated every 500 ms), DB2, merker,
// inputs and outputs. Snap7 answers SZL reads, block lists and run/stop requests itself.
// Usage: node s7-plc.mjs HOST PORT   (prints "listening HOST:PORT"; stops on SIGTERM/SIGINT)
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const snap7 = require('node-snap7');
const host = process.argv[2] ?? '127.0.0.1';
const port = Number(process.argv[3] ?? 102);
const server = new snap7.S7Server();
if (port !== 102) server.SetParam(server.LocalPort, port);
const db1 = Buffer.alloc(64);
server.RegisterArea(server.srvAreaDB, 1, db1);
server.RegisterArea(server.srvAreaDB, 2, Buffer.alloc(256, 0x22));
server.RegisterArea(server.srvAreaMK, Buffer.alloc(64));
server.RegisterArea(server.srvAreaPE, Buffer.alloc(32, 0x5a));
server.RegisterArea(server.srvAreaPA, Buffer.alloc(32));
// A temperature and a counter the HMI reads: the server reads DB1 from this buffer on each request.
let tick = 0;
setInterval(() => {
  tick++;
  server.LockArea(server.srvAreaDB, 1);
  db1.writeFloatBE(60 + 5 * Math.sin(tick / 10), 0);
  db1.writeUInt32BE(tick, 4);
  server.UnlockArea(server.srvAreaDB, 1);
}, 500);
if (!server.StartTo(host)) {
  process.stderr.write(`s7-plc: cannot start on ${host}:${port}: ${server.ErrorText(server.LastError())}\n`);
  process.exit(1);
}
process.stdout.write(`listening ${host}:${port}\n`);
const stop = () => {
  server.Stop();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
