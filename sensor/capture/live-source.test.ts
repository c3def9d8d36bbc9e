/**
 * Live capture against real frames: a veth pair whose far end lives in a fresh network namespace. tcpreplay sends a
 * small pcap we build here from the namespace side; the near end (in our namespace) is opened with a BPF filter.
 * Needs root (netns, veth, packet sockets): without it the suite fails, on purpose, with a message saying so.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LINKTYPE_ETHERNET } from '../../protocols/core/link-types.ts';
import { linkTypeFromCap, openLiveCapture, readIfaceRxDropped } from './live-source.ts';
import { CaptureError, type CaptureSource } from './source.ts';
import { collectLive, isRoot, SENT, VethPair, WANTED, writeEthernetPcap } from './testing/live-harness.ts';

const veth = new VethPair('live');
const CAP_IF = veth.capIf;
let pcapPath = '';
const opened: CaptureSource[] = [];

const replay = () => veth.replay(pcapPath);
const collect = async (src: CaptureSource, want: number, settleMs: number, timeoutMs?: number) =>
  (await collectLive(src, want, settleMs, timeoutMs)).got;

beforeAll(() => {
  if (!isRoot) return;
  veth.up();
  pcapPath = join(veth.dir, 'sent.pcap');
  writeEthernetPcap(pcapPath, SENT, 1000);
});

afterAll(async () => {
  for (const s of opened) await s.close();
  if (isRoot) veth.down();
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
