/**
 * Facts from an X.509 certificate as sent in OPC UA (OPN sender certificate, CreateSession client/server
 * certificates): subject, issuer, validity, SHA-1 thumbprint (what OPC UA uses to name certificates), and the
 * application URI from the subjectAltName. Pure computation with node:crypto; never throws.
 *
 * The OPN "SenderCertificate" may be a chain (the leaf followed by its issuers); only the leaf is parsed, found by
 * the DER length of the first SEQUENCE.
 */
import { createHash, X509Certificate } from 'node:crypto';

export interface CertificateFacts {
  subject: string;
  issuer: string;
  validFrom: string;
  validTo: string;
  serialNumber: string;
  /** SHA-1 over the leaf DER, lowercase hex without separators. */
  thumbprint: string;
  /** URI from subjectAltName (OPC UA puts the ApplicationUri there), when present. */
  applicationUri?: string;
  selfSigned: boolean;
  keyType?: string;
  keyBits?: number;
  /** Bytes after the leaf certificate (issuer chain), 0 when none. */
  chainBytes: number;
  /** Set when node:crypto could not parse the DER (thumbprint is still over the bytes). */
  parseError?: boolean;
}

/** Length of the DER element at der[0], or -1. */
export function derLength(der: Uint8Array): number {
  if (der.length < 2 || der[0] !== 0x30) return -1;
  const first = der[1] ?? 0;
  if (first < 0x80) return 2 + first;
  const n = first & 0x7f;
  if (n === 0 || n > 4 || der.length < 2 + n) return -1;
  let len = 0;
  for (let i = 0; i < n; i++) len = len * 256 + (der[2 + i] ?? 0);
  return 2 + n + len;
}

const oneLine = (dn: string): string => dn.split('\n').filter(Boolean).join(', ');

/**
 * Facts already parsed, by thumbprint. A client or server sends the same certificate in every OpenSecureChannel and
 * CreateSession, and parsing it with node:crypto costs far more than hashing it: on opcua_big (channels renewed every
 * few thousand calls) parsing took about 3 % of the pipeline's CPU. The entry keeps the certificate's bytes and a hit
 * must match them byte for byte, so two certificates with one SHA-1 (a crafted collision) still get their own facts.
 * Bounded: past the cap the table restarts.
 */
const parsed = new Map<string, { der: Uint8Array; facts: CertificateFacts }>();
const MAX_PARSED = 1024;

/** Facts of the certificate (or chain) `bytes`; null for no bytes. Each call returns its own object. */
export function parseCertificate(bytes: Uint8Array): CertificateFacts | null {
  if (bytes.length === 0) return null;
  const leaf = leafOf(bytes);
  const thumbprint = createHash('sha1').update(leaf).digest('hex');
  const hit = parsed.get(thumbprint);
  if (hit !== undefined && Buffer.compare(hit.der, bytes) === 0) return { ...hit.facts };
  const facts = parseUncached(bytes, leaf, thumbprint);
  if (parsed.size >= MAX_PARSED) parsed.clear();
  parsed.set(thumbprint, { der: Uint8Array.from(bytes), facts });
  return { ...facts };
}

/** The leaf certificate: the first DER element when its length fits, else all of `bytes`. */
function leafOf(bytes: Uint8Array): Uint8Array {
  const leafLen = derLength(bytes);
  return leafLen > 0 && leafLen <= bytes.length ? bytes.subarray(0, leafLen) : bytes;
}

function parseUncached(bytes: Uint8Array, leaf: Uint8Array, thumbprint: string): CertificateFacts {
  try {
    const cert = new X509Certificate(leaf);
    const uri = /URI:([^,\s]+)/.exec(cert.subjectAltName ?? '');
    const facts: CertificateFacts = {
      subject: oneLine(cert.subject),
      issuer: oneLine(cert.issuer),
      validFrom: new Date(cert.validFrom).toISOString(),
      validTo: new Date(cert.validTo).toISOString(),
      serialNumber: cert.serialNumber.toLowerCase(),
      thumbprint,
      selfSigned: cert.subject === cert.issuer,
      chainBytes: bytes.length - leaf.length,
    };
    if (uri?.[1]) facts.applicationUri = uri[1];
    const key = cert.publicKey;
    if (key.asymmetricKeyType) facts.keyType = key.asymmetricKeyType;
    const bits = key.asymmetricKeyDetails?.modulusLength;
    if (bits !== undefined) facts.keyBits = bits;
    return facts;
  } catch {
    return {
      subject: '',
      issuer: '',
      validFrom: '',
      validTo: '',
      serialNumber: '',
      thumbprint,
      selfSigned: false,
      chainBytes: 0,
      parseError: true,
    };
  }
}
