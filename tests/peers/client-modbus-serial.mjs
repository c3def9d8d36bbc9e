/**
 * modbus-serial 8.0.25 TCP client doing a fixed, known sequence against tests/peers/modbus-server.mjs and logging
 * every request it sent (unit, function code, address, quantity) and what came back (function code, exception code)
 * as one JSON line each. The log, not a decoder, is where a capture's expected counts come from.
 *
 * Usage: node tests/peers/client-modbus-serial.mjs PORT LOGFILE
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import ModbusRTU from 'modbus-serial';

const port = Number(process.argv[2]);
const logFile = process.argv[3];
writeFileSync(logFile, '');

// [unit, fc, address, quantityOrValue]; addresses >= 1000 are illegal on the server (exception 02).
const SEQUENCE = [
  [1, 1, 0, 16],
  [1, 2, 0, 10],
  [1, 3, 0, 10],
  [1, 4, 100, 5],
  [1, 5, 7, true],
  [1, 6, 20, 1234],
  [1, 15, 32, [true, false, true, true, false, false, true, false, true]],
  [1, 16, 40, [11, 22, 33, 44]],
  [17, 3, 40, 4],
  [17, 1, 32, 9],
  [17, 16, 500, [65535, 0, 4660]],
  [17, 4, 990, 10],
  // exceptions: illegal data address
  [1, 3, 1000, 2],
  [1, 4, 998, 5],
  [17, 1, 2000, 8],
  [17, 6, 1500, 1],
  [1, 16, 999, [1, 2]],
];

const client = new ModbusRTU();
await client.connectTCP('127.0.0.1', { port });
client.setTimeout(2000);

for (const [unit, fc, address, arg] of SEQUENCE) {
  client.setID(unit);
  const quantity = Array.isArray(arg) ? arg.length : typeof arg === 'number' && fc <= 4 ? arg : 1;
  const entry = { client: 'modbus-serial', unit, fc, address, quantity, response_fc: null, exception_code: null };
  try {
    switch (fc) {
      case 1:
        await client.readCoils(address, arg);
        break;
      case 2:
        await client.readDiscreteInputs(address, arg);
        break;
      case 3:
        await client.readHoldingRegisters(address, arg);
        break;
      case 4:
        await client.readInputRegisters(address, arg);
        break;
      case 5:
        await client.writeCoil(address, arg);
        break;
      case 6:
        await client.writeRegister(address, arg);
        break;
      case 15:
        await client.writeCoils(address, arg);
        break;
      case 16:
        await client.writeRegisters(address, arg);
        break;
      default:
        throw new Error(`unexpected fc ${fc}`);
    }
    entry.response_fc = fc;
  } catch (err) {
    if (err && typeof err.modbusCode === 'number') {
      entry.response_fc = fc | 0x80;
      entry.exception_code = err.modbusCode;
    } else {
      entry.error = String(err?.message ?? err); // no response (timeout/closed): counted as a request only
    }
  }
  appendFileSync(logFile, `${JSON.stringify(entry)}\n`);
}
client.close(() => {});
setTimeout(() => process.exit(0), 100);
