/// <reference lib="dom" />
/** Data several pages share, fetched once per session: the enterprises in the caller's scope. */
import { apiGet } from './api.ts';
import { getState } from './store.ts';
import type { Enterprise } from './types.ts';
import { type Async, useAsync } from './ui.ts';

let cached: { token: string | null; promise: Promise<Enterprise[]> } | null = null;

export function enterprisesInScope(): Promise<Enterprise[]> {
  const token = getState().token;
  if (!cached || cached.token !== token) {
    const promise = apiGet<{ items: Enterprise[] }>('/enterprises').then((r) => r.items);
    cached = { token, promise };
    promise.catch(() => {
      if (cached?.promise === promise) cached = null;
    });
  }
  return cached.promise;
}

export function useEnterprises(): Async<Enterprise[]> {
  return useAsync(enterprisesInScope, [getState().token]);
}

/** Display name of an enterprise id (falls back to the id). */
export function nameOf(list: Enterprise[] | null, id: string): string {
  return list?.find((e) => e.id === id)?.name ?? id;
}

/** Minutes without a health report after which a sensor counts as silent. */
export const SILENT_AFTER_MS = 10 * 60 * 1000;

export function isSilent(lastSeenAt: string | null, nowMs: number = Date.now()): boolean {
  return lastSeenAt === null || nowMs - Date.parse(lastSeenAt) > SILENT_AFTER_MS;
}
