/**
 * Payload probe: does the start of a TCP stream look like Modbus/TCP? Used for detection on any port, and to refuse
 * non-Modbus payloads (scanners, TLS, HTTP, RPC) that show up on port 502.
 *
 * Rules: ≥ 8 bytes (MBAP + function code) or answer 2 "need more"; protocol id 0; length 2..254; a public,
 * user-defined or vendor function code (or an exception response of one); when the whole first ADU is present its
 * PDU must be internally consistent in at least one direction; when a second ADU header (8 bytes) follows, it must
 * be plausible too. Allocation-free.
 */
import { checkPdu } from './check.ts';
import { MBAP_MIN_LENGTH, MBAP_PROBE_LEN, MBAP_TOLERATED_MAX_LENGTH } from './constants.ts';
import { isPlausibleHeader, readU16 } from './mbap.ts';

export const PROBE_NO = 0;
export const PROBE_YES = 1;
export const PROBE_NEED_MORE = 2;

export function probeModbus(buf: Uint8Array, off: number, len: number): 0 | 1 | 2 {
  if (off < 0 || len < 0) return PROBE_NO;
  const avail = Math.min(len, buf.length - off);
  if (avail < MBAP_PROBE_LEN) return PROBE_NEED_MORE;
  if (!isPlausibleHeader(buf, off, -1)) return PROBE_NO;
  const aduLen = 6 + readU16(buf, off + 4);
  if (avail < aduLen) return PROBE_YES;
  const pduOff = off + 7;
  const pduLen = aduLen - 7;
  const fc = buf[pduOff] ?? 0;
  // Exception responses only make sense server→client; other codes may be a request or a response.
  const fits =
    (fc & 0x80) !== 0
      ? checkPdu(1, buf, pduOff, pduLen) === null
      : checkPdu(0, buf, pduOff, pduLen) === null || checkPdu(1, buf, pduOff, pduLen) === null;
  if (!fits) return PROBE_NO;
  if (avail - aduLen >= MBAP_PROBE_LEN && !isPlausibleHeader(buf, off + aduLen, -1)) return PROBE_NO;
  return PROBE_YES;
}

/**
 * Probe for flows on the registered Modbus/TCP port (502), where the port already says "Modbus" and the question is
 * only "is this *not* Modbus?". Real devices and fuzzers send PDUs the strict probe refuses (reserved function
 * codes, byte counts that disagree with the length, over-long UMAS frames): the parser decodes and flags those as
 * anomalies, so here only the MBAP framing must hold: protocol id 0, length 2..256, a non-zero function code, and
 * the segment either ends inside the first ADU, ends exactly with it, or continues with another such header.
 * TLS, HTTP, DCE/RPC, NFS and scanner payloads fail this (tested with those seen on port 502 in the wild).
 */
export function probeModbusFraming(buf: Uint8Array, off: number, len: number): 0 | 1 | 2 {
  if (off < 0 || len < 0) return PROBE_NO;
  const avail = Math.min(len, buf.length - off);
  if (avail < MBAP_PROBE_LEN) return PROBE_NEED_MORE;
  if (!isFramingHeader(buf, off)) return PROBE_NO;
  const aduLen = 6 + readU16(buf, off + 4);
  if (avail <= aduLen) return PROBE_YES;
  if (avail - aduLen < MBAP_PROBE_LEN) return PROBE_NO; // trailing bytes too short to be another ADU header
  return isFramingHeader(buf, off + aduLen) ? PROBE_YES : PROBE_NO;
}

function isFramingHeader(buf: Uint8Array, i: number): boolean {
  if (buf[i + 2] !== 0 || buf[i + 3] !== 0) return false;
  const length = readU16(buf, i + 4);
  return length >= MBAP_MIN_LENGTH && length <= MBAP_TOLERATED_MAX_LENGTH && (buf[i + 7] ?? 0) !== 0;
}
