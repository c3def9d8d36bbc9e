import { describe, expect, it } from 'vitest';
import { PROBE_NEED_MORE, PROBE_NO, PROBE_YES, probeModbus, probeModbusFraming } from './probe.ts';
import { adu, concat, hex } from './test-support.ts';

function probe(b: Uint8Array): number {
  return probeModbus(b, 0, b.length);
}

/**
 * First payloads of the non-Modbus connections to tcp/502 in zeek__modbus-and-non-modbus-p502.pcap
 * (tshark -r FILE -Y 'tcp.len>0' -T fields -e frame.number -e tcp.payload), client then server side.
 */
const NON_MODBUS: ReadonlyArray<readonly [string, string]> = [
  // frame 29, 87.236.176.106:38129 → 192.168.10.111:502: DCE/RPC Bind (EPMv4)
  [
    'dcerpc bind',
    '05000b03100000004800000001000000b810b8100000000001000000000001000883afe11f5dc91191a408002b14a0fa' +
      '03000000045d888aeb1cc9119fe808002b10486002000000',
  ],
  // frame 31, server reply: 9 bytes
  ['dcerpc reply', '05000b030003008001'],
  // frame 39, 87.236.176.96:60175 → :502: ONC-RPC NFS V3 NULL call (record marker 0x80000028)
  ['nfs null call', '800000287e86ab4a0000000000000002000186a3000000030000000000000000000000000000000000000000'],
  // frame 41, server reply
  ['nfs reply', '800000280003abca01'],
  // frame 49, 66.175.213.4:58380 → :502: TLS 1.0 record, ClientHello (first 64 bytes)
  [
    'tls client hello',
    '1603010085010000810303736ff818542129f78f492d9b1557dafcc7926f075fa314dc76a47a73d1b6f109000020c02f',
  ],
  // frame 51, server reply
  ['tls reply', '160301000003008001'],
  // frame 65, 198.74.56.135:60293 → :502: HTTP GET
  ['http get', '474554202f20485454502f312e310d0a486f73743a203136302e39372e37302e33340d0a4163636570743a202a2f2a0d0a'],
  // frame 70, 159.203.208.13:33752 → :502: "MGLNDD_160.97.70.36_502\n" scanner banner
  ['mglndd banner', '4d474c4e44445f3136302e39372e37302e33365f3530320a'],
  // frame 72, server reply
  ['mglndd reply', '4d474c4e00035fb101'],
  // frame 80, 62.122.184.123:7488 → :502: TPKT/COTP CR with an RDP cookie "mstshash=admin"
  ['rdp cookie', '0300002b26e00000000000436f6f6b69653a206d737473686173683d61646d696e0d0a0100080001000000'],
  // frame 82, server reply
  ['rdp reply', '0300002b0003008001'],
];

describe('probeModbus', () => {
  it('asks for more below 8 bytes', () => {
    const a = adu(1, 1, hex('03 0000 0001'));
    for (let n = 0; n < 8; n++) expect(probeModbus(a, 0, n)).toBe(PROBE_NEED_MORE);
    expect(probeModbus(a, 0, 8)).toBe(PROBE_YES);
  });

  it('accepts the Modbus payloads of the same capture', () => {
    // frame 4: tid 1, unit 10, FC1 read 1 coil at 0 | frame 5: response, byte count 1, coils 00
    expect(probe(hex('0001 0000 0006 0a 01 0000 0001'))).toBe(PROBE_YES);
    expect(probe(hex('0001 0000 0004 0a 01 01 00'))).toBe(PROBE_YES);
  });

  it.each(NON_MODBUS)('the port-502 framing probe also rejects: %s', (_name, payload) => {
    const bytes = hex(payload);
    expect(probeModbusFraming(bytes, 0, bytes.length)).toBe(PROBE_NO);
  });

  it.each(NON_MODBUS)('rejects the non-Modbus payload on port 502: %s', (_name, payload) => {
    expect(probe(hex(payload))).toBe(PROBE_NO);
  });

  it('accepts on port 502 what only the framing makes Modbus: reserved codes, over-long UMAS, bad byte counts', () => {
    // zeek__fuzz-72 style: reserved function code 29 in a well-framed ADU (strict probe: no; framing probe: yes).
    const reserved = adu(1, 1, [29, 0x00, 0x01]);
    expect(probe(reserved)).toBe(PROBE_NO);
    expect(probeModbusFraming(reserved, 0, reserved.length)).toBe(PROBE_YES);
    // iti__modicon_test style: MBAP length 255.
    const overlong = adu(7, 0, [90, ...new Array<number>(253).fill(0x11)]);
    expect(probeModbusFraming(overlong, 0, overlong.length)).toBe(PROBE_YES);
    // Two well-framed ADUs back to back; then a trailing fragment too short to be a header.
    const two = concat(reserved, reserved);
    expect(probeModbusFraming(two, 0, two.length)).toBe(PROBE_YES);
    expect(probeModbusFraming(two, 0, reserved.length + 3)).toBe(PROBE_NO);
    // Protocol id ≠ 0, length 257, function code 0: no.
    expect(probeModbusFraming(hex('0001000100030101'), 0, 8)).toBe(PROBE_NO);
    expect(probeModbusFraming(hex('0001000001010101'), 0, 8)).toBe(PROBE_NO);
    expect(probeModbusFraming(hex('0001000000030100'), 0, 8)).toBe(PROBE_NO);
    expect(probeModbusFraming(hex('00010000'), 0, 4)).toBe(PROBE_NEED_MORE);
  });

  it('checks protocol id, length and function code', () => {
    expect(probe(hex('0001 0001 0006 01 03 0000 0001'))).toBe(PROBE_NO); // protocol id 1
    expect(probe(hex('0001 0000 0001 01 03 0000'))).toBe(PROBE_NO); // length 1
    expect(probe(hex('0001 0000 00FF 01 03 0000'))).toBe(PROBE_NO); // length 255
    expect(probe(hex('0001 0000 0002 01 00'))).toBe(PROBE_NO); // fc 0
    expect(probe(hex('0001 0000 0003 01 2A 00'))).toBe(PROBE_NO); // reserved fc 42
    expect(probe(hex('0001 0000 0003 01 32 00'))).toBe(PROBE_NO); // unassigned fc 50
    expect(probe(hex('0001 0000 0004 01 5A 00 02'))).toBe(PROBE_YES); // fc 90 UMAS
    expect(probe(hex('0001 0000 0003 01 41 00'))).toBe(PROBE_YES); // user-defined 65
    expect(probe(hex('0001 0000 0003 01 83 02'))).toBe(PROBE_YES); // exception response
    expect(probe(hex('0001 0000 0004 01 83 02 00'))).toBe(PROBE_NO); // exception with a trailing byte
    expect(probe(hex('0001 0000 0003 01 AA 02'))).toBe(PROBE_NO); // exception of a reserved fc
  });

  it('requires a complete first ADU to be internally consistent', () => {
    // FC3 with a 6-byte PDU: neither a request (5 bytes) nor a response (byte count 0x20 ≠ 4)
    expect(probe(hex('0001 0000 0007 01 03 20 0000 0001 00'))).toBe(PROBE_NO);
    // FC3 response whose byte count fits
    expect(probe(hex('0001 0000 0005 01 03 02 0001'))).toBe(PROBE_YES);
    // A partial first ADU is judged on its header alone
    expect(probe(hex('0001 0000 0020 01 10 0000'))).toBe(PROBE_YES);
  });

  it('checks a second ADU header when one follows', () => {
    const first = adu(1, 1, hex('03 0000 0001'));
    expect(probe(concat(first, adu(2, 1, hex('03 0000 0001'))))).toBe(PROBE_YES);
    expect(probe(concat(first, hex('0002 0005 0006 01 03 00')))).toBe(PROBE_NO);
    // Fewer than 8 trailing bytes cannot be judged: the first ADU decides.
    expect(probe(concat(first, hex('0002 0005')))).toBe(PROBE_YES);
  });

  it('honours the offset and never reads outside the view', () => {
    const a = concat(hex('FFFFFF'), adu(1, 1, hex('03 0000 0001')));
    expect(probeModbus(a, 3, a.length - 3)).toBe(PROBE_YES);
    expect(probeModbus(a, 0, a.length)).toBe(PROBE_NO);
    expect(probeModbus(a, 10, 100)).toBe(PROBE_NEED_MORE);
    expect(probeModbus(a, -1, 5)).toBe(PROBE_NO);
  });
});
