/** Where tests find the repo root and the shared real captures (never copied into the repo). */
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const SHARED_PCAPS = fileURLToPath(new URL('../../../shared/pcaps/', import.meta.url));
