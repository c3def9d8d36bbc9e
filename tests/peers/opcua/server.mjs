// node-opcua test server for tests/peers/opcua/generate.sh: SecurityPolicy None and Basic256Sha256
// (SignAndEncrypt), anonymous and username (test-only credentials) logins, one writable variable and one method.
// Usage: node server.mjs PORT PKI_DIR   (PKI_DIR is created at run time and never committed: it holds private keys)
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

const port = Number(process.argv[2] ?? 48010);
const pki = process.argv[3] ?? '/tmp/opcua-peer-pki';

const serverCertificateManager = new OPCUACertificateManager({
  automaticallyAcceptUnknownCertificate: true,
  rootFolder: `${pki}/server`,
});
const server = new OPCUAServer({
  port,
  serverCertificateManager,
  securityPolicies: [SecurityPolicy.None, SecurityPolicy.Basic256Sha256],
  securityModes: [MessageSecurityMode.None, MessageSecurityMode.SignAndEncrypt],
  allowAnonymous: true,
  userManager: { isValidUser: (user, password) => user === 'operator' && password === 'test-only-password' },
  nodeset_filename: [nodesets.standard],
  buildInfo: { productName: 'otwatch-peer', manufacturerName: 'otwatch tests', softwareVersion: '1.0.0' },
  serverInfo: { applicationUri: 'urn:otwatch:peer:server', productUri: 'urn:otwatch:peer' },
});
await server.initialize();
const ns = server.engine.addressSpace.getOwnNamespace();
const device = ns.addObject({
  organizedBy: server.engine.addressSpace.rootFolder.objects,
  browseName: 'Pump',
  nodeId: 's=Pump',
});
let speed = 10;
ns.addVariable({
  componentOf: device,
  nodeId: 's=Pump.Speed',
  browseName: 'Speed',
  dataType: 'Double',
  accessLevel: 'CurrentRead | CurrentWrite',
  userAccessLevel: 'CurrentRead | CurrentWrite',
  value: {
    get: () => new Variant({ dataType: DataType.Double, value: speed }),
    set: (v) => {
      speed = v.value;
      return StatusCodes.Good;
    },
  },
});
const method = ns.addMethod(device, {
  nodeId: 's=Pump.Start',
  browseName: 'Start',
  inputArguments: [{ name: 'rpm', dataType: DataType.UInt32 }],
  outputArguments: [{ name: 'ok', dataType: DataType.Boolean }],
});
method.bindMethod((args, _ctx, cb) =>
  cb(null, {
    statusCode: StatusCodes.Good,
    outputArguments: [{ dataType: DataType.Boolean, value: args[0]?.value > 0 }],
  }),
);
await server.start();
console.log(JSON.stringify({ listening: server.getEndpointUrl() }));
process.on('SIGTERM', async () => {
  await server.shutdown(100);
  process.exit(0);
});
