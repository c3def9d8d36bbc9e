/**
 * Our own OPC UA capture with real peers (generate.sh: node-opcua 2.182.2 server and client on tcp/48010, policy None
 * and Basic256Sha256 SignAndEncrypt, anonymous and username logins, Read / Write / Call / Browse) through the whole
 * sensor. Expected counts: the client's own log (node-opcua send_request / receive_response) as a floor for the clear
 * services, and tshark (`-d tcp.port==48010,opcua`) for the exact histogram, both in node-opcua_48010.expected.json.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SensorEvent } from '../../../protocols/wire/events.ts';
import { analyseFile } from '../../../sensor/analyse-file.ts';
import type { OpcuaSummary } from '../../../sensor/apps/opcua-app.ts';

const HERE = import.meta.dirname;
const NAME = 'node-opcua_48010';
const expected = JSON.parse(readFileSync(join(HERE, `${NAME}.expected.json`), 'utf8')) as {
  clear_services: Record<string, number>;
  identity_tokens_in_clear: Record<string, number>;
  tshark: {
    messages: number;
    message_types: Record<string, number>;
    services: Record<string, number>;
    security_policies: string[];
    secure_messages_without_service: number;
  };
};

async function run(): Promise<{ summary: OpcuaSummary; events: SensorEvent[] }> {
  const events: SensorEvent[] = [];
  const { report, error } = await analyseFile(join(HERE, `${NAME}.pcap`), { events: { emit: (e) => events.push(e) } });
  expect(error).toBeNull();
  const summary = (report as unknown as Record<string, unknown>).opcua as OpcuaSummary | undefined;
  expect(summary, 'the run report has an `opcua` section').toBeDefined();
  return { summary: summary as OpcuaSummary, events };
}

const byId = (o: Record<string, number>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k.split(' ')[0], v]));
const field = (e: SensorEvent): Record<string, unknown> => (e as unknown as { opcua: Record<string, unknown> }).opcua;

describe(`own capture ${NAME} (node-opcua peers)`, async () => {
  const { summary, events } = await run();

  it('counts messages, types, services and policies as tshark does', () => {
    expect(summary.messages).toBe(expected.tshark.messages);
    expect(summary.message_types).toEqual(expected.tshark.message_types);
    expect(byId(summary.services)).toEqual(expected.tshark.services);
    expect(summary.security_policies).toEqual(expected.tshark.security_policies);
    expect(summary.encrypted_messages).toBe(expected.tshark.secure_messages_without_service);
  });

  it('sees at least every clear service the client logged', () => {
    for (const [key, n] of Object.entries(expected.clear_services)) {
      expect(summary.services[key] ?? 0, key).toBeGreaterThanOrEqual(n);
    }
    expect(summary.identity_tokens).toEqual(expected.identity_tokens_in_clear);
    expect(summary.application_uris).toEqual(['urn:otwatch:peer:client', 'urn:otwatch:peer:server']);
  });

  it('session events: identity token type, password presence and algorithm, never the password', () => {
    const sessions = events.filter((e) => e.kind === 'opcua.session').map(field);
    expect(sessions.map((s) => [s.identityTokenType, s.securityMode, s.activated])).toEqual([
      ['Anonymous', 'None', true],
      ['UserName', 'None', true],
    ]);
    expect(sessions[1]).toMatchObject({
      userName: 'operator',
      passwordPresent: true,
      encryptionAlgorithm: 'http://www.w3.org/2001/04/xmlenc#rsa-oaep',
    });
    expect(JSON.stringify(events)).not.toContain('test-only-password');
  });

  it('secure channel events: Basic256Sha256 OPN with the parsed sender certificate', () => {
    const secured = events
      .filter((e) => e.kind === 'opcua.secure_channel')
      .map(field)
      .filter((o) => String(o.securityPolicyUri).endsWith('#Basic256Sha256'));
    expect(secured.length).toBe(4);
    expect(secured.every((o) => o.encrypted === true)).toBe(true);
    const cert = secured[0]?.senderCertificate as Record<string, unknown>;
    expect(cert).toMatchObject({ applicationUri: 'urn:otwatch:peer:client', keyType: 'rsa', keyBits: 2048 });
    expect(String(cert.thumbprint)).toMatch(/^[0-9a-f]{40}$/);
  });

  it('Write, Call and Browse transactions decoded on the None channel', () => {
    const txs = events.filter((e) => e.kind === 'opcua.transaction').map(field);
    const write = txs.find((t) => t.serviceName === 'WriteRequest');
    expect(write).toMatchObject({
      kind: 'paired',
      serviceResultName: 'Good',
      request: {
        nodesToWrite: [{ nodeId: 'ns=1;s=Pump.Speed', value: { value: { typeName: 'Double', value: 42.5 } } }],
      },
    });
    const call = txs.find((t) => t.serviceName === 'CallRequest');
    expect(call).toMatchObject({
      request: { methodsToCall: [{ objectId: 'ns=1;s=Pump', methodId: 'ns=1;s=Pump.Start', argumentCount: 1 }] },
    });
    expect(txs.some((t) => t.serviceName === 'BrowseRequest' && t.kind === 'paired')).toBe(true);
  });
});
