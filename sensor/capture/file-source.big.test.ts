import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { LINKTYPE_ETHERNET } from '../../protocols/core/link-types.ts';
import { openCaptureFile } from './file-source.ts';

/** The 23 MB gzip benchmark capture, streamed: kept apart from the unit tests because it takes seconds. */
describe('benchmark capture', () => {
  it('streams all 623,403 packets of modbus_big.pcap.gz', { timeout: 600_000 }, async () => {
    const path = fileURLToPath(new URL('../../../shared/bench/modbus_big.pcap.gz', import.meta.url));
    const source = await openCaptureFile(path);
    expect(source.compressed).toBe(true);
    expect(source.format).toBe('pcap');
    let packets = 0;
    let bytes = 0;
    let nonEthernet = 0;
    let lastSec = 0;
    let backwards = 0;
    for await (const batch of source.batches()) {
      for (let i = 0; i < batch.count; i++) {
        bytes += batch.caplen[i] ?? 0;
        if (batch.linkType[i] !== LINKTYPE_ETHERNET) nonEthernet++;
        const sec = batch.tsSec[i] ?? 0;
        if (sec < lastSec) backwards++;
        lastSec = sec;
      }
      packets += batch.count;
    }
    expect(packets).toBe(623_403);
    expect(nonEthernet).toBe(0);
    expect(backwards).toBe(0); // tcpdump on loopback: time only moves forward
    const stats = source.stats();
    expect(stats.packets).toBe(packets);
    expect(stats.bytes).toBe(bytes);
    // 16-byte record headers plus the 24-byte file header make up the rest of the decompressed input.
    expect(stats.inputBytes).toBe(24 + 16 * packets + bytes);
  });
});
