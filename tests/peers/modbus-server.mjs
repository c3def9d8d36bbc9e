/**
 * A real Modbus/TCP server for generating our own captures: modbus-serial's ServerTCP with 1000 coils, discrete
 * inputs, holding and input registers per unit. Addresses >= 1000 throw { modbusErrorCode: 2 } from the vector
 * callback, which is how modbus-serial 8.0.25 is made to send exception 02 (it sends none by itself).
 * FC43/14 (Read Device Identification) is answered; FC23 and others fall to its "illegal function" (exception 01).
 *
 * Usage: node tests/peers/modbus-server.mjs PORT   (prints "listening PORT", runs until SIGTERM/SIGINT)
 */
import ModbusRTU from 'modbus-serial';

const port = Number(process.argv[2] ?? 5020);
const SIZE = 1000;
const coils = new Uint8Array(SIZE);
const discrete = new Uint8Array(SIZE).map((_, i) => (i % 3 === 0 ? 1 : 0));
const holding = new Uint16Array(SIZE).map((_, i) => i * 10);
const input = new Uint16Array(SIZE).map((_, i) => 30000 + i);

function check(addr) {
  if (addr < 0 || addr >= SIZE) throw { modbusErrorCode: 0x02, msg: `illegal data address ${addr}` };
}

/** Reads one cell after checking its address (throwing makes modbus-serial answer with exception 02). */
function read(table, addr) {
  check(addr);
  return table[addr];
}

const vector = {
  getCoil: (addr) => read(coils, addr) === 1,
  getDiscreteInput: (addr) => read(discrete, addr) === 1,
  getHoldingRegister: (addr) => read(holding, addr),
  getInputRegister: (addr) => read(input, addr),
  setCoil: (addr, value) => {
    check(addr);
    coils[addr] = value ? 1 : 0;
  },
  setRegister: (addr, value) => {
    check(addr);
    holding[addr] = value;
  },
  // FC16: without this, modbus-serial writes register by register and answers as soon as the FIRST one succeeds,
  // so a range running past the end would get a normal response. Checking the whole range gives exception 02.
  setRegisterArray: (addr, values) => {
    check(addr);
    check(addr + values.length - 1);
    holding.set(values, addr);
  },
  readDeviceIdentification: () => ({ 0: 'otwatch-test', 1: 'peer-server', 2: '1.0' }),
};

// unitID 255: answer every unit id (the clients use several).
const server = new ModbusRTU.ServerTCP(vector, { host: '127.0.0.1', port, unitID: 255 });
server.on('initialized', () => process.stdout.write(`listening ${port}\n`));
server.on('serverError', (err) => {
  process.stderr.write(`server error: ${err.message}\n`);
  process.exit(1);
});
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
