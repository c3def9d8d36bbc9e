// Synthetic captures for the bundled rules whose behaviour no public capture shows (UMAS start/stop, S7 block
// delete and password guessing, OPC UA DeleteNodes/HistoryUpdate, expired certificates, parser anomalies, sweeps
// and floods). Each file is a tiny, readable TCP conversation built byte by byte from the protocol specifications;
// the rules' tests name them. Regenerate with: node rules/packs/captures/generate.mjs (output is deterministic).
import { writeFileSync } from 'node:fs';
// The certificate the expired-certificate capture carries (expired-cert.mjs says what it is).
import { EXPIRED_CERT } from './expired-cert.mjs';

const OUT = new URL('./', import.meta.url);

// ---------------------------------------------------------------------------------------------------------------
// pcap writer: Ethernet / IPv4 / TCP, one conversation object per connection.
class Pcap {
  constructor(t0) {
    this.t = t0; // seconds (float)
    this.records = [];
  }
  at(sec) {
    this.t = sec;
  }
  step(dt) {
    this.t += dt;
  }
  packet(frame) {
    const sec = Math.floor(this.t);
    const usec = Math.round((this.t - sec) * 1e6);
    const h = Buffer.alloc(16);
    h.writeUInt32LE(sec, 0);
    h.writeUInt32LE(usec, 4);
    h.writeUInt32LE(frame.length, 8);
    h.writeUInt32LE(frame.length, 12);
    this.records.push(h, frame);
  }
  save(name) {
    const g = Buffer.alloc(24);
    g.writeUInt32LE(0xa1b2c3d4, 0);
    g.writeUInt16LE(2, 4);
    g.writeUInt16LE(4, 6);
    g.writeUInt32LE(65535, 16);
    g.writeUInt32LE(1, 20);
    writeFileSync(new URL(name, OUT), Buffer.concat([g, ...this.records]));
  }
}

function ipBytes(ip) {
  return Buffer.from(ip.split('.').map(Number));
}
function checksum(buf) {
  let s = 0;
  for (let i = 0; i + 1 < buf.length; i += 2) s += buf.readUInt16BE(i);
  if (buf.length & 1) s += buf[buf.length - 1] << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

class Tcp {
  constructor(pcap, client, cport, server, sport) {
    Object.assign(this, { pcap, client, cport, server, sport });
    this.seq = [1000, 50000];
  }
  seg(dir, flags, payload = Buffer.alloc(0)) {
    const [src, dst, sp, dp] =
      dir === 0
        ? [this.client, this.server, this.cport, this.sport]
        : [this.server, this.client, this.sport, this.cport];
    const tcp = Buffer.alloc(20);
    tcp.writeUInt16BE(sp, 0);
    tcp.writeUInt16BE(dp, 2);
    tcp.writeUInt32BE(this.seq[dir] >>> 0, 4);
    tcp.writeUInt32BE(this.seq[1 - dir] >>> 0, 8);
    tcp[12] = 5 << 4;
    tcp[13] = flags;
    tcp.writeUInt16BE(65535, 14);
    const ip = Buffer.alloc(20);
    ip[0] = 0x45;
    ip.writeUInt16BE(20 + 20 + payload.length, 2);
    ip[8] = 64;
    ip[9] = 6;
    ipBytes(src).copy(ip, 12);
    ipBytes(dst).copy(ip, 16);
    ip.writeUInt16BE(checksum(ip), 10);
    const pseudo = Buffer.concat([ip.subarray(12, 20), Buffer.from([0, 6]), u16(20 + payload.length), tcp, payload]);
    tcp.writeUInt16BE(checksum(pseudo), 16);
    const eth = Buffer.from([0, 0x1b, 0x1b, 0, 0, dir === 0 ? 2 : 1, 0, 0x0c, 0x29, 0, 0, dir === 0 ? 1 : 2, 8, 0]);
    this.pcap.packet(Buffer.concat([eth, ip, tcp, payload]));
    this.seq[dir] += payload.length + (flags & 0x03 ? 1 : 0);
  }
  open() {
    this.seg(0, 0x02);
    this.pcap.step(0.0005);
    this.seg(1, 0x12);
    this.pcap.step(0.0005);
    this.seg(0, 0x10);
    this.pcap.step(0.001);
    return this;
  }
  send(dir, payload) {
    this.seg(dir, 0x18, payload);
    this.pcap.step(0.002);
  }
  /** Request then response (response may be null). */
  rr(req, res) {
    this.send(0, req);
    if (res) this.send(1, res);
  }
  close() {
    this.seg(0, 0x11);
    this.pcap.step(0.0005);
    this.seg(1, 0x11);
    this.pcap.step(0.0005);
    this.seg(0, 0x10);
    this.pcap.step(0.001);
  }
}

const u8 = (n) => Buffer.from([n & 0xff]);
const u16 = (n) => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n & 0xffff);
  return b;
};
const u16le = (n) => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n & 0xffff);
  return b;
};
const u32le = (n) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};
const i32le = (n) => {
  const b = Buffer.alloc(4);
  b.writeInt32LE(n);
  return b;
};
const cat = (...parts) => Buffer.concat(parts.map((p) => (Buffer.isBuffer(p) ? p : Buffer.from(p))));

// ---------------------------------------------------------------------------------------------------------------
// Modbus/TCP
function mbap(tid, unit, pdu) {
  return cat(u16(tid), u16(0), u16(pdu.length + 1), u8(unit), pdu);
}
function modbusSweeps() {
  const p = new Pcap(1700000000);
  // Unit-id sweep: FC 3 to units 1..20 through one gateway; units without a device answer exception 0x0B.
  let c = new Tcp(p, '10.0.0.66', 40001, '10.0.0.10', 502).open();
  let tid = 1;
  for (let unit = 1; unit <= 20; unit++) {
    c.rr(mbap(tid, unit, cat([3], u16(0), u16(1))), mbap(tid, unit, Buffer.from([0x83, 0x0b])));
    tid++;
  }
  // Address sweep: FC 3 reads of one register at 150 consecutive addresses of unit 1.
  for (let a = 0; a < 150; a++) {
    c.rr(mbap(tid, 1, cat([3], u16(a), u16(1))), mbap(tid, 1, cat([3, 2], u16(a))));
    tid++;
  }
  c.close();
  // Request flood: 1200 reads of the same block in ~6 s from another host.
  p.step(1);
  c = new Tcp(p, '10.0.0.67', 40002, '10.0.0.10', 502).open();
  for (let i = 0; i < 1200; i++)
    c.rr(mbap(i & 0xffff, 1, cat([3], u16(0), u16(2))), mbap(i & 0xffff, 1, cat([3, 4], u16(1), u16(2))));
  c.close();
  p.save('modbus-recon-sweeps.pcap');
}

function modbusAnomalies() {
  const p = new Pcap(1700000100);
  // function_mismatch: FC 3 request answered with an FC 4 response under the same transaction id.
  let c = new Tcp(p, '10.0.0.68', 40010, '10.0.0.11', 502).open();
  c.rr(mbap(1, 1, cat([3], u16(0), u16(1))), mbap(1, 1, cat([4, 2], u16(7))));
  c.close();
  // too_many_open_transactions: 300 pipelined requests the device never answers.
  c = new Tcp(p, '10.0.0.69', 40011, '10.0.0.11', 502).open();
  for (let i = 0; i < 300; i++) c.send(0, mbap(i + 1, 1, cat([3], u16(i), u16(1))));
  c.close();
  p.save('modbus-anomalies.pcap');
}

function umasEngineering() {
  const p = new Pcap(1700000200);
  const c = new Tcp(p, '10.0.0.70', 40020, '10.0.0.12', 502).open();
  let tid = 1;
  const umas = (fn, data = []) => {
    c.rr(mbap(tid, 0, cat([0x5a, 0x01, fn], data)), mbap(tid, 0, cat([0x5a, 0x01, 0xfe], [0])));
    tid++;
  };
  umas(0x10, [0x00]); // take reservation
  umas(0x41); // stop PLC
  umas(0x30, [0x01, 0x00]); // initialise strategy upload
  umas(0x31, [0x01, 0x00, 0x00]); // upload block
  umas(0x32, [0x01]); // end strategy upload
  umas(0x23, [0x00, 0x01, 0x02, 0x03]); // write variables
  umas(0x40); // start PLC
  c.close();
  p.save('umas-engineering.pcap');
}

// ---------------------------------------------------------------------------------------------------------------
// S7comm over COTP / TPKT
function tpkt(cotpAndData) {
  return cat([3, 0], u16(cotpAndData.length + 4), cotpAndData);
}
const dt = (s7) => tpkt(cat([0x02, 0xf0, 0x80], s7));
function cotpConnect(type, srcTsap, dstTsap) {
  const params = cat([0xc1, 2], u16(srcTsap), [0xc2, 2], u16(dstTsap), [0xc0, 1, 0x0a]);
  const body = cat([type], u16(type === 0xe0 ? 0 : 1), u16(1), [0], params);
  return tpkt(cat([body.length], body));
}
function s7job(ref, params, data = Buffer.alloc(0)) {
  return cat([0x32, 0x01], u16(0), u16(ref), u16(params.length), u16(data.length), params, data);
}
function s7ack(ref, params, data = Buffer.alloc(0), errClass = 0, errCode = 0) {
  return cat([0x32, 0x03], u16(0), u16(ref), u16(params.length), u16(data.length), [errClass, errCode], params, data);
}
function s7userdata(ref, type, group, sub, seq, payload, rc = 0xff) {
  const params =
    type === 8
      ? cat([0x00, 0x01, 0x12, 0x08, 0x12, (type << 4) | group, sub, seq, 0x00, 0x00], u16(0))
      : cat([0x00, 0x01, 0x12, 0x04, 0x11, (type << 4) | group, sub, seq]);
  const data = cat([rc, payload.length ? 0x09 : 0x0a], u16(payload.length), payload);
  return cat([0x32, 0x07], u16(0), u16(ref), u16(params.length), u16(data.length), params, data);
}
function s7session(p, client, cport, server) {
  const c = new Tcp(p, client, cport, server, 102).open();
  c.rr(cotpConnect(0xe0, 0x0100, 0x0102), cotpConnect(0xd0, 0x0102, 0x0100));
  const setup = cat([0xf0, 0x00], u16(1), u16(1), u16(480));
  c.rr(dt(s7job(1, setup)), dt(s7ack(1, setup)));
  return c;
}
function piJob(ref, block, service) {
  return s7job(
    ref,
    cat([0x28, 0, 0, 0, 0, 0, 0, 0xfd], u16(block.length), block, [service.length], Buffer.from(service)),
  );
}
function s7Engineering() {
  const p = new Pcap(1700000300);
  const c = s7session(p, '10.0.1.50', 41000, '10.0.1.10');
  // PI _DELE of FC 10 (param block: count | 0 | file name).
  c.rr(dt(piJob(2, cat([1, 0], Buffer.from('0800010P')), '_DELE')), dt(s7ack(2, Buffer.from([0x28]))));
  // Write Var to the process-image outputs: QB 0 = 0xFF.
  const item = cat([0x12, 0x0a, 0x10, 0x02], u16(1), u16(0), [0x82, 0, 0, 0]);
  c.rr(
    dt(s7job(3, cat([0x05, 0x01], item), cat([0x00, 0x04], u16(8), [0xff]))),
    dt(s7ack(3, Buffer.from([0x05, 0x01]), Buffer.from([0xff]))),
  );
  // Programmer command Erase (group 1, subfunction 12).
  c.rr(dt(s7userdata(4, 4, 1, 12, 0, Buffer.from([0, 0]))), dt(s7userdata(4, 8, 1, 12, 1, Buffer.alloc(0), 0x0a)));
  // The CPU reports a mode transition to RUN (group 0, subfunction 2, push).
  c.send(1, dt(s7userdata(0, 0, 0, 2, 0, Buffer.alloc(0), 0x0a)));
  c.close();
  p.save('s7-engineering.pcap');
}
function s7Password() {
  const p = new Pcap(1700000400);
  const c = s7session(p, '10.0.1.51', 41001, '10.0.1.10');
  for (let i = 0; i < 6; i++) {
    // Security group 5 / PLC password with an 8-byte obfuscated password; the CPU refuses (return code 0x05).
    c.rr(
      dt(s7userdata(10 + i, 4, 5, 1, 0, Buffer.from([0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38 + i]))),
      dt(s7userdata(10 + i, 8, 5, 1, 1, Buffer.alloc(0), 0x05)),
    );
    p.step(2);
  }
  c.close();
  p.save('s7-password-guessing.pcap');
}
function s7CpuScan() {
  const p = new Pcap(1700000500);
  for (let h = 1; h <= 6; h++) {
    const c = s7session(p, '10.0.1.99', 42000 + h, `10.0.1.${100 + h}`);
    c.close();
    p.step(1);
  }
  p.save('s7-cpu-scan.pcap');
}
function s7Anomalies() {
  const p = new Pcap(1700000600);
  // cotp.invalid_tpkt: TPKT version 7.
  let c = new Tcp(p, '10.0.1.60', 43001, '10.0.1.20', 102).open();
  c.rr(cotpConnect(0xe0, 0x0100, 0x0102), cotpConnect(0xd0, 0x0102, 0x0100));
  c.send(0, Buffer.from([7, 0, 0, 12, 2, 0xf0, 0x80, 0x32, 1, 0, 0, 0]));
  c.close();
  // s7comm.invalid_header: an S7comm PDU cut after 6 of its 10 header bytes.
  c = s7session(p, '10.0.1.61', 43002, '10.0.1.20');
  c.send(0, dt(cat([0x32, 0x01], u16(0), u16(5))));
  c.close();
  // s7comm.invalid_length: the header announces 40 parameter bytes, the frame carries 2.
  c = s7session(p, '10.0.1.62', 43003, '10.0.1.20');
  c.send(0, dt(cat([0x32, 0x01], u16(0), u16(6), u16(40), u16(0), [0x04, 0x01])));
  c.close();
  // s7comm.unknown_function: Job function 0x99.
  c = s7session(p, '10.0.1.63', 43004, '10.0.1.20');
  c.rr(dt(s7job(7, Buffer.from([0x99, 0x00]))), dt(s7ack(7, Buffer.from([0x99]), Buffer.alloc(0), 0x85, 0x00)));
  c.close();
  // cotp.pdu_too_large: 80 COTP DT fragments of 1000 bytes without the end-of-TSDU bit (80 kB > 64 KiB).
  c = s7session(p, '10.0.1.64', 43005, '10.0.1.20');
  const frag = cat(s7job(8, Buffer.from([0x05, 0x01])), Buffer.alloc(1000 - 10));
  for (let i = 0; i < 80; i++) c.send(0, tpkt(cat([0x02, 0xf0, 0x00], frag)));
  c.close();
  // s7comm.unexpected_protocol: an HTTP request on port 102.
  c = new Tcp(p, '10.0.1.65', 43006, '10.0.1.20', 102).open();
  for (let i = 0; i < 4; i++)
    c.rr(Buffer.from('GET / HTTP/1.1\r\nHost: plc\r\n\r\n'), Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n'));
  c.close();
  // s7comm.request_unanswered, twice: a Read Var (DB1.DBB0) the CPU never answers before the client closes the
  // connection, and one it never answers while it does answer the next read 40 s later (past the 30 s timeout).
  const readDb1 = cat([0x04, 0x01, 0x12, 0x0a, 0x10, 0x02], u16(1), u16(1), [0x84, 0, 0, 0]);
  const readAck = (ref) => s7ack(ref, Buffer.from([0x04, 0x01]), Buffer.from([0xff, 0x04, 0x00, 0x08, 0x2a]));
  c = s7session(p, '10.0.1.66', 43007, '10.0.1.20');
  c.send(0, dt(s7job(9, readDb1)));
  c.close();
  c = s7session(p, '10.0.1.67', 43008, '10.0.1.20');
  c.send(0, dt(s7job(10, readDb1)));
  p.step(40);
  c.rr(dt(s7job(11, readDb1)), dt(readAck(11)));
  c.close();
  p.save('s7-anomalies.pcap');
}

// ---------------------------------------------------------------------------------------------------------------
// OPC UA binary
const uaString = (s) => (s === null ? i32le(-1) : cat(i32le(Buffer.byteLength(s)), Buffer.from(s)));
const uaBytes = (b) => (b === null ? i32le(-1) : cat(i32le(b.length), b));
const nodeNum = (id, ns = 0) => (ns === 0 && id < 256 ? Buffer.from([0x00, id]) : cat([0x01, ns], u16le(id)));
const nodeStr = (ns, s) => cat([0x03], u16le(ns), uaString(s));
const dateTime = () => Buffer.from([0, 0x80, 0x3e, 0xd5, 0xde, 0xb1, 0x9d, 0x01]);
const extNone = () => Buffer.from([0x00, 0x00, 0x00]);
const requestHeader = (handle) =>
  cat([0x00, 0x00], dateTime(), u32le(handle), u32le(0), uaString(null), u32le(10000), extNone());
const responseHeader = (handle, status = 0) =>
  cat(dateTime(), u32le(handle), u32le(status), [0x00], i32le(-1), extNone());
const POLICY_NONE = 'http://opcfoundation.org/UA/SecurityPolicy#None';
const BAD_USER_ACCESS_DENIED = 0x801f0000;
const BAD_IDENTITY_TOKEN_REJECTED = 0x80210000;

function uacp(type, chunk, body) {
  return cat(Buffer.from(type), Buffer.from(chunk), u32le(body.length + 8), body);
}
function hello(recv = 65536, send = 65536) {
  return uacp(
    'HEL',
    'F',
    cat(u32le(0), u32le(recv), u32le(send), u32le(0), u32le(0), uaString('opc.tcp://server:4840')),
  );
}
function ack(recv = 65536, send = 65536) {
  return uacp('ACK', 'F', cat(u32le(0), u32le(recv), u32le(send), u32le(0), u32le(0)));
}
function opnRequest(channel, seq, reqId, mode = 1) {
  const body = cat(nodeNum(446, 0), requestHeader(1), u32le(0), u32le(0), u32le(mode), uaBytes(null), u32le(600000));
  return uacp(
    'OPN',
    'F',
    cat(u32le(channel), uaString(POLICY_NONE), uaBytes(null), uaBytes(null), u32le(seq), u32le(reqId), body),
  );
}
function opnResponse(channel, seq, reqId) {
  const token = cat(u32le(channel), u32le(1), dateTime(), u32le(600000));
  const body = cat(nodeNum(449, 0), responseHeader(1), u32le(0), token, uaBytes(null));
  return uacp(
    'OPN',
    'F',
    cat(u32le(channel), uaString(POLICY_NONE), uaBytes(null), uaBytes(null), u32le(seq), u32le(reqId), body),
  );
}
function msg(channel, seq, reqId, body, chunk = 'F') {
  return uacp('MSG', chunk, cat(u32le(channel), u32le(1), u32le(seq), u32le(reqId), body));
}

class UaConn {
  constructor(p, client, cport, server, sport = 4840) {
    this.c = new Tcp(p, client, cport, server, sport).open();
    this.seq = [1, 1];
    this.req = 1;
    this.c.rr(hello(), ack());
    this.c.rr(opnRequest(0, this.seq[0]++, this.req), opnResponse(7, this.seq[1]++, this.req));
    this.req++;
  }
  call(reqBody, resBody) {
    const id = this.req++;
    this.c.rr(msg(7, this.seq[0]++, id, reqBody), resBody ? msg(7, this.seq[1]++, id, resBody) : null);
  }
  close() {
    this.c.close();
  }
}
const serviceFault = (handle, status) => cat(nodeNum(397, 0), responseHeader(handle, status));
function writeRequest(handle, value) {
  const wv = cat(nodeStr(2, 'Pump1.Speed'), u32le(13), uaString(null), [0x01, 0x06], i32le(value));
  return cat(nodeNum(673, 0), requestHeader(handle), i32le(1), wv);
}
const writeResponse = (handle) => cat(nodeNum(676, 0), responseHeader(handle), i32le(1), u32le(0), i32le(-1));
function userNameToken(user, password) {
  const body = cat(uaString('username'), uaString(user), uaBytes(Buffer.from(password)), uaString(null));
  return cat(nodeNum(324, 0), [0x01], i32le(body.length), body);
}
function activateSession(handle, user, password) {
  return cat(
    nodeNum(467, 0),
    requestHeader(handle),
    uaString(null),
    uaBytes(null),
    i32le(-1),
    i32le(-1),
    userNameToken(user, password),
    uaString(null),
    uaBytes(null),
  );
}

function anonymousToken() {
  const body = uaString('anonymous');
  return cat(nodeNum(321, 0), [0x01], i32le(body.length), body);
}
function opcuaNodeManagement() {
  const p = new Pcap(1700000700);
  const ua = new UaConn(p, '10.0.2.50', 44001, '10.0.2.10');
  // An anonymous session (the server accepts it), then address-space changes and writes in it.
  ua.call(
    cat(
      nodeNum(467, 0),
      requestHeader(9),
      uaString(null),
      uaBytes(null),
      i32le(-1),
      i32le(-1),
      anonymousToken(),
      uaString(null),
      uaBytes(null),
    ),
    cat(nodeNum(470, 0), responseHeader(9), uaBytes(null), i32le(0), i32le(-1)),
  );
  // DeleteNodes of one node, deleting its references too.
  ua.call(
    cat(nodeNum(500, 0), requestHeader(10), i32le(1), nodeStr(2, 'Pump1'), [0x01]),
    cat(nodeNum(503, 0), responseHeader(10), i32le(1), u32le(0), i32le(-1)),
  );
  // HistoryUpdate with one (empty) details object.
  ua.call(
    cat(nodeNum(700, 0), requestHeader(11), i32le(1), extNone()),
    cat(nodeNum(703, 0), responseHeader(11), i32le(0), i32le(-1)),
  );
  // A Write refused for lack of rights.
  ua.call(writeRequest(12, 1), serviceFault(12, BAD_USER_ACCESS_DENIED));
  // 60 Writes in 3 seconds (write flood).
  for (let i = 0; i < 60; i++) {
    ua.call(writeRequest(13 + i, i), writeResponse(13 + i));
    p.step(0.04);
  }
  ua.close();
  p.save('opcua-node-management.pcap');
}
function opcuaLoginGuessing() {
  const p = new Pcap(1700000800);
  const ua = new UaConn(p, '10.0.2.51', 44002, '10.0.2.10');
  for (let i = 0; i < 6; i++) {
    ua.call(
      activateSession(20 + i, 'admin', `guess${i}`),
      serviceFault(20 + i, i % 2 ? BAD_USER_ACCESS_DENIED : BAD_IDENTITY_TOKEN_REJECTED),
    );
    p.step(1);
  }
  ua.close();
  p.save('opcua-login-guessing.pcap');
}
function opcuaDiscoveryScan() {
  const p = new Pcap(1700000900);
  for (let h = 1; h <= 3; h++) {
    const ua = new UaConn(p, '10.0.2.99', 44010 + h, `10.0.2.${100 + h}`);
    ua.call(
      cat(nodeNum(428, 0), requestHeader(2), uaString(`opc.tcp://10.0.2.${100 + h}:4840`), i32le(-1), i32le(-1)),
      cat(nodeNum(431, 0), responseHeader(2), i32le(0)),
    );
    if (h === 1) {
      // Walk the address space: 60 Browse requests of one node each.
      for (let i = 0; i < 60; i++) {
        const desc = cat(nodeNum(i + 1, 0), u32le(0), nodeNum(33, 0), [0x01], u32le(0), u32le(63));
        ua.call(
          cat(
            nodeNum(527, 0),
            requestHeader(100 + i),
            cat(nodeNum(0, 0), dateTime(), u32le(0)),
            u32le(0),
            i32le(1),
            desc,
          ),
          cat(nodeNum(530, 0), responseHeader(100 + i), i32le(0), i32le(-1)),
        );
        p.step(0.2);
      }
    }
    ua.close();
    p.step(1);
  }
  p.save('opcua-discovery-scan.pcap');
}
function opcuaExpiredCert() {
  const p = new Pcap(1893456000); // 2030-01-01
  const c = new Tcp(p, '10.0.2.52', 44020, '10.0.2.11', 4840).open();
  c.rr(hello(), ack());
  const policy = 'http://opcfoundation.org/UA/SecurityPolicy#Basic256Sha256';
  const thumb = Buffer.alloc(20, 0xab);
  // Asymmetric header with the expired 1024-bit certificate; the (encrypted) rest is opaque bytes.
  const enc = Buffer.alloc(128, 0x5c);
  c.send(0, uacp('OPN', 'F', cat(u32le(0), uaString(policy), uaBytes(EXPIRED_CERT), uaBytes(thumb), enc)));
  c.close();
  p.save('opcua-expired-cert.pcap');
}
function opcuaAnomalies() {
  const p = new Pcap(1700001000);
  // invalid_header: an unknown message type after a valid exchange.
  let ua = new UaConn(p, '10.0.2.60', 44030, '10.0.2.20');
  ua.c.send(0, cat(Buffer.from('XYZF'), u32le(16), Buffer.alloc(8)));
  ua.close();
  // invalid_buffer_size: Hello with 1024-byte buffers; chunk_exceeds_buffer: then a 2000-byte chunk towards the client.
  let c = new Tcp(p, '10.0.2.61', 44031, '10.0.2.20', 4840).open();
  c.rr(hello(1024, 1024), ack());
  c.rr(opnRequest(0, 1, 1), opnResponse(8, 1, 1));
  c.send(1, msg(8, 2, 99, cat(nodeNum(631, 0), responseHeader(1), Buffer.alloc(1900))));
  c.close();
  // unsolicited_response (request id 99 above was never asked) + message_aborted + interleaved_chunks.
  ua = new UaConn(p, '10.0.2.62', 44032, '10.0.2.20');
  ua.c.send(0, msg(7, 10, 50, cat(nodeNum(631, 0), requestHeader(50)), 'C'));
  ua.c.send(0, msg(7, 11, 50, u32le(0x80000000), 'A'));
  ua.c.send(0, msg(7, 12, 51, cat(nodeNum(631, 0), requestHeader(51)), 'C'));
  ua.c.send(0, msg(7, 13, 52, cat(nodeNum(631, 0), requestHeader(52)), 'F'));
  ua.c.send(1, msg(7, 10, 77, cat(nodeNum(634, 0), responseHeader(77), i32le(0), i32le(-1))));
  ua.close();
  // malformed_security_header: an OPN whose policy URI length runs past the chunk.
  c = new Tcp(p, '10.0.2.63', 44033, '10.0.2.20', 4840).open();
  c.rr(hello(), ack());
  c.send(0, uacp('OPN', 'F', cat(u32le(0), i32le(5000), Buffer.from('http://'), Buffer.alloc(60))));
  c.close();
  // too_many_chunks: one request split into 520 intermediate chunks (the sensor allows 512).
  ua = new UaConn(p, '10.0.2.65', 44035, '10.0.2.20');
  ua.c.send(0, msg(7, 20, 60, cat(nodeNum(631, 0), requestHeader(60)), 'C'));
  for (let i = 0; i < 520; i++) ua.c.send(0, msg(7, 21 + i, 60, Buffer.alloc(8), 'C'));
  ua.c.send(0, msg(7, 600, 60, Buffer.alloc(8), 'F'));
  ua.close();
  // too_many_open_requests: 1030 Read requests the server never answers (the sensor tracks 1024).
  ua = new UaConn(p, '10.0.2.66', 44036, '10.0.2.20');
  for (let i = 0; i < 1030; i++)
    ua.c.send(
      0,
      msg(
        7,
        700 + i,
        1000 + i,
        cat(nodeNum(631, 0), requestHeader(1000 + i), Buffer.from([0, 0, 0, 0, 0, 0, 0, 0]), u32le(0), i32le(0)),
      ),
    );
  ua.close();
  // oversized_chunk: a chunk header announcing 2 MB (above the 1 MiB the sensor buffers); the capture ends inside it.
  c = new Tcp(p, '10.0.2.67', 44037, '10.0.2.20', 4840).open();
  c.rr(hello(), ack());
  c.send(0, cat(Buffer.from('MSGF'), u32le(2000000), u32le(7), u32le(1), u32le(1), u32le(1), Buffer.alloc(1000)));
  // unexpected_protocol: HTTP on port 4840.
  c = new Tcp(p, '10.0.2.64', 44034, '10.0.2.20', 4840).open();
  for (let i = 0; i < 4; i++)
    c.rr(Buffer.from('GET / HTTP/1.1\r\nHost: ua\r\n\r\n'), Buffer.from('HTTP/1.1 404 Not Found\r\n\r\n'));
  c.close();
  p.save('opcua-anomalies.pcap');
}

modbusSweeps();
modbusAnomalies();
umasEngineering();
s7Engineering();
s7Password();
s7CpuScan();
s7Anomalies();
opcuaNodeManagement();
opcuaLoginGuessing();
opcuaDiscoveryScan();
opcuaExpiredCert();
opcuaAnomalies();
