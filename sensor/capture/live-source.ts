/**
 * Live capture from a network interface through libpcap, using the `cap` package (0.2.1).
 *
 * PASSIVE BY CONSTRUCTION: this module never calls `cap.send()` (pcap_sendpacket) and exposes no way to send; the
 * sensor only listens. (cap always opens the interface in promiscuous mode, which is what a SPAN/TAP port wants.)
 *
 * What cap gives and what it does not, and how this module copes:
 * - One JS callback per packet, with the bytes in ONE shared buffer that the next packet overwrites. We copy each
 *   packet into the batch being filled, so the pipeline still sees the batch interface of every other source.
 * - No pcap timestamp. We stamp each packet on arrival in JS with a wall clock anchored once to `Date.now()` and
 *   advanced by the monotonic high-resolution clock (`performance.now()`, the same clock as `process.hrtime`). The
 *   stamp is the time JS saw the packet, not the time the kernel did: it lags by the queueing delay in the kernel
 *   ring and the event loop (microseconds idle, up to the ring's depth under load), and packets that sat in the ring
 *   together get stamps closer than their real spacing. Good enough for flow timeouts and event times; not for
 *   inter-packet timing analysis.
 * - No original length: cap reports only how many bytes it copied and whether it truncated. Untruncated packets get
 *   origlen = caplen; truncated ones get the length their IPv4/IPv6 header announces (Ethernet, SLL, raw), else
 *   caplen.
 * - No pcap_stats(): the kernel ring's drop count (ps_drop) is invisible, so `kernelDrops` stays null. `ifDrops`
 *   reports the interface's `rx_dropped` counter from /proc/net/dev (delta since open). That is the driver/stack's
 *   own drop figure for the interface, NOT libpcap's ps_ifdrop and NOT the capture ring's drops.
 * - The kernel-side snaplen is fixed by cap at 65535; our `snaplen` truncates when copying (the buffer cap writes
 *   into is `snaplen` bytes long).
 * - A failed `open()` leaves cap's native handle half-initialised, and closing it (or garbage-collecting it) aborts
 *   the whole process on a libuv assertion. So the device and BPF filter are first tried in a short-lived child
 *   process (preflight); the parent only opens what the child could open. If the parent's open still fails, the
 *   broken handle is parked in a module-level list so that it is never collected.
 *
 * Backpressure: a fixed pool of batches. When the consumer is slow and every batch is queued or in use, new packets
 * are dropped and counted in `sourceDrops` (libpcap's own ring keeps filling meanwhile: it is the first buffer).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import {
  DLT_RAW_12,
  LINKTYPE_ETHERNET,
  LINKTYPE_LINUX_SLL,
  LINKTYPE_NULL,
  LINKTYPE_RAW,
} from '../../protocols/core/link-types.ts';
import {
  allocBatch,
  CaptureError,
  type CaptureSource,
  type CaptureStats,
  emptyStats,
  type PacketBatch,
} from './source.ts';

export interface LiveCaptureOptions {
  /** Interface name as libpcap knows it (`eth0`, `any`, ...). */
  iface: string;
  /** BPF filter expression (pcap-filter syntax); empty or absent captures everything. */
  bpf?: string;
  /** Bytes kept per packet, 1..65535 (cap's own kernel snaplen is 65535). Default 65535. */
  snaplen?: number;
  /** libpcap kernel ring size in bytes. Default 32 MiB. */
  bufferSize?: number;
  /** Most packets per batch. Default 512. */
  batchSize?: number;
  /** Bytes of packet data per batch (raised to at least `snaplen`). Default 1 MiB. */
  batchBytes?: number;
  /** Filled batches that may wait for the consumer before packets are dropped. Default 32. */
  queueBatches?: number;
  /** Timeout of the preflight child that checks device and filter, in ms. Default 15000. */
  preflightTimeoutMs?: number;
}

/** CaptureStats plus what only a live source knows. */
export interface LiveCaptureStats extends CaptureStats {
  /** Packets longer than `snaplen` (delivered truncated). */
  truncated: number;
  /** Link type reported by libpcap for the interface (LINKTYPE_* value). */
  linkType: number;
}

/** A CaptureSource whose stats() also tells truncations and the link type. */
export interface LiveCaptureSource extends CaptureSource {
  stats(): LiveCaptureStats;
}

/** The parts of cap's native object this module uses. `send` is deliberately absent from the type. */
interface CapHandle {
  open(device: string, filter: string, bufSize: number, buffer: Buffer): string;
  close(): void;
  on(event: 'packet', listener: (nbytes: number, truncated: boolean) => void): void;
  removeAllListeners(event: 'packet'): void;
}
interface CapModule {
  Cap: new () => CapHandle;
}

export const LIVE_DEFAULTS = {
  snaplen: 65535,
  bufferSize: 32 * 1024 * 1024,
  batchSize: 512,
  batchBytes: 1024 * 1024,
  queueBatches: 32,
  preflightTimeoutMs: 15_000,
} as const;

const requireCjs = createRequire(import.meta.url);

/** Handles whose open() failed: kept reachable forever because collecting them aborts the process (see top). */
const brokenHandles: CapHandle[] = [];

/** Maps cap's link-type string to our LINKTYPE_* number, or -1 for types the pipeline cannot decode. */
export function linkTypeFromCap(name: string): number {
  switch (name) {
    case 'ETHERNET':
      return LINKTYPE_ETHERNET;
    case 'NULL':
      return LINKTYPE_NULL;
    case 'LINKTYPE_LINUX_SLL':
      return LINKTYPE_LINUX_SLL;
    case 'RAW':
      // cap reports DLT_RAW (12 on Linux); the file formats call it LINKTYPE_RAW. Use the file value.
      return LINKTYPE_RAW;
    default: {
      // cap formats anything else as "Unknown linktype N"; on Linux DLT and LINKTYPE agree for the types we decode.
      const m = /^Unknown linktype (\d+)$/.exec(name);
      if (m?.[1] !== undefined) {
        const n = Number(m[1]);
        return n === DLT_RAW_12 ? LINKTYPE_RAW : n;
      }
      return -1;
    }
  }
}

function loadCap(iface: string): { mod: CapModule; path: string } {
  try {
    const path = requireCjs.resolve('cap');
    return { mod: requireCjs(path) as CapModule, path };
  } catch (err) {
    throw new CaptureError(
      'LIVE_NO_ADDON',
      iface,
      `the 'cap' libpcap binding is not installed or not built (${(err as Error).message}); ` +
        'install libpcap-dev and run `npm ci` (scripts/setup-debian.sh does both)',
    );
  }
}

/**
 * Opens the device in a child process, first without and then with the filter, and reports the first failure.
 * The child exits right after, so its half-open handle dies with it instead of aborting us.
 */
const PREFLIGHT_JS = `
const { Cap } = require(process.argv[1]);
const [device, filter, bufSize] = [process.argv[2], process.argv[3], Number(process.argv[4])];
const out = (o) => { process.stdout.write(JSON.stringify(o)); process.exit(0); };
let linkType = '';
try { linkType = new Cap().open(device, '', bufSize, Buffer.alloc(64)); }
catch (e) { out({ ok: false, stage: 'open', message: String((e && e.message) || e) }); }
if (filter !== '') {
  try { new Cap().open(device, filter, bufSize, Buffer.alloc(64)); }
  catch (e) { out({ ok: false, stage: 'filter', message: String((e && e.message) || e) }); }
}
out({ ok: true, linkType });
`;

interface PreflightResult {
  ok: boolean;
  stage?: 'open' | 'filter';
  message?: string;
  linkType?: string;
}

function preflight(capPath: string, iface: string, bpf: string, timeoutMs: number): string {
  // The ring size does not affect whether the device or filter is valid; keep the child's small and quick.
  const res = spawnSync(process.execPath, ['-e', PREFLIGHT_JS, capPath, iface, bpf, String(1024 * 1024)], {
    encoding: 'utf8',
    timeout: timeoutMs,
  });
  let parsed: PreflightResult | null = null;
  try {
    parsed = JSON.parse(res.stdout) as PreflightResult;
  } catch {
    parsed = null;
  }
  if (parsed === null) {
    const why = res.error ? res.error.message : `exit ${res.status ?? res.signal}: ${res.stderr.trim()}`;
    throw new CaptureError('LIVE_OPEN_FAILED', iface, `could not check the interface (${why})`);
  }
  const message = parsed.message ?? 'unknown error';
  if (!parsed.ok && parsed.stage === 'filter') {
    throw new CaptureError('LIVE_BAD_FILTER', iface, `invalid BPF filter ${JSON.stringify(bpf)}: ${message}`);
  }
  if (!parsed.ok) {
    if (/permitted|permission/i.test(message)) {
      throw new CaptureError(
        'LIVE_PERMISSION',
        iface,
        `no permission to capture (${message}); run as root or give node CAP_NET_RAW and CAP_NET_ADMIN`,
      );
    }
    if (/no such device/i.test(message)) {
      throw new CaptureError('LIVE_NO_DEVICE', iface, `no such interface (${message})`);
    }
    throw new CaptureError('LIVE_OPEN_FAILED', iface, `cannot open interface: ${message}`);
  }
  return parsed.linkType ?? '';
}

/** The interface's rx_dropped from /proc/net/dev, or null when it is not listed (e.g. `any`) or unreadable. */
export function readIfaceRxDropped(iface: string, procNetDev = '/proc/net/dev'): number | null {
  let text: string;
  try {
    text = readFileSync(procNetDev, 'utf8');
  } catch {
    return null;
  }
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0 || line.slice(0, colon).trim() !== iface) continue;
    // Receive columns: bytes packets errs drop fifo frame compressed multicast.
    const fields = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/);
    const drop = Number(fields[3]);
    return Number.isFinite(drop) ? drop : null;
  }
  return null;
}

/** Original length announced by the IP header when cap truncated the packet; falls back to `caplen`. */
function announcedLength(buf: Uint8Array, caplen: number, linkType: number): number {
  let off: number;
  let etherType: number;
  if (linkType === LINKTYPE_ETHERNET) {
    if (caplen < 14) return caplen;
    off = 14;
    etherType = ((buf[12] ?? 0) << 8) | (buf[13] ?? 0);
    if (etherType === 0x8100 && caplen >= 18) {
      off = 18;
      etherType = ((buf[16] ?? 0) << 8) | (buf[17] ?? 0);
    }
  } else if (linkType === LINKTYPE_LINUX_SLL) {
    if (caplen < 16) return caplen;
    off = 16;
    etherType = ((buf[14] ?? 0) << 8) | (buf[15] ?? 0);
  } else if (linkType === LINKTYPE_RAW) {
    off = 0;
    etherType = (buf[0] ?? 0) >> 4 === 6 ? 0x86dd : 0x0800;
  } else {
    return caplen;
  }
  if (etherType === 0x0800 && caplen >= off + 4) {
    return Math.max(caplen, off + (((buf[off + 2] ?? 0) << 8) | (buf[off + 3] ?? 0)));
  }
  if (etherType === 0x86dd && caplen >= off + 6) {
    return Math.max(caplen, off + 40 + (((buf[off + 4] ?? 0) << 8) | (buf[off + 5] ?? 0)));
  }
  return caplen;
}

function positiveInt(iface: string, name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new CaptureError('LIVE_BAD_OPTION', iface, `${name} must be an integer in ${min}..${max} (got ${value})`);
  }
  return value;
}

class LiveCapture implements LiveCaptureSource {
  readonly name: string;
  private readonly cap: CapHandle;
  /** The one buffer cap copies every packet into; its length is the effective snaplen. */
  private readonly capBuf: Buffer;
  private readonly linkType: number;
  private readonly batchSize: number;
  private readonly counters: LiveCaptureStats;
  private readonly rxDroppedAtOpen: number | null;

  /** Batches nobody uses (a stack). */
  private readonly free: PacketBatch[];
  private freeLen: number;
  /** Filled batches waiting for the consumer (a ring). */
  private readonly ready: PacketBatch[];
  private readyHead = 0;
  private readyLen = 0;
  /** The batch packets are being copied into, and the write position in its data. */
  private filling: PacketBatch | null = null;
  private fillPos = 0;
  private flushScheduled = false;
  private waiter: (() => void) | null = null;
  private closed = false;
  private iterating = false;

  /** Wall clock anchor: whole seconds + ms within the second at open, and the monotonic clock then. */
  private readonly anchorSec: number;
  private readonly anchorMs: number;
  private readonly anchorMono: number;

  constructor(cap: CapHandle, capBuf: Buffer, linkType: number, opts: Required<Omit<LiveCaptureOptions, 'bpf'>>) {
    this.name = opts.iface;
    this.cap = cap;
    this.capBuf = capBuf;
    this.linkType = linkType;
    this.batchSize = opts.batchSize;
    this.counters = { ...emptyStats(), truncated: 0, linkType };
    this.rxDroppedAtOpen = readIfaceRxDropped(opts.iface);
    const pool = opts.queueBatches + 2; // + the one being filled + the one the consumer holds
    const dataBytes = Math.max(opts.batchBytes, capBuf.length);
    this.free = [];
    for (let i = 0; i < pool; i++) this.free.push(allocBatch(opts.batchSize, new Uint8Array(dataBytes)));
    this.freeLen = pool;
    this.ready = new Array<PacketBatch>(pool);
    const wall = Date.now();
    this.anchorMono = performance.now();
    this.anchorSec = Math.floor(wall / 1000);
    this.anchorMs = wall - this.anchorSec * 1000;
    this.onPacket = this.onPacket.bind(this);
    this.flush = this.flush.bind(this);
  }

  /** Hot path: one call per packet from cap. Copies the packet out of cap's shared buffer; allocates nothing. */
  onPacket(nbytes: number, truncated: boolean): void {
    let batch = this.filling;
    if (batch !== null && (batch.count === this.batchSize || this.fillPos + nbytes > batch.data.length)) {
      this.publish(batch);
      batch = null;
    }
    if (batch === null) {
      if (this.freeLen === 0) {
        this.counters.sourceDrops++;
        return;
      }
      this.freeLen--;
      batch = this.free[this.freeLen] ?? null;
      if (batch === null) return;
      batch.count = 0;
      this.filling = batch;
      this.fillPos = 0;
    }
    const i = batch.count;
    this.capBuf.copy(batch.data, this.fillPos, 0, nbytes);
    batch.offset[i] = this.fillPos;
    batch.caplen[i] = nbytes;
    batch.origlen[i] = truncated ? announcedLength(this.capBuf, nbytes, this.linkType) : nbytes;
    const ms = this.anchorMs + (performance.now() - this.anchorMono);
    const whole = Math.floor(ms / 1000);
    batch.tsSec[i] = this.anchorSec + whole;
    batch.tsNsec[i] = Math.min(999_999_999, Math.floor((ms - whole * 1000) * 1e6));
    batch.linkType[i] = this.linkType;
    batch.recordOffset[i] = -1;
    batch.count = i + 1;
    this.fillPos += nbytes;
    this.counters.packets++;
    this.counters.bytes += nbytes;
    if (truncated) this.counters.truncated++;
    if (!this.flushScheduled) {
      // cap drains the kernel ring in one poll callback; handing the partial batch over in the check phase right
      // after keeps latency low at low rates without a timer, and costs one scheduling per batch, not per packet.
      this.flushScheduled = true;
      setImmediate(this.flush);
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    const batch = this.filling;
    if (batch !== null && batch.count > 0) this.publish(batch);
  }

  private publish(batch: PacketBatch): void {
    if (this.filling === batch) this.filling = null;
    this.ready[(this.readyHead + this.readyLen) % this.ready.length] = batch;
    this.readyLen++;
    const w = this.waiter;
    if (w !== null) {
      this.waiter = null;
      w();
    }
  }

  private release(batch: PacketBatch): void {
    this.free[this.freeLen] = batch;
    this.freeLen++;
  }

  async *batches(): AsyncIterable<PacketBatch> {
    if (this.iterating) throw new CaptureError('LIVE_ALREADY_ITERATED', this.name, 'batches() may be iterated once');
    this.iterating = true;
    try {
      for (;;) {
        if (this.readyLen === 0) {
          if (this.closed) return;
          await new Promise<void>((resolve) => {
            this.waiter = resolve;
          });
          continue;
        }
        const batch = this.ready[this.readyHead];
        this.readyHead = (this.readyHead + 1) % this.ready.length;
        this.readyLen--;
        if (batch === undefined) continue;
        yield batch;
        // The consumer asked for the next batch: the previous one may be reused.
        this.release(batch);
      }
    } finally {
      await this.close();
    }
  }

  stats(): LiveCaptureStats {
    const now = this.rxDroppedAtOpen === null ? null : readIfaceRxDropped(this.name);
    this.counters.ifDrops = now === null || this.rxDroppedAtOpen === null ? null : now - this.rxDroppedAtOpen;
    this.counters.inputBytes = this.counters.bytes;
    return { ...this.counters };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.cap.removeAllListeners('packet');
    this.cap.close();
    this.flush();
    const w = this.waiter;
    if (w !== null) {
      this.waiter = null;
      w();
    }
  }
}

/**
 * Opens `options.iface` for passive capture. Throws CaptureError (code LIVE_NO_DEVICE, LIVE_PERMISSION,
 * LIVE_BAD_FILTER, LIVE_BAD_OPTION, LIVE_UNSUPPORTED_LINKTYPE, LIVE_NO_ADDON or LIVE_OPEN_FAILED) before capturing
 * anything. Capture starts at once; packets wait in the bounded queue until `batches()` is iterated.
 */
export function openLiveCapture(options: LiveCaptureOptions): LiveCaptureSource {
  const iface = options.iface;
  if (typeof iface !== 'string' || iface === '') {
    throw new CaptureError('LIVE_BAD_OPTION', String(iface), 'an interface name is required');
  }
  const bpf = options.bpf ?? '';
  const opts = {
    iface,
    snaplen: positiveInt(iface, 'snaplen', options.snaplen ?? LIVE_DEFAULTS.snaplen, 1, 65535),
    bufferSize: positiveInt(iface, 'bufferSize', options.bufferSize ?? LIVE_DEFAULTS.bufferSize, 65536, 2 ** 31 - 1),
    batchSize: positiveInt(iface, 'batchSize', options.batchSize ?? LIVE_DEFAULTS.batchSize, 1, 1 << 20),
    batchBytes: positiveInt(iface, 'batchBytes', options.batchBytes ?? LIVE_DEFAULTS.batchBytes, 1, 2 ** 30),
    queueBatches: positiveInt(iface, 'queueBatches', options.queueBatches ?? LIVE_DEFAULTS.queueBatches, 1, 1 << 16),
    preflightTimeoutMs: positiveInt(
      iface,
      'preflightTimeoutMs',
      options.preflightTimeoutMs ?? LIVE_DEFAULTS.preflightTimeoutMs,
      1,
      600_000,
    ),
  };
  const { mod, path } = loadCap(iface);
  const capName = preflight(path, iface, bpf, opts.preflightTimeoutMs);
  const linkType = linkTypeFromCap(capName);
  if (linkType < 0) {
    throw new CaptureError('LIVE_UNSUPPORTED_LINKTYPE', iface, `link type ${capName} is not supported`);
  }
  const cap = new mod.Cap();
  const capBuf = Buffer.alloc(opts.snaplen);
  try {
    cap.open(iface, bpf, opts.bufferSize, capBuf);
  } catch (err) {
    brokenHandles.push(cap);
    throw new CaptureError('LIVE_OPEN_FAILED', iface, `cannot open interface: ${(err as Error).message}`);
  }
  const source = new LiveCapture(cap, capBuf, linkType, opts);
  cap.on('packet', source.onPacket);
  return source;
}
