/// <reference lib="dom" />
/**
 * The live alert stream: trades the session token for a one-use ticket, opens an EventSource on
 * `/api/v1/live?ticket=…` (the token itself never goes into a URL), and on any error closes it and starts again with
 * a fresh ticket after a pause, passing the last uid received so nothing in between is lost.
 */
import { ApiFailure, apiRequest } from './api.ts';
import { getState, pushLiveAlerts, setState } from './store.ts';
import type { Alert } from './types.ts';

const RETRY_MS = 3000;

let source: EventSource | null = null;
let retryTimer: ReturnType<typeof setTimeout> | null = null;
let lastUid: string | null = null;
let running = false;

export function startLive(): void {
  if (running) return;
  running = true;
  void connect();
}

export function stopLive(): void {
  running = false;
  source?.close();
  source = null;
  if (retryTimer) clearTimeout(retryTimer);
  retryTimer = null;
  lastUid = null;
  setState({ live: 'off', lastHeard: null, liveAlerts: [] });
}

function retry(): void {
  source?.close();
  source = null;
  if (!running) return;
  setState({ live: 'retrying' });
  if (retryTimer) clearTimeout(retryTimer);
  retryTimer = setTimeout(() => void connect(), RETRY_MS);
}

async function connect(): Promise<void> {
  if (!running || !getState().token) return;
  setState({ live: getState().live === 'retrying' ? 'retrying' : 'connecting' });
  let ticket: string;
  try {
    ticket = (await apiRequest<{ ticket: string }>('POST', '/live/ticket')).ticket;
  } catch (err) {
    if (err instanceof ApiFailure && err.status === 401) {
      stopLive();
      return;
    }
    retry();
    return;
  }
  if (!running) return;
  const params = new URLSearchParams({ ticket });
  if (lastUid) params.set('since', lastUid);
  const es = new EventSource(`/api/v1/live?${params.toString()}`);
  source = es;
  const heard = (data: string) => {
    try {
      const at = (JSON.parse(data) as { at?: string }).at;
      if (at) setState({ lastHeard: at });
    } catch {
      // a ping without a time is still a ping
    }
  };
  es.addEventListener('hello', (e) => {
    setState({ live: 'live' });
    heard((e as MessageEvent<string>).data);
  });
  es.addEventListener('ping', (e) => heard((e as MessageEvent<string>).data));
  es.addEventListener('alert', (e) => {
    const alert = JSON.parse((e as MessageEvent<string>).data) as Alert;
    lastUid = alert.uid;
    setState({ lastHeard: new Date().toISOString() });
    pushLiveAlerts([alert]);
  });
  es.addEventListener('reload', () => {
    // More arrived than one tick carries: the pages refetch (their data hooks depend on the live count).
    pushLiveAlerts([]);
  });
  es.addEventListener('revoked', () => {
    // The token was revoked: nothing else it asks for would be answered either.
    stopLive();
    setState({ token: null, me: null });
  });
  // EventSource would reconnect by itself with the same (now used) ticket: take over instead.
  es.onerror = () => retry();
}
