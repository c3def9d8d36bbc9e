/**
 * Allocation-free structural check of one PDU: does its own content agree with its length?
 *
 * Runs on every framed PDU (so it must not allocate) and is reused by the detailed decoder, so the framer's
 * `malformed_pdu` anomaly and the decoded `malformed` field always agree. Returns null when consistent, else a
 * constant English reason. Range rules the server is expected to answer with an exception (e.g. FC 3 quantity > 125)
 * are not checked here: they are not internal inconsistencies.
 */
import { MEI_READ_DEVICE_ID } from './constants.ts';

export const WRONG_LENGTH = 'PDU length does not match the function code';
export const BYTE_COUNT_MISMATCH = 'byte count disagrees with PDU length';
export const QUANTITY_MISMATCH = 'byte count disagrees with quantity';
export const ODD_REGISTER_BYTES = 'register byte count is odd';
export const FILE_RECORD_LAYOUT = 'file record sub-requests do not fill the byte count';
export const DEVICE_ID_LAYOUT = 'device identification objects overrun the PDU';
export const FIFO_LAYOUT = 'FIFO byte count disagrees with FIFO count';
export const EXCEPTION_LENGTH = 'exception response is not 2 bytes';
export const TOO_SHORT = 'PDU too short for its function code';

function u16(buf: Uint8Array, i: number): number {
  return ((buf[i] ?? 0) << 8) | (buf[i + 1] ?? 0);
}

/** `buf[off]` is the function code; `len` ≥ 1 counts the PDU bytes. */
export function checkPdu(dir: 0 | 1, buf: Uint8Array, off: number, len: number): string | null {
  const fc = buf[off] ?? 0;
  if (dir === 1 && (fc & 0x80) !== 0) return len === 2 ? null : EXCEPTION_LENGTH;
  return dir === 0 ? checkRequest(fc, buf, off, len) : checkResponse(fc, buf, off, len);
}

function checkRequest(fc: number, buf: Uint8Array, off: number, len: number): string | null {
  switch (fc) {
    case 1:
    case 2:
    case 3:
    case 4:
    case 5:
    case 6:
      return len === 5 ? null : WRONG_LENGTH;
    case 7:
    case 11:
    case 12:
    case 17:
      return len === 1 ? null : WRONG_LENGTH;
    case 8:
      return len >= 3 ? null : TOO_SHORT;
    case 15: {
      if (len < 6) return TOO_SHORT;
      const bc = buf[off + 5] ?? 0;
      if (len !== 6 + bc) return BYTE_COUNT_MISMATCH;
      return bc === (u16(buf, off + 3) + 7) >> 3 ? null : QUANTITY_MISMATCH;
    }
    case 16: {
      if (len < 6) return TOO_SHORT;
      const bc = buf[off + 5] ?? 0;
      if (len !== 6 + bc) return BYTE_COUNT_MISMATCH;
      return bc === 2 * u16(buf, off + 3) ? null : QUANTITY_MISMATCH;
    }
    case 20: {
      if (len < 2) return TOO_SHORT;
      const bc = buf[off + 1] ?? 0;
      if (len !== 2 + bc) return BYTE_COUNT_MISMATCH;
      return bc >= 7 && bc % 7 === 0 ? null : FILE_RECORD_LAYOUT;
    }
    case 21:
      return checkWriteFileRecords(buf, off, len);
    case 22:
      return len === 7 ? null : WRONG_LENGTH;
    case 23: {
      if (len < 10) return TOO_SHORT;
      const bc = buf[off + 9] ?? 0;
      if (len !== 10 + bc) return BYTE_COUNT_MISMATCH;
      return bc === 2 * u16(buf, off + 7) ? null : QUANTITY_MISMATCH;
    }
    case 24:
      return len === 3 ? null : WRONG_LENGTH;
    case 43:
      if (len < 2) return TOO_SHORT;
      if (buf[off + 1] === MEI_READ_DEVICE_ID) return len === 4 ? null : WRONG_LENGTH;
      return null;
    case 90:
      return len >= 3 ? null : TOO_SHORT;
    default:
      return null;
  }
}

function checkResponse(fc: number, buf: Uint8Array, off: number, len: number): string | null {
  switch (fc) {
    case 1:
    case 2:
    case 12:
    case 17:
    case 20:
    case 3:
    case 4:
    case 23: {
      if (len < 2) return TOO_SHORT;
      const bc = buf[off + 1] ?? 0;
      if (len !== 2 + bc) return BYTE_COUNT_MISMATCH;
      if ((fc === 3 || fc === 4 || fc === 23) && (bc & 1) !== 0) return ODD_REGISTER_BYTES;
      if (fc === 12 && bc < 6) return TOO_SHORT;
      if (fc === 20) return checkReadFileResponses(buf, off, len);
      return null;
    }
    case 5:
    case 6:
    case 11:
    case 15:
    case 16:
      return len === 5 ? null : WRONG_LENGTH;
    case 7:
      return len === 2 ? null : WRONG_LENGTH;
    case 8:
      return len >= 3 ? null : TOO_SHORT;
    case 21:
      return checkWriteFileRecords(buf, off, len);
    case 22:
      return len === 7 ? null : WRONG_LENGTH;
    case 24: {
      if (len < 5) return TOO_SHORT;
      const bc = u16(buf, off + 1);
      if (len !== 3 + bc) return BYTE_COUNT_MISMATCH;
      return bc === 2 + 2 * u16(buf, off + 3) ? null : FIFO_LAYOUT;
    }
    case 43:
      if (len < 2) return TOO_SHORT;
      if (buf[off + 1] === MEI_READ_DEVICE_ID) return checkDeviceIdResponse(buf, off, len);
      return null;
    case 90:
      return len >= 3 ? null : TOO_SHORT;
    default:
      return null;
  }
}

/** FC 21 request and its echo response: byte count, then sub-requests of 7 bytes + 2 × record length. */
function checkWriteFileRecords(buf: Uint8Array, off: number, len: number): string | null {
  if (len < 2) return TOO_SHORT;
  const bc = buf[off + 1] ?? 0;
  if (len !== 2 + bc) return BYTE_COUNT_MISMATCH;
  let p = 2;
  if (p === len) return FILE_RECORD_LAYOUT;
  while (p < len) {
    if (p + 7 > len) return FILE_RECORD_LAYOUT;
    p += 7 + 2 * u16(buf, off + p + 5);
  }
  return p === len ? null : FILE_RECORD_LAYOUT;
}

/** FC 20 response: sub-responses of (length, ref type, data) where length counts ref type + data. */
function checkReadFileResponses(buf: Uint8Array, off: number, len: number): string | null {
  let p = 2;
  while (p < len) {
    const subLen = buf[off + p] ?? 0;
    if (subLen < 1 || (subLen & 1) === 0) return FILE_RECORD_LAYOUT;
    p += 1 + subLen;
  }
  return p === len ? null : FILE_RECORD_LAYOUT;
}

/** FC 43 / MEI 14 response: 6 fixed bytes after the function code, then (id, length, value) objects. */
function checkDeviceIdResponse(buf: Uint8Array, off: number, len: number): string | null {
  if (len < 7) return TOO_SHORT;
  const count = buf[off + 6] ?? 0;
  let p = 7;
  for (let i = 0; i < count; i++) {
    if (p + 2 > len) return DEVICE_ID_LAYOUT;
    p += 2 + (buf[off + p + 1] ?? 0);
  }
  return p === len ? null : DEVICE_ID_LAYOUT;
}
