/**
 * Test-only helper: replays the Modbus/TCP connections of a small classic pcap (Ethernet, optional 802.1Q, IPv4,
 * TCP) into one ModbusParser per connection. It is deliberately naive (duplicate/overlapping segments trimmed by
 * sequence number, holes reported as gaps, no out-of-order buffering): the real pipeline lives in sensor/. Direction
 * comes from the server port (to `serverPort` = requests).
 */
import { readFileSync } from 'node:fs';
import { type ModbusListener, ModbusParser } from './parser.ts';

interface Conn {
  parser: ModbusParser<null>;
  next: [number, number];
}

export interface ReplayResult {
  connections: number;
  parsers: ModbusParser<null>[];
}

export function replayPcap(path: string, listener: ModbusListener<null>, serverPort = 502): ReplayResult {
  const f = readFileSync(path);
  const dv = new DataView(f.buffer, f.byteOffset, f.byteLength);
  const magic = dv.getUint32(0, true);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  const nano = magic === 0xa1b23c4d || magic === 0x4d3cb2a1;
  if (!le && magic !== 0xd4c3b2a1 && magic !== 0x4d3cb2a1) throw new Error(`not a classic pcap: ${path}`);
  const conns = new Map<string, Conn>();
  const parsers: ModbusParser<null>[] = [];
  let o = 24;
  let lastTs = 0;
  while (o + 16 <= f.length) {
    const tsSec = dv.getUint32(o, le);
    const tsFrac = dv.getUint32(o + 4, le);
    const incl = dv.getUint32(o + 8, le);
    const p = o + 16;
    o = p + incl;
    if (o > f.length) break;
    lastTs = tsSec;
    let e = p + 12;
    let etherType = dv.getUint16(e);
    while (etherType === 0x8100 || etherType === 0x88a8) {
      e += 4;
      etherType = dv.getUint16(e);
    }
    if (etherType !== 0x0800) continue;
    const ip = e + 2;
    const ihl = ((f[ip] ?? 0) & 15) * 4;
    if (f[ip + 9] !== 6) continue;
    const ipLen = dv.getUint16(ip + 2);
    const src = dv.getUint32(ip + 12);
    const dst = dv.getUint32(ip + 16);
    const tcp = ip + ihl;
    const sport = dv.getUint16(tcp);
    const dport = dv.getUint16(tcp + 2);
    const seq = dv.getUint32(tcp + 4);
    const flags = f[tcp + 13] ?? 0;
    const dataOff = ((f[tcp + 12] ?? 0) >> 4) * 4;
    const payStart = tcp + dataOff;
    const payEnd = Math.min(ip + ipLen, o);
    let dir: 0 | 1;
    let key: string;
    if (dport === serverPort) {
      dir = 0;
      key = `${src}:${sport}>${dst}:${dport}`;
    } else if (sport === serverPort) {
      dir = 1;
      key = `${dst}:${dport}>${src}:${sport}`;
    } else continue;
    let c = conns.get(key);
    if (c === undefined) {
      c = { parser: new ModbusParser(listener, null), next: [-1, -1] };
      conns.set(key, c);
      parsers.push(c.parser);
    }
    const syn = (flags & 0x02) !== 0 ? 1 : 0;
    if (syn) {
      // As the pipeline does: the connection's start is in the capture (see ModbusParser.connectionStartSeen).
      c.parser.connectionStartSeen = true;
      c.next[dir] = (seq + 1) >>> 0;
      continue;
    }
    let len = payEnd - payStart;
    if (len <= 0) continue;
    let start = payStart;
    const expected = c.next[dir] ?? -1;
    if (expected >= 0) {
      const delta = (seq - expected) | 0;
      if (delta < 0) {
        // Retransmission or overlap: keep only the new bytes.
        if (-delta >= len) continue;
        start -= delta;
        len += delta;
      } else if (delta > 0) {
        c.parser.gap(dir, delta);
      }
    }
    c.next[dir] = (seq + (start - payStart) + len) >>> 0;
    const nsec = nano ? tsFrac : tsFrac * 1000;
    c.parser.data(dir, f, start, len, tsSec, nsec);
  }
  for (const c of conns.values()) c.parser.end(lastTs);
  return { connections: conns.size, parsers };
}
