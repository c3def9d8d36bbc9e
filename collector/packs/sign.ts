/**
 * Signed packs. A pack is a directory: its content files, `manifest.json` listing every content file with its size
 * and SHA-256, and `manifest.sig`, the base64 Ed25519 signature of the exact bytes of `manifest.json`. Changing any
 * byte of any file breaks its hash; changing the manifest breaks the signature; adding or removing a file is
 * reported too. The same pack travels as one JSON file (the "bundle", what the API returns): the manifest text, the
 * signature and every file base64-encoded; `verifyPack` accepts either.
 */
import { createHash, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { keyIdOf, type SigningKey } from './keys.ts';

export const PACK_FORMAT = 'otwatch.evidence-pack/1';
export const BUNDLE_FORMAT = 'otwatch.evidence-pack-bundle/1';
export const MANIFEST_FILE = 'manifest.json';
export const SIGNATURE_FILE = 'manifest.sig';

export interface ManifestFile {
  path: string;
  bytes: number;
  sha256: string;
}

export interface PackManifest {
  format: typeof PACK_FORMAT;
  packId: string;
  enterpriseId: string;
  period: { from: string; to: string };
  generatedAt: string;
  signer: { keyId: string; algorithm: 'Ed25519'; publicKey: string };
  files: ManifestFile[];
}

export interface SignedPack {
  manifest: PackManifest;
  /** The exact bytes that were signed. */
  manifestBytes: Buffer;
  signature: Buffer;
  files: Map<string, Buffer>;
}

export interface PackBundle {
  format: typeof BUNDLE_FORMAT;
  manifest: string;
  signature: string;
  files: Record<string, string>;
}

function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

const SAFE_PATH = /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/;

/** Signs content files into a pack. */
export function signPack(
  meta: Pick<PackManifest, 'packId' | 'enterpriseId' | 'period' | 'generatedAt'>,
  files: Map<string, Buffer>,
  key: SigningKey,
): SignedPack {
  for (const path of files.keys()) {
    if (!SAFE_PATH.test(path) || path.includes('..') || path === MANIFEST_FILE || path === SIGNATURE_FILE) {
      throw new Error(`invalid pack file name ${path}`);
    }
  }
  const manifest: PackManifest = {
    format: PACK_FORMAT,
    ...meta,
    signer: { keyId: key.keyId, algorithm: 'Ed25519', publicKey: key.publicKeyPem },
    files: [...files.entries()]
      .sort((a, b) => (a[0] < b[0] ? -1 : 1))
      .map(([path, b]) => ({ path, bytes: b.length, sha256: sha256(b) })),
  };
  const manifestBytes = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
  const signature = sign(null, manifestBytes, key.privateKey);
  return { manifest, manifestBytes, signature, files };
}

/** Writes a pack as a directory (which must not exist or be empty). */
export function writePackDir(pack: SignedPack, dir: string): void {
  if (existsSync(dir) && readdirSync(dir).length > 0) throw new Error(`${dir} exists and is not empty`);
  mkdirSync(dir, { recursive: true });
  for (const [path, b] of pack.files) {
    const full = join(dir, ...path.split('/'));
    mkdirSync(join(full, '..'), { recursive: true });
    writeFileSync(full, b);
  }
  writeFileSync(join(dir, SIGNATURE_FILE), `${pack.signature.toString('base64')}\n`);
  // The manifest last (via rename): a directory with a manifest is a complete pack.
  writeFileSync(join(dir, `${MANIFEST_FILE}.tmp`), pack.manifestBytes);
  renameSync(join(dir, `${MANIFEST_FILE}.tmp`), join(dir, MANIFEST_FILE));
}

export function toBundle(pack: SignedPack): PackBundle {
  const files: Record<string, string> = {};
  for (const [path, b] of pack.files) files[path] = b.toString('base64');
  return {
    format: BUNDLE_FORMAT,
    manifest: pack.manifestBytes.toString('utf8'),
    signature: pack.signature.toString('base64'),
    files,
  };
}

export interface VerifyResult {
  ok: boolean;
  /** Everything wrong, one line each (empty when ok). */
  problems: string[];
  manifest: PackManifest | null;
  keyId: string | null;
  /** True when the signature was checked against a key the caller supplied (else the key embedded in the pack). */
  trustedKey: boolean;
  files: number;
}

interface RawPack {
  manifestBytes: Buffer;
  signature: string;
  /** Content files present (listed or not). */
  files: Map<string, Buffer>;
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const full = join(d, name);
      if (statSync(full).isDirectory()) walk(full);
      else out.push(relative(dir, full).split(sep).join('/'));
    }
  };
  walk(dir);
  return out;
}

function readRaw(path: string): RawPack {
  if (statSync(path).isDirectory()) {
    const files = new Map<string, Buffer>();
    for (const f of listFiles(path)) {
      if (f === MANIFEST_FILE || f === SIGNATURE_FILE) continue;
      files.set(f, readFileSync(join(path, ...f.split('/'))));
    }
    return {
      manifestBytes: readFileSync(join(path, MANIFEST_FILE)),
      signature: readFileSync(join(path, SIGNATURE_FILE), 'utf8').trim(),
      files,
    };
  }
  const bundle = JSON.parse(readFileSync(path, 'utf8')) as Partial<PackBundle>;
  if (bundle.format !== BUNDLE_FORMAT || typeof bundle.manifest !== 'string' || typeof bundle.signature !== 'string') {
    throw new Error(`${path} is not an evidence pack bundle (${BUNDLE_FORMAT})`);
  }
  const files = new Map<string, Buffer>();
  for (const [k, v] of Object.entries(bundle.files ?? {})) files.set(k, Buffer.from(String(v), 'base64'));
  return { manifestBytes: Buffer.from(bundle.manifest, 'utf8'), signature: bundle.signature, files };
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Checks a pack (directory or bundle file): signature, every file's size and hash, no file missing or added. */
export function verifyPack(path: string, opts: { publicKey?: KeyObject } = {}): VerifyResult {
  const result: VerifyResult = { ok: false, problems: [], manifest: null, keyId: null, trustedKey: false, files: 0 };
  let raw: RawPack;
  try {
    raw = readRaw(path);
  } catch (err) {
    result.problems.push(`cannot read the pack: ${(err as Error).message}`);
    return result;
  }
  let manifest: PackManifest;
  try {
    manifest = JSON.parse(raw.manifestBytes.toString('utf8')) as PackManifest;
    if (manifest.format !== PACK_FORMAT || !Array.isArray(manifest.files)) throw new Error(`not ${PACK_FORMAT}`);
  } catch (err) {
    result.problems.push(`manifest.json is not a valid manifest: ${(err as Error).message}`);
    return result;
  }
  result.manifest = manifest;
  let key: KeyObject;
  try {
    key = opts.publicKey ?? createPublicKey(manifest.signer.publicKey);
  } catch (err) {
    result.problems.push(`the pack's public key cannot be read: ${(err as Error).message}`);
    return result;
  }
  result.trustedKey = opts.publicKey !== undefined;
  result.keyId = keyIdOf(key);
  if (opts.publicKey !== undefined && manifest.signer?.keyId !== result.keyId) {
    result.problems.push(`signed by key ${manifest.signer?.keyId}, not by the given key ${result.keyId}`);
  }
  const signatureOk =
    BASE64.test(raw.signature) && verify(null, raw.manifestBytes, key, Buffer.from(raw.signature, 'base64'));
  if (!signatureOk) result.problems.push('signature does not match manifest.json (the manifest or signature changed)');
  const listed = new Set<string>();
  for (const f of manifest.files) {
    listed.add(f.path);
    const b = raw.files.get(f.path);
    if (b === undefined) {
      result.problems.push(`${f.path}: missing`);
      continue;
    }
    if (b.length !== f.bytes) result.problems.push(`${f.path}: ${b.length} bytes, manifest says ${f.bytes}`);
    else if (sha256(b) !== f.sha256) result.problems.push(`${f.path}: SHA-256 does not match the manifest`);
  }
  for (const p of raw.files.keys()) if (!listed.has(p)) result.problems.push(`${p}: not in the manifest`);
  result.files = manifest.files.length;
  result.ok = result.problems.length === 0;
  return result;
}
