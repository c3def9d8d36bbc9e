import type { PacketBatch } from './source.ts';

/**
 * The contract between the chunked file reader (file-source.ts) and one capture file format (pcap, pcapng).
 *
 * The reader owns the bytes: it hands the parser a window `[start, end)` of complete input and the parser
 * turns as many whole records as fit into batch entries pointing into it. The parser never waits, never
 * throws and never allocates on the "need more bytes" path: it stops, says how many bytes the next record needs
 * (`needed`, counted from the returned position), and the reader fetches them. Damage is also reported through
 * `status` so that the reader can first hand out every good packet parsed before it.
 */
export const PARSE_NEED_MORE = 0;
export const PARSE_BATCH_FULL = 1;
export const PARSE_ERROR = 2;

export interface RecordParser {
  /** PARSE_* outcome of the last `parse` call. */
  status: number;
  /** With PARSE_NEED_MORE: bytes the next record needs, counted from the returned position. */
  needed: number;
  /** With PARSE_ERROR: CaptureError code, message and absolute input offset of the bad record or block. */
  errorCode: string;
  errorMessage: string;
  errorOffset: number;
  /** Error code to use when the input ends inside a record (e.g. 'PCAP_TRUNCATED'). */
  readonly truncatedCode: string;
  /** Captured bytes and packets emitted, and packets skipped by the parser (e.g. unknown interface id). */
  packets: number;
  bytes: number;
  drops: number;

  /**
   * Parses whole records from bytes [start, end) of `view` into `batch` (appending at `batch.count`; packet
   * offsets index the same bytes as `view`, i.e. `batch.data`) and returns the position after the last consumed
   * record. `base` is the input offset of view byte 0 (so `base + pos` is the record's offset in the file).
   */
  parse(view: DataView, start: number, end: number, base: number, batch: PacketBatch): number;
}
