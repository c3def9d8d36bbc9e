/**
 * The batched libpcap source against real frames: a veth pair whose far end lives in a fresh network namespace.
 * tcpreplay sends a small pcap we build here from the namespace side; the near end (in our namespace) is opened.
 * Needs root (netns, veth, packet sockets) and the built addon (`npm run build:native`): without them the suite
 * fails, on purpose, with a message saying so.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LINKTYPE_ETHERNET, LINKTYPE_RAW } from '../../protocols/core/link-types.ts';
import { linkTypeFromDlt, openPcapLive, PCAP_ADDON_PATH, type PcapLiveSource } from './pcap-live-source.ts';
import { CaptureError, type PacketBatch } from './source.ts';
import { buildPcap } from './testing/capture-builder.ts';

const run = promisify(execFile);

const tag = `${process.pid % 100000}${Math.floor(Math.random() * 100)}`;
const NS = `otw-pcap-${tag}`;
const CAP_IF = `otwbc${tag}`; // stays in our namespace: this is what we capture on
const PEER_IF = `otwbp${tag}`; // moved into NS: tcpreplay sends from here
const isRoot = process.getuid?.() === 0;
const addonBuilt = existsSync(PCAP_ADDON_PATH);

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
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

let dir = '';
let pcapPath = '';
let floodPath = '';
const FLOOD = 3000;
const opened: PcapLiveSource[] = [];

async function replay(): Promise<void> {
  await run('ip', ['netns', 'exec', NS, 'tcpreplay', '-q', '-i', PEER_IF, pcapPath]);
}

interface Got {
  bytes: Uint8Array;
  origlen: number;
  linkType: number;
  recordOffset: number;
  tsSec: number;
  tsNsec: number;
}

/** Collects copies of packets until `want` arrived, then waits `settleMs` more to catch anything unexpected. */
async function collect(src: PcapLiveSource, want: number, settleMs: number, timeoutMs = 10_000) {
  const got: Got[] = [];
  const batchCounts: number[] = [];
  const it = src.batches()[Symbol.asyncIterator]();
  const take = (b: PacketBatch) => {
    batchCounts.push(b.count);
    for (let i = 0; i < b.count; i++) {
      const off = b.offset[i] ?? 0;
      got.push({
        bytes: b.data.slice(off, off + (b.caplen[i] ?? 0)),
        origlen: b.origlen[i] ?? -1,
        linkType: b.linkType[i] ?? -1,
        recordOffset: b.recordOffset[i] ?? 0,
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
    if (r === null || r.done) break;
    take(r.value);
    if (got.length >= want && settleUntil === Number.POSITIVE_INFINITY) settleUntil = Date.now() + settleMs;
  }
  return { got, batchCounts };
}

beforeAll(() => {
  if (!isRoot) return;
  dir = mkdtempSync(join(tmpdir(), 'otw-pcap-'));
  pcapPath = join(dir, 'sent.pcap');
  const built = buildPcap(
    { littleEndian: true, nanosecond: false, linkType: LINKTYPE_ETHERNET },
    SENT.map((data, i) => ({ tsSec: 1_700_000_000, tsSubsec: i * 1000, data })),
  );
  writeFileSync(pcapPath, built.bytes);
  floodPath = join(dir, 'flood.pcap');
  const flood = buildPcap(
    { littleEndian: true, nanosecond: false, linkType: LINKTYPE_ETHERNET },
    Array.from({ length: FLOOD }, (_, i) => ({ tsSec: 1_700_000_000, tsSubsec: i, data: WANTED[2] ?? big })),
  );
  writeFileSync(floodPath, flood.bytes);
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

describe('linkTypeFromDlt', () => {
  it('maps libpcap DLT values to LINKTYPE values (only raw IP differs)', () => {
    expect(linkTypeFromDlt(1)).toBe(LINKTYPE_ETHERNET);
    expect(linkTypeFromDlt(12)).toBe(LINKTYPE_RAW);
    expect(linkTypeFromDlt(14)).toBe(LINKTYPE_RAW);
    expect(linkTypeFromDlt(113)).toBe(113);
    expect(linkTypeFromDlt(276)).toBe(276);
  });
});

describe('openPcapLive on a veth pair in a fresh network namespace', () => {
  it('runs as root with the addon built (required: netns, veth pair, packet socket, native binding)', () => {
    expect(isRoot, 'live capture tests need root: run vitest as root (CI runs as root)').toBe(true);
    expect(addonBuilt, `build the addon first: npm run build:native (${PCAP_ADDON_PATH})`).toBe(true);
  });

  it('delivers exactly the filtered packets, byte for byte, with libpcap timestamps inside the replay window', async () => {
    expect(isRoot, 'needs root').toBe(true);
    const src = openPcapLive({ iface: CAP_IF, bpf: 'tcp port 5020' });
    opened.push(src);
    expect(src.name).toBe(CAP_IF);
    const before = Date.now() / 1000;
    const collecting = collect(src, WANTED.length, 500);
    await replay();
    const afterReplay = Date.now() / 1000;
    const { got } = await collecting;
    expect(got.map((p) => hex(p.bytes))).toEqual(WANTED.map(hex));
    let prev = 0;
    for (const p of got) {
      expect(p.linkType).toBe(LINKTYPE_ETHERNET);
      expect(p.recordOffset).toBe(-1);
      expect(p.origlen).toBe(p.bytes.length);
      expect(p.tsNsec).toBeGreaterThanOrEqual(0);
      expect(p.tsNsec).toBeLessThan(1e9);
      const t = p.tsSec + p.tsNsec / 1e9;
      // Kernel receive time: after we started and before tcpreplay returned (Date.now() has ms resolution).
      expect(t).toBeGreaterThanOrEqual(before - 0.001);
      expect(t).toBeLessThanOrEqual(afterReplay + 0.001);
      expect(t).toBeGreaterThanOrEqual(prev);
      prev = t;
    }
    const st = src.stats();
    expect(st.packets).toBe(WANTED.length);
    expect(st.bytes).toBe(WANTED.reduce((n, f) => n + f.length, 0));
    expect(st.linkType).toBe(LINKTYPE_ETHERNET);
    expect(st.kernelDrops).toBe(0);
    expect(typeof st.ifDrops).toBe('number');
    expect(st.received).toBeGreaterThanOrEqual(WANTED.length);
    expect(st.sourceDrops).toBe(0);
    expect(typeof st.nanoTimestamps).toBe('boolean');
  });

  it('truncates to snaplen, reports the wire length, and splits batches by bytes (batchBytes)', async () => {
    expect(isRoot, 'needs root').toBe(true);
    // snaplen 64 and 128 data bytes per batch: after two packets less than a snaplen is left, so the binding stops
    // the batch (its pcap_breakloop path) and the rest waits in the kernel ring for the next batch.
    const src = openPcapLive({ iface: CAP_IF, bpf: 'ether src 02:00:00:00:00:01', snaplen: 64, batchBytes: 128 });
    opened.push(src);
    const collecting = collect(src, SENT.length, 300);
    await replay();
    const { got, batchCounts } = await collecting;
    expect(got.map((p) => hex(p.bytes))).toEqual(SENT.map((f) => hex(f.subarray(0, 64))));
    expect(got.map((p) => p.origlen)).toEqual(SENT.map((f) => f.length));
    expect(batchCounts.length).toBeGreaterThanOrEqual(3);
    for (const n of batchCounts) expect(n).toBeLessThanOrEqual(2);
  });

  it('never puts more than batchSize packets in a batch', async () => {
    expect(isRoot, 'needs root').toBe(true);
    const src = openPcapLive({ iface: CAP_IF, bpf: 'ether src 02:00:00:00:00:01', batchSize: 4 });
    opened.push(src);
    // Queue all six in the kernel ring before the first read, so the first dispatch could take them all.
    await replay();
    await new Promise((r) => setTimeout(r, 200));
    const { got, batchCounts } = await collect(src, SENT.length, 300);
    expect(got.map((p) => hex(p.bytes))).toEqual(SENT.map(hex));
    expect(Math.max(...batchCounts)).toBeLessThanOrEqual(4);
    expect(batchCounts.reduce((a, b) => a + b, 0)).toBe(SENT.length);
  });

  it('reports what the kernel ring dropped (ps_drop) when nobody reads, and the rest arrives intact', async () => {
    expect(isRoot, 'needs root').toBe(true);
    // The smallest ring we allow and no reader while 3000 frames of 1,266 B (3.8 MB) arrive at full speed: most of
    // them cannot be queued. The source must say how many, so that delivered + kernelDrops accounts for every one.
    const src = openPcapLive({ iface: CAP_IF, bpf: 'ether src 02:00:00:00:00:01', bufferSize: 65_536 });
    opened.push(src);
    await run('ip', ['netns', 'exec', NS, 'tcpreplay', '-q', '--topspeed', '-i', PEER_IF, floodPath]);
    await new Promise((r) => setTimeout(r, 200));
    const { got } = await collect(src, FLOOD, 300, 1500);
    const st = src.stats();
    expect(st.kernelDrops).toBeGreaterThan(0);
    expect(got.length).toBeGreaterThan(0);
    expect(st.packets).toBe(got.length);
    expect(st.packets + (st.kernelDrops ?? 0)).toBe(FLOOD);
    for (const p of got) expect(hex(p.bytes)).toBe(hex(WANTED[2] ?? big));
  });

  it('close() during a read blocked on an idle interface returns promptly and ends the iteration', async () => {
    expect(isRoot, 'needs root').toBe(true);
    const src = openPcapLive({ iface: CAP_IF, bpf: 'tcp port 1' });
    const it = src.batches()[Symbol.asyncIterator]();
    const nextP = it.next();
    await new Promise((r) => setTimeout(r, 200)); // the worker is now inside pcap_dispatch with nothing to read
    const t0 = Date.now();
    await src.close();
    const r = await nextP;
    expect(r.done).toBe(true);
    expect(Date.now() - t0).toBeLessThan(1000);
    // Closed twice and stats after close are fine (figures kept from the last look before closing).
    await src.close();
    expect(src.stats().kernelDrops).toBe(0);
  });

  it('rejects a bad BPF filter, an unknown interface and bad options with CaptureErrors', () => {
    expect(isRoot, 'needs root').toBe(true);
    let err: unknown;
    try {
      openPcapLive({ iface: CAP_IF, bpf: 'tcp port nonsense-port' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CaptureError);
    expect((err as CaptureError).code).toBe('LIVE_BAD_FILTER');
    expect((err as CaptureError).message).toContain('nonsense-port');
    err = undefined;
    try {
      openPcapLive({ iface: `${CAP_IF}x` });
    } catch (e) {
      err = e;
    }
    expect((err as CaptureError).code).toBe('LIVE_NO_DEVICE');
    expect((err as CaptureError).message).toMatch(/no such interface/);
    expect(() => openPcapLive({ iface: CAP_IF, snaplen: 10 })).toThrow(/snaplen/);
    expect(() => openPcapLive({ iface: '' })).toThrow(/interface name/);
  });
});
