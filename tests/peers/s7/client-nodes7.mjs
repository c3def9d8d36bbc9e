// Real S7 peer: nodes7 (a pure-JS S7 client) against 127.0.0.1:PORT: connect, read and write DB items. Logs one
// JSON line per operation.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const NodeS7 = require('nodes7');
const port = Number(process.argv[2] ?? 1103);
const conn = new NodeS7({ silent: true });
const log = (op, ok, extra = {}) => process.stdout.write(`${JSON.stringify({ op, ok, ...extra })}\n`);
const done = () => {
  conn.dropConnection(() => {
    log('disconnect', true);
    process.exit(0);
  });
};
setTimeout(() => {
  log('timeout', false);
  process.exit(1);
}, 8000);
conn.initiateConnection({ port, host: '127.0.0.1', rack: 0, slot: 2 }, (e) => {
  log('connect', e === undefined || e === null);
  if (e) process.exit(1);
  conn.setTranslationCB((tag) => ({ A: 'DB1,BYTE0.4', B: 'DB2,INT2' })[tag] ?? tag);
  conn.addItems(['A', 'B']);
  conn.readAllItems((bad, values) => {
    log('read', !bad, { values: Object.keys(values ?? {}).length });
    conn.writeItems('B', 1234, (wbad) => {
      log('write', !wbad);
      conn.readAllItems((bad2) => {
        log('read', !bad2);
        done();
      });
    });
  });
});
