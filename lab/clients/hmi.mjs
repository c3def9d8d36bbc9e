// Lab HMI: benign polling from real clients, like an operator station. Modbus: read the tank's holding registers and
// coils every second (modbus-serial); S7: read DB1 every second (node-snap7); OPC UA: a SignAndEncrypt session with
// a subscription on Pump.Speed plus a read of Pump.Running every 5 s (node-opcua). Errors are logged and retried:
// an attack step may stop the PLC under it.
// Usage: node hmi.mjs TARGETS_JSON PKI_DIR   (prints "polling" once every client is up; stops on SIGTERM/SIGINT)

import { createRequire } from 'node:module';
import ModbusRTU from 'modbus-serial';
import {
  AttributeIds,
  MessageSecurityMode,
  OPCUACertificateManager,
  OPCUAClient,
  SecurityPolicy,
  TimestampsToReturn,
} from 'node-opcua';
import { parseTargets, sleep } from './targets.mjs';

const require = createRequire(import.meta.url);
const snap7 = require('node-snap7');
const targets = parseTargets(process.argv[2]);
const pki = process.argv[3] ?? '/var/tmp/otlab-pki';
let stopping = false;
const log = (text) => process.stderr.write(`hmi: ${text}\n`);

async function modbusLoop() {
  const client = new ModbusRTU();
  while (!stopping) {
    try {
      if (!client.isOpen) {
        await client.connectTCP(targets.modbus.host, { port: targets.modbus.port });
        client.setID(1);
        client.setTimeout(2000);
      }
      await client.readHoldingRegisters(0, 4);
      await client.readCoils(0, 2);
    } catch (err) {
      log(`modbus: ${err.message}`);
      client.close(() => {});
    }
    await sleep(1000);
  }
  client.close(() => {});
}

async function s7Loop() {
  const client = new snap7.S7Client();
  if (targets.s7.port !== 102) client.SetParam(client.RemotePort, targets.s7.port);
  const call = (fn) => new Promise((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value))));
  while (!stopping) {
    try {
      if (!client.Connected()) await call((cb) => client.ConnectTo(targets.s7.host, 0, 2, cb));
      await call((cb) => client.DBRead(1, 0, 8, cb));
    } catch (err) {
      log(`s7: ${typeof err === 'number' ? client.ErrorText(err) : String(err)}`);
      client.Disconnect();
    }
    await sleep(1000);
  }
  client.Disconnect();
}

async function opcuaLoop() {
  const client = OPCUAClient.create({
    applicationName: 'otlab-hmi',
    applicationUri: 'urn:otwatch:lab:hmi',
    clientCertificateManager: new OPCUACertificateManager({
      automaticallyAcceptUnknownCertificate: true,
      rootFolder: `${pki}/hmi`,
    }),
    securityMode: MessageSecurityMode.SignAndEncrypt,
    securityPolicy: SecurityPolicy.Basic256Sha256,
    endpointMustExist: false,
    connectionStrategy: { maxRetry: -1, initialDelay: 500, maxDelay: 5000 },
  });
  await client.connect(targets.opcua.url);
  const session = await client.createSession();
  const subscription = await session.createSubscription2({
    requestedPublishingInterval: 1000,
    requestedMaxKeepAliveCount: 10,
    requestedLifetimeCount: 100,
    publishingEnabled: true,
  });
  await subscription.monitor(
    { nodeId: 'ns=1;s=Pump.Speed', attributeId: AttributeIds.Value },
    { samplingInterval: 1000, discardOldest: true, queueSize: 1 },
    TimestampsToReturn.Both,
  );
  while (!stopping) {
    try {
      await session.read({ nodeId: 'ns=1;s=Pump.Running', attributeId: AttributeIds.Value });
    } catch (err) {
      log(`opcua: ${err.message}`);
    }
    await sleep(5000);
  }
  await subscription.terminate().catch(() => {});
  await session.close().catch(() => {});
  await client.disconnect();
}

const loops = [modbusLoop(), s7Loop(), opcuaLoop().then(() => undefined)];
// "polling" once the OPC UA session (the slowest to set up) had time to open; lab.ts waits for it.
setTimeout(() => process.stdout.write('polling\n'), 3000);
const stop = () => {
  stopping = true;
  setTimeout(() => process.exit(0), 3000).unref();
  Promise.allSettled(loops).then(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
for (const l of loops) l.catch((err) => log(`stopped: ${err.message}`));
