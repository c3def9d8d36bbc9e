import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL, LINKTYPE_NULL, LINKTYPE_RAW } from '../../protocols/core/link-types.ts';
import type { BuiltCapture } from './testing/capture-builder.ts';
import { PcapngBuilder, packetBytes } from './testing/capture-builder.ts';
import { collectPackets } from './testing/collect.ts';

const dir = mkdtempSync(join(tmpdir(), 'pcapng-format-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let fileCounter = 0;
function writeTemp(bytes: Uint8Array, ext = 'bin'): string {
  const path = join(dir, `f${fileCounter++}.${ext}`);
  writeFileSync(path, bytes);
  return path;
}

const NS = 9;
const BIN20 = 0x80 | 20; // 2^-20 s units

/**
 * Two sections: little-endian with an Ethernet interface in ns and a Linux SLL interface in 2^-20 s, mixing EPB,
 * SPB, OPB and blocks to skip; then a big-endian section with a raw-IP interface in ms with a time offset.
 */
function sample(): BuiltCapture {
  const b = new PcapngBuilder()
    .shb(true, { withOption: true })
    .idb({ linkType: LINKTYPE_ETHERNET, snaplen: 0, tsresol: NS })
    .nrb()
    .idb({ linkType: LINKTYPE_LINUX_SLL, snaplen: 40, tsresol: BIN20 })
    .epb(0, 1_700_000_000_123_456_789n, packetBytes(60, 1))
    .epb(1, (1_700_000_001n << 20n) + 524_288n, packetBytes(37, 2), 1514, true)
    .isb(0)
    .other(0x0000_0bad, 10)
    .opb(1, (5n << 20n) + 1n, packetBytes(3, 3), 3)
    .epb(7, 1n, packetBytes(10, 4)) // unknown interface: dropped
    .epb(0, 1_700_000_002_000_000_001n, packetBytes(0, 5), 64);
  const beforeSpb = { tsSec: 1_700_000_002, tsNsec: 1 };
  b.spb(packetBytes(50, 6), 1000, beforeSpb) // interface 0 has no snaplen: the block room decides
    .shb(false)
    .idb({ linkType: LINKTYPE_RAW, snaplen: 16, tsresol: 3, tsoffset: 1_000_000 })
    .epb(0, 42_001n, packetBytes(20, 7))
    .spb(packetBytes(30, 8), 30, { tsSec: 1_000_042, tsNsec: 1_000_000 })
    .isb(0);
  return b.build();
}

describe('pcapng', () => {
  it('reads every field of every packet across interfaces, sections and byte orders', async () => {
    const built = sample();
    expect(built.packets).toHaveLength(7);
    for (const chunkSize of [undefined, 64, 100]) {
      const got = await collectPackets(writeTemp(built.bytes, 'pcap'), chunkSize ? { chunkSize } : {});
      expect(got.error).toBeNull();
      expect(got.source.format).toBe('pcapng');
      expect(got.packets).toEqual(built.packets);
      expect(got.stats.sourceDrops).toBe(1);
      expect(got.stats.packets).toBe(7);
      expect(got.stats.inputBytes).toBe(built.bytes.length);
    }
  });

  it('converts the timestamps and lengths as specified', async () => {
    const got = await collectPackets(writeTemp(sample().bytes));
    const p = got.packets;
    expect(p.map((x) => [x.tsSec, x.tsNsec])).toEqual([
      [1_700_000_000, 123_456_789],
      [1_700_000_001, 500_000_000],
      [5, 953], // 1/2^20 s = 953.67 ns, truncated
      [1_700_000_002, 1],
      [1_700_000_002, 1], // SPB repeats the previous timestamp
      [1_000_042, 1_000_000], // 42.001 s + 1e6 s offset
      [1_000_042, 1_000_000],
    ]);
    expect(p.map((x) => x.linkType)).toEqual([1, 113, 113, 1, 1, 101, 101]);
    expect(p.map((x) => [x.caplen, x.origlen])).toEqual([
      [60, 60],
      [37, 1514],
      [3, 3],
      [0, 64],
      [52, 1000], // SPB: block room (50 padded to 52) below origlen, interface 0 has no snaplen
      [20, 20],
      [16, 30], // SPB: clamped to the interface snaplen
    ]);
  });

  it('reads the gzip-compressed file the same way', async () => {
    const built = sample();
    const got = await collectPackets(writeTemp(gzipSync(built.bytes)), { chunkSize: 64 });
    expect(got.error).toBeNull();
    expect(got.packets).toEqual(built.packets);
  });

  it('yields every packet before a cut and reports the cut block, at every byte offset', async () => {
    const built = sample();
    for (let cut = 0; cut <= built.bytes.length; cut++) {
      const options = cut % 2 === 0 ? {} : { chunkSize: 64 };
      const path = writeTemp(built.bytes.subarray(0, cut));
      if (cut < 4) {
        await expect(collectPackets(path, options)).rejects.toMatchObject({ code: 'CAPTURE_UNKNOWN_FORMAT' });
        continue;
      }
      const got = await collectPackets(path, options);
      expect(got.packets, `cut ${cut}`).toEqual(built.packets.filter((p) => blockEnd(built, p.recordOffset) <= cut));
      const cutBlock = built.records.find((r) => r.start < cut && cut < r.end);
      if (cutBlock === undefined) {
        expect(got.error, `cut ${cut}`).toBeNull();
      } else {
        expect(got.error?.code, `cut ${cut}`).toBe('PCAPNG_TRUNCATED');
        expect(got.error?.byteOffset, `cut ${cut}`).toBe(cutBlock.start);
      }
    }
  });

  describe('damaged blocks stop with PCAPNG_BAD_BLOCK at the block, after the good packets', () => {
    const cases: Array<[string, (v: DataView, start: number, len: number) => void, string]> = [
      ['length below 12', (v, s) => v.setUint32(s + 4, 8, true), 'bad block length 8'],
      ['length not a multiple of 4', (v, s, len) => v.setUint32(s + 4, len + 2, true), 'multiple of 4'],
      ['trailing length differs', (v, s, len) => v.setUint32(s + len - 4, len + 4, true), 'length fields differ'],
      ['block beyond the limit', (v, s) => v.setUint32(s + 4, 0x7fff_fff0, true), 'exceeds the limit'],
      ['packet data overruns its block', (v, s) => v.setUint32(s + 20, 200, true), 'does not fit'],
    ];
    for (const [label, damage, message] of cases) {
      it(label, async () => {
        const built = sample();
        const target = built.records[5] ?? { start: 0, end: 0 }; // second EPB
        const bytes = built.bytes.slice();
        damage(new DataView(bytes.buffer), target.start, target.end - target.start);
        const got = await collectPackets(writeTemp(bytes), { chunkSize: 64 });
        expect(got.packets).toEqual(built.packets.slice(0, 1));
        expect(got.error?.code).toBe('PCAPNG_BAD_BLOCK');
        expect(got.error?.byteOffset).toBe(target.start);
        expect(got.error?.message).toContain(message);
      });
    }
  });

  it('rejects an unknown major version and a section without byte-order magic', async () => {
    const v2 = new PcapngBuilder().shb(true, { majorVersion: 2 }).build();
    const got = await collectPackets(writeTemp(v2.bytes));
    expect(got.error?.code).toBe('PCAPNG_BAD_BLOCK');
    expect(got.error?.message).toContain('major version 2');

    const built = sample();
    const second = built.records.find((r, i) => i > 0 && built.bytes[r.start] === 0x0a) ?? { start: 0, end: 0 };
    const bytes = built.bytes.slice();
    bytes[second.start + 8] = 0x99;
    const bad = await collectPackets(writeTemp(bytes));
    expect(bad.packets).toEqual(built.packets.slice(0, 5));
    expect(bad.error?.code).toBe('PCAPNG_BAD_BLOCK');
    expect(bad.error?.byteOffset).toBe(second.start);
  });

  it('forgets interfaces at a new section: packets on them are dropped and counted', async () => {
    const built = new PcapngBuilder()
      .shb(false)
      .idb({ linkType: LINKTYPE_NULL })
      .epb(0, 1_000_001n, packetBytes(8, 1))
      .shb(true)
      .epb(0, 2n, packetBytes(8, 2))
      .spb(packetBytes(8, 3), 8, { tsSec: 0, tsNsec: 0 })
      .build();
    const got = await collectPackets(writeTemp(built.bytes));
    expect(got.error).toBeNull();
    expect(got.packets).toEqual(built.packets);
    expect(got.packets).toHaveLength(1);
    expect(got.packets[0]?.tsSec).toBe(1);
    expect(got.packets[0]?.tsNsec).toBe(1000);
    expect(got.stats.sourceDrops).toBe(2);
  });

  it('limits interfaces per section', async () => {
    const b = new PcapngBuilder().shb(true);
    for (let i = 0; i < 3; i++) b.idb({ linkType: LINKTYPE_ETHERNET });
    const built = b.build();
    const got = await collectPackets(writeTemp(built.bytes), { maxInterfaces: 2 });
    expect(got.error?.code).toBe('PCAPNG_BAD_BLOCK');
    expect(got.error?.byteOffset).toBe(built.records[3]?.start);
  });
});

function blockEnd(built: BuiltCapture, start: number): number {
  return built.records.find((r) => r.start === start)?.end ?? Number.POSITIVE_INFINITY;
}
