/**
 * The collector's state directory: where its signing key (`keys/`) and stored bulletins (`bulletins/`) live. Given
 * explicitly (`--state-dir`), else `$OTCOLLECTOR_STATE_DIR`, else the directory of the SQLite store file, else
 * `./otcollector-state`. With PostgreSQL and several instances, point every instance at the same (shared) directory
 * or the same key file copy, so packs from any instance verify with one public key.
 */
import { dirname, resolve } from 'node:path';

export function stateDirFor(storeUrl: string | undefined, explicit?: string): string {
  if (explicit !== undefined && explicit !== '') return resolve(explicit);
  const env = process.env.OTCOLLECTOR_STATE_DIR;
  if (env !== undefined && env !== '') return resolve(env);
  if (storeUrl?.startsWith('sqlite:')) {
    const path = storeUrl.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (path !== '' && path !== ':memory:') return dirname(resolve(path));
  }
  return resolve('otcollector-state');
}

/** A command-line usage problem (exit status 2). */
export class CommandUsageError extends Error {}
