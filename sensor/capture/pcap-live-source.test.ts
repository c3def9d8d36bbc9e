/**
 * The batched libpcap source against real frames: a veth pair whose far end lives in a fresh network namespace.
 * tcpreplay sends a small pcap we build here from the namespace side; the near end (in our namespace) is opened.
 * Needs root (netns, veth, packet sockets) and the built addon (`npm run build:native`): without them the suite
 * fails, on purpose, with a message saying so.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LINKTYPE_ETHERNET, LINKTYPE_RAW } from '../../protocols/core/link-types.ts';
import { linkTypeFromDlt, openPcapLive, PCAP_ADDON_PATH, type PcapLiveSource } from './pcap-live-source.ts';
import { CaptureError } from './source.ts';
import { collectLive, isRoot, SENT, VethPair, WANTED, writeEthernetPcap } from './testing/live-harness.ts';

const veth = new VethPair('pcap');
const CAP_IF = veth.capIf;
const addonBuilt = existsSync(PCAP_ADDON_PATH);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const big = WANTED[2] ?? new Uint8Array(0);

let pcapPath = '';
let floodPath = '';
const FLOOD = 3000;
const opened: PcapLiveSource[] = [];

const replay = () => veth.replay(pcapPath);
const collect = collectLive;

beforeAll(() => {
  if (!isRoot) return;
  veth.up();
  pcapPath = join(veth.dir, 'sent.pcap');
  writeEthernetPcap(pcapPath, SENT, 1000);
  floodPath = join(veth.dir, 'flood.pcap');
  writeEthernetPcap(
    floodPath,
    Array.from({ length: FLOOD }, () => big),
    1,
  );
});

afterAll(async () => {
  for (const s of opened) await s.close();
  if (isRoot) veth.down();
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
    await veth.replay(floodPath, ['--topspeed']);
    await new Promise((r) => setTimeout(r, 200));
    const { got } = await collect(src, FLOOD, 300, 1500);
    const st = src.stats();
    expect(st.kernelDrops).toBeGreaterThan(0);
    expect(got.length).toBeGreaterThan(0);
    expect(st.packets).toBe(got.length);
    expect(st.packets + (st.kernelDrops ?? 0)).toBe(FLOOD);
    for (const p of got) expect(hex(p.bytes)).toBe(hex(big));
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
