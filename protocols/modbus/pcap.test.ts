/**
 * Golden tests: the real captures in ../shared/pcaps replayed through the parser (with the naive test replayer in
 * pcap-fixture.ts), checked against the counts tshark wrote into each `.truth.json`.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { replayPcap } from './pcap-fixture.ts';

const PCAPS = new URL('../../../shared/pcaps/', import.meta.url);

interface Summary {
  pdus: number;
  requests: number;
  responses: number;
  exceptions: number;
  unsolicited: number;
  funcCodes: Record<string, number>;
  exceptionCodes: Record<string, number>;
  unitIds: number[];
  deviceIdentification: Record<string, string[]>;
  anomalies: Record<string, number>;
}

function run(file: string): Summary {
  const s: Summary = {
    pdus: 0,
    requests: 0,
    responses: 0,
    exceptions: 0,
    unsolicited: 0,
    funcCodes: {},
    exceptionCodes: {},
    unitIds: [],
    deviceIdentification: {},
    anomalies: {},
  };
  const units = new Set<number>();
  const r = replayPcap(new URL(file, PCAPS).pathname, {
    pdu: (_c, p) => {
      s.funcCodes[p.func] = (s.funcCodes[p.func] ?? 0) + 1;
      units.add(p.unit);
      if (p.isException) s.exceptionCodes[p.exceptionCode] = (s.exceptionCodes[p.exceptionCode] ?? 0) + 1;
    },
    transaction: (_c, tx) => {
      for (const o of tx.response?.objects ?? []) {
        const list = s.deviceIdentification[o.id] ?? [];
        list.push(o.value);
        s.deviceIdentification[o.id] = list;
      }
    },
    anomaly: (_c, a) => {
      s.anomalies[a.kind] = (s.anomalies[a.kind] ?? 0) + 1;
    },
  });
  for (const p of r.parsers) {
    s.pdus += p.stats.pdus;
    s.requests += p.stats.requests;
    s.responses += p.stats.responses;
    s.exceptions += p.stats.exceptions;
    s.unsolicited += p.stats.unsolicited;
    expect(p.stats.noProgress).toBe(0);
  }
  s.unitIds = [...units].sort((a, b) => a - b);
  return s;
}

interface TruthModbus {
  pdus: number;
  requests: number;
  responses: number;
  exception_responses: number;
  func_codes: Record<string, number>;
  exception_codes: Record<string, number>;
  unit_ids: number[];
  device_identification: Record<string, string[]>;
}

function truth(file: string): TruthModbus {
  const t = JSON.parse(readFileSync(new URL(`${file}.truth.json`, PCAPS), 'utf8')) as { modbus: TruthModbus };
  return t.modbus;
}

/** tshark names func codes "3 Read Holding Registers": keep the number. */
function byCode(funcCodes: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(funcCodes)) out[k.split(' ')[0] ?? k] = v;
  return out;
}

describe('golden captures agree with tshark', () => {
  it.each([
    'emre__modbus-mask-write-register.pcap',
    'emre__modbus-read-write-multiple-registers.pcap',
    'icsnpp-modbus__modbus_example.pcap',
    'quickdraw__modbus_test_data_part1.pcap',
    'suricata-verify__modbus.pcap',
    'zeek__4SICS-GeekLounge-151022-min.pcap',
    'zeek__modbus-and-non-modbus-p502.pcap',
    'zeek__modbusSmall.pcap',
    'iti__ModbusTCP.pcap',
  ])('%s: PDU counts, function codes, exceptions, units, device identification', (file) => {
    const got = run(file);
    const want = truth(file);
    expect(got.pdus).toBe(want.pdus);
    expect(got.requests).toBe(want.requests);
    expect(got.responses).toBe(want.responses);
    expect(got.exceptions).toBe(want.exception_responses);
    expect(got.funcCodes).toEqual(byCode(want.func_codes));
    expect(got.exceptionCodes).toEqual(want.exception_codes);
    expect(got.unitIds).toEqual(want.unit_ids);
    expect(got.deviceIdentification).toEqual(want.device_identification);
  });

  it('clean captures raise no anomalies', () => {
    for (const file of ['emre__modbus-mask-write-register.pcap', 'zeek__modbusSmall.pcap']) {
      expect(run(file).anomalies).toEqual({});
    }
  });

  it('non-Modbus payloads on port 502 raise only invalid_protocol_id', () => {
    const got = run('zeek__modbus-and-non-modbus-p502.pcap');
    // 6 scanner connections, both directions each except the HTTP one (its server only sent a RST): 11.
    expect(got.anomalies).toEqual({ invalid_protocol_id: 11 });
  });

  it('iti__modicon_test.pcap: UMAS everywhere; two over-long ADUs are decoded and flagged', () => {
    const got = run('iti__modicon_test.pcap');
    const want = truth('iti__modicon_test.pcap');
    // Frames 19 and 20 carry MBAP length 255 (PDU 254 bytes, one over the specification). tshark decodes them and
    // so do we (the PLC really sent them), flagging each as invalid_length.
    expect(got.anomalies).toEqual({ invalid_length: 2 });
    expect(got.pdus).toBe(want.pdus);
    expect(got.funcCodes).toEqual({ 90: want.pdus });
  });

  it('zeek__modbusBig.pcap: every PDU tshark saw, plus the mid-stream response in frame 1', () => {
    const got = run('zeek__modbusBig.pcap');
    const want = truth('zeek__modbusBig.pcap');
    // Frame 1 is a response whose request precedes the capture: tshark leaves it undissected, we report it as an
    // unsolicited FC1 transaction - but not as an anomaly, since the connection was picked up mid-stream.
    expect(got.pdus).toBe(want.pdus + 1);
    expect(got.requests).toBe(want.requests);
    expect(got.funcCodes).toEqual({ 1: (byCode(want.func_codes)['1'] ?? 0) + 1, 5: byCode(want.func_codes)['5'] });
    expect(got.unsolicited).toBe(1);
    expect(got.anomalies).toEqual({});
  });

  it('zeek__fuzz-72.pcap (fuzzed, lost segments): survives and recovers most PDUs', () => {
    const got = run('zeek__fuzz-72.pcap');
    const want = truth('zeek__fuzz-72.pcap');
    expect(got.pdus).toBeGreaterThanOrEqual(12);
    expect(got.pdus).toBeLessThanOrEqual(want.pdus);
    expect(got.anomalies['unknown_function']).toBeGreaterThan(5);
  });
});
