/**
 * Test-only glue between lists of packets and the pipeline's PacketBatch input: load packets out of a real capture
 * (copied, since a source reuses its buffers), and pack packets back into batches the way a capture source would.
 */
import { openCaptureFile } from '../../sensor/capture/file-source.ts';
import { allocBatch, type PacketBatch } from '../../sensor/capture/source.ts';

export interface TestPacket {
  data: Uint8Array;
  linkType: number;
  tsSec: number;
  tsNsec: number;
}

/** Every packet of a capture file, copied out of the reader's reused buffers. */
export async function loadCapturePackets(path: string): Promise<TestPacket[]> {
  const source = await openCaptureFile(path);
  const out: TestPacket[] = [];
  try {
    for await (const batch of source.batches()) {
      for (let i = 0; i < batch.count; i++) {
        const off = batch.offset[i] ?? 0;
        out.push({
          data: batch.data.slice(off, off + (batch.caplen[i] ?? 0)),
          linkType: batch.linkType[i] ?? 0,
          tsSec: batch.tsSec[i] ?? 0,
          tsNsec: batch.tsNsec[i] ?? 0,
        });
      }
    }
  } finally {
    await source.close();
  }
  return out;
}

/**
 * Packs packets into one reused batch (like a capture source: the same batch object and buffer every time, with
 * a few junk bytes between packets so that a reader that runs past caplen sees garbage rather than the next frame).
 */
export class BatchPacker {
  private readonly batch: PacketBatch;
  private readonly capacity: number;

  constructor(capacity: number, bufferBytes: number) {
    this.capacity = capacity;
    this.batch = allocBatch(capacity, new Uint8Array(bufferBytes));
  }

  /** Yields `packets` in batches of up to `capacity`; each yielded batch is valid until the next step. */
  *batches(packets: readonly TestPacket[]): Generator<PacketBatch> {
    const b = this.batch;
    let i = 0;
    while (i < packets.length) {
      b.count = 0;
      let pos = 0;
      b.data.fill(0xee);
      while (i < packets.length && b.count < this.capacity) {
        const p = packets[i];
        if (p === undefined) break;
        if (pos + p.data.length + 4 > b.data.length) {
          if (b.count === 0) throw new Error(`BatchPacker: packet of ${p.data.length} bytes exceeds the buffer`);
          break;
        }
        const n = b.count;
        b.data.set(p.data, pos);
        b.offset[n] = pos;
        b.caplen[n] = p.data.length;
        b.origlen[n] = p.data.length;
        b.tsSec[n] = p.tsSec;
        b.tsNsec[n] = p.tsNsec;
        b.linkType[n] = p.linkType;
        b.recordOffset[n] = -1;
        b.count = n + 1;
        pos += p.data.length + 4;
        i++;
      }
      yield b;
    }
  }
}
