/**
 * Golden tests for OPC UA: every capture in ../shared/pcaps through the whole sensor, compared with the tshark 4.0
 * counts in its `.truth.json` (`opcua` section): frames, messages, message types, services (by numeric NodeId),
 * transport errors, security policies, endpoints, application and product URIs, product names, manufacturers,
 * software versions and talkers. Captures without OPC UA (Modbus, S7) must yield no OPC UA at all.
 *
 * How tshark counts, and how we match it: a "message" is one UACP chunk (each has a message type); "frames" are the
 * packets in which at least one chunk ends; "services" are the service NodeIds of readable bodies — tshark does not
 * decode bodies on channels whose OPN names a policy other than None, nor do we (they are counted as encrypted);
 * ids tshark 4.0 cannot name appear as "12208 ?" in the truth, we name them from the generated table, so services
 * are compared by the numeric id and the names must agree wherever tshark has one.
 *
 * Deliberate differences are listed in DEVIATIONS with the reason and the exact difference, which the test asserts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyseFile } from '../../sensor/analyse-file.ts';
import type { OpcuaSummary } from '../../sensor/apps/opcua-app.ts';

const PCAPS = join(import.meta.dirname, '../../../shared/pcaps');

type TruthOpcua = Pick<
  OpcuaSummary,
  | 'frames'
  | 'messages'
  | 'message_types'
  | 'services'
  | 'transport_errors'
  | 'security_policies'
  | 'endpoints'
  | 'application_uris'
  | 'product_uris'
  | 'product_names'
  | 'manufacturers'
  | 'software_versions'
  | 'talkers'
>;

interface Deviation {
  why: string;
  /** Ours minus tshark's. */
  frames: number;
  messages: number;
  messageTypes: Record<string, number>;
  services: Record<string, number>;
  /** Strings we report in addition to tshark's. */
  extraApplicationUris: string[];
  extraProductUris: string[];
}

const DEVIATIONS: Record<string, Deviation> = {
  'icsnpp-opcua__opcua_with-gap.pcap': {
    why:
      'the 14 kB CreateSessionResponse (frames 12-30) arrives with two segments that tshark 4.0 flags as spurious ' +
      'retransmissions; its reassembly then never completes the message, so tshark shows no OPC UA in those frames. ' +
      'Our reassembly completes it: one more MSG (464 CreateSessionResponse, in frame 30) and the server ' +
      'ApplicationDescription it carries (Softing OPC UA Gateway)',
    frames: 1,
    messages: 1,
    messageTypes: { MSG: 1 },
    services: { '464': 1 },
    extraApplicationUris: ['urn:00:06:71:33:05:02'],
    extraProductUris: ['urn:Softing:SoftingOPCUAGateway'],
  },
};

/** "631 ReadRequest" → "631". */
function byId(counts: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).map(([k, v]) => [k.split(' ')[0] ?? k, v]));
}

function addDelta(base: Record<string, number>, delta: Record<string, number>): Record<string, number> {
  const out = { ...base };
  for (const [k, d] of Object.entries(delta)) {
    out[k] = (out[k] ?? 0) + d;
    if (out[k] === 0) delete out[k];
  }
  return out;
}

async function summaryOf(path: string): Promise<OpcuaSummary> {
  const { report, error } = await analyseFile(path);
  expect(error).toBeNull();
  const section = (report as unknown as Record<string, unknown>).opcua as OpcuaSummary | undefined;
  expect(section, 'the run report has an `opcua` section').toBeDefined();
  return section as OpcuaSummary;
}

const files = readdirSync(PCAPS).filter((f) => /\.pcap(ng)?$/.test(f));

describe('golden OPC UA: ../shared/pcaps against tshark truth', () => {
  it('finds the OPC UA captures', () => {
    const withOpcua = files.filter(
      (f) => (JSON.parse(readFileSync(join(PCAPS, `${f}.truth.json`), 'utf8')).opcua as TruthOpcua).messages > 0,
    );
    expect(withOpcua.length).toBe(10);
  });

  for (const file of files) {
    const want = JSON.parse(readFileSync(join(PCAPS, `${file}.truth.json`), 'utf8')).opcua as TruthOpcua;
    const dev = DEVIATIONS[file];
    it(`${file}: ${want.messages} OPC UA messages${dev ? ' (documented deviation)' : ''}`, async () => {
      const got = await summaryOf(join(PCAPS, file));
      expect(got.frames).toBe(want.frames + (dev?.frames ?? 0));
      expect(got.messages).toBe(want.messages + (dev?.messages ?? 0));
      expect(got.message_types).toEqual(addDelta(want.message_types, dev?.messageTypes ?? {}));
      expect(byId(got.services)).toEqual(addDelta(byId(want.services), dev?.services ?? {}));
      // Where tshark names a service, the names agree (ours come from the generated table).
      for (const key of Object.keys(want.services)) {
        if (!key.endsWith(' ?')) expect(Object.keys(got.services)).toContain(key);
      }
      expect(got.transport_errors).toEqual(want.transport_errors);
      expect(got.security_policies).toEqual(want.security_policies);
      expect(got.endpoints).toEqual(want.endpoints);
      expect(got.application_uris).toEqual([...want.application_uris, ...(dev?.extraApplicationUris ?? [])].sort());
      expect(got.product_uris).toEqual([...want.product_uris, ...(dev?.extraProductUris ?? [])].sort());
      expect(got.product_names).toEqual(want.product_names);
      expect(got.manufacturers).toEqual(want.manufacturers);
      expect(got.software_versions).toEqual(want.software_versions);
      expect(got.talkers).toEqual([...want.talkers].sort());
      if (want.messages === 0) expect(got.transactions).toBe(0);
    });
  }

  it('the encrypted capture: Basic128Rsa15 bodies are counted as encrypted, never decoded', async () => {
    const got = await summaryOf(join(PCAPS, 'icsnpp-opcua__open62541_client-server_encrypted.pcap'));
    // 2 OPN + 8 MSG + 1 CLO on the Basic128Rsa15 channel (stream 1 in tshark).
    expect(got.encrypted_messages).toBe(11);
    expect(got.security_modes).toEqual({ None: 1, 'Sign or SignAndEncrypt (encrypted)': 1 });
    expect(got.certificates.length).toBeGreaterThanOrEqual(1);
  });
});
