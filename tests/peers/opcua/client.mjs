// node-opcua test client for tests/peers/opcua/generate.sh. Runs four sessions against server.mjs and logs, as JSON
// lines, every request it sends and every response it receives (node-opcua's own send_request/receive_response),
// tagged with the session's policy, mode and login. These logs are the expected counts; tshark is the cross-check.
// Usage: node client.mjs PORT PKI_DIR NAME.clientlog.jsonl  (node-opcua writes its own chatter to stdout)
import { appendFileSync, writeFileSync } from 'node:fs';
import {
  AttributeIds,
  DataType,
  MessageSecurityMode,
  OPCUACertificateManager,
  OPCUAClient,
  SecurityPolicy,
} from 'node-opcua';

const port = Number(process.argv[2] ?? 48010);
const pki = process.argv[3] ?? '/tmp/opcua-peer-pki';
const url = `opc.tcp://localhost:${port}`;
const logPath = process.argv[4] ?? 'clientlog.jsonl';
writeFileSync(logPath, '');
const log = (o) => appendFileSync(logPath, `${JSON.stringify(o)}\n`);

const sessions = [
  { policy: SecurityPolicy.None, mode: MessageSecurityMode.None, user: null },
  { policy: SecurityPolicy.None, mode: MessageSecurityMode.None, user: 'operator' },
  { policy: SecurityPolicy.Basic256Sha256, mode: MessageSecurityMode.SignAndEncrypt, user: 'operator' },
  { policy: SecurityPolicy.Basic256Sha256, mode: MessageSecurityMode.SignAndEncrypt, user: null },
];

const clientCertificateManager = new OPCUACertificateManager({
  automaticallyAcceptUnknownCertificate: true,
  rootFolder: `${pki}/client`,
});
for (const s of sessions) {
  const tag = {
    policy: s.policy.split('#')[1],
    mode: MessageSecurityMode[s.mode],
    login: s.user ? 'UserName' : 'Anonymous',
  };
  const client = OPCUAClient.create({
    applicationName: 'otwatch-peer-client',
    applicationUri: 'urn:otwatch:peer:client',
    clientCertificateManager,
    securityMode: s.mode,
    securityPolicy: s.policy,
    endpointMustExist: false,
    connectionStrategy: { maxRetry: 1, initialDelay: 100 },
  });
  client.on('send_request', (req) => log({ ...tag, dir: 'request', service: req.schema.name }));
  client.on('receive_response', (resp) => log({ ...tag, dir: 'response', service: resp.schema.name }));
  await client.connect(url);
  const session = await client.createSession(
    s.user ? { type: 1, userName: s.user, password: 'test-only-password' } : undefined,
  );
  await session.read({ nodeId: 'i=2258', attributeId: AttributeIds.Value });
  await session.read({ nodeId: 'ns=1;s=Pump.Speed', attributeId: AttributeIds.Value });
  if (s.user) {
    await session.write({
      nodeId: 'ns=1;s=Pump.Speed',
      attributeId: AttributeIds.Value,
      value: { value: { dataType: DataType.Double, value: 42.5 } },
    });
    await session.call({
      objectId: 'ns=1;s=Pump',
      methodId: 'ns=1;s=Pump.Start',
      inputArguments: [{ dataType: DataType.UInt32, value: 1500 }],
    });
    await session.browse('i=85');
  }
  await session.close();
  await client.disconnect();
  log({ ...tag, done: true });
}
process.exit(0);
