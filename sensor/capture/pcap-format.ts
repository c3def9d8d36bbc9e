/**
 * Classic libpcap file format: a 24-byte global header, then records of a 16-byte header plus the packet bytes.
 *
 * Global header: magic(4) version_major(2) version_minor(2) thiszone(4) sigfigs(4) snaplen(4) linktype(4).
 * The magic, read in the file's own byte order, is a1b2c3d4 (microsecond timestamps) or a1b23c4d (nanosecond);
 * reading it byte-swapped tells us the file is in the other byte order. The link type is the low 16 bits of the
 * last field (the upper bits carry FCS information we do not need).
 * Record header: ts_sec(4) ts_subsec(4) caplen(4) origlen(4), all in the file's byte order.
 *
 * Damage policy: a caplen above `maxRecordBytes` or above origlen means the reader has lost the record framing
 * (or the file is hostile); nothing after it can be trusted, so parsing stops with PCAP_BAD_RECORD at the record
 * header's offset. A sub-second field out of range is only normalised (carried into the seconds) because some
 * writers are known to produce usec == 1,000,000.
 */
import type { RecordParser } from './record-parser.ts';
import { PARSE_BATCH_FULL, PARSE_ERROR, PARSE_NEED_MORE } from './record-parser.ts';
import type { PacketBatch } from './source.ts';

export const PCAP_MAGIC_USEC = 0xa1b2c3d4;
export const PCAP_MAGIC_NSEC = 0xa1b23c4d;
export const PCAP_MAGIC_USEC_SWAPPED = 0xd4c3b2a1;
export const PCAP_MAGIC_NSEC_SWAPPED = 0x4d3cb2a1;

const GLOBAL_HEADER_BYTES = 24;
const RECORD_HEADER_BYTES = 16;

/** True when `magicBE` (the first four bytes read big-endian) starts a classic pcap file in either byte order. */
export function isPcapMagic(magicBE: number): boolean {
  return (
    magicBE === PCAP_MAGIC_USEC ||
    magicBE === PCAP_MAGIC_NSEC ||
    magicBE === PCAP_MAGIC_USEC_SWAPPED ||
    magicBE === PCAP_MAGIC_NSEC_SWAPPED
  );
}

export class PcapParser implements RecordParser {
  status = PARSE_NEED_MORE;
  needed = 0;
  errorCode = '';
  errorMessage = '';
  errorOffset = 0;
  readonly truncatedCode = 'PCAP_TRUNCATED';
  packets = 0;
  bytes = 0;
  drops = 0;

  /** Header fields, known once the global header was parsed. */
  headerDone = false;
  littleEndian = true;
  nanosecond = false;
  linkType = 0;
  snaplen = 0;
  private readonly maxRecordBytes: number;
  /** Sub-second units per second (1e6 or 1e9) and the factor turning one unit into nanoseconds. */
  private subsecPerSec = 1_000_000;
  private nsecPerUnit = 1000;

  constructor(maxRecordBytes: number) {
    this.maxRecordBytes = maxRecordBytes;
  }

  parse(view: DataView, start: number, end: number, base: number, batch: PacketBatch): number {
    let pos = start;
    if (!this.headerDone) {
      if (end - pos < GLOBAL_HEADER_BYTES) return this.needMore(pos, GLOBAL_HEADER_BYTES);
      this.readGlobalHeader(view, pos);
      pos += GLOBAL_HEADER_BYTES;
    }
    const le = this.littleEndian;
    const max = this.maxRecordBytes;
    const linkType = this.linkType;
    const perSec = this.subsecPerSec;
    const nsecPerUnit = this.nsecPerUnit;
    const capacity = batch.offset.length;
    let n = batch.count;
    let bytes = 0;
    this.status = PARSE_NEED_MORE;
    this.needed = RECORD_HEADER_BYTES;
    while (true) {
      if (n >= capacity) {
        this.status = PARSE_BATCH_FULL;
        break;
      }
      const avail = end - pos;
      if (avail < RECORD_HEADER_BYTES) {
        this.needed = RECORD_HEADER_BYTES;
        break;
      }
      const caplen = view.getUint32(pos + 8, le);
      const origlen = view.getUint32(pos + 12, le);
      if (caplen > max || caplen > origlen) {
        this.fail(base + pos, caplen, origlen);
        break;
      }
      const total = RECORD_HEADER_BYTES + caplen;
      if (avail < total) {
        this.needed = total;
        break;
      }
      let sec = view.getUint32(pos, le);
      let sub = view.getUint32(pos + 4, le);
      if (sub >= perSec) {
        // Rare: carry the excess into the seconds so tsNsec stays within 0..999,999,999.
        const carry = Math.floor(sub / perSec);
        sec += carry;
        sub -= carry * perSec;
      }
      batch.offset[n] = pos + RECORD_HEADER_BYTES;
      batch.caplen[n] = caplen;
      batch.origlen[n] = origlen;
      batch.tsSec[n] = sec;
      batch.tsNsec[n] = sub * nsecPerUnit;
      batch.linkType[n] = linkType;
      batch.recordOffset[n] = base + pos;
      n++;
      bytes += caplen;
      pos += total;
    }
    this.packets += n - batch.count;
    this.bytes += bytes;
    batch.count = n;
    return pos;
  }

  private readGlobalHeader(view: DataView, pos: number): void {
    const magic = view.getUint32(pos, false);
    this.littleEndian = magic === PCAP_MAGIC_USEC_SWAPPED || magic === PCAP_MAGIC_NSEC_SWAPPED;
    this.nanosecond = magic === PCAP_MAGIC_NSEC || magic === PCAP_MAGIC_NSEC_SWAPPED;
    this.subsecPerSec = this.nanosecond ? 1_000_000_000 : 1_000_000;
    this.nsecPerUnit = this.nanosecond ? 1 : 1000;
    this.snaplen = view.getUint32(pos + 16, this.littleEndian);
    this.linkType = view.getUint32(pos + 20, this.littleEndian) & 0xffff;
    this.headerDone = true;
  }

  private needMore(pos: number, needed: number): number {
    this.status = PARSE_NEED_MORE;
    this.needed = needed;
    return pos;
  }

  private fail(offset: number, caplen: number, origlen: number): void {
    this.status = PARSE_ERROR;
    this.errorCode = 'PCAP_BAD_RECORD';
    this.errorOffset = offset;
    this.errorMessage =
      caplen > origlen && caplen <= this.maxRecordBytes
        ? `bad pcap record header: captured length ${caplen} exceeds original length ${origlen}`
        : `bad pcap record header: captured length ${caplen} exceeds maxRecordBytes ${this.maxRecordBytes}`;
  }
}
