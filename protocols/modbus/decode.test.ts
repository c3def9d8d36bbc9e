import { describe, expect, it } from 'vitest';
import { exceptionName, functionCategory, functionName } from './constants.ts';
import { decodePdu } from './decode.ts';
import { adu, concat, hex, newParser, only } from './test-support.ts';
import type { ModbusParserOptions } from './types.ts';

/** Run one request/response pair (tid 1, unit 1) through a parser and return the paired transaction. */
function pair(req: string, resp: string, options: ModbusParserOptions = {}) {
  const { parser, events } = newParser(options);
  const a = adu(1, 1, hex(req));
  const b = adu(1, 1, hex(resp));
  parser.data(0, a, 0, a.length, 10, 0);
  parser.data(1, b, 0, b.length, 10, 500);
  const txs = only(events, 'tx');
  expect(txs).toHaveLength(1);
  const tx = txs[0];
  if (tx === undefined) throw new Error('no transaction');
  expect(tx.kind).toBe('paired');
  return { tx, anomalies: only(events, 'anomaly') };
}

describe('function code table', () => {
  it('pairs each raw code with its name and category', () => {
    expect(functionName(3)).toBe('Read Holding Registers');
    expect(functionName(43)).toBe('Encapsulated Interface Transport');
    expect(functionName(90)).toBe('UMAS (Schneider Electric)');
    expect(functionName(66)).toBe('User Defined');
    expect(functionName(42)).toBe('Reserved');
    expect(functionName(50)).toBe('Unknown');
    expect(functionCategory(101)).toBe(2);
    expect(exceptionName(10)).toBe('Gateway Path Unavailable');
    expect(exceptionName(7)).toBe('Unknown');
  });
});

describe('public function codes, request and response', () => {
  it('FC1 read coils: address, quantity; coils trimmed to the requested quantity', () => {
    // req: fc 01, address 0x0013, quantity 19 | resp: fc 01, byte count 3, coils CD 6B 05
    const { tx, anomalies } = pair('01 0013 0013', '01 03 CD6B05');
    expect(anomalies).toEqual([]);
    expect(tx.func).toBe(1);
    expect(tx.funcName).toBe('Read Coils');
    expect(tx.request).toEqual({
      dir: 0,
      func: 1,
      funcName: 'Read Coils',
      category: 'public',
      isException: false,
      address: 19,
      quantity: 19,
    });
    expect(tx.response).toEqual({
      dir: 1,
      func: 1,
      funcName: 'Read Coils',
      category: 'public',
      isException: false,
      byteCount: 3,
      values: [1, 0, 1, 1, 0, 0, 1, 1, 1, 1, 0, 1, 0, 1, 1, 0, 1, 0, 1],
    });
    expect(tx.rttNs).toBe(500);
  });

  it('FC2 read discrete inputs', () => {
    // req: fc 02, address 196, quantity 22 | resp: fc 02, byte count 3, inputs AC DB 35
    const { tx } = pair('02 00C4 0016', '02 03 ACDB35');
    expect(tx.request).toMatchObject({ address: 196, quantity: 22 });
    expect(tx.response?.values).toEqual([0, 0, 1, 1, 0, 1, 0, 1, 1, 1, 0, 1, 1, 0, 1, 1, 1, 0, 1, 0, 1, 1]);
  });

  it('FC3 read holding registers', () => {
    // req: fc 03, address 107, quantity 3 | resp: fc 03, byte count 6, 555, 0, 100
    const { tx } = pair('03 006B 0003', '03 06 022B 0000 0064');
    expect(tx.request).toMatchObject({ funcName: 'Read Holding Registers', address: 107, quantity: 3 });
    expect(tx.response).toMatchObject({ byteCount: 6, values: [555, 0, 100] });
    expect(tx.response?.valuesTruncated).toBeUndefined();
  });

  it('FC4 read input registers', () => {
    // req: fc 04, address 8, quantity 1 | resp: fc 04, byte count 2, 10
    const { tx } = pair('04 0008 0001', '04 02 000A');
    expect(tx.request).toMatchObject({ address: 8, quantity: 1 });
    expect(tx.response).toMatchObject({ byteCount: 2, values: [10] });
  });

  it('FC5 write single coil and FC6 write single register', () => {
    // req/resp: fc 05, address 172, value FF00 (on)
    const c = pair('05 00AC FF00', '05 00AC FF00').tx;
    expect(c.request).toMatchObject({ address: 172, value: 0xff00 });
    expect(c.response).toMatchObject({ address: 172, value: 0xff00 });
    // req/resp: fc 06, address 1, value 3
    const r = pair('06 0001 0003', '06 0001 0003').tx;
    expect(r.request).toMatchObject({ funcName: 'Write Single Register', address: 1, value: 3 });
    expect(r.response).toMatchObject({ address: 1, value: 3 });
  });

  it('FC7 read exception status', () => {
    // req: fc 07 | resp: fc 07, output data 0x6D
    const { tx } = pair('07', '07 6D');
    expect(tx.response).toMatchObject({ funcName: 'Read Exception Status', status: 0x6d });
  });

  it('FC8 diagnostics: sub-function name and data', () => {
    // req/resp: fc 08, sub-function 0 (Return Query Data), data A537
    const { tx } = pair('08 0000 A537', '08 0000 A537');
    expect(tx.request).toMatchObject({ subFunction: 0, subFunctionName: 'Return Query Data', dataHex: 'a537' });
    expect(tx.response).toMatchObject({ subFunction: 0, dataHex: 'a537' });
    // req/resp: fc 08, sub-function 0x0B (Return Bus Message Count), data 0000 / count 0x0110
    const b = pair('08 000B 0000', '08 000B 0110').tx;
    expect(b.request?.subFunctionName).toBe('Return Bus Message Count');
    expect(b.response?.dataHex).toBe('0110');
  });

  it('FC11 get comm event counter and FC12 get comm event log', () => {
    // req: fc 0B | resp: fc 0B, status FFFF, event count 264
    const c = pair('0B', '0B FFFF 0108').tx;
    expect(c.response).toMatchObject({ status: 0xffff, eventCount: 264 });
    // req: fc 0C | resp: fc 0C, byte count 8, status 0, event count 264, message count 289, events 20 00
    const l = pair('0C', '0C 08 0000 0108 0121 20 00').tx;
    expect(l.response).toMatchObject({ byteCount: 8, status: 0, eventCount: 264, messageCount: 289, events: [32, 0] });
  });

  it('FC15 write multiple coils: written coils as 0/1', () => {
    // req: fc 0F, address 19, quantity 10, byte count 2, coils CD 01 | resp: fc 0F, address 19, quantity 10
    const { tx, anomalies } = pair('0F 0013 000A 02 CD01', '0F 0013 000A');
    expect(anomalies).toEqual([]);
    expect(tx.request).toMatchObject({
      address: 19,
      quantity: 10,
      byteCount: 2,
      values: [1, 0, 1, 1, 0, 0, 1, 1, 1, 0],
    });
    expect(tx.response).toMatchObject({ address: 19, quantity: 10 });
  });

  it('FC16 write multiple registers: written registers as numbers', () => {
    // req: fc 10, address 1, quantity 2, byte count 4, values 000A 0102 | resp: fc 10, address 1, quantity 2
    const { tx } = pair('10 0001 0002 04 000A 0102', '10 0001 0002');
    expect(tx.request).toMatchObject({ address: 1, quantity: 2, byteCount: 4, values: [10, 258] });
    expect(tx.response).toMatchObject({ address: 1, quantity: 2 });
  });

  it('FC17 report server id: server id bytes and run indicator', () => {
    // req: fc 11 | resp: fc 11, byte count 5, server id 01, run indicator FF, additional data "ABC"
    const { tx } = pair('11', '11 05 01 FF 414243');
    expect(tx.response).toMatchObject({
      funcName: 'Report Server ID',
      byteCount: 5,
      serverIdHex: '01ff414243',
      runIndicator: 0xff,
      runIndicatorOn: true,
    });
  });

  it('FC20 read file record: sub-requests and sub-responses', () => {
    // req: fc 14, byte count 14, [ref 6, file 4, record 1, length 2], [ref 6, file 3, record 9, length 2]
    // resp: fc 14, byte count 12, [len 5, ref 6, 0DFE 0020], [len 5, ref 6, 33CD 0040]
    const { tx, anomalies } = pair(
      '14 0E 06 0004 0001 0002 06 0003 0009 0002',
      '14 0C 05 06 0DFE 0020 05 06 33CD 0040',
    );
    expect(anomalies).toEqual([]);
    expect(tx.request?.fileRecords).toEqual([
      { refType: 6, fileNumber: 4, recordNumber: 1, recordLength: 2 },
      { refType: 6, fileNumber: 3, recordNumber: 9, recordLength: 2 },
    ]);
    expect(tx.response?.fileRecords).toEqual([
      { refType: 6, recordLength: 2, values: [0x0dfe, 0x0020] },
      { refType: 6, recordLength: 2, values: [0x33cd, 0x0040] },
    ]);
  });

  it('FC21 write file record: sub-request data', () => {
    // req/resp: fc 15, byte count 13, [ref 6, file 4, record 7, length 3, data 06AF 04BE 100D]
    const { tx, anomalies } = pair('15 0D 06 0004 0007 0003 06AF 04BE 100D', '15 0D 06 0004 0007 0003 06AF 04BE 100D');
    expect(anomalies).toEqual([]);
    const rec = { refType: 6, fileNumber: 4, recordNumber: 7, recordLength: 3, values: [0x06af, 0x04be, 0x100d] };
    expect(tx.request?.fileRecords).toEqual([rec]);
    expect(tx.response?.fileRecords).toEqual([rec]);
  });

  it('FC22 mask write register: and/or masks', () => {
    // req/resp: fc 16, address 4, AND mask 00F2, OR mask 0025
    const { tx } = pair('16 0004 00F2 0025', '16 0004 00F2 0025');
    expect(tx.request).toMatchObject({ address: 4, andMask: 0xf2, orMask: 0x25 });
    expect(tx.response).toMatchObject({ address: 4, andMask: 0xf2, orMask: 0x25 });
  });

  it('FC23 read/write multiple registers: ranges and values', () => {
    // req: fc 17, read 3 ×6, write 14 ×3, byte count 6, values 00FF ×3
    // resp: fc 17, byte count 12, 00FE 0ACD 0001 0003 000D 00FF
    const { tx } = pair('17 0003 0006 000E 0003 06 00FF 00FF 00FF', '17 0C 00FE 0ACD 0001 0003 000D 00FF');
    expect(tx.request).toMatchObject({
      readAddress: 3,
      readQuantity: 6,
      writeAddress: 14,
      writeQuantity: 3,
      byteCount: 6,
      values: [255, 255, 255],
    });
    expect(tx.response).toMatchObject({ byteCount: 12, values: [0xfe, 0xacd, 1, 3, 13, 255] });
  });

  it('FC24 read FIFO queue: pointer, count, values', () => {
    // req: fc 18, FIFO pointer 0x04DE | resp: fc 18, byte count 6, FIFO count 2, 01B8 1284
    const { tx } = pair('18 04DE', '18 0006 0002 01B8 1284');
    expect(tx.request).toMatchObject({ fifoPointer: 1246 });
    expect(tx.response).toMatchObject({ byteCount: 6, fifoCount: 2, values: [440, 4740] });
  });

  it('FC43 MEI 14 read device identification: objects with standard names', () => {
    // req: fc 2B, MEI 0E, code 01 (basic), object 00
    // resp: fc 2B, MEI 0E, code 01, conformity 01, more 00, next 00, 3 objects:
    //   00 "ACME", 01 "P42", 02 "V1.02"
    const { tx, anomalies } = pair('2B 0E 01 00', '2B 0E 01 01 00 00 03 0004 41434D45 0103 503432 0205 56312E3032');
    expect(anomalies).toEqual([]);
    expect(tx.request).toMatchObject({
      meiType: 14,
      meiName: 'Read Device Identification',
      readDeviceIdCode: 1,
      readDeviceIdCodeName: 'Basic Stream',
      objectId: 0,
    });
    expect(tx.response).toMatchObject({
      meiType: 14,
      readDeviceIdCode: 1,
      conformityLevel: 1,
      conformityLevelName: 'Basic (stream access only)',
      moreFollows: false,
      nextObjectId: 0,
      objects: [
        { id: 0, name: 'VendorName', value: 'ACME' },
        { id: 1, name: 'ProductCode', value: 'P42' },
        { id: 2, name: 'MajorMinorRevision', value: 'V1.02' },
      ],
    });
  });

  it('FC43 MEI 14: more follows, private object, latin1 value, all standard names', () => {
    // resp: fc 2B, MEI 0E, code 03, conformity 83, more FF, next 81, 5 objects:
    //   03 "u", 04 "p", 05 "m", 06 "a", 80 "\xE9t\xE9"
    const resp = '2B 0E 03 83 FF 81 05 0301 75 0401 70 0501 6D 0601 61 8003 E974E9';
    const { tx } = pair('2B 0E 03 03', resp);
    expect(tx.response).toMatchObject({
      conformityLevelName: 'Extended (stream and individual access)',
      moreFollows: true,
      nextObjectId: 0x81,
      objects: [
        { id: 3, name: 'VendorUrl', value: 'u' },
        { id: 4, name: 'ProductName', value: 'p' },
        { id: 5, name: 'ModelName', value: 'm' },
        { id: 6, name: 'UserApplicationName', value: 'a' },
        { id: 0x80, name: 'Private', value: 'été' },
      ],
    });
  });

  it('FC43 MEI 13 CANopen general reference: raw bytes', () => {
    // req: fc 2B, MEI 0D, data 01 02 03 | resp: fc 2B, MEI 0D, data 0A 0B
    const { tx } = pair('2B 0D 010203', '2B 0D 0A0B');
    expect(tx.request).toMatchObject({ meiType: 13, meiName: 'CANopen General Reference', dataHex: '010203' });
    expect(tx.response).toMatchObject({ meiType: 13, dataHex: '0a0b' });
  });
});

describe('exception responses', () => {
  it('decodes fc | 0x80 with code and name on pdu, transaction and details', () => {
    const { parser, events } = newParser();
    // req: tid 7, unit 2, fc 03, address 0, quantity 1 | resp: fc 83, exception 02
    const a = adu(7, 2, hex('03 0000 0001'));
    const b = adu(7, 2, hex('83 02'));
    parser.data(0, a, 0, a.length, 1, 0);
    parser.data(1, b, 0, b.length, 1, 0);
    const pdus = only(events, 'pdu');
    expect(pdus[1]).toMatchObject({ fc: 0x83, func: 3, isException: true, exceptionCode: 2 });
    expect(pdus[1]?.exceptionName).toBe('Illegal Data Address');
    const tx = only(events, 'tx')[0];
    expect(tx).toMatchObject({ kind: 'paired', func: 3, isException: true, exceptionCode: 2 });
    expect(tx?.response).toEqual({
      dir: 1,
      func: 3,
      funcName: 'Read Holding Registers',
      category: 'public',
      isException: true,
      exceptionCode: 2,
      exceptionName: 'Illegal Data Address',
    });
    expect(only(events, 'anomaly')).toEqual([]);
    expect(parser.stats.exceptions).toBe(1);
  });

  it('names every standard exception code', () => {
    const names: Record<number, string> = {
      1: 'Illegal Function',
      2: 'Illegal Data Address',
      3: 'Illegal Data Value',
      4: 'Server Device Failure',
      5: 'Acknowledge',
      6: 'Server Device Busy',
      8: 'Memory Parity Error',
      10: 'Gateway Path Unavailable',
      11: 'Gateway Target Device Failed to Respond',
    };
    for (const [code, name] of Object.entries(names)) {
      const d = decodePdu(1, Uint8Array.of(0x81, Number(code)), 0, 2);
      expect(d.exceptionName).toBe(name);
    }
  });
});

describe('vendor, user-defined and reserved codes', () => {
  it('FC90 UMAS: session key, sub-function and name', () => {
    // req: fc 5A, session 00, UMAS 02 (Read ID) | resp: fc 5A, session 00, UMAS FE (OK), data 01 02
    const { tx, anomalies } = pair('5A 00 02', '5A 00 FE 0102');
    expect(anomalies).toEqual([]);
    expect(tx.category).toBe('vendor');
    expect(tx.request).toMatchObject({ umasSessionKey: 0, umasFunction: 2, umasFunctionName: 'Read ID' });
    expect(tx.response).toMatchObject({ umasFunction: 0xfe, umasFunctionName: 'Response OK', dataHex: '0102' });
  });

  it('user-defined 65 is recognised without an anomaly, reserved 42 is flagged', () => {
    // req/resp: fc 41 (user defined), data 01 02
    const u = pair('41 0102', '41 0304');
    expect(u.anomalies).toEqual([]);
    expect(u.tx.request).toMatchObject({ category: 'user_defined', funcName: 'User Defined', dataHex: '0102' });
    // req/resp: fc 2A (reserved), data 00
    const r = pair('2A 00', '2A 00');
    expect(r.anomalies.map((a) => a.kind)).toEqual(['unknown_function', 'unknown_function']);
    expect(r.tx.request?.category).toBe('reserved');
  });
});

describe('caps and malformed PDUs', () => {
  it('caps decoded arrays at maxValues with valuesTruncated', () => {
    // req: fc 01, address 0, quantity 2000 | resp: fc 01, byte count 250, 250 × FF
    const resp = concat(Uint8Array.of(1, 250), new Uint8Array(250).fill(0xff));
    const { parser, events } = newParser();
    const a = adu(1, 1, hex('01 0000 07D0'));
    const b = adu(1, 1, resp);
    parser.data(0, a, 0, a.length, 0, 0);
    parser.data(1, b, 0, b.length, 0, 0);
    const tx = only(events, 'tx')[0];
    expect(tx?.response?.values).toHaveLength(128);
    expect(tx?.response?.valuesTruncated).toBe(true);
    const small = pair('10 0001 0003 06 0001 0002 0003', '10 0001 0003', { maxValues: 2 }).tx;
    expect(small.request).toMatchObject({ values: [1, 2], valuesTruncated: true });
  });

  it('flags a byte count that disagrees with the length, keeps what decodes', () => {
    // resp: fc 03, byte count 8 but only 4 register bytes follow
    const d = decodePdu(1, hex('03 08 0001 0002'), 0, 6);
    expect(d.malformed).toBe('byte count disagrees with PDU length');
    expect(d.values).toEqual([1, 2]);
    // MEI 14 object length overruns the PDU
    const m = decodePdu(1, hex('2B 0E 01 01 00 00 01 00 09 41'), 0, 10);
    expect(m.malformed).toBe('device identification objects overrun the PDU');
    expect(m.objects).toEqual([{ id: 0, name: 'VendorName', value: 'A' }]);
  });

  it('never throws on truncated PDUs of any function code', () => {
    for (let fc = 0; fc < 256; fc++) {
      for (let len = 1; len < 12; len++) {
        const buf = new Uint8Array(len).fill(0xff);
        buf[0] = fc;
        expect(() => decodePdu(0, buf, 0, len)).not.toThrow();
        expect(() => decodePdu(1, buf, 0, len, 4, { quantity: 3 })).not.toThrow();
      }
    }
  });
});
