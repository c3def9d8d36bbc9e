// Lab device: a real OPC UA server (node-opcua) with SecurityPolicy None and Basic256Sha256 SignAndEncrypt endpoints,
// anonymous access allowed (the weak posture the attack steps exploit), and a pump object: Speed (writable,
// drifting), Running (writable) and a Start method.
// Usage: node opcua-plc.mjs HOST PORT PKI_DIR (HOST: the address clients use, announced in the endpoints)   (PKI_DIR holds private keys created at first start and reused after;
// prints "listening URL"; stops on SIGTERM/SIGINT)
import {
  DataType,
  MessageSecurityMode,
  nodesets,
  OPCUACertificateManager,
  OPCUAServer,
  SecurityPolicy,
  StatusCodes,
  Variant,
} from 'node-opcua';

const host = process.argv[2] ?? '127.0.0.1';
const port = Number(process.argv[3] ?? 4840);
const pki = process.argv[4] ?? '/var/tmp/otlab-pki';

const server = new OPCUAServer({
  port,
  serverCertificateManager: new OPCUACertificateManager({
    automaticallyAcceptUnknownCertificate: true,
    rootFolder: `${pki}/server`,
  }),
  securityPolicies: [SecurityPolicy.None, SecurityPolicy.Basic256Sha256],
  securityModes: [MessageSecurityMode.None, MessageSecurityMode.SignAndEncrypt],
  allowAnonymous: true,
  alternateHostname: [host],
  nodeset_filename: [nodesets.standard],
  buildInfo: { productName: 'otwatch-lab', manufacturerName: 'otwatch lab', softwareVersion: '1.0.0' },
  serverInfo: { applicationUri: 'urn:otwatch:lab:opcua', productUri: 'urn:otwatch:lab' },
});
await server.initialize();
const ns = server.engine.addressSpace.getOwnNamespace();
const pump = ns.addObject({
  organizedBy: server.engine.addressSpace.rootFolder.objects,
  browseName: 'Pump',
  nodeId: 's=Pump',
});
let speed = 1450;
let running = true;
setInterval(() => {
  if (running) speed = 1450 + Math.round(20 * Math.sin(Date.now() / 5000));
}, 500).unref();
ns.addVariable({
  componentOf: pump,
  nodeId: 's=Pump.Speed',
  browseName: 'Speed',
  dataType: 'Double',
  accessLevel: 'CurrentRead | CurrentWrite',
  userAccessLevel: 'CurrentRead | CurrentWrite',
  minimumSamplingInterval: 500,
  value: {
    get: () => new Variant({ dataType: DataType.Double, value: speed }),
    set: (v) => {
      speed = v.value;
      return StatusCodes.Good;
    },
  },
});
ns.addVariable({
  componentOf: pump,
  nodeId: 's=Pump.Running',
  browseName: 'Running',
  dataType: 'Boolean',
  accessLevel: 'CurrentRead | CurrentWrite',
  userAccessLevel: 'CurrentRead | CurrentWrite',
  value: {
    get: () => new Variant({ dataType: DataType.Boolean, value: running }),
    set: (v) => {
      running = v.value === true;
      return StatusCodes.Good;
    },
  },
});
await server.start();
process.stdout.write(`listening ${server.getEndpointUrl()}\n`);
const stop = async () => {
  await server.shutdown(100);
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
