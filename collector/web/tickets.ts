/**
 * One-use, short-lived tickets for the live stream. A browser's EventSource cannot send an Authorization header, and
 * the long-lived API token must never appear in a URL (URLs end up in proxy logs and browser history), so the page
 * trades its token for a ticket (`POST /api/v1/live/ticket`) and opens `/api/v1/live?ticket=…` at once. A ticket is
 * 256 random bits, works once, and expires after `ttlMs`.
 *
 * Tickets live in this process: behind a load balancer, the two requests must reach the same instance (they follow
 * each other within milliseconds; sticky sessions or a shared ticket table in the store would lift this).
 */
import { randomBytes } from 'node:crypto';
import type { AuthContext } from '../api/auth.ts';

export interface TicketBookOptions {
  /** How long a ticket stays valid (default 30 s). */
  ttlMs?: number;
  /** Most unredeemed tickets kept; the oldest is evicted (and counted) beyond it (default 10,000). */
  maxTickets?: number;
  now?: () => number;
}

export interface TicketStats {
  issued: number;
  redeemed: number;
  expired: number;
  evicted: number;
  /** Unknown or already used tickets presented. */
  refused: number;
}

interface Entry {
  auth: AuthContext;
  expiresAt: number;
}

export class TicketBook {
  readonly stats: TicketStats = { issued: 0, redeemed: 0, expired: 0, evicted: 0, refused: 0 };
  private readonly tickets = new Map<string, Entry>();
  private readonly ttlMs: number;
  private readonly maxTickets: number;
  private readonly now: () => number;

  constructor(options: TicketBookOptions = {}) {
    this.ttlMs = options.ttlMs ?? 30_000;
    this.maxTickets = options.maxTickets ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.tickets.size;
  }

  issue(auth: AuthContext): { ticket: string; expiresAt: string } {
    this.sweep();
    // A Map iterates in insertion order: the first key is the oldest ticket.
    while (this.tickets.size >= this.maxTickets) {
      const oldest = this.tickets.keys().next().value;
      if (oldest === undefined) break;
      this.tickets.delete(oldest);
      this.stats.evicted++;
    }
    const ticket = randomBytes(32).toString('base64url');
    const expiresAt = this.now() + this.ttlMs;
    this.tickets.set(ticket, { auth, expiresAt });
    this.stats.issued++;
    return { ticket, expiresAt: new Date(expiresAt).toISOString() };
  }

  /** The caller the ticket was issued to, once; null when unknown, used or expired. */
  redeem(ticket: string): AuthContext | null {
    const entry = this.tickets.get(ticket);
    if (!entry) {
      this.stats.refused++;
      return null;
    }
    this.tickets.delete(ticket);
    if (entry.expiresAt <= this.now()) {
      this.stats.expired++;
      return null;
    }
    this.stats.redeemed++;
    return entry.auth;
  }

  /** Drops expired tickets (called on every issue, so the book never grows with abandoned tickets). */
  sweep(): void {
    const now = this.now();
    for (const [ticket, entry] of this.tickets) {
      if (entry.expiresAt <= now) {
        this.tickets.delete(ticket);
        this.stats.expired++;
      }
    }
  }
}
