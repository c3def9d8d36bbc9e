/**
 * Time-ordered ids (UUIDv7, RFC 9562): 48 bits of Unix milliseconds, then a 12-bit counter in `rand_a` that keeps
 * ids made in the same millisecond in creation order, then 62 random bits. Lowercase hex compares like the bytes,
 * so `ORDER BY uid` (with a binary collation) is creation order: the keyset paging key and a B-tree that grows at
 * its right edge, which is what keeps SQLite's inserts fast (random keys rewrite pages all over the index).
 */
import { randomFillSync } from 'node:crypto';

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const bytes = new Uint8Array(16);
const random = new Uint8Array(8 * 256);
let randomOffset = random.length;
let lastMs = -1;
let counter = 0;

/** A new UUIDv7; strictly increasing within this process (a 4096-id burst in one ms borrows the next ms). */
export function uuidv7(nowMs: number = Date.now()): string {
  if (nowMs > lastMs) {
    lastMs = nowMs;
    counter = 0;
  } else if (++counter > 0xfff) {
    lastMs++;
    counter = 0;
  }
  if (randomOffset + 8 > random.length) {
    randomFillSync(random);
    randomOffset = 0;
  }
  const ms = lastMs;
  // 48-bit big-endian milliseconds (split because bitwise operators are 32-bit).
  const high = Math.floor(ms / 2 ** 32);
  const low = ms >>> 0;
  bytes[0] = (high >>> 8) & 0xff;
  bytes[1] = high & 0xff;
  bytes[2] = (low >>> 24) & 0xff;
  bytes[3] = (low >>> 16) & 0xff;
  bytes[4] = (low >>> 8) & 0xff;
  bytes[5] = low & 0xff;
  bytes[6] = 0x70 | (counter >>> 8);
  bytes[7] = counter & 0xff;
  for (let i = 0; i < 8; i++) bytes[8 + i] = random[randomOffset + i] ?? 0;
  randomOffset += 8;
  bytes[8] = 0x80 | ((bytes[8] ?? 0) & 0x3f);
  let out = '';
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) out += '-';
    out += HEX[bytes[i] ?? 0];
  }
  return out;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

export function isUuidv7(value: string): boolean {
  return UUID.test(value);
}

/** Milliseconds encoded in a UUIDv7. */
export function uuidv7Time(uid: string): number {
  const hex = uid.slice(0, 8) + uid.slice(9, 13);
  return Number.parseInt(hex, 16);
}
