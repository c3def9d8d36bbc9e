import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { LINKTYPE_ETHERNET, linkTypeName } from '../../protocols/core/link-types.ts';
import { openCaptureFile, walkRecords } from './file-source.ts';
import { CaptureError } from './source.ts';
import { buildPcap, PcapngBuilder, packetBytes } from './testing/capture-builder.ts';
import { collectPackets } from './testing/collect.ts';

const dir = mkdtempSync(join(tmpdir(), 'file-source-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let fileCounter = 0;
function writeTemp(bytes: Uint8Array, ext = 'bin'): string {
  const path = join(dir, `f${fileCounter++}.${ext}`);
  writeFileSync(path, bytes);
  return path;
}

function manyPackets(count: number) {
  const packets = Array.from({ length: count }, (_, i) => ({
    tsSec: 1000 + i,
    tsSubsec: i * 3,
    data: packetBytes(20 + (i % 50), i),
  }));
  return buildPcap({ littleEndian: true, nanosecond: false, linkType: LINKTYPE_ETHERNET }, packets);
}

/** Open file descriptors of this process (Linux), to check that the reader closes what it opens. */
function openDescriptors(): number {
  return readdirSync('/proc/self/fd').length;
}

async function rejection(promise: Promise<unknown>): Promise<CaptureError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof CaptureError) return err;
    throw err;
  }
  throw new Error('expected a CaptureError');
}

describe('openCaptureFile', () => {
  it('rejects an empty file, a too-short file and an unknown magic with CAPTURE_UNKNOWN_FORMAT', async () => {
    const empty = await rejection(openCaptureFile(writeTemp(new Uint8Array(0), 'pcap')));
    expect(empty.code).toBe('CAPTURE_UNKNOWN_FORMAT');
    expect(empty.message).toContain('empty file');
    const short = await rejection(openCaptureFile(writeTemp(Uint8Array.of(0xd4, 0xc3), 'pcap')));
    expect(short.code).toBe('CAPTURE_UNKNOWN_FORMAT');
    const path = writeTemp(new TextEncoder().encode('GET / HTTP/1.1\r\n'), 'pcapng');
    const garbage = await rejection(openCaptureFile(path));
    expect(garbage.code).toBe('CAPTURE_UNKNOWN_FORMAT');
    expect(garbage.message).toContain(path);
    expect(garbage.message).toContain('47 45 54 20');
    const gz = await rejection(openCaptureFile(writeTemp(gzipSync(new TextEncoder().encode('hello world')))));
    expect(gz.code).toBe('CAPTURE_UNKNOWN_FORMAT');
    expect(gz.message).toContain('gzip-compressed');
    const emptyGz = await rejection(openCaptureFile(writeTemp(gzipSync(new Uint8Array(0)))));
    expect(emptyGz.message).toContain('empty gzip-compressed file');
  });

  it('reports a missing file and bad options as CaptureErrors', async () => {
    const missing = await rejection(openCaptureFile(join(dir, 'does-not-exist.pcap')));
    expect(missing.code).toBe('CAPTURE_OPEN_FAILED');
    const path = writeTemp(manyPackets(1).bytes);
    expect((await rejection(openCaptureFile(path, { chunkSize: 8 }))).code).toBe('CAPTURE_BAD_OPTION');
    expect((await rejection(openCaptureFile(path, { batchSize: 0 }))).code).toBe('CAPTURE_BAD_OPTION');
    expect((await rejection(openCaptureFile(path, { maxRecordBytes: 1.5 }))).code).toBe('CAPTURE_BAD_OPTION');
  });

  it('detects the format by content, not by file name', async () => {
    const pcap = await openCaptureFile(writeTemp(manyPackets(1).bytes, 'pcapng'));
    expect(pcap.format).toBe('pcap');
    await pcap.close();
    const ng = new PcapngBuilder().shb(true).build();
    const pcapng = await openCaptureFile(writeTemp(ng.bytes, 'pcap'));
    expect(pcapng.format).toBe('pcapng');
    await pcapng.close();
  });
});

describe('batches', () => {
  it('yields the same reused batch object, in batches of batchSize, and counts stats', async () => {
    const built = manyPackets(1000);
    const got = await collectPackets(writeTemp(built.bytes), { batchSize: 7, chunkSize: 300 });
    expect(got.error).toBeNull();
    expect(got.batchObjects.size).toBe(1);
    expect(got.packets).toEqual(built.packets);
    expect(got.stats).toEqual({
      packets: 1000,
      bytes: built.packets.reduce((sum, p) => sum + p.caplen, 0),
      inputBytes: built.bytes.length,
      kernelDrops: null,
      ifDrops: null,
      sourceDrops: 0,
    });
  });

  it('never yields more than batchSize packets or an empty batch', async () => {
    const source = await openCaptureFile(writeTemp(manyPackets(100).bytes), { batchSize: 16, chunkSize: 128 });
    const counts: number[] = [];
    for await (const batch of source.batches()) counts.push(batch.count);
    expect(Math.max(...counts)).toBeLessThanOrEqual(16);
    expect(Math.min(...counts)).toBeGreaterThan(0);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(100);
  });

  it('can be iterated only once', async () => {
    const source = await openCaptureFile(writeTemp(manyPackets(3).bytes));
    for await (const _batch of source.batches()) {
      // drain
    }
    const again = source.batches()[Symbol.asyncIterator]();
    await expect(again.next()).rejects.toMatchObject({ code: 'CAPTURE_REUSED' });
  });

  it('closes the file handle when the consumer breaks out early', async () => {
    const path = writeTemp(manyPackets(500).bytes);
    const before = openDescriptors();
    const source = await openCaptureFile(path, { batchSize: 10 });
    expect(openDescriptors()).toBe(before + 1);
    let seen = 0;
    for await (const batch of source.batches()) {
      seen = batch.count;
      break;
    }
    expect(seen).toBe(10);
    expect(openDescriptors()).toBe(before);
    await source.close(); // idempotent
    expect(openDescriptors()).toBe(before);
  });

  it('closes a gzip input when the consumer breaks out early', async () => {
    const path = writeTemp(gzipSync(manyPackets(20_000).bytes));
    const before = openDescriptors();
    const source = await openCaptureFile(path, { chunkSize: 4096 });
    let batches = 0;
    for await (const _batch of source.batches()) {
      if (++batches === 3) break;
    }
    expect(batches).toBe(3);
    expect(openDescriptors()).toBe(before);
    expect(source.stats().packets).toBeLessThan(20_000);
  });

  it('closes the file handle after damage and at the end, also for gzip', async () => {
    const built = manyPackets(5);
    const bytes = built.bytes.slice();
    new DataView(bytes.buffer).setUint32((built.records[2]?.start ?? 0) + 8, 0xffff_ffff, true);
    const before = openDescriptors();
    const got = await collectPackets(writeTemp(bytes));
    expect(got.error?.code).toBe('PCAP_BAD_RECORD');
    expect(got.packets).toHaveLength(1);
    expect(openDescriptors()).toBe(before);
    const gz = await collectPackets(writeTemp(gzipSync(built.bytes)));
    expect(gz.error).toBeNull();
    expect(openDescriptors()).toBe(before);
  });
});

describe('gzip', () => {
  it('streams concatenated gzip members as one input', async () => {
    const built = manyPackets(300);
    const half = built.records[150]?.start ?? 0;
    const members = Buffer.concat([gzipSync(built.bytes.subarray(0, half)), gzipSync(built.bytes.subarray(half))]);
    const got = await collectPackets(writeTemp(members), { chunkSize: 1000 });
    expect(got.error).toBeNull();
    expect(got.packets).toEqual(built.packets);
  });

  it('yields a prefix of the packets and then GZIP_TRUNCATED when the compressed file is cut', async () => {
    const built = manyPackets(3000);
    const gz = gzipSync(built.bytes, { level: 1 });
    const got = await collectPackets(writeTemp(gz.subarray(0, Math.floor(gz.length * 0.7))), { chunkSize: 4096 });
    expect(got.error?.code).toBe('GZIP_TRUNCATED');
    expect(got.packets.length).toBeGreaterThan(100);
    expect(got.packets.length).toBeLessThan(3000);
    expect(got.packets).toEqual(built.packets.slice(0, got.packets.length));
  });

  it('reports corrupt compressed data as GZIP_BAD_DATA', async () => {
    const built = manyPackets(3000);
    const gz = Buffer.from(gzipSync(built.bytes, { level: 1 }));
    for (let i = 2000; i < 2100; i++) gz[i] = (gz[i] ?? 0) ^ 0x5a;
    // zlib may notice the damage while the format is detected or later, while packets stream.
    const got = await collectPackets(writeTemp(gz), { chunkSize: 4096 }).catch((err: unknown) => ({
      packets: [],
      error: err instanceof CaptureError ? err : null,
    }));
    expect(got.error?.code).toBe('GZIP_BAD_DATA');
    expect(got.error?.message).toContain('corrupt compressed data');
    expect(got.packets).toEqual(built.packets.slice(0, got.packets.length));
  });
});

describe('walkRecords', () => {
  it('counts packets and captured bytes', async () => {
    const built = manyPackets(777);
    const result = await walkRecords(writeTemp(gzipSync(built.bytes)));
    expect(result).toEqual({ packets: 777, bytes: built.packets.reduce((sum, p) => sum + p.caplen, 0) });
  });
});

describe('real captures in ../shared/pcaps', () => {
  const pcapDir = fileURLToPath(new URL('../../../shared/pcaps/', import.meta.url));
  const files = readdirSync(pcapDir).filter((f) => /\.pcap(ng)?$/.test(f));

  it('finds the captures', () => {
    expect(files.length).toBeGreaterThanOrEqual(40);
  });

  for (const file of files) {
    it(`${file}: frame count and link type match the tshark truth`, async () => {
      const path = join(pcapDir, file);
      const truth = JSON.parse(readFileSync(`${path}.truth.json`, 'utf8')) as {
        capture: { frames: number; link_type: string; format: string };
      };
      const source = await openCaptureFile(path);
      const linkTypes = new Set<string>();
      let packets = 0;
      let previousOffset = -1;
      for await (const batch of source.batches()) {
        for (let i = 0; i < batch.count; i++) {
          linkTypes.add(linkTypeName(batch.linkType[i] ?? -1));
          const offset = batch.recordOffset[i] ?? -1;
          expect(offset).toBeGreaterThan(previousOffset);
          previousOffset = offset;
          expect((batch.offset[i] ?? 0) + (batch.caplen[i] ?? 0)).toBeLessThanOrEqual(batch.data.length);
          expect(batch.caplen[i]).toBeLessThanOrEqual(batch.origlen[i] ?? 0);
        }
        packets += batch.count;
      }
      expect(packets).toBe(truth.capture.frames);
      expect([...linkTypes]).toEqual([truth.capture.link_type]);
      expect(source.format).toBe(truth.capture.format);
      const stats = source.stats();
      expect(stats.packets).toBe(packets);
      expect(stats.inputBytes).toBe(statSync(path).size);
    });
  }
});
