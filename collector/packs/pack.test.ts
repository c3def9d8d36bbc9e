/**
 * Evidence packs on a real SQLite store seeded through its own ingest (the API fixtures): a pack verifies as a
 * directory and as a bundle; changing any one byte of any file, of the manifest or of the signature makes it fail;
 * so does an added file or another key. The key is created once with mode 0600 and reused.
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { A, openTestStore, seedWorld, type TestStore } from '../api/testing/fixtures.ts';
import { buildPack, type PackData } from './build.ts';
import { loadOrCreateSigningKey, type SigningKey } from './keys.ts';
import { MANIFEST_FILE, SIGNATURE_FILE, type SignedPack, toBundle, verifyPack, writePackDir } from './sign.ts';

let t: TestStore;
let key: SigningKey;
let dir: string;
let built: { data: PackData; pack: SignedPack };

beforeAll(async () => {
  t = await openTestStore();
  await seedWorld(t.store);
  dir = mkdtempSync(join(tmpdir(), 'otwatch-pack-'));
  key = loadOrCreateSigningKey(join(dir, 'state'));
  built = await buildPack(
    t.store,
    { kind: 'all' },
    { enterpriseId: A.id, from: '2024-05-01T00:00:00Z', to: '2024-05-13T00:00:00Z' },
    key,
  );
  writePackDir(built.pack, join(dir, 'pack'));
});
afterAll(async () => {
  await t?.close();
  rmSync(dir, { recursive: true, force: true });
});

function flipByte(path: string, at = 0.5): void {
  const b = readFileSync(path);
  const i = Math.floor(b.length * at);
  b[i] = (b[i] ?? 0) ^ 0x01;
  writeFileSync(path, b);
}

describe('signing key', () => {
  it('is created once, 0600, and reused', () => {
    expect(key.created).toBe(true);
    expect(statSync(key.privateKeyPath).mode & 0o777).toBe(0o600);
    const again = loadOrCreateSigningKey(join(dir, 'state'));
    expect(again.created).toBe(false);
    expect(again.keyId).toBe(key.keyId);
    expect(readFileSync(key.publicKeyPath, 'utf8')).toBe(key.publicKeyPem);
  });
});

describe('evidence pack', () => {
  it('holds the inventory with evidence, alert history, sensors and the manifest of every file', () => {
    const files = readdirSync(join(dir, 'pack')).sort();
    expect(files).toEqual(['assets.csv', 'findings.csv', 'index.html', MANIFEST_FILE, SIGNATURE_FILE, 'pack.json']);
    const d = built.data;
    expect(d.inventory.assets.map((a) => a.ip)).toEqual([`${A.net}.131`, `${A.net}.211`]);
    expect(d.alerts.total).toBe(3);
    expect(d.alerts.byLevel.high).toBe(1);
    expect(d.sensors.map((s) => s.sensorId)).toEqual([A.sensor]);
    expect(readFileSync(join(dir, 'pack', 'assets.csv'), 'utf8')).toContain('6ES7 315-2EH14-0AB0');
    expect(built.pack.manifest.files.map((f) => f.path)).toEqual([
      'assets.csv',
      'findings.csv',
      'index.html',
      'pack.json',
    ]);
  });

  it('verifies as a directory, with the embedded key and with the collector public key file', () => {
    const r = verifyPack(join(dir, 'pack'));
    expect(r.problems).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.trustedKey).toBe(false);
    const withKey = verifyPack(join(dir, 'pack'), { publicKey: key.publicKey });
    expect(withKey.ok && withKey.trustedKey).toBe(true);
  });

  it('verifies as a bundle', () => {
    const path = join(dir, 'pack.otpack.json');
    writeFileSync(path, JSON.stringify(toBundle(built.pack)));
    expect(verifyPack(path, { publicKey: key.publicKey }).ok).toBe(true);
  });

  const targets = ['assets.csv', 'findings.csv', 'index.html', 'pack.json', MANIFEST_FILE, SIGNATURE_FILE];
  it.each(targets)('fails after one byte of %s changed', (name) => {
    const copy = mkdtempSync(join(dir, 'tamper-'));
    cpSync(join(dir, 'pack'), copy, { recursive: true });
    flipByte(join(copy, name), name === SIGNATURE_FILE ? 0.1 : 0.5);
    const r = verifyPack(copy);
    expect(r.ok).toBe(false);
    const expected =
      name === MANIFEST_FILE || name === SIGNATURE_FILE ? /signature|manifest/ : new RegExp(name.replace('.', '\\.'));
    expect(r.problems.join('\n')).toMatch(expected);
  });

  it('fails with an added file, a removed file, or another signer’s key', () => {
    const added = mkdtempSync(join(dir, 'added-'));
    cpSync(join(dir, 'pack'), added, { recursive: true });
    writeFileSync(join(added, 'extra.txt'), 'x');
    expect(verifyPack(added).problems).toEqual(['extra.txt: not in the manifest']);

    const removed = mkdtempSync(join(dir, 'removed-'));
    cpSync(join(dir, 'pack'), removed, { recursive: true });
    rmSync(join(removed, 'pack.json'));
    expect(verifyPack(removed).problems).toEqual(['pack.json: missing']);

    const other = loadOrCreateSigningKey(join(dir, 'other-state'));
    const r = verifyPack(join(dir, 'pack'), { publicKey: other.publicKey });
    expect(r.ok).toBe(false);
    expect(r.problems.join('\n')).toMatch(/not by the given key/);
  });

  it('a bundle with one changed byte fails', () => {
    const path = join(dir, 'tampered.otpack.json');
    const bundle = toBundle(built.pack);
    const csv = Buffer.from(bundle.files['assets.csv'] ?? '', 'base64');
    csv[10] = (csv[10] ?? 0) ^ 0x20;
    bundle.files['assets.csv'] = csv.toString('base64');
    writeFileSync(path, JSON.stringify(bundle));
    expect(verifyPack(path).problems).toEqual(['assets.csv: SHA-256 does not match the manifest']);
  });
});
