/**
 * Bounded little-endian reader over one message body for the OPC UA Binary encoding (Part 6 §5.2). It never throws
 * and never reads past `end`: a read beyond the end returns a zero value and clears `ok`, so a decoder can run to
 * completion and check `ok` once. Lengths from the wire are checked against the bytes left before anything is
 * allocated, so a hostile length costs nothing.
 */

const utf8 = new TextDecoder('utf-8', { fatal: false });

export class UaReader {
  buf: Uint8Array = new Uint8Array(0);
  pos = 0;
  end = 0;
  ok = true;

  constructor(
    /** Longest string kept in decoded output (longer ones are cut, the position still moves past them). */
    readonly maxString = 1024,
  ) {}

  reset(buf: Uint8Array, off: number, len: number): this {
    this.buf = buf;
    this.pos = off;
    this.end = Math.min(off + len, buf.length);
    this.ok = true;
    return this;
  }

  remaining(): number {
    return this.end - this.pos;
  }

  /** Marks the read failed when `n` bytes are not available; returns whether they are. */
  has(n: number): boolean {
    if (this.ok && n >= 0 && this.pos + n <= this.end) return true;
    this.ok = false;
    this.pos = this.end;
    return false;
  }

  skip(n: number): void {
    if (this.has(n)) this.pos += n;
  }

  u8(): number {
    if (!this.has(1)) return 0;
    return this.buf[this.pos++] ?? 0;
  }

  bool(): boolean {
    return this.u8() !== 0;
  }

  u16(): number {
    if (!this.has(2)) return 0;
    const b = this.buf;
    const p = this.pos;
    this.pos += 2;
    return (b[p] ?? 0) | ((b[p + 1] ?? 0) << 8);
  }

  u32(): number {
    if (!this.has(4)) return 0;
    const b = this.buf;
    const p = this.pos;
    this.pos += 4;
    return ((b[p] ?? 0) | ((b[p + 1] ?? 0) << 8) | ((b[p + 2] ?? 0) << 16) | ((b[p + 3] ?? 0) << 24)) >>> 0;
  }

  i32(): number {
    return this.u32() | 0;
  }

  /** 64-bit integer as a double (exact up to 2^53, which covers every value we report). */
  i64(): number {
    const lo = this.u32();
    const hi = this.i32();
    return hi * 4294967296 + lo;
  }

  u64(): number {
    const lo = this.u32();
    const hi = this.u32();
    return hi * 4294967296 + lo;
  }

  f32(): number {
    if (!this.has(4)) return 0;
    const dv = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 4);
    this.pos += 4;
    return dv.getFloat32(0, true);
  }

  f64(): number {
    if (!this.has(8)) return 0;
    const dv = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 8);
    this.pos += 8;
    return dv.getFloat64(0, true);
  }

  /** DateTime (100 ns ticks since 1601) as ISO text, or null for 0 / out of range. */
  dateTime(): string | null {
    const ticks = this.i64();
    if (ticks <= 0) return null;
    const ms = ticks / 10000 - 11644473600000;
    if (!Number.isFinite(ms) || ms < -8.64e15 || ms > 8.64e15) return null;
    return new Date(Math.floor(ms)).toISOString();
  }

  /** Length prefix of a String/ByteString/array: -1 for null, else the length (failing when it cannot fit). */
  length(minItemBytes: number): number {
    const n = this.i32();
    if (!this.ok || n < 0) return -1;
    if (n * minItemBytes > this.end - this.pos) {
      this.ok = false;
      this.pos = this.end;
      return -1;
    }
    return n;
  }

  /** String; null for a null string. Cut to `maxString` characters. */
  string(): string | null {
    const n = this.length(1);
    if (n < 0) return null;
    const p = this.pos;
    this.pos += n;
    const text = utf8.decode(this.buf.subarray(p, p + Math.min(n, this.maxString * 4)));
    return text.length > this.maxString ? text.slice(0, this.maxString) : text;
  }

  /** ByteString as a view (valid while the buffer is), or null. */
  byteString(): Uint8Array | null {
    const n = this.length(1);
    if (n < 0) return null;
    const p = this.pos;
    this.pos += n;
    return this.buf.subarray(p, p + n);
  }

  /** Skips a String/ByteString without decoding it; returns its length (-1 = null). */
  skipString(): number {
    const n = this.length(1);
    if (n > 0) this.pos += n;
    return n;
  }
}
