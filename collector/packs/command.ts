/**
 * `otcollector pack`, `otcollector verify` and `otcollector keys show`.
 *
 *   otcollector pack --enterprise E --from T --to T --out DIR|FILE.json --store URL [--lang zh-CN|en] [--state-dir D]
 *   otcollector verify PACK [--public-key FILE]
 *   otcollector keys show [--state-dir D | --store URL] [--json]
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { openStore } from '../store/open.ts';
import { buildPack } from './build.ts';
import { loadOrCreateSigningKey, readPublicKey } from './keys.ts';
import { toBundle, verifyPack, writePackDir } from './sign.ts';
import { CommandUsageError, stateDirFor } from './state.ts';

export const PACK_USAGE = `  otcollector pack --enterprise E --from ISO --to ISO --out DIR|FILE.json --store URL [--lang zh-CN|en]
      [--state-dir DIR]     grading evidence pack (定级核查), signed with the collector's key (docs/evidence-packs.md);
      --out ending in .json writes the one-file bundle, anything else a directory
  otcollector verify PACK [--public-key FILE]     check a pack (directory or bundle): exit 0 valid, 1 not
  otcollector keys show [--state-dir DIR | --store URL] [--json]     the collector's Ed25519 public key (created on
      first use in <state dir>/keys/)
`;

function isoArg(name: string, v: string | undefined): string {
  if (v === undefined) throw new CommandUsageError(`--${name} is required`);
  const t = Date.parse(v.length === 10 ? `${v}T00:00:00+08:00` : v);
  if (!Number.isFinite(t)) throw new CommandUsageError(`--${name} must be a date (YYYY-MM-DD) or an ISO time`);
  return new Date(t).toISOString();
}

export async function packCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      enterprise: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      out: { type: 'string' },
      store: { type: 'string' },
      lang: { type: 'string', default: 'zh-CN' },
      'state-dir': { type: 'string' },
    },
  });
  if (!values.enterprise) throw new CommandUsageError('pack: --enterprise E is required');
  if (!values.out) throw new CommandUsageError('pack: --out DIR|FILE.json is required');
  if (!values.store) throw new CommandUsageError('pack: --store URL is required');
  if (values.lang !== 'zh-CN' && values.lang !== 'en') throw new CommandUsageError('pack: --lang zh-CN|en');
  const from = isoArg('from', values.from);
  const to = isoArg('to', values.to);
  if (from >= to) throw new CommandUsageError('pack: --from must be before --to');
  const key = loadOrCreateSigningKey(stateDirFor(values.store, values['state-dir']));
  const store = await openStore(values.store);
  try {
    await store.migrate();
    const { data, pack } = await buildPack(
      store,
      { kind: 'all' },
      { enterpriseId: values.enterprise, from, to, lang: values.lang },
      key,
    );
    if (values.out.endsWith('.json')) writeFileSync(values.out, `${JSON.stringify(toBundle(pack))}\n`);
    else writePackDir(pack, values.out);
    process.stdout.write(
      `${JSON.stringify({ pack: data.packId, out: values.out, keyId: key.keyId, files: pack.manifest.files.length, flags: data.flags.map((f) => f.rule) })}\n`,
    );
    return 0;
  } finally {
    await store.close();
  }
}

export function verifyCommand(args: string[]): number {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { 'public-key': { type: 'string' } },
  });
  const path = positionals[0];
  if (path === undefined || positionals.length !== 1) throw new CommandUsageError('verify PACK [--public-key FILE]');
  const publicKey = values['public-key'] !== undefined ? readPublicKey(values['public-key']) : undefined;
  const r = verifyPack(path, publicKey ? { publicKey } : {});
  const m = r.manifest;
  if (r.ok && m) {
    process.stdout.write(
      `OK: ${path}: pack ${m.packId} of enterprise ${m.enterpriseId} (${m.period.from} — ${m.period.to}), ` +
        `${r.files} files intact, signature valid, key ${r.keyId}` +
        (r.trustedKey
          ? ' (the key you gave)\n'
          : ' (the key embedded in the pack: pass --public-key to check who signed it)\n'),
    );
    return 0;
  }
  process.stdout.write(`FAILED: ${path} does not verify:\n${r.problems.map((p) => `  - ${p}`).join('\n')}\n`);
  return 1;
}

export function keysCommand(args: string[]): number {
  const [sub, ...rest] = args;
  const { values } = parseArgs({
    args: rest,
    options: { 'state-dir': { type: 'string' }, store: { type: 'string' }, json: { type: 'boolean', default: false } },
  });
  if (sub !== 'show') throw new CommandUsageError('keys show [--state-dir DIR | --store URL]');
  const key = loadOrCreateSigningKey(stateDirFor(values.store, values['state-dir']));
  if (values.json) {
    process.stdout.write(
      `${JSON.stringify({ keyId: key.keyId, algorithm: 'Ed25519', publicKey: key.publicKeyPem, publicKeyPath: key.publicKeyPath, created: key.created })}\n`,
    );
  } else {
    process.stdout.write(`# key id ${key.keyId} (Ed25519), ${key.publicKeyPath}\n${key.publicKeyPem}`);
  }
  if (key.created) process.stderr.write(`otcollector: generated a new signing key in ${key.privateKeyPath}\n`);
  return 0;
}
