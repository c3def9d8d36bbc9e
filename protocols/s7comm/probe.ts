/**
 * Payload probe: does a TCP stream start with ISO-on-TCP (TPKT + COTP) carrying S7comm or S7comm-plus?
 *
 * Rules: ≥ 6 bytes or answer 2 "need more"; TPKT version 3, reserved 0, length ≥ 7; COTP length indicator inside the
 * TPKT and a known TPDU type (DT with the class-0 2-byte header, CR/CC with ≥ 6). On the registered port (102) that
 * framing is enough (tshark decodes any TPKT there, and our counts must match). Elsewhere the first TPDU must also
 * say "S7": a DT whose payload starts 0x32 (S7comm) or 0x72 (S7comm-plus), an empty DT, or a CR/CC (the connection
 * setup, which S7 always begins with); when a second TPKT header follows in the same bytes it must be plausible too.
 * Allocation-free.
 */
import {
  COTP_CC,
  COTP_CR,
  COTP_DT,
  COTP_PARAM_DST_TSAP,
  COTP_PARAM_SRC_TSAP,
  S7_PROTOCOL_ID,
  S7PLUS_PROTOCOL_ID,
} from './constants.ts';
import { plausibleTpkt } from './header.ts';

export const PROBE_NO = 0;
export const PROBE_YES = 1;
export const PROBE_NEED_MORE = 2;

export function probeS7(buf: Uint8Array, off: number, len: number, onRegisteredPort: boolean): 0 | 1 | 2 {
  if (off < 0 || len < 0) return PROBE_NO;
  const avail = Math.min(len, buf.length - off);
  if (avail < 6) return avail > 0 && buf[off] !== 3 ? PROBE_NO : PROBE_NEED_MORE;
  const tlen = plausibleTpkt(buf, off);
  if (tlen === 0) return PROBE_NO;
  if (onRegisteredPort) return PROBE_YES;
  const type = (buf[off + 5] ?? 0) & 0xf0;
  if (type === COTP_DT) {
    if (tlen > 7) {
      if (avail < 8) return PROBE_NEED_MORE;
      const first = buf[off + 7];
      if (first !== S7_PROTOCOL_ID && first !== S7PLUS_PROTOCOL_ID) return PROBE_NO;
    }
  } else if (type === COTP_CR || type === COTP_CC) {
    // S7 connection setup always names TSAPs; a bare CR (seen from scanners on other ports) is not enough.
    if (avail < tlen) return PROBE_NEED_MORE;
    if (!hasTsap(buf, off + 4, (buf[off + 4] ?? 0) + 1)) return PROBE_NO;
  } else {
    return PROBE_NO;
  }
  if (avail - tlen >= 6 && plausibleTpkt(buf, off + tlen) === 0) return PROBE_NO;
  return PROBE_YES;
}

/** Does the CR/CC header at `b[i .. i+hlen)` carry a calling or called TSAP parameter with a value? */
function hasTsap(b: Uint8Array, i: number, hlen: number): boolean {
  const end = i + hlen;
  let p = i + 7;
  while (p + 2 <= end) {
    const code = b[p] ?? 0;
    const plen = b[p + 1] ?? 0;
    if (p + 2 + plen > end) return false;
    if ((code === COTP_PARAM_SRC_TSAP || code === COTP_PARAM_DST_TSAP) && plen > 0) return true;
    p += 2 + plen;
  }
  return false;
}
