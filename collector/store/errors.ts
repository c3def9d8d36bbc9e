/**
 * Errors the store throws for a caller's mistake (as opposed to a broken database), so the API can answer 4xx with
 * the message and everything else 5xx. They cross the SQLite writer's worker boundary by `name` (see sqlite.ts).
 */

/** Bad input: an invalid cursor, time, level, token, role, enterprise class or grade. */
export class StoreInputError extends Error {
  override readonly name = 'StoreInputError';
}

/** A registry rule refused the write: a sensor id owned by another enterprise, a sensor of an unknown enterprise. */
export class RegistryConflictError extends Error {
  override readonly name = 'RegistryConflictError';
}

/** Rebuilds a store error from its name and message (the worker boundary drops the prototype). */
export function reviveStoreError(name: string, message: string): Error {
  if (name === 'StoreInputError') return new StoreInputError(message);
  if (name === 'RegistryConflictError') return new RegistryConflictError(message);
  const error = new Error(message);
  error.name = name;
  return error;
}
