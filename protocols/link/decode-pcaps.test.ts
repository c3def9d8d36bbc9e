/**
 * The decoder against real captures from ../shared/pcaps, checked against their tshark-made .truth.json.
 * A throwaway classic-pcap reader (little-endian, microsecond) is enough here: these files are exactly that.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LinkDecoder } from './decode.ts';
import { DECODE_MALFORMED, DECODE_OK, PacketView } from './packet-view.ts';

const PCAPS = new URL('../../../shared/pcaps/', import.meta.url);

interface Truth {
  capture: { link_type: string; frames: number; ipv6_frames: number; vlan_frames: number };
}

function decodeFile(name: string) {
  const file = new Uint8Array(readFileSync(new URL(name, PCAPS)));
  const dv = new DataView(file.buffer, file.byteOffset, file.byteLength);
  expect(dv.getUint32(0, true)).toBe(0xa1b2c3d4); // little-endian, microsecond classic pcap
  const linkType = dv.getUint32(20, true);
  const decoder = new LinkDecoder();
  const view = new PacketView();
  let frames = 0;
  let tcp = 0;
  let udp = 0;
  let malformed = 0;
  for (let p = 24; p + 16 <= file.length; ) {
    const tsSec = dv.getUint32(p, true);
    const caplen = dv.getUint32(p + 8, true);
    const status = decoder.decode(linkType, file, p + 16, caplen, tsSec, view);
    frames++;
    if (status === DECODE_MALFORMED) malformed++;
    if (status === DECODE_OK && view.ipProto === 6) tcp++;
    if (status === DECODE_OK && view.ipProto === 17) udp++;
    p += 16 + caplen;
  }
  const truth = JSON.parse(readFileSync(new URL(`${name}.truth.json`, PCAPS), 'utf8')) as Truth;
  return { linkType, frames, tcp, udp, malformed, decoder, truth };
}

describe('real captures', () => {
  it('S7comm-plus over Linux SLL: every frame is TCP over IPv4', () => {
    const r = decodeFile('icsnpp-s7comm__s7comm_plus.pcap');
    expect(r.truth.capture.link_type).toBe('linux-sll');
    expect(r.linkType).toBe(113);
    expect(r.frames).toBe(r.truth.capture.frames);
    expect(r.malformed).toBe(0);
    // `tshark -r icsnpp-s7comm__s7comm_plus.pcap -Y tcp` lists all 262 frames: TCP count = frame count.
    expect(r.tcp).toBe(262);
    expect(r.tcp).toBe(r.truth.capture.frames);
    expect(r.decoder.stats.ipv6Frames).toBe(r.truth.capture.ipv6_frames);
    expect(r.decoder.stats.vlanFrames).toBe(r.truth.capture.vlan_frames);
    expect(r.decoder.stats.ok).toBe(r.frames);
  });

  it('OPC UA over BSD NULL: IPv6 TCP plus a few IPv4 DNS/UDP frames', () => {
    const r = decodeFile('icsnpp-opcua__open62541_client-server_mainloop.pcap');
    expect(r.truth.capture.link_type).toBe('null');
    expect(r.linkType).toBe(0);
    expect(r.frames).toBe(r.truth.capture.frames);
    expect(r.malformed).toBe(0);
    expect(r.decoder.stats.ipv6Frames).toBe(r.truth.capture.ipv6_frames);
    // `tshark -Y tcp` lists 148 frames, the same 148 that carry IPv6; the other 6 are IPv4 UDP (4 DNS + 2 UDP).
    expect(r.tcp).toBe(148);
    expect(r.udp).toBe(6);
    expect(r.decoder.stats.ok).toBe(r.frames);
  });
});
