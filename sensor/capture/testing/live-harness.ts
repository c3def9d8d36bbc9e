/**
 * Shared harness of the live-capture tests: a veth pair whose far end lives in a fresh network namespace (tcpreplay
 * sends from there), the frames they replay, and a collector that copies packets out of a live source's batches.
 * Test-only; needs root.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { LINKTYPE_ETHERNET } from '../../../protocols/core/link-types.ts';
import type { CaptureSource, PacketBatch } from '../source.ts';
import { buildPcap } from './capture-builder.ts';

const run = promisify(execFile);

export const isRoot = process.getuid?.() === 0;

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Ethernet/IPv4 frame with a TCP or UDP header and `payload`; checksums are irrelevant to capture. */
export function liveFrame(proto: 6 | 17, srcPort: number, dstPort: number, payload: Uint8Array): Uint8Array {
  const l4 = proto === 6 ? 20 : 8;
  const f = new Uint8Array(14 + 20 + l4 + payload.length);
  const dv = new DataView(f.buffer);
  f.set([0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01], 0);
  dv.setUint16(12, 0x0800);
  f[14] = 0x45;
  dv.setUint16(16, 20 + l4 + payload.length);
  f[22] = 64;
  f[23] = proto;
  f.set([10, 99, 0, 1, 10, 99, 0, 2], 26); // addresses only inside the test's own namespace/veth
  dv.setUint16(34, srcPort);
  dv.setUint16(36, dstPort);
  if (proto === 6) {
    dv.setUint32(38, 1000);
    f[46] = 0x50;
    f[47] = 0x18; // PSH|ACK
    dv.setUint16(48, 8192);
  } else {
    dv.setUint16(38, 8 + payload.length);
  }
  f.set(payload, 34 + l4);
  return f;
}

function modbusRead(tid: number): Uint8Array {
  return new Uint8Array([tid >> 8, tid & 0xff, 0, 0, 0, 6, 1, 3, 0, 0x10, 0, 4]);
}

export const BIG_PAYLOAD = new Uint8Array(1200).map((_, i) => i & 0xff);
/** What a `tcp port 5020` filter must let through, in order. */
export const WANTED: readonly Uint8Array[] = [
  liveFrame(6, 40001, 5020, modbusRead(1)),
  liveFrame(6, 5020, 40001, new Uint8Array([0, 1, 0, 0, 0, 11, 1, 3, 8, 0, 1, 0, 2, 0, 3, 0, 4])),
  liveFrame(6, 40001, 5020, BIG_PAYLOAD),
  liveFrame(6, 40001, 5020, modbusRead(2)),
];
const UNWANTED = [liveFrame(6, 40002, 9999, modbusRead(3)), liveFrame(17, 40003, 5020, modbusRead(4))];
/** Interleaved so that the filter, not ordering, decides what is seen. */
export const SENT: readonly Uint8Array[] = [
  WANTED[0],
  UNWANTED[0],
  WANTED[1],
  UNWANTED[1],
  WANTED[2],
  WANTED[3],
].filter((f): f is Uint8Array => f !== undefined);

/** Writes `frames` as a microsecond little-endian Ethernet pcap, `stepUs` apart. */
export function writeEthernetPcap(path: string, frames: readonly Uint8Array[], stepUs: number): void {
  const built = buildPcap(
    { littleEndian: true, nanosecond: false, linkType: LINKTYPE_ETHERNET },
    frames.map((data, i) => ({ tsSec: 1_700_000_000, tsSubsec: i * stepUs, data })),
  );
  writeFileSync(path, built.bytes);
}

/** A veth pair: `capIf` stays in our namespace (we capture on it), `peerIf` lives in a fresh namespace. */
export class VethPair {
  readonly ns: string;
  readonly capIf: string;
  readonly peerIf: string;
  /** Scratch directory for the pcaps the test replays. */
  dir = '';

  constructor(prefix: string) {
    const tag = `${process.pid % 100000}${Math.floor(Math.random() * 100)}`;
    this.ns = `otw-${prefix}-${tag}`;
    this.capIf = `otw${prefix[0] ?? 'x'}c${tag}`;
    this.peerIf = `otw${prefix[0] ?? 'x'}p${tag}`;
  }

  up(): void {
    this.dir = mkdtempSync(join(tmpdir(), `${this.ns}-`));
    ip('netns', 'add', this.ns);
    ip('link', 'add', this.capIf, 'type', 'veth', 'peer', 'name', this.peerIf, 'netns', this.ns);
    // No IPv6 on either end: keeps router solicitations and DAD probes off the wire we assert on.
    writeFileSync(`/proc/sys/net/ipv6/conf/${this.capIf}/disable_ipv6`, '1');
    execFileSync('ip', ['netns', 'exec', this.ns, 'sysctl', '-q', '-w', `net.ipv6.conf.${this.peerIf}.disable_ipv6=1`]);
    ip('link', 'set', this.capIf, 'up');
    ip('-n', this.ns, 'link', 'set', this.peerIf, 'up');
  }

  down(): void {
    try {
      ip('netns', 'del', this.ns); // deleting the namespace destroys the peer and with it the whole veth pair
    } catch {}
    try {
      ip('link', 'del', this.capIf);
    } catch {}
    if (this.dir !== '') rmSync(this.dir, { recursive: true, force: true });
  }

  /** Sends a pcap from the namespace side with tcpreplay (`--topspeed` etc. via `extra`). */
  async replay(pcapPath: string, extra: readonly string[] = []): Promise<void> {
    await run('ip', ['netns', 'exec', this.ns, 'tcpreplay', '-q', ...extra, '-i', this.peerIf, pcapPath]);
  }
}

export interface LivePacket {
  bytes: Uint8Array;
  origlen: number;
  linkType: number;
  recordOffset: number;
  tsSec: number;
  tsNsec: number;
}

/** Collects copies of packets until `want` arrived, then waits `settleMs` more to catch anything unexpected. */
export async function collectLive(
  src: CaptureSource,
  want: number,
  settleMs: number,
  timeoutMs = 10_000,
): Promise<{ got: LivePacket[]; batchCounts: number[] }> {
  const got: LivePacket[] = [];
  const batchCounts: number[] = [];
  const it = src.batches()[Symbol.asyncIterator]();
  const take = (b: PacketBatch) => {
    batchCounts.push(b.count);
    for (let i = 0; i < b.count; i++) {
      const off = b.offset[i] ?? 0;
      got.push({
        bytes: b.data.slice(off, off + (b.caplen[i] ?? 0)),
        origlen: b.origlen[i] ?? -1,
        linkType: b.linkType[i] ?? -1,
        recordOffset: b.recordOffset[i] ?? 0,
        tsSec: b.tsSec[i] ?? 0,
        tsNsec: b.tsNsec[i] ?? 0,
      });
    }
  };
  const deadline = Date.now() + timeoutMs;
  let settleUntil = Number.POSITIVE_INFINITY;
  for (;;) {
    const limit = Math.min(deadline, settleUntil) - Date.now();
    if (limit <= 0) break;
    let timer: NodeJS.Timeout | undefined;
    const r = await Promise.race([
      it.next(),
      new Promise<null>((resolve) => {
        timer = setTimeout(() => resolve(null), limit);
      }),
    ]);
    clearTimeout(timer);
    if (r === null || r.done) break;
    take(r.value);
    if (got.length >= want && settleUntil === Number.POSITIVE_INFINITY) settleUntil = Date.now() + settleMs;
  }
  return { got, batchCounts };
}
