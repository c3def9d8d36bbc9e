// Lab device: a real Modbus/TCP server (modbus-serial ServerTCP) running a small tank process, so polling HMIs see
// live values and writes have an effect. Holding registers: 0 level (0..1000), 1 high setpoint, 2 low setpoint,
// 3 inflow; coils: 0 inlet pump, 1 outlet valve. Addresses >= 1000 answer exception 02 (modbus-serial sends none by
// itself: the vector callback throws). Every unit id is answered (unitID 255), like a gateway.
// Usage: node modbus-plc.mjs HOST PORT   (prints "listening HOST:PORT"; stops on SIGTERM/SIGINT)
import ModbusRTU from 'modbus-serial';

const host = process.argv[2] ?? '127.0.0.1';
const port = Number(process.argv[3] ?? 5020);
const SIZE = 1000;
const coils = new Uint8Array(SIZE);
const holding = new Uint16Array(SIZE);
holding[0] = 500;
holding[1] = 800;
holding[2] = 200;
holding[3] = 7;
coils[0] = 1;

// The process: the pump fills, the valve drains; the controller switches at the setpoints.
setInterval(() => {
  const level = holding[0] + (coils[0] ? holding[3] : 0) - (coils[1] ? 9 : 0);
  holding[0] = Math.max(0, Math.min(1000, level));
  if (holding[0] >= holding[1]) {
    coils[0] = 0;
    coils[1] = 1;
  } else if (holding[0] <= holding[2]) {
    coils[0] = 1;
    coils[1] = 0;
  }
}, 200).unref();

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
  getDiscreteInput: (addr) => {
    check(addr);
    return addr % 2 === 0;
  },
  getHoldingRegister: (addr) => read(holding, addr),
  getInputRegister: (addr) => read(holding, addr),
  setCoil: (addr, value) => {
    check(addr);
    coils[addr] = value ? 1 : 0;
  },
  setRegister: (addr, value) => {
    check(addr);
    holding[addr] = value;
  },
  setRegisterArray: (addr, values) => {
    check(addr);
    check(addr + values.length - 1);
    holding.set(values, addr);
  },
  readDeviceIdentification: () => ({ 0: 'otwatch-lab', 1: 'tank-plc', 2: '1.0' }),
};

const server = new ModbusRTU.ServerTCP(vector, { host, port, unitID: 255 });
server.on('initialized', () => process.stdout.write(`listening ${host}:${port}\n`));
server.on('serverError', (err) => {
  process.stderr.write(`modbus-plc: ${err.message}\n`);
  process.exit(1);
});
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
