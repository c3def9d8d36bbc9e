/**
 * Decode tests with byte literals: each S7 PDU is commented with what it is. Most frames are the COTP DT payloads of
 * the public snap7 trace (icsnpp-s7comm tests/traces/snap7.pcap, client vs S7-300 CPU 315-2 PN/DP).
 */
import { describe, expect, it } from 'vitest';
import { functionKey, userdataKey } from './constants.ts';
import { decodeS7, parseBlockFilename } from './decode.ts';
import { newS7Pdu, newS7PlusFrame, readS7Header, readS7PlusHeader } from './header.ts';
import { decodeSzlResponse, identityFacts } from './szl.ts';
import { hex } from './test-support.ts';

function dec(h: string) {
  const b = hex(h);
  return decodeS7(b, 0, b.length);
}

describe('S7comm header', () => {
  it('reads Job header fields without allocating records', () => {
    // Job, PDU ref 0x1900, Read Var, 1 item
    const b = hex('320100001900000e00000401120a10080001000083000080');
    const p = newS7Pdu();
    expect(readS7Header(b, 0, b.length, p)).toBe(true);
    expect([p.rosctr, p.pduRef, p.paramLen, p.dataLen, p.func, p.itemCount, p.complete]).toEqual([
      1,
      0x1900,
      14,
      0,
      4,
      1,
      true,
    ]);
    expect(p.errorClass).toBe(-1);
  });

  it('reads the error class and code of an Ack', () => {
    // Ack to Start upload of OB1 (block missing): error class 0xd2 code 0x0c
    const b = hex('32020000150000000000d20c');
    const p = newS7Pdu();
    readS7Header(b, 0, b.length, p);
    expect([p.rosctr, p.errorClass, p.errorCode, p.func]).toEqual([2, 0xd2, 0x0c, -1]);
  });

  it('refuses a PDU shorter than its header and flags inconsistent lengths', () => {
    const p = newS7Pdu();
    expect(readS7Header(hex('32010000'), 0, 4, p)).toBe(false);
    // Job claiming 14 parameter bytes, carrying 2
    const b = hex('320100000100000e00000401');
    expect(readS7Header(b, 0, b.length, p)).toBe(true);
    expect(p.complete).toBe(false);
  });
});

describe('Job / Ack_Data functions', () => {
  it('setup communication: AMQ and PDU length', () => {
    // Job: Setup communication, AMQ 1/1, PDU 480
    expect(dec('32010000000000080000f0000001000101e0').setup).toEqual({
      maxAmqCalling: 1,
      maxAmqCalled: 1,
      pduLength: 480,
    });
    // Ack_Data: negotiated PDU 240
    const ack = dec('320300000000000800000000f0000001000100f0');
    expect(ack.setup?.pduLength).toBe(240);
    expect(ack.errorClass).toBe(0);
  });

  it('read var: request item address and response data', () => {
    // Job: Read Var, 1 item: M 0.0 BYTE 1 (area 0x83)
    const req = dec('320100001900000e00000401120a10080001000083000080');
    expect(req.items?.[0]).toMatchObject({
      syntaxId: 0x10,
      transportSize: 8,
      length: 1,
      area: 0x83,
      byteAddress: 16,
      bitAddress: 0,
    });
    // Ack_Data: Read Var, 1 item: success, REAL (transport 0x07), 4 bytes 00000000
    const resp = dec('3203000019000002000800000401ff07000400000000');
    expect(resp.data?.[0]).toMatchObject({
      returnCode: 0xff,
      returnCodeName: 'Success',
      transportSize: 7,
      length: 4,
      hex: '00000000',
    });
  });

  it('write var: items with written values, per-item return codes', () => {
    // Job: Write Var, 1 item M 16.0 REAL x1, value 79e9f642
    const req = dec('320100001800000e00080501120a100800010000830000800007000479e9f642');
    expect(req.items?.[0]?.areaName).toBe('Flags (M)');
    expect(req.data?.[0]).toMatchObject({ returnCode: 0, transportSize: 7, length: 4, hex: '79e9f642' });
    // Ack_Data: 5 items: 3 success, 2 "data type inconsistent"? no: 0x03 = access not allowed
    const resp = dec('320300001a000002000500000505ffffff0303');
    expect(resp.returnCodes?.map((r) => r.code)).toEqual([0xff, 0xff, 0xff, 3, 3]);
    expect(resp.returnCodes?.[3]?.name).toBe('Accessing the object not allowed');
  });

  it('write var with several items: bit-length data items and padding', () => {
    // Job: Write Var, 5 items (M, I, Q, timers, counters) with values
    const req = dec(
      '320100001a00003e00740505120a10040010000083000000120a10020010000081000000120a10020010000082000000120a101d000800001d000000120a101c000800001c00000000040100addeaddeaddeaddeaddeaddeaddeaddeefbeefbeefbeefbeefbeefbeefbeefbe00040080aaaaaaaaaaaaaaaabbbbbbbbbbbbbbbb00040080bbbbbbbbbbbbbbbbaddeaddeaddeadde00090010efbeefbeefbeefbeefbeefbeefbeefbe00090010fecafecafecafecafecafecafecafeca',
    );
    expect(req.items).toHaveLength(5);
    expect(req.items?.map((i) => i.area)).toEqual([0x83, 0x81, 0x82, 0x1d, 0x1c]);
    // first data item: transport 0x04 length 0x0100 bits = 32 bytes
    expect(req.data?.map((d) => d.length)).toEqual([32, 16, 16, 16, 16]);
    expect(req.data?.[4]?.hex).toBe('fecafecafecafecafecafecafecafeca');
  });

  it('start upload / upload / end upload with block names', () => {
    // Job: Start upload "_0B00000A" (SDB 0, filesystem A)
    const su = dec('320100000800001200001d00000000000000095f3042303030303041');
    expect(su.block).toMatchObject({ blockType: 'SDB', blockNumber: 0, filesystem: 'A', name: 'SDB0' });
    // Ack_Data: Start upload, upload id 7, block length "0000216"
    const sua = dec('3203000008000010000000001d000100000000070730303030323136');
    expect([sua.uploadId, sua.blockLength]).toEqual([7, 216]);
    // Job: Upload, upload id 7
    expect(dec('320100000900000800001e00000000000007').uploadId).toBe(7);
    // Ack_Data: End upload
    expect(dec('320300000a000001000000001f').funcName).toBe('End upload');
  });

  it('PI services: _MODU, _GARB, P_PROGRAM with parameters, _INSE with its block list', () => {
    // Job: PI _MODU with parameter block "EP"
    expect(dec('320100001d000012000028000000000000fd00024550055f4d4f4455').pi).toMatchObject({
      service: '_MODU',
      parameters: 'EP',
    });
    // Job: PI _GARB (compress memory)
    expect(dec('320100001e000010000028000000000000fd0000055f47415242').pi?.service).toBe('_GARB');
    // Job: PI P_PROGRAM "C " (hot start)
    expect(dec('320100001f000016000028000000000000fd0002432009505f50524f4752414d').pi).toMatchObject({
      service: 'P_PROGRAM',
      parameters: 'C ',
    });
    // Job: PI _INSE of DB1 (block count 1, 0x00, "0A00001P")
    const inse = dec('320100008400001a000028000000000000fd000a01003041303030303150055f494e5345');
    expect(inse.pi?.service).toBe('_INSE');
    expect(inse.pi?.blocks?.[0]).toMatchObject({ blockType: 'DB', blockNumber: 1, filesystem: 'P', name: 'DB1' });
  });

  it('PLC stop', () => {
    // Job: PLC Stop, P_PROGRAM
    const d = dec('320100001c000010000029000000000009505f50524f4752414d');
    expect(d.funcName).toBe('PLC Stop');
    expect(d.pi?.service).toBe('P_PROGRAM');
  });

  it('request download names the block and its length', () => {
    // Job: Request download "_0A00001P" (DB1), length part "1000216000088" (load memory 216 bytes, MC7 88)
    const d = dec('320100008300002000001a00010000000000095f30413030303031500d31303030323136303030303838');
    expect(d.block?.name).toBe('DB1');
    expect(d.blockLength).toBe(216);
    // Job: Download block / Download ended of the same file
    expect(dec('320100006501001200001b00000000000000095f3041303030303150').block?.name).toBe('DB1');
    expect(dec('320100006701001200001c00000000000000095f3041303030303150').funcName).toBe('Download ended');
  });
});

describe('Userdata', () => {
  it('Read SZL request: group, subfunction, SZL id and index', () => {
    // Userdata request: CPU functions / Read SZL 0x0011 index 0
    const d = dec('320700000100000800080001120411440100ff09000400110000');
    expect(d.userdata).toMatchObject({
      type: 4,
      group: 4,
      subfunction: 1,
      subfunctionName: 'Read SZL',
      szlId: '0x0011',
      szlIndex: '0x0000',
    });
    expect(userdataKey(4, 1, 4)).toBe('4 CPU functions / 1 Read SZL (request)');
  });

  it('Read SZL 0x0011 response: order number, firmware and boot loader identity', () => {
    const d = dec(
      '320700000100000c007c000112081284010200000000ff09007800110000001c0004000136455337203331352d32454831342d304142302000c000030001000636455337203331352d32454831342d304142302000c0000300010007202020202020202020202020202020202020202000c0560302070081426f6f74204c6f61646572202020202020202020000041200909',
    );
    const szl = d.userdata?.szl;
    expect(szl?.moduleIds?.map((m) => m.index)).toEqual([1, 6, 7, 0x81]);
    expect(szl?.moduleIds?.[2]?.version).toBe('V3.2.7');
    expect(identityFacts(szl ?? { id: 0, index: 0, recordLength: 0, recordCount: 0 })).toEqual([
      { key: 'szl_0011_index_0x0001', value: '6ES7 315-2EH14-0AB0 ausbg=0x0003' },
      { key: 'szl_0011_index_0x0006', value: '6ES7 315-2EH14-0AB0 ausbg=0x0003' },
      { key: 'szl_0011_index_0x0007', value: ' ausbg=0x5603' },
      { key: 'szl_0011_index_0x0081', value: 'Boot Loader ausbg=0x4120' },
    ]);
  });

  it('SZL 0x0424 (mode), 0x0131 (communication), 0x001C (component names)', () => {
    // 0x0424 record: ereig 0x5144, bzu-id 0x08 = RUN
    const mode = decodeSzlResponse(hex('04240000001400015144ff0800000000000000001602081451375692'), 0, 28);
    expect(mode.modes?.[0]).toMatchObject({ event: 0x5144, requestedModeName: 'RUN' });
    // 0x0131 index 1: max PDU 240, 16 connections
    const comm = decodeSzlResponse(
      hex('0131000100280001000100f0001000b71b000002dc6c05f5e10000000000000000000000000000000000000000000000'),
      0,
      48,
    );
    expect(comm.commCapabilities?.[0]).toMatchObject({ index: 1, maxPduSize: 240 });
    // 0x001C: 1 record, index 2 module name "PLC_1"
    const names = decodeSzlResponse(hex(`001c000000220001 0002 504c435f31${'00'.repeat(27)}`), 0, 42);
    expect(identityFacts(names)).toEqual([{ key: 'szl_001c_module_name', value: 'PLC_1' }]);
  });

  it('time functions: read clock response and set clock request', () => {
    // Response: Time functions / Read clock: 2016-02-08 14:51:37.916
    const r = dec('320700001600000c000e000112081287010200000000ff09000a00191602081451379162');
    expect(r.userdata?.clock).toBe('2016-02-08T14:51:37.916');
    // Request: Time functions / Set clock: 2016-02-08 23:08:10.000
    const s = dec('3207000017000008000e0001120411470200ff09000a00191602082308100002');
    expect(s.userdata?.subfunctionName).toBe('Set clock');
    expect(s.userdata?.clock).toBe('2016-02-08T23:08:10.000');
  });

  it('block functions: list blocks response and get block info request', () => {
    // Response: Block functions / List blocks: OB 1, FB 1, FC 0, ...
    const l = dec(
      '320700000700000c0020000112081283010000000000ff09001c30380001304500013043000030410002304200083044004d3046000f',
    );
    expect(l.userdata?.blockList?.slice(0, 3)).toEqual([
      { blockType: 'OB', count: 1 },
      { blockType: 'FB', count: 1 },
      { blockType: 'FC', count: 0 },
    ]);
    // Request: Block functions / Get block info of "0A00000A"
    const g = dec('320700000b000008000c0001120411430300ff0900083041303030303041');
    expect(g.userdata?.block).toMatchObject({ blockType: 'DB', blockNumber: 0 });
  });

  it('security: PLC password is noted, never shown', () => {
    // Request: Security / PLC password, 8 obfuscated bytes
    const d = dec('3207000001000008000c0001120411450100ff0900080102030405060708');
    expect(d.userdata).toMatchObject({ groupName: 'Security', subfunctionName: 'PLC password', passwordPresent: true });
    expect(JSON.stringify(d)).not.toContain('0102030405060708');
  });

  it('programmer commands, cyclic data, alarms and mode transition names', () => {
    expect(userdataKey(1, 2, 0)).toBe('1 Programmer commands / 2 VarTab (push)');
    expect(userdataKey(1, 16, 8)).toBe('1 Programmer commands / 16 Forces (response)');
    expect(userdataKey(2, 5, 4)).toBe('2 Cyclic data / 5 Memory2 (request)');
    expect(userdataKey(4, 19, 4)).toBe('4 CPU functions / 19 ALARM query (request)');
    expect(userdataKey(1, 13, 4)).toBe('1 Programmer commands / 13 ? (request)');
    // Push: Mode-transition to STOP (subfunction 0)
    const d = dec('3207000000000008000800011200040000000a000000'.replace(/^(.{26})../, '$100'));
    expect(d.userdata?.group).toBe(0);
    expect(d.userdata?.mode).toEqual({ code: 0, name: 'STOP' });
  });

  it('function keys match the truth files', () => {
    expect(functionKey(0x04, 1)).toBe('0x04 Read Var (Job)');
    expect(functionKey(0xf0, 3)).toBe('0xf0 Setup communication (Ack_Data)');
  });
});

describe('S7comm-plus', () => {
  it('V1/V2: opcode, function, sequence; V3: integrity part recognised', () => {
    const f = newS7PlusFrame();
    // V2 request: opcode 0x31, function 0x04f2, seq 0x007f, session 0x00000345
    const v2 = hex('72020034 31 0000 04f2 0000 007f 00000345');
    readS7PlusHeader(v2, 0, v2.length, f);
    expect([f.version, f.byte4, f.opcode, f.function, f.seq, f.sessionId, f.hasIntegrity, f.opaque]).toEqual([
      2,
      0x31,
      0x31,
      0x04f2,
      0x7f,
      0x345,
      false,
      false,
    ]);
    // V3 with a 32-byte digest before the opcode
    const v3 = hex(`72030040 20 ${'ab'.repeat(32)} 32 0000 0586 0000 0011`);
    readS7PlusHeader(v3, 0, v3.length, f);
    expect([f.version, f.byte4, f.hasIntegrity, f.opcode, f.function, f.seq]).toEqual([
      3,
      0x20,
      true,
      0x32,
      0x0586,
      0x11,
    ]);
    // Unknown version / garbage: recognised, marked opaque, nothing else
    const junk = hex('72fe0004deadbeef');
    readS7PlusHeader(junk, 0, junk.length, f);
    expect([f.version, f.opaque, f.opcode]).toEqual([0xfe, true, -1]);
  });

  it('block filenames parse', () => {
    expect(parseBlockFilename('_0E00012B')).toMatchObject({
      blockType: 'FB',
      blockNumber: 12,
      filesystem: 'B',
      name: 'FB12',
    });
  });
});
