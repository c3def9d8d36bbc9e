/**
 * Test helper: reads a capture file to the end and copies every packet out of the reused batches, keeping the
 * CaptureError (if any) that ended the iteration instead of throwing it.
 */
import type { CaptureFileOptions, CaptureFileSource } from '../file-source.ts';
import { openCaptureFile } from '../file-source.ts';
import type { CaptureStats, PacketBatch } from '../source.ts';
import { CaptureError } from '../source.ts';
import type { ExpectedPacket } from './capture-builder.ts';

export interface Collected {
  packets: ExpectedPacket[];
  error: CaptureError | null;
  stats: CaptureStats;
  /** Distinct batch objects seen (the reader must reuse one). */
  batchObjects: Set<PacketBatch>;
  source: CaptureFileSource;
}

export async function collectPackets(path: string, options: CaptureFileOptions = {}): Promise<Collected> {
  const source = await openCaptureFile(path, options);
  const packets: ExpectedPacket[] = [];
  const batchObjects = new Set<PacketBatch>();
  let error: CaptureError | null = null;
  try {
    for await (const batch of source.batches()) {
      batchObjects.add(batch);
      for (let i = 0; i < batch.count; i++) packets.push(copyPacket(batch, i));
    }
  } catch (err) {
    if (!(err instanceof CaptureError)) throw err;
    error = err;
  }
  return { packets, error, stats: source.stats(), batchObjects, source };
}

function copyPacket(batch: PacketBatch, i: number): ExpectedPacket {
  const offset = batch.offset[i] ?? 0;
  const caplen = batch.caplen[i] ?? 0;
  return {
    tsSec: batch.tsSec[i] ?? -1,
    tsNsec: batch.tsNsec[i] ?? -1,
    caplen,
    origlen: batch.origlen[i] ?? -1,
    linkType: batch.linkType[i] ?? -1,
    recordOffset: batch.recordOffset[i] ?? -1,
    data: batch.data.slice(offset, offset + caplen),
  };
}
