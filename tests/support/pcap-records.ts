/**
 * An independent walk over a classic pcap file's record headers (written for the tests, sharing no code with the
 * sensor's reader) so tests can say how many whole records lie before a given byte without trusting the reader.
 */

export interface PcapRecordSpan {
  /** Offset of the 16-byte record header. */
  start: number;
  /** Offset just past the record's captured bytes. */
  end: number;
}

/** The records of a classic pcap file (µs or ns, either byte order); stops at the first record that runs past `bytes`. */
export function pcapRecordSpans(bytes: Uint8Array): PcapRecordSpan[] {
  if (bytes.length < 24) throw new Error('not a pcap file: shorter than the global header');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magicBE = dv.getUint32(0, false);
  let le: boolean;
  if (magicBE === 0xa1b2c3d4 || magicBE === 0xa1b23c4d) le = false;
  else if (magicBE === 0xd4c3b2a1 || magicBE === 0x4d3cb2a1) le = true;
  else throw new Error(`not a classic pcap file (magic 0x${magicBE.toString(16)})`);
  const spans: PcapRecordSpan[] = [];
  let pos = 24;
  while (pos + 16 <= bytes.length) {
    const caplen = dv.getUint32(pos + 8, le);
    const end = pos + 16 + caplen;
    if (end > bytes.length) break;
    spans.push({ start: pos, end });
    pos = end;
  }
  return spans;
}

/** Number of records that end at or before `cut` (the whole records a reader can deliver from a file cut there). */
export function completeRecordsBefore(spans: readonly PcapRecordSpan[], cut: number): number {
  let n = 0;
  for (const s of spans) {
    if (s.end > cut) break;
    n++;
  }
  return n;
}
