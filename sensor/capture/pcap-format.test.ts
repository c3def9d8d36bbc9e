import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL } from '../../protocols/core/link-types.ts';
import type { BuiltCapture, PcapFileSpec } from './testing/capture-builder.ts';
import { buildPcap, packetBytes } from './testing/capture-builder.ts';
import { collectPackets } from './testing/collect.ts';

const dir = mkdtempSync(join(tmpdir(), 'pcap-format-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let fileCounter = 0;
function writeTemp(bytes: Uint8Array, ext = 'bin'): string {
  const path = join(dir, `f${fileCounter++}.${ext}`);
  writeFileSync(path, bytes);
  return path;
}

function sample(spec: PcapFileSpec): BuiltCapture {
  const sub = spec.nanosecond ? 999_999_999 : 999_999;
  return buildPcap(spec, [
    { tsSec: 1_700_000_000, tsSubsec: 1, data: packetBytes(42, 1) },
    { tsSec: 1_700_000_001, tsSubsec: sub, data: packetBytes(7, 2), origlen: 1514 },
    { tsSec: 0xfffffffe, tsSubsec: 123, data: packetBytes(0, 3), origlen: 60 },
    { tsSec: 5, tsSubsec: 0, data: packetBytes(33, 4) },
  ]);
}

const VARIANTS: PcapFileSpec[] = [
  { littleEndian: true, nanosecond: false, linkType: LINKTYPE_ETHERNET },
  { littleEndian: false, nanosecond: false, linkType: LINKTYPE_ETHERNET },
  { littleEndian: true, nanosecond: true, linkType: LINKTYPE_LINUX_SLL },
  { littleEndian: false, nanosecond: true, linkType: LINKTYPE_LINUX_SLL },
];

describe('classic pcap', () => {
  for (const spec of VARIANTS) {
    const label = `${spec.littleEndian ? 'LE' : 'BE'} ${spec.nanosecond ? 'ns' : 'µs'}`;
    it(`reads every field of every packet (${label})`, async () => {
      const built = sample(spec);
      for (const chunkSize of [undefined, 64]) {
        const got = await collectPackets(writeTemp(built.bytes, 'pcapng'), chunkSize ? { chunkSize } : {});
        expect(got.error).toBeNull();
        expect(got.source.format).toBe('pcap');
        expect(got.packets).toEqual(built.packets);
        expect(got.stats.packets).toBe(4);
        expect(got.stats.bytes).toBe(42 + 7 + 0 + 33);
        expect(got.stats.inputBytes).toBe(built.bytes.length);
      }
    });

    it(`reads the gzip-compressed file the same way (${label})`, async () => {
      const built = sample(spec);
      const got = await collectPackets(writeTemp(gzipSync(built.bytes), 'pcap'), { chunkSize: 64 });
      expect(got.error).toBeNull();
      expect(got.source.compressed).toBe(true);
      expect(got.packets).toEqual(built.packets);
      expect(got.stats.inputBytes).toBe(built.bytes.length);
    });
  }

  it('yields every packet before a cut and reports the cut record, at every byte offset', async () => {
    const built = sample(VARIANTS[1] ?? { littleEndian: true, nanosecond: false, linkType: 1 });
    for (let cut = 0; cut <= built.bytes.length; cut++) {
      const options = cut % 2 === 0 ? {} : { chunkSize: 64 };
      const path = writeTemp(built.bytes.subarray(0, cut));
      if (cut < 4) {
        await expect(collectPackets(path, options)).rejects.toMatchObject({ code: 'CAPTURE_UNKNOWN_FORMAT' });
        continue;
      }
      const got = await collectPackets(path, options);
      const whole = built.records.filter((r) => r.end <= cut).length;
      expect(got.packets, `cut ${cut}`).toEqual(built.packets.slice(0, Math.max(0, whole - 1)));
      const cutRecord = built.records.find((r) => r.start < cut && cut < r.end);
      if (cutRecord === undefined) {
        expect(got.error, `cut ${cut}`).toBeNull();
      } else {
        expect(got.error?.code, `cut ${cut}`).toBe('PCAP_TRUNCATED');
        expect(got.error?.byteOffset, `cut ${cut}`).toBe(cutRecord.start);
        expect(got.error?.message).toContain(path);
      }
    }
  });

  it('stops at a hostile record length after yielding the good packets before it', async () => {
    const built = sample(VARIANTS[0] ?? { littleEndian: true, nanosecond: false, linkType: 1 });
    const bad = built.records[3] ?? { start: 0, end: 0 };
    const bytes = built.bytes.slice();
    new DataView(bytes.buffer).setUint32(bad.start + 8, 0x7fff_fff0, true);
    new DataView(bytes.buffer).setUint32(bad.start + 12, 0x7fff_fff0, true);
    const path = writeTemp(bytes);
    const got = await collectPackets(path);
    expect(got.packets).toEqual(built.packets.slice(0, 2));
    expect(got.error?.code).toBe('PCAP_BAD_RECORD');
    expect(got.error?.byteOffset).toBe(bad.start);
    expect(got.error?.message).toContain(path);
    expect(got.error?.message).toContain('maxRecordBytes');
  });

  it('treats caplen above origlen as damage', async () => {
    const built = sample(VARIANTS[0] ?? { littleEndian: true, nanosecond: false, linkType: 1 });
    const bad = built.records[1] ?? { start: 0, end: 0 };
    const bytes = built.bytes.slice();
    new DataView(bytes.buffer).setUint32(bad.start + 12, 41, true); // caplen stays 42
    const got = await collectPackets(writeTemp(bytes));
    expect(got.packets).toEqual([]);
    expect(got.error?.code).toBe('PCAP_BAD_RECORD');
    expect(got.error?.byteOffset).toBe(24);
    expect(got.error?.message).toContain('original length 41');
  });

  it('honours maxRecordBytes', async () => {
    const built = sample(VARIANTS[2] ?? { littleEndian: true, nanosecond: false, linkType: 1 });
    const got = await collectPackets(writeTemp(built.bytes), { maxRecordBytes: 40 });
    expect(got.packets).toEqual([]);
    expect(got.error?.code).toBe('PCAP_BAD_RECORD');
    expect(got.error?.byteOffset).toBe(24);
    const relaxed = await collectPackets(writeTemp(built.bytes), { maxRecordBytes: 42 });
    expect(relaxed.error).toBeNull();
    expect(relaxed.packets).toHaveLength(4);
  });

  it('grows the buffer once for a record bigger than the chunk', async () => {
    const spec = { littleEndian: true, nanosecond: false, linkType: LINKTYPE_ETHERNET };
    const built = buildPcap(spec, [
      { tsSec: 1, tsSubsec: 1, data: packetBytes(20, 9) },
      { tsSec: 2, tsSubsec: 2, data: packetBytes(9000, 10) },
      { tsSec: 3, tsSubsec: 3, data: packetBytes(30, 11) },
      { tsSec: 4, tsSubsec: 4, data: packetBytes(70_000, 12) },
    ]);
    const got = await collectPackets(writeTemp(built.bytes), { chunkSize: 64 });
    expect(got.error).toBeNull();
    expect(got.packets).toEqual(built.packets);
  });

  it('carries an out-of-range sub-second field into the seconds and masks link type flag bits', async () => {
    const spec = { littleEndian: true, nanosecond: false, linkType: LINKTYPE_ETHERNET | 0x1000_0000 };
    const built = buildPcap(spec, [{ tsSec: 10, tsSubsec: 2_500_000, data: packetBytes(4, 1) }]);
    const got = await collectPackets(writeTemp(built.bytes));
    expect(got.error).toBeNull();
    expect(got.packets[0]?.tsSec).toBe(12);
    expect(got.packets[0]?.tsNsec).toBe(500_000_000);
    expect(got.packets[0]?.linkType).toBe(LINKTYPE_ETHERNET);
  });
});
