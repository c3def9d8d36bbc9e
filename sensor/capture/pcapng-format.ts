/**
 * pcapng: a sequence of blocks `type(4) total_length(4) body... total_length(4)`, padded to 32 bits.
 *
 * - SHB 0x0a0d0d0a starts a section: byte-order magic 0x1a2b3c4d at offset 8 decides the byte order of every
 *   block in the section (the block type is a palindrome so it reads the same either way); major version 1.
 *   A new SHB mid-file forgets all interfaces and may switch byte order.
 * - IDB 1: linktype(2) reserved(2) snaplen(4) options; options we use: if_tsresol (9, 1 byte) and if_tsoffset
 *   (14, signed 64-bit seconds). Interface ids are the IDB's position in the section.
 * - EPB 6: interface_id(4) ts_high(4) ts_low(4) caplen(4) origlen(4) data options.
 * - SPB 3: origlen(4) data, on interface 0, no timestamp (we repeat the last timestamp seen so time never runs
 *   backwards for the flow table); captured length = min(origlen, snaplen, room in the block).
 * - OPB 2 (obsolete): interface_id(2) drops(2) ts_high(4) ts_low(4) caplen(4) origlen(4) data options.
 * - Every other block (NRB, ISB, DSB, custom, ...) is skipped by its length.
 *
 * Damage (a length < 12, not a multiple of 4, the two length fields differing, packet data overrunning its block,
 * a block beyond the size limit) stops parsing with PCAPNG_BAD_BLOCK at the block's offset. Packets naming an
 * interface that was not described are dropped and counted.
 */
import type { TimestampResolution } from './pcapng-timestamp.ts';
import { MICROSECOND_RESOLUTION, resolutionFromTsresol, TimestampSplitter } from './pcapng-timestamp.ts';
import type { RecordParser } from './record-parser.ts';
import { PARSE_BATCH_FULL, PARSE_ERROR, PARSE_NEED_MORE } from './record-parser.ts';
import type { PacketBatch } from './source.ts';

export const PCAPNG_SHB = 0x0a0d0d0a;
export const PCAPNG_IDB = 0x00000001;
export const PCAPNG_OPB = 0x00000002;
export const PCAPNG_SPB = 0x00000003;
export const PCAPNG_NRB = 0x00000004;
export const PCAPNG_ISB = 0x00000005;
export const PCAPNG_EPB = 0x00000006;
export const PCAPNG_BYTE_ORDER_MAGIC = 0x1a2b3c4d;

const OPT_ENDOFOPT = 0;
const OPT_IF_TSRESOL = 9;
const OPT_IF_TSOFFSET = 14;

/** Room for block headers and options on top of maxRecordBytes of packet data. */
export const PCAPNG_BLOCK_OVERHEAD_ALLOWANCE = 65536;
const MIN_BLOCK = 12;
/** Bytes needed before a block's length can be read: type, length, and (for an SHB) the byte-order magic. */
const BLOCK_PEEK = 12;

export function isPcapngMagic(magicBE: number): boolean {
  return magicBE === PCAPNG_SHB;
}

export class PcapngParser implements RecordParser {
  status = PARSE_NEED_MORE;
  needed = 0;
  errorCode = '';
  errorMessage = '';
  errorOffset = 0;
  readonly truncatedCode = 'PCAPNG_TRUNCATED';
  packets = 0;
  bytes = 0;
  drops = 0;

  littleEndian = true;
  /** Per-interface facts of the current section, indexed by interface id. */
  readonly ifLinkType: number[] = [];
  readonly ifSnaplen: number[] = [];
  readonly ifResolution: TimestampResolution[] = [];
  readonly ifOffsetSec: number[] = [];
  /** Sections seen so far (SHB count). */
  sections = 0;

  private readonly maxRecordBytes: number;
  private readonly maxBlockBytes: number;
  private readonly maxInterfaces: number;
  private readonly ts = new TimestampSplitter();
  private lastSec = 0;
  private lastNsec = 0;

  constructor(maxRecordBytes: number, maxInterfaces: number) {
    this.maxRecordBytes = maxRecordBytes;
    this.maxBlockBytes = maxRecordBytes + PCAPNG_BLOCK_OVERHEAD_ALLOWANCE;
    this.maxInterfaces = maxInterfaces;
  }

  parse(view: DataView, start: number, end: number, base: number, batch: PacketBatch): number {
    let pos = start;
    const capacity = batch.offset.length;
    let n = batch.count;
    let bytes = 0;
    this.status = PARSE_NEED_MORE;
    this.needed = BLOCK_PEEK;
    while (true) {
      if (n >= capacity) {
        this.status = PARSE_BATCH_FULL;
        break;
      }
      const avail = end - pos;
      if (avail < BLOCK_PEEK) {
        this.needed = BLOCK_PEEK;
        break;
      }
      const type = view.getUint32(pos, this.littleEndian);
      if (type === PCAPNG_SHB) {
        const bom = view.getUint32(pos + 8, true);
        if (bom === PCAPNG_BYTE_ORDER_MAGIC) this.littleEndian = true;
        else if (bom === 0x4d3c2b1a) this.littleEndian = false;
        else {
          this.fail(base + pos, `section header has no byte-order magic (0x${bom.toString(16)})`);
          break;
        }
      } else if (this.sections === 0) {
        this.fail(base + pos, `file does not start with a section header block (type 0x${type.toString(16)})`);
        break;
      }
      const le = this.littleEndian;
      const len = view.getUint32(pos + 4, le);
      if (len < MIN_BLOCK || (len & 3) !== 0 || len > this.maxBlockBytes) {
        this.fail(base + pos, this.badLengthMessage(len));
        break;
      }
      if (avail < len) {
        this.needed = len;
        break;
      }
      const trailer = view.getUint32(pos + len - 4, le);
      if (trailer !== len) {
        this.fail(base + pos, `block length fields differ (${len} at the start, ${trailer} at the end)`);
        break;
      }
      if (type === PCAPNG_EPB || type === PCAPNG_OPB) {
        if (len < 32) {
          this.fail(base + pos, `packet block of ${len} bytes is shorter than its 32-byte fixed part`);
          break;
        }
        const ifId = type === PCAPNG_EPB ? view.getUint32(pos + 8, le) : view.getUint16(pos + 8, le);
        const caplen = view.getUint32(pos + 20, le);
        const origlen = view.getUint32(pos + 24, le);
        if (caplen > len - 32 || caplen > this.maxRecordBytes) {
          this.fail(base + pos, `captured length ${caplen} does not fit its ${len}-byte block or maxRecordBytes`);
          break;
        }
        if (ifId >= this.ifLinkType.length) {
          this.drops++;
        } else {
          const res = this.ifResolution[ifId] ?? MICROSECOND_RESOLUTION;
          this.ts.split(view.getUint32(pos + 12, le), view.getUint32(pos + 16, le), res);
          this.lastSec = this.ts.sec + (this.ifOffsetSec[ifId] ?? 0);
          this.lastNsec = this.ts.nsec;
          batch.offset[n] = pos + 28;
          batch.caplen[n] = caplen;
          batch.origlen[n] = origlen;
          batch.tsSec[n] = this.lastSec;
          batch.tsNsec[n] = this.lastNsec;
          batch.linkType[n] = this.ifLinkType[ifId] ?? 0;
          batch.recordOffset[n] = base + pos;
          n++;
          bytes += caplen;
        }
      } else if (type === PCAPNG_SPB) {
        if (len < 16) {
          this.fail(base + pos, `simple packet block of ${len} bytes is shorter than its 16-byte fixed part`);
          break;
        }
        if (this.ifLinkType.length === 0) {
          this.drops++;
        } else {
          const origlen = view.getUint32(pos + 8, le);
          const snaplen = this.ifSnaplen[0] ?? 0;
          let caplen = len - 16;
          if (origlen < caplen) caplen = origlen;
          if (snaplen !== 0 && snaplen < caplen) caplen = snaplen;
          batch.offset[n] = pos + 12;
          batch.caplen[n] = caplen;
          batch.origlen[n] = origlen;
          batch.tsSec[n] = this.lastSec;
          batch.tsNsec[n] = this.lastNsec;
          batch.linkType[n] = this.ifLinkType[0] ?? 0;
          batch.recordOffset[n] = base + pos;
          n++;
          bytes += caplen;
        }
      } else if (type === PCAPNG_IDB) {
        if (!this.readInterface(view, pos, len, base)) break;
      } else if (type === PCAPNG_SHB) {
        if (!this.startSection(view, pos, len, base)) break;
      }
      pos += len;
    }
    this.packets += n - batch.count;
    this.bytes += bytes;
    batch.count = n;
    return pos;
  }

  /** SHB: byte order is already set; check the version and forget the previous section's interfaces. */
  private startSection(view: DataView, pos: number, len: number, base: number): boolean {
    if (len < 28) {
      this.fail(base + pos, `section header block of ${len} bytes is shorter than its 28-byte minimum`);
      return false;
    }
    const major = view.getUint16(pos + 12, this.littleEndian);
    if (major !== 1) {
      this.fail(base + pos, `unsupported pcapng major version ${major}`);
      return false;
    }
    this.sections++;
    this.ifLinkType.length = 0;
    this.ifSnaplen.length = 0;
    this.ifResolution.length = 0;
    this.ifOffsetSec.length = 0;
    return true;
  }

  /** IDB: link type, snaplen and the timestamp options. Malformed options end option parsing, not the file. */
  private readInterface(view: DataView, pos: number, len: number, base: number): boolean {
    if (len < 20) {
      this.fail(base + pos, `interface description block of ${len} bytes is shorter than its 20-byte minimum`);
      return false;
    }
    if (this.ifLinkType.length >= this.maxInterfaces) {
      this.fail(base + pos, `more than maxInterfaces (${this.maxInterfaces}) interfaces in one section`);
      return false;
    }
    const le = this.littleEndian;
    let resolution = MICROSECOND_RESOLUTION;
    let offsetSec = 0;
    const optEnd = pos + len - 4;
    let opt = pos + 16;
    while (opt + 4 <= optEnd) {
      const code = view.getUint16(opt, le);
      const optLen = view.getUint16(opt + 2, le);
      if (code === OPT_ENDOFOPT || opt + 4 + optLen > optEnd) break;
      if (code === OPT_IF_TSRESOL && optLen >= 1) {
        resolution = resolutionFromTsresol(view.getUint8(opt + 4));
      } else if (code === OPT_IF_TSOFFSET && optLen >= 8) {
        const first = view.getUint32(opt + 4, le);
        const second = view.getUint32(opt + 8, le);
        const high = le ? second : first;
        const low = le ? first : second;
        offsetSec = (high | 0) * 4294967296 + low;
      }
      opt += 4 + ((optLen + 3) & ~3);
    }
    this.ifLinkType.push(view.getUint16(pos + 8, le));
    this.ifSnaplen.push(view.getUint32(pos + 12, le));
    this.ifResolution.push(resolution);
    this.ifOffsetSec.push(offsetSec);
    return true;
  }

  private badLengthMessage(len: number): string {
    if (len > this.maxBlockBytes) return `block length ${len} exceeds the limit of ${this.maxBlockBytes} bytes`;
    return `bad block length ${len} (must be at least 12 and a multiple of 4)`;
  }

  private fail(offset: number, message: string): void {
    this.status = PARSE_ERROR;
    this.errorCode = 'PCAPNG_BAD_BLOCK';
    this.errorOffset = offset;
    this.errorMessage = message;
  }
}
