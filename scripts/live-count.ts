/**
 * Counts what the live capture source delivers on one interface, for scripts/measure-live-loss.sh.
 *
 * Usage: [SOURCE=cap|pcap] node --import tsx scripts/live-count.ts IFACE [BPF]
 * SOURCE picks the capture source: `cap` (live-source.ts, the default) or `pcap` (pcap-live-source.ts, our batched
 * libpcap binding; its stats add libpcap's kernelDrops/ifDrops/received).
 * Prints `ready` once the interface is open, then, after SIGINT/SIGTERM (or IDLE_MS without packets once some have
 * arrived, default 3000), one JSON line with the source's stats. The consumer only sums batch sizes and touches one
 * byte per packet, so the figure measures cap + the source, not a decoder.
 */
import { openLiveCapture } from '../sensor/capture/live-source.ts';
import { openPcapLive } from '../sensor/capture/pcap-live-source.ts';
import type { CaptureSource } from '../sensor/capture/source.ts';

const iface = process.argv[2];
if (iface === undefined) {
  console.error('usage: live-count.ts IFACE [BPF]');
  process.exit(2);
}
const bpf = process.argv[3] ?? '';
const idleMs = Number(process.env['IDLE_MS'] ?? 3000);

const sourceKind = process.env['SOURCE'] ?? 'cap';
if (sourceKind !== 'cap' && sourceKind !== 'pcap') {
  console.error(`live-count: SOURCE must be cap or pcap (got ${sourceKind})`);
  process.exit(2);
}
const src: CaptureSource = sourceKind === 'pcap' ? openPcapLive({ iface, bpf }) : openLiveCapture({ iface, bpf });
let lastPacketAt = 0;
let checksum = 0;
let finished = false;

async function finish(): Promise<void> {
  if (finished) return;
  finished = true;
  await src.close();
  process.stdout.write(`${JSON.stringify({ ...src.stats(), checksum })}\n`);
  process.exit(0);
}
process.on('SIGINT', () => void finish());
process.on('SIGTERM', () => void finish());
setInterval(() => {
  if (lastPacketAt > 0 && Date.now() - lastPacketAt > idleMs) void finish();
}, 200).unref();

process.stdout.write('ready\n');
for await (const batch of src.batches()) {
  for (let i = 0; i < batch.count; i++) checksum = (checksum + (batch.data[batch.offset[i] ?? 0] ?? 0)) | 0;
  lastPacketAt = Date.now();
}
await finish();
