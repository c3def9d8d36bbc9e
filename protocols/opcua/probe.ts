/**
 * Payload probe for OPC UA Binary (UACP): the first 8 bytes must be a chunk header with a known message type
 * (HEL/ACK/ERR/RHE/OPN/MSG/CLO), a chunk type (F, or C/A for secure-conversation messages) and a size between the
 * type's minimum and the cap. When a whole first chunk and the next header are present, the next must be plausible
 * too. The port is never required (captures use 4840, 12001, 48010). Allocation-free.
 */
import { DEFAULT_MAX_CHUNK_SIZE, plausibleChunkSize, UACP_HEADER_LEN } from './constants.ts';

export const OPCUA_PORT = 4840;

export function probeOpcua(
  buf: Uint8Array,
  off: number,
  len: number,
  maxChunkSize = DEFAULT_MAX_CHUNK_SIZE,
): 0 | 1 | 2 {
  if (off < 0 || len < 0) return 0;
  const avail = Math.min(len, buf.length - off);
  if (avail < UACP_HEADER_LEN) {
    // Decide early when even the available prefix cannot start a message type.
    if (avail >= 1) {
      const c = buf[off];
      if (c !== 0x48 && c !== 0x41 && c !== 0x45 && c !== 0x52 && c !== 0x4f && c !== 0x4d && c !== 0x43) return 0;
    }
    return 2;
  }
  const size = plausibleChunkSize(buf, off, maxChunkSize);
  if (size === 0) return 0;
  if (avail - size >= UACP_HEADER_LEN && plausibleChunkSize(buf, off + size, maxChunkSize) === 0) return 0;
  return 1;
}
