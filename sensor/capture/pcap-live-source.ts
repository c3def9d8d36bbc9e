/**
 * Live capture from a network interface through our own batched libpcap binding (sensor/capture/native/).
 *
 * PASSIVE BY CONSTRUCTION: the binding has no send function (no pcap_inject/pcap_sendpacket); the sensor only listens.
 *
 * Compared with the `cap` source (live-source.ts), which crosses into JS once per packet:
 * - One async native call per batch: `readBatch` runs `pcap_dispatch` on a libuv thread-pool thread and copies up to
 *   `batchSize` packets (back to back in `data`, plus offset/caplen/origlen/timestamp per packet) straight into the
 *   batch's typed arrays. No JS runs per packet on the capture side.
 * - Real libpcap timestamps, nanosecond precision where the kernel offers it (else microseconds scaled up), and the
 *   real original length.
 * - `pcap_stats()`: `kernelDrops` = ps_drop (packets the kernel ring had no room for), `ifDrops` = ps_ifdrop,
 *   `received` = ps_recv. So loss under load is visible to the sensor.
 *
 * Double buffering: two batches alternate. As soon as batch A is handed to the consumer, the read into batch B is
 * started, so libpcap drains the ring on the worker thread while the pipeline processes A. A is written again only
 * after the consumer asked for the next batch, which is exactly the PacketBatch contract ("valid until the next batch
 * is requested"). The data is therefore never copied twice and never touched by two parties at once.
 *
 * Threads: one libuv thread-pool thread stays blocked in pcap_dispatch for the life of the capture (libuv has 4 by
 * default; set UV_THREADPOOL_SIZE higher if the process also leans on fs/dns/zlib work). On Linux a read may wait
 * for traffic indefinitely (TPACKET_V3 retires no empty block), so close() wakes it with pcap_breakloop and the
 * native side frees the pcap handle only once that read has returned.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { DLT_RAW_12, DLT_RAW_14, LINKTYPE_RAW } from '../../protocols/core/link-types.ts';
import {
  allocBatch,
  CaptureError,
  type CaptureSource,
  type CaptureStats,
  emptyStats,
  type PacketBatch,
} from './source.ts';

export interface PcapLiveOptions {
  /** Interface name as libpcap knows it (`eth0`, `any`, ...). */
  iface: string;
  /** BPF filter expression (pcap-filter syntax); empty or absent captures everything. */
  bpf?: string;
  /** Bytes kept per packet (libpcap snaplen), 64..262144. Default 65535. */
  snaplen?: number;
  /** libpcap kernel ring size in bytes. Default 32 MiB. */
  bufferSize?: number;
  /** Most packets per batch. Default 1024. */
  batchSize?: number;
  /** Bytes of packet data per batch (raised to at least 2 × snaplen). Default 2 MiB. */
  batchBytes?: number;
  /**
   * How long libpcap may hold packets before handing them over, in ms (Linux TPACKET_V3 block timeout): the latency
   * added at low rates. Default 50.
   */
  timeoutMs?: number;
  /** Hand every packet over at once (pcap_set_immediate_mode; libpcap then uses TPACKET_V2). Default false. */
  immediate?: boolean;
  /** Promiscuous mode (what a SPAN/mirror port or TAP needs). Default true. */
  promisc?: boolean;
}

/** CaptureStats plus what only this live source knows. */
export interface PcapLiveStats extends CaptureStats {
  /** Packets libpcap's socket received that passed the filter, including the ones dropped (ps_recv). */
  received: number | null;
  /** Link type of the interface (LINKTYPE_* value). */
  linkType: number;
  /** True when timestamps carry nanoseconds from the kernel (false: microseconds × 1000). */
  nanoTimestamps: boolean;
}

export interface PcapLiveSource extends CaptureSource {
  stats(): PcapLiveStats;
}

export const PCAP_LIVE_DEFAULTS = {
  snaplen: 65535,
  bufferSize: 32 * 1024 * 1024,
  batchSize: 1024,
  batchBytes: 2 * 1024 * 1024,
  timeoutMs: 50,
  immediate: false,
  promisc: true,
} as const;

/** The native handle: opaque to JS. */
type NativeHandle = { readonly warning?: string };

/** The binding's exports (sensor/capture/native/pcap_batch.c). There is deliberately no send function. */
interface PcapBatchAddon {
  open(
    device: string,
    snaplen: number,
    promisc: boolean,
    bufferSize: number,
    timeoutMs: number,
    immediate: boolean,
  ): NativeHandle;
  setFilter(h: NativeHandle, expr: string): void;
  datalink(h: NativeHandle): number;
  nanoTimestamps(h: NativeHandle): boolean;
  readBatch(
    h: NativeHandle,
    data: Uint8Array,
    offset: Int32Array,
    caplen: Int32Array,
    origlen: Int32Array,
    tsSec: Float64Array,
    tsNsec: Int32Array,
  ): Promise<number>;
  stats(h: NativeHandle): { recv: number; drop: number; ifdrop: number };
  close(h: NativeHandle): void;
}

/** Where `npm run build:native` puts the addon. */
export const PCAP_ADDON_PATH = fileURLToPath(new URL('./native/build/Release/pcap_batch.node', import.meta.url));

const requireCjs = createRequire(import.meta.url);
let addon: PcapBatchAddon | null = null;

/** Loads the addon once; LIVE_NO_ADDON when it was not built. */
export function loadPcapAddon(source = 'pcap'): PcapBatchAddon {
  if (addon !== null) return addon;
  if (!existsSync(PCAP_ADDON_PATH)) {
    throw new CaptureError(
      'LIVE_NO_ADDON',
      source,
      `the batched libpcap binding is not built (${PCAP_ADDON_PATH} missing): ` +
        'install libpcap-dev and run `npm run build:native` (scripts/setup-debian.sh does both)',
    );
  }
  try {
    addon = requireCjs(PCAP_ADDON_PATH) as PcapBatchAddon;
  } catch (err) {
    throw new CaptureError(
      'LIVE_NO_ADDON',
      source,
      `cannot load ${PCAP_ADDON_PATH} (${(err as Error).message}); rebuild it with \`npm run build:native\``,
    );
  }
  return addon;
}

/** libpcap's DLT_* value → the LINKTYPE_* value of the file formats (equal on Linux except raw IP). */
export function linkTypeFromDlt(dlt: number): number {
  return dlt === DLT_RAW_12 || dlt === DLT_RAW_14 ? LINKTYPE_RAW : dlt;
}

function intOption(iface: string, name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new CaptureError('LIVE_BAD_OPTION', iface, `${name} must be an integer in ${min}..${max} (got ${value})`);
  }
  return value;
}

function codeOf(err: unknown): string {
  const c = (err as { code?: unknown } | null)?.code;
  return typeof c === 'string' ? c : '';
}

class PcapLiveCapture implements PcapLiveSource {
  readonly name: string;
  private readonly native: PcapBatchAddon;
  private readonly handle: NativeHandle;
  private readonly buffers: [PacketBatch, PacketBatch];
  private readonly counters: PcapLiveStats;
  private closed = false;
  private iterating = false;
  /** The read in flight (at most one per handle), so close() can wait for it to settle. */
  private pending: Promise<number> | null = null;

  constructor(
    native: PcapBatchAddon,
    handle: NativeHandle,
    iface: string,
    linkType: number,
    batchSize: number,
    batchBytes: number,
  ) {
    this.name = iface;
    this.native = native;
    this.handle = handle;
    this.buffers = [
      allocBatch(batchSize, new Uint8Array(batchBytes)),
      allocBatch(batchSize, new Uint8Array(batchBytes)),
    ];
    // Link type and record offset are the same for every packet of a live capture: fill them once, never per packet.
    for (const b of this.buffers) {
      b.linkType.fill(linkType);
      b.recordOffset.fill(-1);
    }
    this.counters = {
      ...emptyStats(),
      kernelDrops: 0,
      ifDrops: 0,
      received: 0,
      linkType,
      nanoTimestamps: native.nanoTimestamps(handle),
    };
  }

  private read(b: PacketBatch): Promise<number> {
    const p = this.native.readBatch(this.handle, b.data, b.offset, b.caplen, b.origlen, b.tsSec, b.tsNsec);
    this.pending = p;
    return p;
  }

  async *batches(): AsyncIterable<PacketBatch> {
    if (this.iterating) throw new CaptureError('LIVE_ALREADY_ITERATED', this.name, 'batches() may be iterated once');
    this.iterating = true;
    if (this.closed) return;
    let cur = 0;
    let next = this.read(this.buffers[0]);
    try {
      for (;;) {
        let n: number;
        try {
          n = await next;
        } catch (err) {
          if (this.closed) return;
          throw new CaptureError('LIVE_READ_FAILED', this.name, `capture failed: ${(err as Error).message}`);
        }
        this.pending = null;
        if (this.closed) return;
        const batch = cur === 0 ? this.buffers[0] : this.buffers[1];
        batch.count = n;
        cur ^= 1;
        // Prefetch into the other buffer while the consumer works on this one (see the top of the file).
        next = this.read(cur === 0 ? this.buffers[0] : this.buffers[1]);
        if (n === 0) continue; // timeout or a wake-up without packets
        this.counters.packets += n;
        // Packets sit back to back from offset 0, so the batch's byte count is where the last one ends.
        this.counters.bytes += (batch.offset[n - 1] ?? 0) + (batch.caplen[n - 1] ?? 0);
        yield batch;
      }
    } finally {
      await this.close();
    }
  }

  stats(): PcapLiveStats {
    if (!this.closed) this.refreshKernelStats();
    this.counters.inputBytes = this.counters.bytes;
    return { ...this.counters };
  }

  private refreshKernelStats(): void {
    try {
      const s = this.native.stats(this.handle);
      this.counters.kernelDrops = s.drop;
      this.counters.ifDrops = s.ifdrop;
      this.counters.received = s.recv;
    } catch {
      // Keep the last figures: pcap_stats fails only on a dead socket, which the next read reports.
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    // Last look at the kernel counters: they die with the handle.
    this.refreshKernelStats();
    this.closed = true;
    this.native.close(this.handle);
    const p = this.pending;
    if (p !== null) {
      // The native side breaks the blocked read and frees the handle when it returns; wait for that so that no
      // thread-pool thread is left inside libpcap after close() resolves.
      await p.then(
        () => undefined,
        () => undefined,
      );
      this.pending = null;
    }
  }
}

/**
 * Opens `options.iface` for passive capture through the batched binding. Throws CaptureError (LIVE_NO_ADDON,
 * LIVE_NO_DEVICE, LIVE_PERMISSION, LIVE_BAD_FILTER, LIVE_BAD_OPTION or LIVE_OPEN_FAILED) before capturing anything.
 * The kernel starts queueing packets (up to `bufferSize`) at once; they are read when `batches()` is iterated.
 */
export function openPcapLive(options: PcapLiveOptions): PcapLiveSource {
  const iface = options.iface;
  if (typeof iface !== 'string' || iface === '') {
    throw new CaptureError('LIVE_BAD_OPTION', String(iface), 'an interface name is required');
  }
  const snaplen = intOption(iface, 'snaplen', options.snaplen ?? PCAP_LIVE_DEFAULTS.snaplen, 64, 262_144);
  const bufferSize = intOption(
    iface,
    'bufferSize',
    options.bufferSize ?? PCAP_LIVE_DEFAULTS.bufferSize,
    65_536,
    2 ** 31 - 1,
  );
  const batchSize = intOption(iface, 'batchSize', options.batchSize ?? PCAP_LIVE_DEFAULTS.batchSize, 1, 1 << 20);
  const batchBytes = Math.max(
    2 * snaplen,
    intOption(iface, 'batchBytes', options.batchBytes ?? PCAP_LIVE_DEFAULTS.batchBytes, 1, 2 ** 30),
  );
  const timeoutMs = intOption(iface, 'timeoutMs', options.timeoutMs ?? PCAP_LIVE_DEFAULTS.timeoutMs, 1, 60_000);
  const bpf = options.bpf ?? '';
  const native = loadPcapAddon(iface);

  let handle: NativeHandle;
  try {
    handle = native.open(
      iface,
      snaplen,
      options.promisc ?? PCAP_LIVE_DEFAULTS.promisc,
      bufferSize,
      timeoutMs,
      options.immediate ?? PCAP_LIVE_DEFAULTS.immediate,
    );
  } catch (err) {
    const message = (err as Error).message;
    switch (codeOf(err)) {
      case 'NO_DEVICE':
        throw new CaptureError('LIVE_NO_DEVICE', iface, `no such interface (${message})`);
      case 'PERMISSION':
        throw new CaptureError(
          'LIVE_PERMISSION',
          iface,
          `no permission to capture (${message}); run as root or give node CAP_NET_RAW and CAP_NET_ADMIN`,
        );
      default:
        throw new CaptureError('LIVE_OPEN_FAILED', iface, `cannot open interface: ${message}`);
    }
  }
  try {
    if (bpf !== '') native.setFilter(handle, bpf);
  } catch (err) {
    native.close(handle);
    throw new CaptureError(
      'LIVE_BAD_FILTER',
      iface,
      `invalid BPF filter ${JSON.stringify(bpf)}: ${(err as Error).message}`,
    );
  }
  const linkType = linkTypeFromDlt(native.datalink(handle));
  return new PcapLiveCapture(native, handle, iface, linkType, batchSize, batchBytes);
}
