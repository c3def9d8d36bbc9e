/**
 * MBAP header plausibility, shared by the stream probe and the parser's resynchronisation scan.
 *
 * MBAP header (Modbus Messaging on TCP/IP Implementation Guide V1.0b §3.1.3), 7 bytes, big-endian:
 *   transaction id (2) | protocol id (2, always 0) | length (2: unit id + PDU bytes) | unit id (1)
 * followed by the PDU, whose first byte is the function code (bit 7 set = exception response).
 */
import { isPlausibleFunction, MBAP_MAX_LENGTH, MBAP_MIN_LENGTH } from './constants.ts';

export function readU16(buf: Uint8Array, i: number): number {
  return ((buf[i] ?? 0) << 8) | (buf[i + 1] ?? 0);
}

/**
 * Is the function code byte one a device would send in this direction? `dir` -1 = unknown direction (probe).
 * Requests never carry the exception bit; an exception response is exactly fc + code, so its MBAP length is 3.
 */
export function isPlausibleFunctionByte(fc: number, dir: -1 | 0 | 1, mbapLength: number): boolean {
  if ((fc & 0x80) !== 0) return dir !== 0 && mbapLength === 3 && isPlausibleFunction(fc & 0x7f);
  if (!isPlausibleFunction(fc)) return false;
  const pduLen = mbapLength - 1;
  if (dir === 0) return pduLen >= (REQUEST_MIN[fc] ?? 1) && pduLen <= (REQUEST_MAX[fc] ?? 253);
  if (dir === 1) return pduLen >= (RESPONSE_MIN[fc] ?? 1) && pduLen <= (RESPONSE_MAX[fc] ?? 253);
  return (
    (pduLen >= (REQUEST_MIN[fc] ?? 1) && pduLen <= (REQUEST_MAX[fc] ?? 253)) ||
    (pduLen >= (RESPONSE_MIN[fc] ?? 1) && pduLen <= (RESPONSE_MAX[fc] ?? 253))
  );
}

/**
 * PDU size bounds per public function code, known from the header alone (so a resynchronisation decision never
 * waits for the body): e.g. an FC 3 request is exactly 5 bytes, an FC 3 response at least fc + count + one register.
 * Indexed by function code; absent = 1..253.
 */
const REQUEST_MIN: number[] = [];
const REQUEST_MAX: number[] = [];
const RESPONSE_MIN: number[] = [];
const RESPONSE_MAX: number[] = [];
function bounds(codes: number[], reqMin: number, reqMax: number, respMin: number, respMax: number): void {
  for (const c of codes) {
    REQUEST_MIN[c] = reqMin;
    REQUEST_MAX[c] = reqMax;
    RESPONSE_MIN[c] = respMin;
    RESPONSE_MAX[c] = respMax;
  }
}
bounds([1, 2], 5, 5, 3, 253);
bounds([3, 4], 5, 5, 4, 253);
bounds([5, 6], 5, 5, 5, 5);
bounds([7], 1, 1, 2, 2);
bounds([8], 3, 253, 3, 253);
bounds([11], 1, 1, 5, 5);
bounds([12], 1, 1, 8, 253);
bounds([15, 16], 7, 253, 5, 5);
bounds([17], 1, 1, 3, 253);
bounds([20], 9, 253, 6, 253);
bounds([21], 11, 253, 11, 253);
bounds([22], 7, 7, 7, 7);
bounds([23], 12, 253, 4, 253);
bounds([24], 3, 3, 5, 253);
bounds([43, 90], 2, 253, 2, 253);

/**
 * Strict plausibility of the 8 bytes at `buf[i]` (MBAP + function code): protocol id 0, sane length, plausible
 * function code. The caller guarantees 8 readable bytes.
 */
export function isPlausibleHeader(buf: Uint8Array, i: number, dir: -1 | 0 | 1): boolean {
  if ((buf[i + 2] ?? 1) !== 0 || (buf[i + 3] ?? 1) !== 0) return false;
  const length = readU16(buf, i + 4);
  if (length < MBAP_MIN_LENGTH || length > MBAP_MAX_LENGTH) return false;
  return isPlausibleFunctionByte(buf[i + 7] ?? 0, dir, length);
}
