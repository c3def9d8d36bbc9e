import { describe, expect, it } from 'vitest';
import { probeS7 } from './probe.ts';
import { concat, dt, hex, s7 } from './test-support.ts';

const CR = hex('0300001611e00000000100c0010ac1020100c2020102');
const JOB = dt(s7(1, 1, hex('f0000001000101e0')));

describe('probeS7', () => {
  it('accepts TPKT+COTP carrying S7comm, S7comm-plus or a CR with TSAPs, anywhere', () => {
    expect(probeS7(JOB, 0, JOB.length, false)).toBe(1);
    expect(probeS7(CR, 0, CR.length, false)).toBe(1);
    const plus = dt(hex('720100053100000000'));
    expect(probeS7(plus, 0, plus.length, false)).toBe(1);
    expect(probeS7(concat(JOB, JOB), 0, JOB.length * 2, false)).toBe(1);
  });

  it('needs more bytes for a short start, refuses non-TPKT at once', () => {
    expect(probeS7(JOB, 0, 3, false)).toBe(2);
    expect(probeS7(hex('474554202f20'), 0, 6, false)).toBe(0); // "GET / "
    expect(probeS7(hex('16030100'), 0, 4, true)).toBe(0); // TLS
  });

  it('off port 102: refuses bare CRs, other payloads, and implausible follow-ups', () => {
    const bareCr = hex('0300000b06e00000000000');
    expect(probeS7(bareCr, 0, bareCr.length, false)).toBe(0);
    expect(probeS7(bareCr, 0, bareCr.length, true)).toBe(1);
    const other = dt(hex('0102030405'));
    expect(probeS7(other, 0, other.length, false)).toBe(0);
    const trailing = concat(JOB, hex('ffffffffffff'));
    expect(probeS7(trailing, 0, trailing.length, false)).toBe(0);
  });

  it('refuses a Modbus/TCP ADU on any port', () => {
    const modbus = hex('000100000006010300000001');
    expect(probeS7(modbus, 0, modbus.length, true)).toBe(0);
    expect(probeS7(modbus, 0, modbus.length, false)).toBe(0);
  });
});
