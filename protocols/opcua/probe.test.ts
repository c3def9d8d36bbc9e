import { describe, expect, it } from 'vitest';
import { probeOpcua } from './probe.ts';
import { ack, concat, hello, hex, msg, W } from './test-support.ts';

describe('probeOpcua', () => {
  it('accepts UACP headers on any port', () => {
    expect(probeOpcua(hello('opc.tcp://x:48010'), 0, 40)).toBe(1);
    expect(probeOpcua(concat(hello('opc.tcp://x'), ack()), 0, 200)).toBe(1);
    expect(probeOpcua(msg(1, 1, new W().nodeId(631).done()), 0, 100)).toBe(1);
  });
  it('needs more bytes for a short prefix of a message type, refuses others at once', () => {
    expect(probeOpcua(hex('48 45 4c'), 0, 3)).toBe(2);
    expect(probeOpcua(hex('16 03 01'), 0, 3)).toBe(0); // TLS
  });
  it('refuses bad chunk types, sizes and what follows', () => {
    expect(probeOpcua(hex('48 45 4c 43 20 00 00 00'), 0, 8)).toBe(0); // HEL with chunk type C
    expect(probeOpcua(hex('4d 53 47 46 04 00 00 00'), 0, 8)).toBe(0); // MSG of 4 bytes
    expect(probeOpcua(hex('4d 53 47 46 ff ff ff 7f'), 0, 8)).toBe(0); // 2 GB
    expect(probeOpcua(hex('47 45 54 20 2f 20 48 54'), 0, 8)).toBe(0); // HTTP
    expect(probeOpcua(concat(hello('opc.tcp://x'), hex('00 01 02 03 04 05 06 07')), 0, 200)).toBe(0);
  });
});
