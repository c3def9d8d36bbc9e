/**
 * Live capture against real frames: a veth pair whose far end lives in a fresh network namespace. tcpreplay sends a
 * small pcap we build here from the namespace side; the near end (in our namespace) is opened with a BPF filter.
 * Needs root (netns, veth, packet sockets): without it the suite fails, on purpose, with a message saying so.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LINKTYPE_ETHERNET } from '../../protocols/core/link-types.ts';
import { linkTypeFromCap, openLiveCapture, readIfaceRxDropped } from './live-source.ts';
import { CaptureError, type CaptureSource, type PacketBatch } from './source.ts';

const run = promisify(execFile);

const tag = `${process.pid % 100000}${Math.floor(Math.random() * 100)}`;
const NS = `otw-live-${tag}`;
const CAP_IF = `otwc${tag}`; // stays in our namespace: this is what we capture on
const PEER_IF = `otwp${tag}`; // moved into NS: tcpreplay sends from here
const isRoot = process.getuid?.() === 0;

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Ethernet/IPv4 frame with a TCP or UDP header and `payload`; checksums are irrelevant to capture. */
function frame(proto: 6 | 17, srcPort: number, dstPort: number, payload: Uint8Array): Uint8Array {
  const l4 = proto === 6 ? 20 : 8;
  const f = new Uint8Array(14 + 20 + l4 + payload.length);
  const dv = new DataView(f.buffer);
  f.set([0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01], 0);
  dv.setUint16(12, 0x0800);
  f[14] = 0x45;
  dv.setUint16(16, 20 + l4 + payload.length);
  f[22] = 64;
  f[23] = proto;
  f.set([10, 99, 0, 1, 10, 99, 0, 2], 26); // addresses only inside the test's own namespace/veth
  dv.setUint16(34, srcPort);
  dv.setUint16(36, dstPort);
  if (proto === 6) {
    dv.setUint32(38, 1000);
    f[46] = 0x50;
    f[47] = 0x18; // PSH|ACK
    dv.setUint16(48, 8192);
  } else {
    dv.setUint16(38, 8 + payload.length);
  }
  f.set(payload, 34 + l4);
  return f;
}

function writePcap(path: string, frames: Uint8Array[]): void {
  const parts: Uint8Array[] = [];
  const gh = new DataView(new ArrayBuffer(24));
  gh.setUint32(0, 0xa1b2c3d4, true);
  gh.setUint16(4, 2, true);
  gh.setUint16(6, 4, true);
  gh.setUint32(16, 65535, true);
  gh.setUint32(20, LINKTYPE_ETHERNET, true);
  parts.push(new Uint8Array(gh.buffer));
  frames.forEach((f, i) => {
    const rh = new DataView(new ArrayBuffer(16));
    rh.setUint32(0, 1_700_000_000, true);
    rh.setUint32(4, i * 1000, true);
    rh.setUint32(8, f.length, true);
    rh.setUint32(12, f.length, true);
    parts.push(new Uint8Array(rh.buffer), f);
  });
  writeFileSync(path, Buffer.concat(parts));
}

function modbusRead(tid: number): Uint8Array {
  return new Uint8Array([tid >> 8, tid & 0xff, 0, 0, 0, 6, 1, 3, 0, 0x10, 0, 4]);
}

const big = new Uint8Array(1200).map((_, i) => i & 0xff);
const WANTED = [
  frame(6, 40001, 5020, modbusRead(1)),
  frame(6, 5020, 40001, new Uint8Array([0, 1, 0, 0, 0, 11, 1, 3, 8, 0, 1, 0, 2, 0, 3, 0, 4])),
  frame(6, 40001, 5020, big),
  frame(6, 40001, 5020, modbusRead(2)),
];
const UNWANTED = [frame(6, 40002, 9999, modbusRead(3)), frame(17, 40003, 5020, modbusRead(4))];
// Interleave so that the filter, not ordering, decides what is seen.
const SENT = [WANTED[0], UNWANTED[0], WANTED[1], UNWANTED[1], WANTED[2], WANTED[3]].filter(
  (f): f is Uint8Array => f !== undefined,
);

let dir = '';
let pcapPath = '';
const opened: CaptureSource[] = [];

async function replay(): Promise<void> {
  await run('ip', ['netns', 'exec', NS, 'tcpreplay', '-q', '-i', PEER_IF, pcapPath]);
}

/** Collects copies of packets until `want` arrived, then waits `settleMs` more to catch anything unexpected. */
async function collect(src: CaptureSource, want: number, settleMs: number, timeoutMs = 10_000) {
  const got: { bytes: Uint8Array; origlen: number; linkType: number; tsSec: number; tsNsec: number }[] = [];
  const it = src.batches()[Symbol.asyncIterator]();
  const take = (b: PacketBatch) => {
    for (let i = 0; i < b.count; i++) {
      const off = b.offset[i] ?? 0;
      got.push({
        bytes: b.data.slice(off, off + (b.caplen[i] ?? 0)),
        origlen: b.origlen[i] ?? -1,
        linkType: b.linkType[i] ?? -1,
        tsSec: b.tsSec[i] ?? 0,
        tsNsec: b.tsNsec[i] ?? 0,
      });
    }
  };
  const deadline = Date.now() + timeoutMs;
  let settleUntil = Number.POSITIVE_INFINITY;
  for (;;) {
    const limit = Math.min(deadline, settleUntil) - Date.now();
    if (limit <= 0) break;
    let timer: NodeJS.Timeout | undefined;
    const r = await Promise.race([
      it.next(),
      new Promise<null>((resolve) => {
        timer = setTimeout(() => resolve(null), limit);
      }),
    ]);
    clearTimeout(timer);
    if (r === null) break;
    if (r.done) break;
    take(r.value);
    if (got.length >= want && settleUntil === Number.POSITIVE_INFINITY) settleUntil = Date.now() + settleMs;
  }
  return got;
}

beforeAll(() => {
  if (!isRoot) return;
  dir = mkdtempSync(join(tmpdir(), 'otw-live-'));
  pcapPath = join(dir, 'sent.pcap');
  writePcap(pcapPath, SENT);
  ip('netns', 'add', NS);
  ip('link', 'add', CAP_IF, 'type', 'veth', 'peer', 'name', PEER_IF, 'netns', NS);
  // No IPv6 on either end: keeps router solicitations and DAD probes off the wire we assert on.
  writeFileSync(`/proc/sys/net/ipv6/conf/${CAP_IF}/disable_ipv6`, '1');
  execFileSync('ip', ['netns', 'exec', NS, 'sysctl', '-q', '-w', `net.ipv6.conf.${PEER_IF}.disable_ipv6=1`]);
  ip('link', 'set', CAP_IF, 'up');
  ip('-n', NS, 'link', 'set', PEER_IF, 'up');
});

afterAll(async () => {
  for (const s of opened) await s.close();
  if (!isRoot) return;
  try {
    ip('netns', 'del', NS); // deleting the namespace destroys the peer and with it the whole veth pair
  } catch {}
  try {
    ip('link', 'del', CAP_IF);
  } catch {}
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

describe('linkTypeFromCap', () => {
  it('maps the strings cap returns to LINKTYPE numbers', () => {
    expect(linkTypeFromCap('ETHERNET')).toBe(1);
    expect(linkTypeFromCap('NULL')).toBe(0);
    expect(linkTypeFromCap('LINKTYPE_LINUX_SLL')).toBe(113);
    expect(linkTypeFromCap('RAW')).toBe(101);
    expect(linkTypeFromCap('Unknown linktype 276')).toBe(276);
    expect(linkTypeFromCap('IEEE802_11_RADIO')).toBe(-1);
  });
});

describe('openLiveCapture on a veth pair in a fresh network namespace', () => {
  it('runs as root (required: it creates a netns and veth pair and opens a packet socket)', () => {
    expect(isRoot, 'live capture tests need root: run vitest as root (CI runs as root)').toBe(true);
  });

  it('delivers exactly the filtered packets, byte for byte, as Ethernet with arrival timestamps', async () => {
    expect(isRoot, 'needs root').toBe(true);
    const src = openLiveCapture({ iface: CAP_IF, bpf: 'tcp port 5020', batchSize: 2 });
    opened.push(src);
    expect(src.name).toBe(CAP_IF);
    const before = Date.now() / 1000;
    const collecting = collect(src, WANTED.length, 500);
    await replay();
    const got = await collecting;
    const after = Date.now() / 1000;
    expect(got.map((p) => Buffer.from(p.bytes).toString('hex'))).toEqual(
      WANTED.map((f) => Buffer.from(f).toString('hex')),
    );
    for (const p of got) {
      expect(p.linkType).toBe(LINKTYPE_ETHERNET);
      expect(p.origlen).toBe(p.bytes.length);
      const t = p.tsSec + p.tsNsec / 1e9;
      expect(t).toBeGreaterThanOrEqual(before - 0.001);
      expect(t).toBeLessThanOrEqual(after + 0.001);
      expect(p.tsNsec).toBeLessThan(1e9);
    }
    const st = src.stats();
    expect(st.packets).toBe(WANTED.length);
    expect(st.bytes).toBe(WANTED.reduce((n, f) => n + f.length, 0));
    expect(st.sourceDrops).toBe(0);
    expect(st.kernelDrops).toBeNull();
    expect(st.ifDrops).toBe(0);
  });

  it('truncates to snaplen and reports the original length from the IP header', async () => {
    expect(isRoot, 'needs root').toBe(true);
    const src = openLiveCapture({ iface: CAP_IF, bpf: 'tcp dst port 5020 and greater 1000', snaplen: 64 });
    opened.push(src);
    const collecting = collect(src, 1, 300);
    await replay();
    const got = await collecting;
    const full = WANTED[2] ?? new Uint8Array(0);
    expect(got).toHaveLength(1);
    expect(Buffer.from(got[0]?.bytes ?? []).toString('hex')).toBe(Buffer.from(full.subarray(0, 64)).toString('hex'));
    expect(got[0]?.origlen).toBe(full.length);
    expect(src.stats().truncated).toBe(1);
  });

  it('counts packets it had no room for in sourceDrops instead of blocking', async () => {
    expect(isRoot, 'needs root').toBe(true);
    // One packet per batch, pool of queueBatches + 2 = 3 batches, nobody consuming yet: the first 3 packets take
    // the 3 batches and the other 3 of the 6 sent find no room.
    const src = openLiveCapture({ iface: CAP_IF, bpf: 'ether src 02:00:00:00:00:01', batchSize: 1, queueBatches: 1 });
    opened.push(src);
    await replay();
    await new Promise((r) => setTimeout(r, 300));
    const st = src.stats();
    expect(st.packets + st.sourceDrops).toBe(SENT.length);
    expect(st.packets).toBe(3);
    expect(st.sourceDrops).toBe(SENT.length - 3);
    const got = await collect(src, 3, 100, 2000);
    expect(got.map((p) => Buffer.from(p.bytes).toString('hex'))).toEqual(
      SENT.slice(0, 3).map((f) => Buffer.from(f).toString('hex')),
    );
  });

  it('rejects a bad BPF filter with a CaptureError naming the filter, and an unknown interface', () => {
    expect(isRoot, 'needs root').toBe(true);
    let err: unknown;
    try {
      openLiveCapture({ iface: CAP_IF, bpf: 'tcp port nonsense-port' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CaptureError);
    expect((err as CaptureError).code).toBe('LIVE_BAD_FILTER');
    expect((err as CaptureError).message).toContain('nonsense-port');
    expect(() => openLiveCapture({ iface: `${CAP_IF}x` })).toThrow(/no such interface/);
    expect(() => openLiveCapture({ iface: CAP_IF, snaplen: 70000 })).toThrow(/snaplen/);
  });
});

describe('readIfaceRxDropped', () => {
  it('reads the rx drop column of /proc/net/dev format', () => {
    const d = mkdtempSync(join(tmpdir(), 'otw-procnet-'));
    const f = join(d, 'dev');
    writeFileSync(
      f,
      'Inter-|   Receive                                                |  Transmit\n' +
        ' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n' +
        '    lo: 1000 10 0 0 0 0 0 0 1000 10 0 0 0 0 0 0\n' +
        '  eth7: 5000 50 1 42 0 0 0 0 400 4 0 9 0 0 0 0\n',
    );
    expect(readIfaceRxDropped('eth7', f)).toBe(42);
    expect(readIfaceRxDropped('lo', f)).toBe(0);
    expect(readIfaceRxDropped('eth9', f)).toBeNull();
    rmSync(d, { recursive: true, force: true });
  });
});
