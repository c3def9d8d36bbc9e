/**
 * Builders for small synthetic capture files used by the capture tests: classic pcap in both byte orders and
 * both timestamp precisions, and pcapng block by block (so tests can mix sections, byte orders, interfaces,
 * packet block kinds and blocks that must be skipped). Each builder also records where its records start and end,
 * which is what the truncation tests need. Test-only code: clarity over speed.
 */

/** Expected view of one packet as the reader should deliver it. */
export interface ExpectedPacket {
  tsSec: number;
  tsNsec: number;
  caplen: number;
  origlen: number;
  linkType: number;
  /** Offset of the record header / block in the file. */
  recordOffset: number;
  data: Uint8Array;
}

/** A built file plus, for every record or block, its start and end offsets. */
export interface BuiltCapture {
  bytes: Uint8Array;
  /** [start, end) of every record (pcap: global header first) or block (pcapng), in file order. */
  records: Array<{ start: number; end: number }>;
  packets: ExpectedPacket[];
}

export interface PcapPacketSpec {
  tsSec: number;
  /** Microseconds or nanoseconds, per the file's precision. */
  tsSubsec: number;
  data: Uint8Array;
  /** Defaults to data.length. */
  origlen?: number;
}

export interface PcapFileSpec {
  littleEndian: boolean;
  nanosecond: boolean;
  linkType: number;
  snaplen?: number;
}

export function buildPcap(spec: PcapFileSpec, packets: PcapPacketSpec[]): BuiltCapture {
  const le = spec.littleEndian;
  const size = 24 + packets.reduce((sum, p) => sum + 16 + p.data.length, 0);
  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, spec.nanosecond ? 0xa1b23c4d : 0xa1b2c3d4, le);
  view.setUint16(4, 2, le);
  view.setUint16(6, 4, le);
  view.setInt32(8, 0, le);
  view.setUint32(12, 0, le);
  view.setUint32(16, spec.snaplen ?? 262144, le);
  view.setUint32(20, spec.linkType, le);
  const records = [{ start: 0, end: 24 }];
  const expected: ExpectedPacket[] = [];
  let pos = 24;
  for (const p of packets) {
    const origlen = p.origlen ?? p.data.length;
    view.setUint32(pos, p.tsSec, le);
    view.setUint32(pos + 4, p.tsSubsec, le);
    view.setUint32(pos + 8, p.data.length, le);
    view.setUint32(pos + 12, origlen, le);
    bytes.set(p.data, pos + 16);
    expected.push({
      tsSec: p.tsSec,
      tsNsec: spec.nanosecond ? p.tsSubsec : p.tsSubsec * 1000,
      caplen: p.data.length,
      origlen,
      linkType: spec.linkType,
      recordOffset: pos,
      data: p.data,
    });
    const end = pos + 16 + p.data.length;
    records.push({ start: pos, end });
    pos = end;
  }
  return { bytes, records, packets: expected };
}

export interface IdbSpec {
  linkType: number;
  snaplen?: number;
  /** Raw if_tsresol option byte; omitted → no option (microseconds). */
  tsresol?: number;
  /** if_tsoffset in seconds. */
  tsoffset?: number;
}

interface PendingBlock {
  type: number;
  littleEndian: boolean;
  body: Uint8Array;
  packet: Omit<ExpectedPacket, 'recordOffset'> | null;
}

/** Builds a pcapng file block by block; byte order is set by each `shb` and applies until the next one. */
export class PcapngBuilder {
  private readonly blocks: PendingBlock[] = [];
  private littleEndian = true;
  /** Interfaces of the current section as the reader should see them, for computing expected packets. */
  private interfaces: Array<{ linkType: number; snaplen: number; unitsPerSec: bigint; offset: number }> = [];

  shb(littleEndian: boolean, options: { majorVersion?: number; withOption?: boolean } = {}): this {
    this.littleEndian = littleEndian;
    this.interfaces = [];
    const opts = options.withOption === true ? optionBytes(littleEndian, [[4, ascii('capture-builder')]]) : empty();
    const body = new Uint8Array(16 + opts.length);
    const v = new DataView(body.buffer);
    v.setUint32(0, 0x1a2b3c4d, littleEndian);
    v.setUint16(4, options.majorVersion ?? 1, littleEndian);
    v.setUint16(6, 0, littleEndian);
    v.setInt32(8, -1, littleEndian); // section length unknown (-1 as 64 bits)
    v.setInt32(12, -1, littleEndian);
    body.set(opts, 16);
    return this.push(0x0a0d0d0a, body, null);
  }

  idb(spec: IdbSpec): this {
    const le = this.littleEndian;
    const options: Array<[number, Uint8Array]> = [[2, ascii('eth-test')]];
    if (spec.tsresol !== undefined) options.push([9, Uint8Array.of(spec.tsresol)]);
    if (spec.tsoffset !== undefined) {
      const off = new Uint8Array(8);
      new DataView(off.buffer).setBigInt64(0, BigInt(spec.tsoffset), le);
      options.push([14, off]);
    }
    const opts = optionBytes(le, options);
    const body = new Uint8Array(8 + opts.length);
    const v = new DataView(body.buffer);
    v.setUint16(0, spec.linkType, le);
    v.setUint32(4, spec.snaplen ?? 0, le);
    body.set(opts, 8);
    const r = spec.tsresol ?? 6;
    const unitsPerSec = (r & 0x80) !== 0 ? 1n << BigInt(r & 0x7f) : 10n ** BigInt(r);
    this.interfaces.push({
      linkType: spec.linkType,
      snaplen: spec.snaplen ?? 0,
      unitsPerSec,
      offset: spec.tsoffset ?? 0,
    });
    return this.push(1, body, null);
  }

  /** Enhanced packet block; `ts` is in the interface's units. */
  epb(ifId: number, ts: bigint, data: Uint8Array, origlen: number = data.length, withOption = false): this {
    return this.packetBlock(6, ifId, ts, data, origlen, withOption);
  }

  /** Obsolete packet block (type 2, 16-bit interface id and drops count). */
  opb(ifId: number, ts: bigint, data: Uint8Array, origlen: number = data.length): this {
    return this.packetBlock(2, ifId, ts, data, origlen, false);
  }

  /** Simple packet block; the reader repeats the previous packet's timestamp (`lastTs`, as sec/nsec). */
  spb(data: Uint8Array, origlen: number, lastTs: { tsSec: number; tsNsec: number }): this {
    const le = this.littleEndian;
    const body = new Uint8Array(4 + pad4(data.length));
    new DataView(body.buffer).setUint32(0, origlen, le);
    body.set(data, 4);
    const iface = this.interfaces[0];
    let packet: PendingBlock['packet'] = null;
    if (iface !== undefined) {
      let caplen = Math.min(origlen, pad4(data.length));
      if (iface.snaplen !== 0) caplen = Math.min(caplen, iface.snaplen);
      const padded = new Uint8Array(pad4(data.length));
      padded.set(data);
      packet = { ...lastTs, caplen, origlen, linkType: iface.linkType, data: padded.subarray(0, caplen) };
    }
    return this.push(3, body, packet);
  }

  /** Name resolution block with one IPv4 record: must be skipped. */
  nrb(): this {
    const le = this.littleEndian;
    const record = new Uint8Array(4 + 4 + pad4(10));
    const v = new DataView(record.buffer);
    v.setUint16(0, 1, le);
    v.setUint16(2, 4 + 10, le);
    record.set([10, 0, 0, 1], 4);
    record.set(ascii('plc.local\0'), 8);
    const body = new Uint8Array(record.length + 4); // + nrb_record_end
    body.set(record, 0);
    return this.push(4, body, null);
  }

  /** Interface statistics block: must be skipped. */
  isb(ifId: number): this {
    const le = this.littleEndian;
    const opts = optionBytes(le, [[4, new Uint8Array(8)]]);
    const body = new Uint8Array(12 + opts.length);
    new DataView(body.buffer).setUint32(0, ifId, le);
    body.set(opts, 12);
    return this.push(5, body, null);
  }

  /** Any other block type with an arbitrary (padded) body: must be skipped. */
  other(type: number, bodyLength: number): this {
    return this.push(type, new Uint8Array(pad4(bodyLength)).fill(0xee), null);
  }

  build(): BuiltCapture {
    const size = this.blocks.reduce((sum, b) => sum + 12 + b.body.length, 0);
    const bytes = new Uint8Array(size);
    const view = new DataView(bytes.buffer);
    const records: BuiltCapture['records'] = [];
    const packets: ExpectedPacket[] = [];
    let pos = 0;
    for (const b of this.blocks) {
      const len = 12 + b.body.length;
      view.setUint32(pos, b.type, b.littleEndian);
      view.setUint32(pos + 4, len, b.littleEndian);
      bytes.set(b.body, pos + 8);
      view.setUint32(pos + len - 4, len, b.littleEndian);
      records.push({ start: pos, end: pos + len });
      if (b.packet !== null) packets.push({ ...b.packet, recordOffset: pos });
      pos += len;
    }
    return { bytes, records, packets };
  }

  private packetBlock(type: number, ifId: number, ts: bigint, data: Uint8Array, origlen: number, opt: boolean): this {
    const le = this.littleEndian;
    const opts = opt ? optionBytes(le, [[1, ascii('a comment')]]) : empty();
    const body = new Uint8Array(20 + pad4(data.length) + opts.length);
    const v = new DataView(body.buffer);
    if (type === 6) v.setUint32(0, ifId, le);
    else v.setUint16(0, ifId, le);
    v.setUint32(4, Number(ts >> 32n), le);
    v.setUint32(8, Number(ts & 0xffffffffn), le);
    v.setUint32(12, data.length, le);
    v.setUint32(16, origlen, le);
    body.set(data, 20);
    body.set(opts, 20 + pad4(data.length));
    const iface = this.interfaces[ifId];
    let packet: PendingBlock['packet'] = null;
    if (iface !== undefined) {
      packet = {
        tsSec: Number(ts / iface.unitsPerSec) + iface.offset,
        tsNsec: Number(((ts % iface.unitsPerSec) * 1_000_000_000n) / iface.unitsPerSec),
        caplen: data.length,
        origlen,
        linkType: iface.linkType,
        data,
      };
    }
    return this.push(type, body, packet);
  }

  private push(type: number, body: Uint8Array, packet: PendingBlock['packet']): this {
    this.blocks.push({ type, littleEndian: this.littleEndian, body, packet });
    return this;
  }
}

/** Deterministic packet bytes: `length` bytes counting up from `seed`. */
export function packetBytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (seed + i * 7) & 0xff;
  return out;
}

function optionBytes(le: boolean, options: Array<[number, Uint8Array]>): Uint8Array {
  const size = options.reduce((sum, [, value]) => sum + 4 + pad4(value.length), 0) + 4;
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  let pos = 0;
  for (const [code, value] of options) {
    v.setUint16(pos, code, le);
    v.setUint16(pos + 2, value.length, le);
    out.set(value, pos + 4);
    pos += 4 + pad4(value.length);
  }
  return out; // the final 4 zero bytes are opt_endofopt
}

function pad4(n: number): number {
  return (n + 3) & ~3;
}

function ascii(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

function empty(): Uint8Array {
  return new Uint8Array(0);
}
