/**
 * The collector's Ed25519 signing key (node:crypto). Generated on first use into `<stateDir>/keys/`: the private key
 * as PKCS#8 PEM with mode 0600 (created exclusively, so two processes starting at once cannot overwrite each other's
 * key), the public key as SPKI PEM beside it for anyone who verifies packs. The key id is the first 16 hex digits of
 * the SHA-256 of the public key's DER encoding.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { chmodSync, closeSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export const PRIVATE_KEY_FILE = 'collector-ed25519.key';
export const PUBLIC_KEY_FILE = 'collector-ed25519.pub';

export interface SigningKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** SPKI PEM (what `otcollector keys show` prints and packs embed). */
  publicKeyPem: string;
  keyId: string;
  privateKeyPath: string;
  publicKeyPath: string;
  /** True when this call generated the key. */
  created: boolean;
}

export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex')
    .slice(0, 16);
}

export function keysDir(stateDir: string): string {
  return join(stateDir, 'keys');
}

function readKey(dir: string, created: boolean): SigningKey {
  const privateKeyPath = join(dir, PRIVATE_KEY_FILE);
  const publicKeyPath = join(dir, PUBLIC_KEY_FILE);
  const privateKey = createPrivateKey(readFileSync(privateKeyPath, 'utf8'));
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error(`${privateKeyPath} is not an Ed25519 key`);
  const publicKey = createPublicKey(privateKey);
  const publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  return { privateKey, publicKey, publicKeyPem, keyId: keyIdOf(publicKey), privateKeyPath, publicKeyPath, created };
}

/** The collector's key, generating it on first use. */
export function loadOrCreateSigningKey(stateDir: string): SigningKey {
  const dir = keysDir(stateDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const privateKeyPath = join(dir, PRIVATE_KEY_FILE);
  let fd: number;
  try {
    fd = openSync(privateKeyPath, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return readKey(dir, false);
    throw err;
  }
  try {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    writeSync(fd, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
    // The umask may have widened the mode given to open.
    chmodSync(privateKeyPath, 0o600);
    const pub = join(dir, PUBLIC_KEY_FILE);
    const pubFd = openSync(pub, 'w', 0o644);
    try {
      writeSync(pubFd, publicKey.export({ type: 'spki', format: 'pem' }).toString());
    } finally {
      closeSync(pubFd);
    }
  } finally {
    closeSync(fd);
  }
  return readKey(dir, true);
}

/** A public key from a PEM file (SPKI) or a private key PEM (its public half). */
export function readPublicKey(path: string): KeyObject {
  const pem = readFileSync(path, 'utf8');
  const key = pem.includes('PRIVATE KEY') ? createPublicKey(createPrivateKey(pem)) : createPublicKey(pem);
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`${path} is not an Ed25519 public key`);
  return key;
}
