import { describe, expect, it } from 'vitest';
import { PacketView, TCP_ACK, TCP_FIN, TCP_PSH, TCP_SYN } from '../../protocols/link/packet-view.ts';
import { FLOW_CLOSED } from './flow.ts';
import { dstPortIsServer, packetIsClientToServer } from './flow-key.ts';
import type { FlowTableOptions } from './flow-table.ts';
import { FlowTable } from './flow-table.ts';
import { TcpReassembler } from './tcp-reassembler.ts';
import { CLIENT, fill4, RecordingListener, RecordingSink, SERVER } from './test-helpers.ts';

function table(opts?: FlowTableOptions) {
  const listener = new RecordingListener();
  return { t: new FlowTable(opts, listener), listener, p: new PacketView() };
}

function fill6(p: PacketView, src: number[], dst: number[], sport: number, dport: number): PacketView {
  p.reset();
  p.ipVersion = 6;
  p.ipProto = 17;
  p.src6.set(src);
  p.dst6.set(dst);
  p.srcPort = sport;
  p.dstPort = dport;
  return p;
}

describe('FlowTable', () => {
  it('maps both directions to one flow and reports the direction', () => {
    const { t, p } = table();
    const f1 = t.lookup(fill4(p, { sport: 40000, dport: 502 }), 1, 5);
    expect(f1.lastDir).toBe(0);
    const f2 = t.lookup(fill4(p, { src: SERVER, dst: CLIENT, sport: 502, dport: 40000 }), 2, 6);
    expect(f2).toBe(f1);
    expect(f2.lastDir).toBe(1);
    expect(f1.clientIp).toBe('10.0.0.1');
    expect(f1.serverIp).toBe('10.0.0.2');
    expect([f1.clientPort, f1.serverPort]).toEqual([40000, 502]);
    expect([f1.packetsC2S, f1.packetsS2C]).toEqual([1, 1]);
    expect([f1.firstSec, f1.firstNsec, f1.lastSec, f1.lastNsec]).toEqual([1, 5, 2, 6]);
    expect(t.stats.created).toBe(1);
    expect(t.stats.active).toBe(1);
  });

  it('gives deterministic 16-hex ids that depend on tuple and first-seen time', () => {
    const ids = (ts: number, sport: number): string => {
      const { t, p } = table();
      return t.lookup(fill4(p, { sport }), ts, 0).id;
    };
    expect(ids(1, 40000)).toMatch(/^[0-9a-f]{16}$/);
    expect(ids(1, 40000)).toBe(ids(1, 40000));
    expect(ids(1, 40000)).not.toBe(ids(2, 40000));
    expect(ids(1, 40000)).not.toBe(ids(1, 40001));
    // The id does not depend on which direction was seen first (once the client is the same).
    const { t, p } = table();
    const rev = t.lookup(fill4(p, { src: SERVER, dst: CLIENT, sport: 502, dport: 40000 }), 1, 0);
    expect(rev.lastDir).toBe(1);
    expect(rev.id).toBe(ids(1, 40000));
  });

  it('decides direction by SYN, by SYN+ACK, and by ports', () => {
    const { t, p } = table();
    // SYN from the high port to a high port: its sender is the client even though 50000 > 40000.
    const syn = t.lookup(fill4(p, { sport: 50000, dport: 40000, flags: TCP_SYN }), 1, 0);
    expect([syn.clientPort, syn.serverPort, syn.lastDir]).toEqual([50000, 40000, 0]);
    // SYN+ACK seen first (the SYN was missed): its sender is the server.
    const sa = t.lookup(fill4(p, { sport: 3000, dport: 60000, flags: TCP_SYN | TCP_ACK }), 1, 0);
    expect([sa.clientPort, sa.serverPort, sa.lastDir]).toEqual([60000, 3000, 1]);
    // Mid-stream: the Modbus port is the server whichever side speaks first.
    const mid = t.lookup(fill4(p, { sport: 502, dport: 51000, flags: TCP_ACK | TCP_PSH }), 1, 0);
    expect([mid.clientPort, mid.serverPort, mid.lastDir]).toEqual([51000, 502, 1]);
    // ICS port beats a lower unknown port; well-known beats ephemeral; otherwise the lower port.
    expect(dstPortIsServer(3000, 20000)).toBe(true);
    expect(dstPortIsServer(44818, 2000)).toBe(false);
    expect(dstPortIsServer(60000, 443)).toBe(true);
    expect(dstPortIsServer(80, 443)).toBe(false);
    expect(dstPortIsServer(9000, 8000)).toBe(true);
    expect(dstPortIsServer(7000, 7000)).toBe(true);
    // UDP uses the port rule.
    expect(packetIsClientToServer(fill4(p, { proto: 17, sport: 47808, dport: 50000 }))).toBe(false);
  });

  it('keeps IPv6 flows apart by all four address words', () => {
    const { t, p } = table();
    const a = [0x20010db8, 0, 0, 1];
    const b = [0x20010db8, 0, 0, 2];
    const f1 = t.lookup(fill6(p, a, b, 50000, 502), 1, 0);
    const back = t.lookup(fill6(p, b, a, 502, 50000), 1, 0);
    expect(back).toBe(f1);
    expect(back.lastDir).toBe(1);
    const f2 = t.lookup(fill6(p, [0x20010db8, 1, 0, 1], b, 50000, 502), 1, 0);
    expect(f2).not.toBe(f1);
    const f3 = t.lookup(fill6(p, a, [0x20010db8, 0, 0, 3], 50000, 502), 1, 0);
    expect(f3).not.toBe(f1);
    expect(f1.clientIp).toBe('2001:db8::1');
    expect(f1.serverIp).toBe('2001:db8::2');
    expect(f1.ipVersion).toBe(6);
    expect(t.stats.created).toBe(3);
    // An IPv4 flow whose address words happen to be equal is a different flow.
    const v4 = t.lookup(fill4(p, { proto: 17, src: 0x20010db8, dst: 0x20010db8 }), 1, 0);
    expect(v4.ipVersion).toBe(4);
    expect(t.stats.created).toBe(4);
  });

  it('separates flows by outer and inner VLAN', () => {
    const { t, p } = table();
    const none = t.lookup(fill4(p, {}), 1, 0);
    const v10 = t.lookup(fill4(p, { vlanOuter: 10 }), 1, 0);
    const v10b = t.lookup(fill4(p, { vlanOuter: 10, vlanInner: 20 }), 1, 0);
    const v10again = t.lookup(fill4(p, { src: SERVER, dst: CLIENT, sport: 502, dport: 40000, vlanOuter: 10 }), 1, 0);
    expect(new Set([none, v10, v10b]).size).toBe(3);
    expect(v10again).toBe(v10);
    expect(v10.vlanOuter).toBe(10);
  });

  it('copies MACs once, filling a side learnt later', () => {
    const { t, p } = table();
    const frame = Uint8Array.from([1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2]);
    fill4(p, {});
    p.frame = frame;
    p.srcMacOff = 6; // SLL-like: source only
    const f = t.lookup(p, 1, 0);
    expect(f.clientMacText).toBe('02:02:02:02:02:02');
    expect(f.serverMac).toBeNull();
    frame.fill(9); // the capture buffer is reused: the copy must not change
    expect(f.clientMacText).toBe('02:02:02:02:02:02');
    fill4(p, { src: SERVER, dst: CLIENT, sport: 502, dport: 40000 });
    p.frame = Uint8Array.from([3, 3, 3, 3, 3, 3, 4, 4, 4, 4, 4, 4]);
    p.srcMacOff = 6;
    t.lookup(p, 1, 0);
    expect(f.serverMacText).toBe('04:04:04:04:04:04');
  });

  it('shares one copy per distinct MAC between flows, up to maxSharedMacs (then private copies, counted)', () => {
    const macs = (last: number) => Uint8Array.from([0xa0, 0, 0, 0, 0, 1, 0xb0, 0, 0, 0, 0x80, last]);
    const run = (opts?: FlowTableOptions) => {
      const { t, p } = table(opts);
      const flows = [40000, 40001, 40002].map((sport, i) => {
        fill4(p, { sport, dport: 502 });
        // Flows 0 and 1 share both MACs; flow 2 has another source MAC (differing only in the last byte).
        p.frame = macs(i === 2 ? 0x7f : 0xfe);
        p.dstMacOff = 0;
        p.srcMacOff = 6;
        return t.lookup(p, 1, 0);
      });
      return { t, flows };
    };
    const { t, flows } = run();
    const [a, b, c] = flows;
    expect(a?.clientMacText).toBe('b0:00:00:00:80:fe');
    expect(c?.clientMacText).toBe('b0:00:00:00:80:7f');
    expect(a?.clientMac).toBe(b?.clientMac);
    expect(a?.serverMac).toBe(c?.serverMac);
    expect(a?.clientMac).not.toBe(c?.clientMac);
    expect(t.stats.macCacheFull).toBe(0);
    const capped = run({ maxSharedMacs: 1 });
    const [x, y, z] = capped.flows;
    expect(z?.clientMac).not.toBe(x?.clientMac); // flow 2's own source MAC did not fit either
    expect(x?.serverMacText).toBe('a0:00:00:00:00:01');
    expect(x?.clientMac).toBe(y?.clientMac); // the first MAC seen (flow 0's source) is shared
    expect(x?.serverMac).not.toBe(y?.serverMac); // the next one did not fit: private copies
    expect(y?.serverMacText).toBe('a0:00:00:00:00:01');
    expect(capped.t.stats.macCacheFull).toBe(4);
  });

  it('evicts the least recently used flow at maxFlows, counted, with flowEnd', () => {
    const { t, p, listener } = table({ maxFlows: 3 });
    const a = t.lookup(fill4(p, { sport: 1001 }), 1, 0);
    const b = t.lookup(fill4(p, { sport: 1002 }), 2, 0);
    const c = t.lookup(fill4(p, { sport: 1003, proto: 17 }), 3, 0);
    t.lookup(fill4(p, { sport: 1001 }), 4, 0); // a is now the most recent
    const d = t.lookup(fill4(p, { sport: 1004 }), 5, 0);
    expect(listener.ended.map((e) => [e.flow, e.reason])).toEqual([[b, 'evicted']]);
    expect(b.ended).toBe(true);
    expect(t.stats.evictedLru).toBe(1);
    expect(t.size).toBe(3);
    t.lookup(fill4(p, { sport: 1005 }), 6, 0); // next LRU is c (UDP list), across lists
    expect(listener.ended.map((e) => e.flow)).toEqual([b, c]);
    // An evicted flow's tuple gets a fresh flow.
    const b2 = t.lookup(fill4(p, { sport: 1002 }), 7, 0);
    expect(b2).not.toBe(b);
    expect(t.stats.created).toBe(6);
    expect(t.stats.peak).toBe(3);
    expect([a.ended, d.ended]).toEqual([true, false]);
  });

  it('prefers evicting a closed flow', () => {
    const listener = new RecordingListener();
    const t = new FlowTable({ maxFlows: 2 }, listener);
    const tcp = new TcpReassembler(t, new RecordingSink());
    const p = new PacketView();
    const seg = (spec: Parameters<typeof fill4>[1], ts: number) => {
      fill4(p, spec);
      const f = t.lookup(p, ts, 0);
      tcp.handle(f, f.lastDir, p, ts, 0);
      return f;
    };
    const old = seg({ sport: 1001 }, 1);
    const closed = seg({ sport: 1002, seq: 5, flags: TCP_FIN | TCP_ACK }, 2);
    seg({ src: SERVER, dst: CLIENT, sport: 502, dport: 1002, seq: 9, ack: 6, flags: TCP_FIN | TCP_ACK }, 2);
    expect(closed.state).toBe(FLOW_CLOSED);
    seg({ sport: 1003 }, 3);
    expect(listener.ended.map((e) => e.flow)).toEqual([closed]);
    expect(old.ended).toBe(false);
  });

  it('expires idle TCP, idle UDP, closed, and hard-timeout flows by packet time', () => {
    const { t, p, listener } = table({ idleTimeoutSec: 100, udpTimeoutSec: 30, hardTimeoutSec: 1000 });
    const tcpFlow = t.lookup(fill4(p, { sport: 1001 }), 0, 0);
    const udpFlow = t.lookup(fill4(p, { sport: 1002, proto: 17 }), 0, 0);
    const busy = t.lookup(fill4(p, { sport: 1003 }), 0, 0);
    t.expire(29);
    expect(listener.ended).toEqual([]);
    t.expire(30);
    expect(listener.ended.map((e) => [e.flow, e.reason])).toEqual([[udpFlow, 'idle']]);
    t.lookup(fill4(p, { sport: 1003 }), 60, 0);
    t.expire(100);
    expect(listener.ended.map((e) => e.flow)).toEqual([udpFlow, tcpFlow]);
    for (let ts = 150; ts < 1000; ts += 50) {
      t.lookup(fill4(p, { sport: 1003 }), ts, 0);
      t.expire(ts);
    }
    expect(busy.ended).toBe(false);
    t.expire(1000);
    expect(listener.ended.map((e) => [e.flow, e.reason])).toEqual([
      [udpFlow, 'idle'],
      [tcpFlow, 'idle'],
      [busy, 'hard_timeout'],
    ]);
    expect([t.stats.endedIdle, t.stats.endedHardTimeout, t.stats.active]).toEqual([2, 1, 0]);
    // The next packet starts a new flow with a new id.
    const again = t.lookup(fill4(p, { sport: 1003 }), 1001, 0);
    expect(again).not.toBe(busy);
    expect(again.id).not.toBe(busy.id);
  });

  it('starts a new flow when a SYN reuses a closed flow tuple', () => {
    const { t, p, listener } = table();
    const f = t.lookup(fill4(p, { flags: TCP_SYN }), 1, 0);
    f.state = FLOW_CLOSED;
    t.stateChanged(f);
    expect(t.lookup(fill4(p, { flags: TCP_ACK }), 2, 0)).toBe(f);
    const g = t.lookup(fill4(p, { flags: TCP_SYN }), 3, 0);
    expect(g).not.toBe(f);
    expect(listener.ended.map((e) => e.reason)).toEqual(['closed']);
    expect(t.stats.portReuse).toBe(1);
  });

  it('flush ends everything with shutdown', () => {
    const { t, p, listener } = table();
    for (let i = 0; i < 5; i++) t.lookup(fill4(p, { sport: 2000 + i }), i, 0);
    t.flush(10);
    expect(listener.ended.length).toBe(5);
    expect(listener.ended.every((e) => e.reason === 'shutdown' && e.tsSec === 10)).toBe(true);
    expect([t.stats.endedShutdown, t.size]).toEqual([5, 0]);
  });

  it('stays consistent under many colliding-bucket flows and random removals', () => {
    const { t, p, listener } = table({ maxFlows: 50 });
    const seen = new Map<number, string>();
    for (let i = 0; i < 2000; i++) {
      const sport = 1025 + ((i * 7919) % 300);
      const f = t.lookup(fill4(p, { sport, src: CLIENT + (i % 3) }), i, 0);
      expect(f.clientPort).toBe(sport);
      expect(f.clientAddr4).toBe(CLIENT + (i % 3));
      if (i % 97 === 0) t.expire(i);
      seen.set(sport, f.id);
    }
    let n = 0;
    t.forEach(() => {
      n++;
    });
    expect(n).toBe(t.size);
    expect(t.size).toBeLessThanOrEqual(50);
    expect(t.stats.created - listener.ended.length).toBe(t.size);
  });

  it('rejects nonsensical options', () => {
    const l = new RecordingListener();
    expect(() => new FlowTable({ maxFlows: 0 }, l)).toThrow(RangeError);
    expect(() => new FlowTable({ idleTimeoutSec: -1 }, l)).toThrow(RangeError);
  });

  it('finds every flow again after the bucket array has grown many times, and after removals', () => {
    const { t, p } = table();
    const n = 5000; // several doublings past the initial bucket count
    const flows = [];
    for (let i = 0; i < n; i++) flows.push(t.lookup(fill4(p, { src: 0xc0a80000 + i, sport: 1024 + i }), 1, 0));
    expect(t.stats.created).toBe(n);
    for (let i = 0; i < n; i++) {
      const back = t.lookup(fill4(p, { src: SERVER, dst: 0xc0a80000 + i, sport: 502, dport: 1024 + i }), 2, 0);
      expect(back).toBe(flows[i]);
      expect(back.lastDir).toBe(1);
    }
    for (let i = 0; i < n; i += 2) t.end(flows[i] as (typeof flows)[number], 'idle', 3);
    for (let i = 1; i < n; i += 2)
      expect(t.lookup(fill4(p, { src: 0xc0a80000 + i, sport: 1024 + i }), 4, 0)).toBe(flows[i]);
    expect(t.stats.created).toBe(n);
    expect(t.stats.active).toBe(n / 2);
  });
});
