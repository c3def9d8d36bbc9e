// Real S7 peer: a node-snap7 (Snap7) server on PORT with DB1/DB2, merker and inputs registered. Runs until SIGTERM.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const snap7 = require('node-snap7');
const port = Number(process.argv[2] ?? 1102);
const server = new snap7.S7Server();
server.SetParam(server.LocalPort, port);
const db1 = Buffer.alloc(64, 0x11);
const db2 = Buffer.alloc(256, 0x22);
server.RegisterArea(server.srvAreaDB, 1, db1);
server.RegisterArea(server.srvAreaDB, 2, db2);
server.RegisterArea(server.srvAreaMK, Buffer.alloc(32));
server.RegisterArea(server.srvAreaPE, Buffer.alloc(32, 0x5a));
server.on('event', (e) => process.stderr.write(`${server.EventText(e)}\n`));
if (!server.StartTo('127.0.0.1')) {
  process.stderr.write(`server: cannot start on ${port}: ${server.ErrorText(server.LastError())}\n`);
  process.exit(1);
}
process.stdout.write(`listening ${port}\n`);
process.on('SIGTERM', () => {
  server.Stop();
  process.exit(0);
});
setInterval(() => {}, 1000);
