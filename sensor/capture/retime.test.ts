import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SHARED_PCAPS } from '../../tests/support/paths.ts';
import { openCaptureFile } from './file-source.ts';
import { latestPacketTime, Retimer } from './retime.ts';
import { allocBatch } from './source.ts';

function batch(times: number[]) {
  const b = allocBatch(8, new Uint8Array(64));
  times.forEach((t, i) => {
    b.tsSec[i] = t;
  });
  b.count = times.length;
  return b;
}

describe('Retimer', () => {
  it('moves the last packet to at most now, by whole seconds, and keeps every gap over all batches', () => {
    const r = Retimer.endingAt(1_500_003_610.25, 2_000_000_000.9);
    expect(r.shiftSec).toBe(2_000_000_000 - 1_500_003_611);
    const first = batch([1_500_000_010, 1_500_000_011, 1_500_000_070]);
    r.apply(first);
    expect([...first.tsSec.subarray(0, 3)]).toEqual([1_999_996_399, 1_999_996_400, 1_999_996_459]);
    const last = batch([1_500_003_610]);
    r.apply(last);
    expect(last.tsSec[0]).toBe(1_999_999_999);
    expect(last.tsSec[0]).toBeLessThanOrEqual(2_000_000_000);
  });

  it('latestPacketTime reads ahead: the last packet of the files, skipping one that cannot be read', async () => {
    const file = join(SHARED_PCAPS, 'zeek__modbusSmall.pcap');
    let last = 0;
    const source = await openCaptureFile(file);
    for await (const b of source.batches()) {
      for (let i = 0; i < b.count; i++) last = Math.max(last, (b.tsSec[i] ?? 0) + (b.tsNsec[i] ?? 0) / 1e9);
    }
    await source.close();
    expect(last).toBeGreaterThan(1e9);
    expect(await latestPacketTime([join(SHARED_PCAPS, 'no-such-file.pcap'), file])).toBe(last);
    expect(await latestPacketTime([])).toBeNull();
  });
});
