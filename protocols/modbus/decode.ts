/**
 * Detailed decoding of one Modbus PDU into a `ModbusDecoded` record.
 *
 * This allocates (arrays, strings) and is meant to run once per transaction, not per packet: the framer only fills the
 * cheap `ModbusPdu` header. Every read is bounds-checked against `len`, so a hostile PDU yields a partial record with
 * `malformed` set, never an exception. Value arrays are capped at `maxValues` with a `valuesTruncated` flag.
 *
 * Spec references are to the MODBUS Application Protocol Specification V1.1b3.
 */
import { checkPdu } from './check.ts';
import {
  conformityLevelName,
  deviceObjectName,
  diagnosticName,
  exceptionName,
  FC_INVALID,
  FUNCTION_CATEGORY_NAMES,
  functionCategory,
  functionName,
  MEI_READ_DEVICE_ID,
  meiName,
  readDeviceIdCodeName,
  umasFunctionName,
} from './constants.ts';
import type { ModbusDecoded, ModbusDeviceObject, ModbusDir, ModbusFileRecord, ModbusPdu } from './types.ts';

export const DEFAULT_MAX_VALUES = 128;

/** Context a response decoder can use from its request (e.g. how many coils were asked for). */
export interface ResponseHint {
  /** Requested quantity of coils / inputs (FC 1 / 2), -1 when unknown. */
  quantity: number;
}

function u8(buf: Uint8Array, i: number): number {
  return buf[i] ?? 0;
}
function u16(buf: Uint8Array, i: number): number {
  return ((buf[i] ?? 0) << 8) | (buf[i + 1] ?? 0);
}

const HEX = '0123456789abcdef';
/** Lowercase hex of `buf[start, end)`. */
export function toHex(buf: Uint8Array, start: number, end: number): string {
  let s = '';
  for (let i = start; i < end; i++) {
    const b = buf[i] ?? 0;
    s += HEX.charAt(b >> 4) + HEX.charAt(b & 15);
  }
  return s;
}

/** Latin1 string of `buf[start, end)` (each byte one code point). */
export function toLatin1(buf: Uint8Array, start: number, end: number): string {
  let s = '';
  for (let i = start; i < end; i++) s += String.fromCharCode(buf[i] ?? 0);
  return s;
}

/** `count` bits, LSB first from `start`, within `[start, end)`; at most `max` kept. */
function readBits(out: ModbusDecoded, buf: Uint8Array, start: number, end: number, count: number, max: number): void {
  const available = Math.min(count, (end - start) * 8);
  const kept = Math.min(available, max);
  const values = new Array<number>(kept);
  for (let i = 0; i < kept; i++) values[i] = (u8(buf, start + (i >> 3)) >> (i & 7)) & 1;
  out.values = values;
  if (available > kept) out.valuesTruncated = true;
}

/** `count` big-endian 16-bit registers from `start` within `[start, end)`; at most `max` kept. */
function readRegisters(buf: Uint8Array, start: number, end: number, count: number, max: number): [number[], boolean] {
  const available = Math.min(count, (end - start) >> 1);
  const kept = Math.min(available, max);
  const values = new Array<number>(kept);
  for (let i = 0; i < kept; i++) values[i] = u16(buf, start + 2 * i);
  return [values, available > kept];
}

function setRegisters(out: ModbusDecoded, buf: Uint8Array, start: number, end: number, count: number, max: number) {
  const [values, truncated] = readRegisters(buf, start, end, count, max);
  out.values = values;
  if (truncated) out.valuesTruncated = true;
}

/** Decode the PDU a `ModbusPdu` points at (call during the `pdu()` callback, while its buffer is valid). */
export function decodeFramedPdu(pdu: ModbusPdu, maxValues = DEFAULT_MAX_VALUES): ModbusDecoded {
  return decodePdu(pdu.dir, pdu.buf, pdu.off, pdu.len, maxValues);
}

/**
 * Decode `buf[off, off+len)` (function code first) sent in direction `dir`.
 * `hint` lets a response use its request's context; pass null when unknown.
 */
export function decodePdu(
  dir: ModbusDir,
  buf: Uint8Array,
  off: number,
  len: number,
  maxValues = DEFAULT_MAX_VALUES,
  hint: ResponseHint | null = null,
): ModbusDecoded {
  const fc = len > 0 ? u8(buf, off) : 0;
  const isException = dir === 1 && (fc & 0x80) !== 0;
  const func = dir === 0 ? fc : fc & 0x7f;
  const cat = dir === 0 && fc >= 0x80 ? FC_INVALID : functionCategory(func);
  const out: ModbusDecoded = {
    dir,
    func,
    funcName: cat === FC_INVALID && fc !== 0 ? 'Invalid (exception bit in request)' : functionName(func),
    category: FUNCTION_CATEGORY_NAMES[cat] ?? 'unknown',
    isException,
  };
  if (len < 1) {
    out.malformed = 'empty PDU';
    return out;
  }
  const reason = checkPdu(dir, buf, off, len);
  if (reason !== null) out.malformed = reason;
  const end = off + len;
  if (isException) {
    // §7 exception response: fc | 0x80 (1), exception code (1).
    if (len >= 2) {
      out.exceptionCode = u8(buf, off + 1);
      out.exceptionName = exceptionName(out.exceptionCode);
    }
    return out;
  }
  if (dir === 0) decodeRequest(out, fc, buf, off, end, maxValues);
  else decodeResponse(out, fc, buf, off, end, maxValues, hint);
  return out;
}

function decodeRequest(out: ModbusDecoded, fc: number, buf: Uint8Array, off: number, end: number, max: number) {
  const len = end - off;
  switch (fc) {
    // FC 1/2/3/4 request (§6.1–6.4): fc (1), starting address (2), quantity (2).
    // FC 5/6 request (§6.5–6.6): fc (1), output/register address (2), value (2).
    case 1:
    case 2:
    case 3:
    case 4:
      if (len >= 5) {
        out.address = u16(buf, off + 1);
        out.quantity = u16(buf, off + 3);
      }
      return;
    case 5:
    case 6:
      if (len >= 5) {
        out.address = u16(buf, off + 1);
        out.value = u16(buf, off + 3);
      }
      return;
    // FC 8 request (§6.8): fc (1), sub-function (2), data (N × 2, usually 2).
    case 8:
      decodeDiagnostics(out, buf, off, end);
      return;
    // FC 15 request (§6.11): fc (1), address (2), quantity of outputs (2), byte count (1), outputs (N, LSB first).
    case 15:
      if (len >= 6) {
        out.address = u16(buf, off + 1);
        out.quantity = u16(buf, off + 3);
        out.byteCount = u8(buf, off + 5);
        readBits(out, buf, off + 6, end, out.quantity, max);
      }
      return;
    // FC 16 request (§6.12): fc (1), address (2), quantity of registers (2), byte count (1), values (N × 2).
    case 16:
      if (len >= 6) {
        out.address = u16(buf, off + 1);
        out.quantity = u16(buf, off + 3);
        out.byteCount = u8(buf, off + 5);
        setRegisters(out, buf, off + 6, end, out.quantity, max);
      }
      return;
    // FC 20 request (§6.14): fc (1), byte count (1), sub-requests of ref type (1, =6), file number (2),
    // record number (2), record length (2).
    case 20:
      if (len >= 2) {
        out.byteCount = u8(buf, off + 1);
        const records: ModbusFileRecord[] = [];
        for (let p = off + 2; p + 7 <= end && records.length < max; p += 7) {
          records.push({
            refType: u8(buf, p),
            fileNumber: u16(buf, p + 1),
            recordNumber: u16(buf, p + 3),
            recordLength: u16(buf, p + 5),
          });
        }
        out.fileRecords = records;
      }
      return;
    // FC 21 request (§6.15): fc (1), byte count (1), sub-requests of ref type (1), file number (2),
    // record number (2), record length (2), record data (length × 2).
    case 21:
      decodeWriteFileRecords(out, buf, off, end, max);
      return;
    // FC 22 request (§6.16): fc (1), reference address (2), AND mask (2), OR mask (2).
    case 22:
      decodeMaskWrite(out, buf, off, end);
      return;
    // FC 23 request (§6.17): fc (1), read address (2), read quantity (2), write address (2), write quantity (2),
    // write byte count (1), write values (N × 2).
    case 23:
      if (len >= 10) {
        out.readAddress = u16(buf, off + 1);
        out.readQuantity = u16(buf, off + 3);
        out.writeAddress = u16(buf, off + 5);
        out.writeQuantity = u16(buf, off + 7);
        out.byteCount = u8(buf, off + 9);
        setRegisters(out, buf, off + 10, end, out.writeQuantity, max);
      }
      return;
    // FC 24 request (§6.18): fc (1), FIFO pointer address (2).
    case 24:
      if (len >= 3) out.fifoPointer = u16(buf, off + 1);
      return;
    // FC 43 request (§6.19–6.21): fc (1), MEI type (1); MEI 14: read device id code (1), object id (1);
    // MEI 13: CANopen general reference data (raw).
    case 43:
      if (len >= 2) {
        decodeMeiHeader(out, buf, off);
        if (out.meiType === MEI_READ_DEVICE_ID && len >= 4) {
          out.readDeviceIdCode = u8(buf, off + 2);
          out.readDeviceIdCodeName = readDeviceIdCodeName(out.readDeviceIdCode);
          out.objectId = u8(buf, off + 3);
        } else if (out.meiType !== MEI_READ_DEVICE_ID) {
          out.dataHex = toHex(buf, off + 2, end);
        }
      }
      return;
    case 90:
      decodeUmas(out, buf, off, end);
      return;
    // FC 7, 11, 12, 17 requests are the function code alone; anything else is carried as raw data.
    case 7:
    case 11:
    case 12:
    case 17:
      return;
    default:
      if (len > 1) out.dataHex = toHex(buf, off + 1, end);
  }
}

function decodeResponse(
  out: ModbusDecoded,
  fc: number,
  buf: Uint8Array,
  off: number,
  end: number,
  max: number,
  hint: ResponseHint | null,
) {
  const len = end - off;
  switch (fc) {
    // FC 1/2 response (§6.1–6.2): fc (1), byte count (1), status bits (N, LSB first, padded with zeros).
    case 1:
    case 2:
      if (len >= 2) {
        out.byteCount = u8(buf, off + 1);
        const padded = out.byteCount * 8;
        const count = hint !== null && hint.quantity >= 0 && hint.quantity <= padded ? hint.quantity : padded;
        readBits(out, buf, off + 2, end, count, max);
      }
      return;
    // FC 3/4 response (§6.3–6.4) and FC 23 response (§6.17): fc (1), byte count (1), registers (N × 2).
    case 3:
    case 4:
    case 23:
      if (len >= 2) {
        out.byteCount = u8(buf, off + 1);
        setRegisters(out, buf, off + 2, end, out.byteCount >> 1, max);
      }
      return;
    // FC 5/6 response: echo of the request (address (2), value (2)).
    case 5:
    case 6:
      if (len >= 5) {
        out.address = u16(buf, off + 1);
        out.value = u16(buf, off + 3);
      }
      return;
    // FC 7 response (§6.7): fc (1), output data (1).
    case 7:
      if (len >= 2) out.status = u8(buf, off + 1);
      return;
    // FC 8 response: echo of sub-function and data (sub-function specific).
    case 8:
      decodeDiagnostics(out, buf, off, end);
      return;
    // FC 11 response (§6.9): fc (1), status (2), event count (2).
    case 11:
      if (len >= 5) {
        out.status = u16(buf, off + 1);
        out.eventCount = u16(buf, off + 3);
      }
      return;
    // FC 12 response (§6.10): fc (1), byte count (1), status (2), event count (2), message count (2), events (0–64).
    case 12:
      if (len >= 8) {
        out.byteCount = u8(buf, off + 1);
        out.status = u16(buf, off + 2);
        out.eventCount = u16(buf, off + 4);
        out.messageCount = u16(buf, off + 6);
        const events: number[] = [];
        for (let p = off + 8; p < end && events.length < max; p++) events.push(u8(buf, p));
        out.events = events;
      }
      return;
    // FC 15/16 response (§6.11–6.12): fc (1), address (2), quantity (2).
    case 15:
    case 16:
      if (len >= 5) {
        out.address = u16(buf, off + 1);
        out.quantity = u16(buf, off + 3);
      }
      return;
    // FC 17 response (§6.13): fc (1), byte count (1), server id (device specific), run indicator (1: 0x00 off,
    // 0xFF on), additional data. Layout after the byte count is device specific: we keep all of it as hex and read
    // the run indicator at the position the specification shows (after a one-byte server id).
    case 17:
      if (len >= 2) {
        out.byteCount = u8(buf, off + 1);
        out.serverIdHex = toHex(buf, off + 2, end);
        if (len >= 4) {
          out.runIndicator = u8(buf, off + 3);
          out.runIndicatorOn = out.runIndicator === 0xff;
        }
      }
      return;
    // FC 20 response (§6.14): fc (1), byte count (1), sub-responses of length (1), ref type (1), data (N × 2).
    case 20:
      if (len >= 2) {
        out.byteCount = u8(buf, off + 1);
        const records: ModbusFileRecord[] = [];
        let p = off + 2;
        while (p + 2 <= end && records.length < max) {
          const subLen = u8(buf, p);
          if (subLen < 1) break;
          const dataEnd = Math.min(p + 1 + subLen, end);
          const [values, truncated] = readRegisters(buf, p + 2, dataEnd, (subLen - 1) >> 1, max);
          const rec: ModbusFileRecord = { refType: u8(buf, p + 1), recordLength: (subLen - 1) >> 1, values };
          if (truncated) rec.valuesTruncated = true;
          records.push(rec);
          p += 1 + subLen;
        }
        out.fileRecords = records;
      }
      return;
    // FC 21 response: echo of the request.
    case 21:
      decodeWriteFileRecords(out, buf, off, end, max);
      return;
    // FC 22 response: echo of the request.
    case 22:
      decodeMaskWrite(out, buf, off, end);
      return;
    // FC 24 response (§6.18): fc (1), byte count (2), FIFO count (2, ≤ 31), FIFO values (N × 2).
    case 24:
      if (len >= 5) {
        out.byteCount = u16(buf, off + 1);
        out.fifoCount = u16(buf, off + 3);
        setRegisters(out, buf, off + 5, end, out.fifoCount, max);
      }
      return;
    // FC 43 response. MEI 14 (§6.21): fc (1), MEI (1), read device id code (1), conformity level (1),
    // more follows (1: 0x00 / 0xFF), next object id (1), number of objects (1), then per object: id (1), length (1),
    // value (length bytes). MEI 13 (§6.20): CANopen data, raw.
    case 43:
      if (len >= 2) {
        decodeMeiHeader(out, buf, off);
        if (out.meiType === MEI_READ_DEVICE_ID) decodeDeviceId(out, buf, off, end, max);
        else out.dataHex = toHex(buf, off + 2, end);
      }
      return;
    case 90:
      decodeUmas(out, buf, off, end);
      return;
    default:
      if (len > 1) out.dataHex = toHex(buf, off + 1, end);
  }
}

function decodeDiagnostics(out: ModbusDecoded, buf: Uint8Array, off: number, end: number) {
  if (end - off < 3) return;
  out.subFunction = u16(buf, off + 1);
  out.subFunctionName = diagnosticName(out.subFunction);
  out.dataHex = toHex(buf, off + 3, end);
}

function decodeMaskWrite(out: ModbusDecoded, buf: Uint8Array, off: number, end: number) {
  if (end - off < 7) return;
  out.address = u16(buf, off + 1);
  out.andMask = u16(buf, off + 3);
  out.orMask = u16(buf, off + 5);
}

function decodeWriteFileRecords(out: ModbusDecoded, buf: Uint8Array, off: number, end: number, max: number) {
  if (end - off < 2) return;
  out.byteCount = u8(buf, off + 1);
  const records: ModbusFileRecord[] = [];
  let p = off + 2;
  while (p + 7 <= end && records.length < max) {
    const recordLength = u16(buf, p + 5);
    const dataEnd = Math.min(p + 7 + 2 * recordLength, end);
    const [values, truncated] = readRegisters(buf, p + 7, dataEnd, recordLength, max);
    const rec: ModbusFileRecord = {
      refType: u8(buf, p),
      fileNumber: u16(buf, p + 1),
      recordNumber: u16(buf, p + 3),
      recordLength,
      values,
    };
    if (truncated) rec.valuesTruncated = true;
    records.push(rec);
    p += 7 + 2 * recordLength;
  }
  out.fileRecords = records;
}

function decodeMeiHeader(out: ModbusDecoded, buf: Uint8Array, off: number) {
  out.meiType = u8(buf, off + 1);
  out.meiName = meiName(out.meiType);
}

function decodeDeviceId(out: ModbusDecoded, buf: Uint8Array, off: number, end: number, max: number) {
  if (end - off < 7) return;
  out.readDeviceIdCode = u8(buf, off + 2);
  out.readDeviceIdCodeName = readDeviceIdCodeName(out.readDeviceIdCode);
  out.conformityLevel = u8(buf, off + 3);
  out.conformityLevelName = conformityLevelName(out.conformityLevel);
  out.moreFollows = u8(buf, off + 4) === 0xff;
  out.nextObjectId = u8(buf, off + 5);
  const count = u8(buf, off + 6);
  const objects: ModbusDeviceObject[] = [];
  let p = off + 7;
  for (let i = 0; i < count && p + 2 <= end && objects.length < max; i++) {
    const id = u8(buf, p);
    const valueEnd = Math.min(p + 2 + u8(buf, p + 1), end);
    objects.push({ id, name: deviceObjectName(id), value: toLatin1(buf, p + 2, valueEnd) });
    p = valueEnd;
  }
  out.objects = objects;
}

/** FC 90 (Schneider UMAS, vendor): fc (1), session key (1), UMAS function (1), data. */
function decodeUmas(out: ModbusDecoded, buf: Uint8Array, off: number, end: number) {
  if (end - off < 3) return;
  out.umasSessionKey = u8(buf, off + 1);
  out.umasFunction = u8(buf, off + 2);
  out.umasFunctionName = umasFunctionName(out.umasFunction);
  out.dataHex = toHex(buf, off + 3, end);
}
