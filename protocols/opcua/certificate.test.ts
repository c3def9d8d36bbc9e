import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
// A real DER certificate (self-signed, 1024-bit RSA, valid 2026-11-24 .. 2026-12-24).
import { EXPIRED_CERT } from '../../rules/packs/captures/expired-cert.mjs';
import { parseCertificate } from './certificate.ts';

const der = new Uint8Array(EXPIRED_CERT);

describe('parseCertificate', () => {
  it('reads the facts of a real certificate', () => {
    const facts = parseCertificate(der);
    expect(facts).toMatchObject({
      subject: 'CN=expired-plc-server',
      issuer: 'CN=expired-plc-server',
      selfSigned: true,
      keyType: 'rsa',
      keyBits: 1024,
      chainBytes: 0,
      thumbprint: createHash('sha1').update(der).digest('hex'),
    });
    expect(facts?.validTo.startsWith('2026-12-24')).toBe(true);
    expect(facts?.parseError).toBeUndefined();
  });

  it('gives the same facts again, in an object of its own (a caller may change its copy)', () => {
    const first = parseCertificate(der) as NonNullable<ReturnType<typeof parseCertificate>>;
    const again = parseCertificate(new Uint8Array(der)) as NonNullable<ReturnType<typeof parseCertificate>>;
    expect(again).toEqual(first);
    expect(again).not.toBe(first);
    first.subject = 'changed';
    expect(parseCertificate(der)?.subject).toBe('CN=expired-plc-server');
  });

  it('counts the issuer chain after the leaf, per call (one thumbprint, other bytes: not the remembered facts)', () => {
    const chain = new Uint8Array(der.length + 10);
    chain.set(der);
    chain.fill(7, der.length);
    expect(parseCertificate(chain)).toMatchObject({ chainBytes: 10, subject: 'CN=expired-plc-server' });
    expect(parseCertificate(der)?.chainBytes).toBe(0);
  });

  it('gives bytes that do not parse a thumbprint and a parse error, and changed bytes facts of their own', () => {
    const broken = der.slice(0, 40);
    expect(parseCertificate(broken)?.parseError).toBe(true);
    const tampered = der.slice();
    tampered[tampered.length - 1] = (tampered[tampered.length - 1] ?? 0) ^ 0xff;
    const facts = parseCertificate(tampered);
    expect(facts?.thumbprint).not.toBe(parseCertificate(der)?.thumbprint);
    expect(parseCertificate(new Uint8Array(0))).toBeNull();
  });
});
