// Real S7 peer: node-snap7 client against 127.0.0.1:PORT. Logs one JSON line per operation (op, ok, error) to
// stdout: the expected counts come from this log, never from our decoder.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const snap7 = require('node-snap7');
const port = Number(process.argv[2] ?? 1102);
const c = new snap7.S7Client();
c.SetParam(c.RemotePort, port);
const log = (op, ok, extra = {}) => process.stdout.write(`${JSON.stringify({ op, ok, ...extra })}\n`);
const err = () => c.ErrorText(c.LastError());

function step(op, fn) {
  try {
    const r = fn();
    const ok = r !== false && r !== undefined && r !== null;
    log(op, ok, ok ? {} : { error: err() });
    return r;
  } catch (e) {
    log(op, false, { error: String(e) });
    return null;
  }
}

log('connect', c.ConnectTo('127.0.0.1', 0, 2), { pdu: c.PDULength() });
step('DBRead', () => c.DBRead(1, 0, 16));
step('DBWrite', () => c.DBWrite(1, 4, 4, Buffer.from([1, 2, 3, 4])));
step('ReadMultiVars', () =>
  c.ReadMultiVars([
    { Area: c.S7AreaDB, WordLen: c.S7WLByte, DBNumber: 2, Start: 0, Amount: 8 },
    { Area: c.S7AreaMK, WordLen: c.S7WLByte, DBNumber: 0, Start: 0, Amount: 4 },
  ]),
);
step('ReadSZL_0011', () => c.ReadSZL(0x0011, 0x0000));
step('ReadSZL_001C', () => c.ReadSZL(0x001c, 0x0000));
step('ReadSZL_0424', () => c.ReadSZL(0x0424, 0x0000));
step('ReadSZLList', () => c.ReadSZLList());
step('GetPlcDateTime', () => c.GetPlcDateTime());
step('ListBlocks', () => c.ListBlocks());
step('ListBlocksOfType_DB', () => c.ListBlocksOfType(c.Block_DB));
step('PlcStop', () => c.PlcStop());
step('PlcHotStart', () => c.PlcHotStart());
c.Disconnect();
log('disconnect', true);
