/// <reference lib="dom" />
/**
 * The page's small shared state (session, language, time zone, live alerts) with subscribe/notify, and a hook that
 * re-renders a component when the part it reads changes. No framework beyond Preact is needed for this much state.
 */
import { useEffect, useState } from 'preact/hooks';
import type { Lang } from './i18n.ts';
import type { Alert, Me } from './types.ts';

export type LiveStatus = 'off' | 'connecting' | 'live' | 'retrying';

export interface AppState {
  token: string | null;
  me: Me | null;
  lang: Lang;
  /** IANA zone dates are shown in (Asia/Shanghai unless the user picked another). */
  timeZone: string;
  live: LiveStatus;
  /** Server time of the last event heard on the live stream. */
  lastHeard: string | null;
  /** Alerts pushed by the live stream since sign-in, newest first (capped). */
  liveAlerts: Alert[];
}

export const LIVE_KEEP = 200;
const TOKEN_KEY = 'otwatch.token';
const LANG_KEY = 'otwatch.lang';
const ZONE_KEY = 'otwatch.timeZone';

/** Web storage, or null outside a browser (the dictionaries are also loaded by Node tests). */
function storage(kind: 'local' | 'session'): Storage | null {
  try {
    return kind === 'local' ? globalThis.localStorage : globalThis.sessionStorage;
  } catch {
    return null;
  }
}

function initial(): AppState {
  const lang = storage('local')?.getItem(LANG_KEY) === 'en' ? 'en' : 'zh-CN';
  return {
    token: storage('session')?.getItem(TOKEN_KEY) ?? null,
    me: null,
    lang,
    timeZone: storage('local')?.getItem(ZONE_KEY) ?? 'Asia/Shanghai',
    live: 'off',
    lastHeard: null,
    liveAlerts: [],
  };
}

let state: AppState = initial();
const listeners = new Set<() => void>();

export function getState(): AppState {
  return state;
}

export function setState(patch: Partial<AppState>): void {
  state = { ...state, ...patch };
  if (patch.token !== undefined) {
    if (patch.token === null) storage('session')?.removeItem(TOKEN_KEY);
    else storage('session')?.setItem(TOKEN_KEY, patch.token);
  }
  if (patch.lang !== undefined) storage('local')?.setItem(LANG_KEY, patch.lang);
  if (patch.timeZone !== undefined) storage('local')?.setItem(ZONE_KEY, patch.timeZone);
  for (const l of listeners) l();
}

export function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** The whole state; the component re-renders on every change (the state is small and changes rarely). */
export function useAppState(): AppState {
  const [, force] = useState(0);
  useEffect(() => subscribe(() => force((n) => n + 1)), []);
  return state;
}

/** Adds alerts from the live stream (deduplicated by uid, newest first). */
export function pushLiveAlerts(alerts: Alert[]): void {
  const known = new Set(state.liveAlerts.map((a) => a.uid));
  const fresh = alerts.filter((a) => !known.has(a.uid));
  if (fresh.length === 0) return;
  const merged = [...fresh.reverse(), ...state.liveAlerts].slice(0, LIVE_KEEP);
  setState({ liveAlerts: merged });
}
