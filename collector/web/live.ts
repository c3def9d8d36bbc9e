/**
 * Live alerts for the dashboard over Server-Sent Events. One timer polls the store (about once a second) for alerts
 * newer than what each stream has sent, within that stream's scope, so it works the same when several collector
 * instances ingest into one shared store: the store is the only thing they share.
 *
 * "Newer" is judged by the alert's uid (a UUIDv7 carrying the inserting instance's clock), with a look-back window
 * and a per-stream set of uids already sent: an alert another instance inserted with a clock slightly behind ours is
 * still delivered (once), as long as the clocks differ by less than `lookbackMs`.
 *
 * Streams sharing a scope share one query per tick. Each stream gets a `ping` event every `heartbeatMs` (proxies keep
 * the connection open; the page shows when it last heard from the server), is closed when its token is revoked, and
 * is removed when the client goes away.
 */
import type { ServerResponse } from 'node:http';
import type { AuthContext } from '../api/auth.ts';
import type { CollectorStore, StoredAlert } from '../store/types.ts';

export interface LiveHubOptions {
  /** Store poll period (default 1000 ms). */
  pollMs?: number;
  /** Heartbeat period (default 15 s). */
  heartbeatMs?: number;
  /** How far behind the newest alert sent a late insert is still looked for (default 5 s). */
  lookbackMs?: number;
  /** Most alerts read per scope per tick; beyond it the stream is told to reload (default 1000). */
  maxPerPoll?: number;
  /** Most open streams; more are refused with 503 (default 500). */
  maxStreams?: number;
  /** Bytes buffered for a slow client before its stream is closed (default 1 MiB). */
  maxBufferedBytes?: number;
  /** How often streams are checked against revoked tokens (default 30 s). */
  revocationCheckMs?: number;
  now?: () => number;
}

export interface LiveStats {
  open: number;
  opened: number;
  closed: number;
  /** Streams refused because `maxStreams` were open. */
  refused: number;
  alertsSent: number;
  /** Ticks where more than `maxPerPoll` alerts arrived for a scope (the streams got a `reload` event). */
  truncated: number;
  /** Streams closed because the client did not read fast enough. */
  slowClosed: number;
  /** Streams closed because their token was revoked. */
  revokedClosed: number;
  pollErrors: number;
}

/** What a live `alert` event carries: the alert without its evidence event (the page fetches that on demand). */
export type LiveAlert = Omit<StoredAlert, 'event'>;

interface Stream {
  auth: AuthContext;
  res: ServerResponse;
  scopeKey: string;
  /** Newest uid time (ms) sent or known at open. */
  watermarkMs: number;
  /** Uids already sent (or present at open), with their time, pruned past the look-back window. */
  seen: Map<string, number>;
  /** False until the first tick has recorded what existed at open (those are not sent). */
  primed: boolean;
  /** Time the stream opened: alerts inserted before it are what the page already loaded. */
  openedAtMs: number;
  /** On a resumed stream: the last uid the page had; nothing at or below it is sent (the page has it). */
  floorUid: string | null;
}

/** Milliseconds of a UUIDv7 (its first 48 bits). */
export function uidTimeMs(uid: string): number {
  const hex = uid.slice(0, 8) + uid.slice(9, 13);
  const ms = Number.parseInt(hex, 16);
  return Number.isFinite(ms) ? ms : 0;
}

const UID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function isUid(value: string): boolean {
  return UID.test(value);
}

function liveAlert(a: StoredAlert): LiveAlert {
  const { event: _evidence, ...rest } = a;
  return rest;
}

export class LiveHub {
  readonly stats: LiveStats = {
    open: 0,
    opened: 0,
    closed: 0,
    refused: 0,
    alertsSent: 0,
    truncated: 0,
    slowClosed: 0,
    revokedClosed: 0,
    pollErrors: 0,
  };
  private readonly streams = new Set<Stream>();
  private readonly pollMs: number;
  private readonly heartbeatMs: number;
  private readonly lookbackMs: number;
  private readonly maxPerPoll: number;
  private readonly maxStreams: number;
  private readonly maxBufferedBytes: number;
  private readonly revocationCheckMs: number;
  private readonly now: () => number;
  private pollTimer: NodeJS.Timeout | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private revocationTimer: NodeJS.Timeout | null = null;
  private polling = false;

  constructor(
    private readonly store: CollectorStore,
    options: LiveHubOptions = {},
  ) {
    this.pollMs = options.pollMs ?? 1000;
    this.heartbeatMs = options.heartbeatMs ?? 15_000;
    this.lookbackMs = options.lookbackMs ?? 5000;
    this.maxPerPoll = options.maxPerPoll ?? 1000;
    this.maxStreams = options.maxStreams ?? 500;
    this.maxBufferedBytes = options.maxBufferedBytes ?? 1024 * 1024;
    this.revocationCheckMs = options.revocationCheckMs ?? 30_000;
    this.now = options.now ?? Date.now;
  }

  /**
   * Starts a stream on `res` (headers not yet sent). `since`: the last uid the client received (a reconnect);
   * newer alerts are sent first. Returns false (nothing written) when `maxStreams` are open.
   */
  open(auth: AuthContext, res: ServerResponse, since?: string): boolean {
    if (this.streams.size >= this.maxStreams) {
      this.stats.refused++;
      return false;
    }
    const stream: Stream = {
      auth,
      res,
      scopeKey: JSON.stringify(auth.scope),
      watermarkMs: since !== undefined ? uidTimeMs(since) : this.now(),
      seen: new Map(since !== undefined ? [[since, uidTimeMs(since)]] : []),
      primed: since !== undefined,
      openedAtMs: this.now(),
      floorUid: since ?? null,
    };
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-store',
      connection: 'keep-alive',
      // nginx and similar proxies would otherwise buffer the stream.
      'x-accel-buffering': 'no',
    });
    res.write(`retry: 5000\nevent: hello\ndata: ${JSON.stringify({ at: new Date(this.now()).toISOString() })}\n\n`);
    this.streams.add(stream);
    this.stats.opened++;
    this.stats.open = this.streams.size;
    res.on('close', () => this.drop(stream));
    this.startTimers();
    return true;
  }

  /** Ends every stream and stops the timers (collector shutdown). */
  close(): void {
    for (const stream of [...this.streams]) {
      stream.res.end();
      this.drop(stream);
    }
    this.stopTimers();
  }

  /** One poll of the store for every open stream (the timer calls it; tests may too). */
  async tick(): Promise<void> {
    if (this.polling || this.streams.size === 0) return;
    this.polling = true;
    try {
      const groups = new Map<string, Stream[]>();
      for (const s of this.streams) {
        const group = groups.get(s.scopeKey);
        if (group) group.push(s);
        else groups.set(s.scopeKey, [s]);
      }
      for (const group of groups.values()) await this.pollGroup(group);
    } catch {
      this.stats.pollErrors++;
    } finally {
      this.polling = false;
    }
  }

  private async pollGroup(group: Stream[]): Promise<void> {
    const first = group[0];
    if (!first) return;
    let oldestWanted = Number.POSITIVE_INFINITY;
    for (const s of group) oldestWanted = Math.min(oldestWanted, s.watermarkMs - this.lookbackMs);
    // Newest first, page by page, until the alerts are older than any stream still needs.
    const fresh: StoredAlert[] = [];
    let cursor: string | null = null;
    let truncated = false;
    for (;;) {
      const page: { items: StoredAlert[]; nextCursor: string | null } = await this.store.listAlerts(
        first.auth.scope,
        {},
        cursor === null ? { limit: 200 } : { limit: 200, cursor },
      );
      let reachedOld = false;
      for (const a of page.items) {
        if (uidTimeMs(a.uid) < oldestWanted) {
          reachedOld = true;
          break;
        }
        fresh.push(a);
      }
      if (reachedOld || page.nextCursor === null) break;
      if (fresh.length >= this.maxPerPoll) {
        truncated = true;
        break;
      }
      cursor = page.nextCursor;
    }
    if (truncated) this.stats.truncated++;
    fresh.reverse(); // oldest first: the order the page should show them arriving in
    for (const s of group) this.deliver(s, fresh, truncated);
  }

  private deliver(s: Stream, fresh: StoredAlert[], truncated: boolean): void {
    const from = s.watermarkMs - this.lookbackMs;
    let out = '';
    for (const a of fresh) {
      const t = uidTimeMs(a.uid);
      if (t < from || s.seen.has(a.uid) || (s.floorUid !== null && a.uid <= s.floorUid)) continue;
      s.seen.set(a.uid, t);
      if (t > s.watermarkMs) s.watermarkMs = t;
      if (!s.primed && t < s.openedAtMs) continue;
      out += `id: ${a.uid}\nevent: alert\ndata: ${JSON.stringify(liveAlert(a))}\n\n`;
      this.stats.alertsSent++;
    }
    if (!s.primed) {
      s.primed = true;
    } else if (truncated) {
      out += `event: reload\ndata: {}\n\n`;
    }
    const keepFrom = s.watermarkMs - 2 * this.lookbackMs;
    for (const [uid, t] of s.seen) if (t < keepFrom) s.seen.delete(uid);
    if (out !== '') this.write(s, out);
  }

  private write(s: Stream, chunk: string): void {
    if (s.res.writableLength > this.maxBufferedBytes) {
      this.stats.slowClosed++;
      s.res.end();
      this.drop(s);
      return;
    }
    s.res.write(chunk);
  }

  private heartbeat(): void {
    const line = `event: ping\ndata: ${JSON.stringify({ at: new Date(this.now()).toISOString() })}\n\n`;
    for (const s of this.streams) this.write(s, line);
  }

  private async checkRevocations(): Promise<void> {
    if (this.streams.size === 0) return;
    try {
      const live = new Set((await this.store.listTokens()).filter((t) => t.revokedAt === null).map((t) => t.id));
      for (const s of [...this.streams]) {
        if (live.has(s.auth.token.id)) continue;
        this.stats.revokedClosed++;
        s.res.end(`event: revoked\ndata: {}\n\n`);
        this.drop(s);
      }
    } catch {
      this.stats.pollErrors++;
    }
  }

  private drop(stream: Stream): void {
    if (!this.streams.delete(stream)) return;
    this.stats.closed++;
    this.stats.open = this.streams.size;
    if (this.streams.size === 0) this.stopTimers();
  }

  private startTimers(): void {
    if (this.pollTimer) return;
    this.pollTimer = setInterval(() => void this.tick(), this.pollMs);
    this.heartbeatTimer = setInterval(() => this.heartbeat(), this.heartbeatMs);
    this.revocationTimer = setInterval(() => void this.checkRevocations(), this.revocationCheckMs);
    this.pollTimer.unref();
    this.heartbeatTimer.unref();
    this.revocationTimer.unref();
  }

  private stopTimers(): void {
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    if (this.revocationTimer) clearInterval(this.revocationTimer);
    this.pollTimer = null;
    this.heartbeatTimer = null;
    this.revocationTimer = null;
  }
}
