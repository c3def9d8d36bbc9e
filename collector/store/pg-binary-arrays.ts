/**
 * Column arrays in PostgreSQL's binary array format, for the bulk alert insert
 * (`INSERT … SELECT * FROM unnest($1::text[], …, $18::text[])`).
 *
 * Why binary: the insert used to send the rows as one JSON parameter (`json_populate_recordset`). The server then
 * lexed every 1.6 kB event JSON character by character (PostgreSQL 15 appends each string character to a buffer one
 * call at a time), which was about a fifth of its CPU per alert and, on a machine where the database shares a core
 * with nats-server, what held the wall rate below 20k alerts/s. A binary array element is a length and the bytes:
 * `array_recv` copies them and only checks the UTF-8. And the client no longer decodes each event's bytes into a
 * string to splice it into JSON: the bytes the sensor sent go into the array as they are.
 *
 * node-postgres sends a `Buffer` parameter in binary format (format code 1) and leaves its type to the server,
 * which takes it from the `::text[]` cast; `array_recv` then checks that the element type in the header matches.
 *
 * Format (PostgreSQL's `array_send`): int32 dimensions (1), int32 flags (0: no nulls), int32 element type oid,
 * per dimension int32 length and int32 lower bound (1); then per element int32 byte length and the element's binary
 * form (text: its UTF-8 bytes; int8 / int4: big-endian integers). All integers are big-endian.
 */

import { withoutNul } from './pg-nul.ts';

export const TEXT_OID = 25;
export const INT8_OID = 20;
export const INT4_OID = 23;

const HEADER_BYTES = 20;
const TWO_32 = 4_294_967_296;

function writeHeader(buf: Buffer, count: number, elementOid: number): void {
  buf.writeInt32BE(1, 0);
  buf.writeInt32BE(0, 4);
  buf.writeInt32BE(elementOid, 8);
  buf.writeInt32BE(count, 12);
  buf.writeInt32BE(1, 16);
}

/**
 * A `text[]` of the given values: strings are written as UTF-8 (a lone surrogate becomes U+FFFD, as `Buffer`
 * writes it; U+0000 becomes U+FFFD, see pg-nul.ts); byte arrays are taken as UTF-8 already (the server rejects invalid
 * UTF-8 and NUL bytes: the callers' bytes are JSON checked with a fatal decoder, where a NUL can only be escaped).
 */
export function textArray(input: readonly (string | Uint8Array)[]): Buffer {
  const values = input.map((v) => (typeof v === 'string' ? withoutNul(v) : v));
  let bytes = HEADER_BYTES + 4 * values.length;
  for (const v of values) bytes += typeof v === 'string' ? Buffer.byteLength(v, 'utf8') : v.byteLength;
  const buf = Buffer.allocUnsafe(bytes);
  writeHeader(buf, values.length, TEXT_OID);
  let at = HEADER_BYTES;
  for (const v of values) {
    let length = v.length;
    if (typeof v === 'string') length = buf.write(v, at + 4, 'utf8');
    else buf.set(v, at + 4);
    buf.writeInt32BE(length, at);
    at += 4 + length;
  }
  return buf;
}

/** An `int8[]` (bigint) of integers within ±2^53. */
export function int8Array(values: readonly number[]): Buffer {
  const buf = Buffer.allocUnsafe(HEADER_BYTES + 12 * values.length);
  writeHeader(buf, values.length, INT8_OID);
  let at = HEADER_BYTES;
  for (const v of values) {
    if (!Number.isSafeInteger(v)) throw new RangeError(`int8 array element ${v} is not a safe integer`);
    // Two's complement in two halves: floor division keeps the sign in the high word.
    const high = Math.floor(v / TWO_32);
    buf.writeInt32BE(8, at);
    buf.writeInt32BE(high, at + 4);
    buf.writeUInt32BE(v - high * TWO_32, at + 8);
    at += 12;
  }
  return buf;
}

/** An `int4[]` (integer) of 32-bit signed integers. */
export function int4Array(values: readonly number[]): Buffer {
  const buf = Buffer.allocUnsafe(HEADER_BYTES + 8 * values.length);
  writeHeader(buf, values.length, INT4_OID);
  let at = HEADER_BYTES;
  for (const v of values) {
    if (!Number.isInteger(v) || v < -2_147_483_648 || v > 2_147_483_647) {
      throw new RangeError(`int4 array element ${v} is not a 32-bit integer`);
    }
    buf.writeInt32BE(4, at);
    buf.writeInt32BE(v, at + 4);
    at += 8;
  }
  return buf;
}
