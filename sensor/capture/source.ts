/**
 * The one interface every capture source (pcap file, pcapng file, live libpcap) implements.
 *
 * Packets arrive in batches of parallel typed arrays so that the hot path allocates nothing per packet:
 * packet i is `batch.data.subarray(batch.offset[i], batch.offset[i] + batch.caplen[i])`, but callers should
 * read it in place through (data, offset, caplen) rather than create the subarray.
 *
 * A batch and the bytes it points into are only valid until the next batch is requested: the source reuses
 * its buffers. Copy anything that must outlive the iteration step.
 */
export interface PacketBatch {
  /** Number of valid entries in the arrays below (the arrays may be longer). */
  count: number;
  /** Buffer holding the packet bytes of this batch. */
  data: Uint8Array;
  /** Start of packet i in `data`. */
  offset: Int32Array;
  /** Captured length of packet i (bytes present in `data`). */
  caplen: Int32Array;
  /** Original length of packet i on the wire. */
  origlen: Int32Array;
  /** Timestamp of packet i: whole seconds since the Unix epoch. */
  tsSec: Float64Array;
  /** Timestamp of packet i: nanoseconds within the second (0..999,999,999). */
  tsNsec: Int32Array;
  /** Link-layer type of packet i (LINKTYPE_* value; pcapng interfaces may differ per packet). */
  linkType: Int32Array;
  /** Byte offset of packet i's record header in the (decompressed) input; -1 for live capture. */
  recordOffset: Float64Array;
}

export interface CaptureStats {
  /** Packets delivered to the pipeline. */
  packets: number;
  /** Captured bytes delivered. */
  bytes: number;
  /** Bytes of input consumed (file sources: decompressed bytes read). */
  inputBytes: number;
  /** Packets the kernel dropped (libpcap ps_drop), or null where the source cannot know. */
  kernelDrops: number | null;
  /** Packets the interface/driver dropped (libpcap ps_ifdrop), or null. */
  ifDrops: number | null;
  /** Packets the source itself discarded (e.g. oversized records, unknown interface ids). */
  sourceDrops: number;
}

export interface CaptureSource {
  /** Human-readable name: file path or interface name. */
  readonly name: string;
  /** Yields batches until the input ends. Throws a CaptureError after yielding every good packet before damage. */
  batches(): AsyncIterable<PacketBatch>;
  stats(): CaptureStats;
  close(): Promise<void>;
}

/** A capture input problem with the file (or interface) and, where it applies, the byte offset. */
export class CaptureError extends Error {
  readonly source: string;
  readonly byteOffset: number | null;
  readonly code: string;

  constructor(code: string, source: string, message: string, byteOffset: number | null = null) {
    super(`${source}${byteOffset === null ? '' : ` at byte ${byteOffset}`}: ${message}`);
    this.name = 'CaptureError';
    this.code = code;
    this.source = source;
    this.byteOffset = byteOffset;
  }
}

export function emptyStats(): CaptureStats {
  return { packets: 0, bytes: 0, inputBytes: 0, kernelDrops: null, ifDrops: null, sourceDrops: 0 };
}

/** Allocates a batch with room for `capacity` packets; sources reuse it across iterations. */
export function allocBatch(capacity: number, data: Uint8Array): PacketBatch {
  return new BatchColumns(capacity, data);
}

/**
 * A class rather than an object literal: creating a second literal batch (the next file, the next benchmark pass)
 * deoptimised every function that had read the first one's columns (the packet loop and the record parsers), and
 * recompiling those is expensive; instances of a class do not.
 */
class BatchColumns implements PacketBatch {
  count = 0;
  data: Uint8Array;
  offset: Int32Array;
  caplen: Int32Array;
  origlen: Int32Array;
  tsSec: Float64Array;
  tsNsec: Int32Array;
  linkType: Int32Array;
  recordOffset: Float64Array;

  constructor(capacity: number, data: Uint8Array) {
    this.data = data;
    this.offset = new Int32Array(capacity);
    this.caplen = new Int32Array(capacity);
    this.origlen = new Int32Array(capacity);
    this.tsSec = new Float64Array(capacity);
    this.tsNsec = new Int32Array(capacity);
    this.linkType = new Int32Array(capacity);
    this.recordOffset = new Float64Array(capacity);
  }
}
