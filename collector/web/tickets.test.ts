import { describe, expect, it } from 'vitest';
import type { AuthContext } from '../api/auth.ts';
import { TicketBook } from './tickets.ts';

const auth: AuthContext = {
  token: {
    id: 'tok-1',
    label: 'test',
    role: 'enterprise',
    province: 'gd',
    enterprises: ['gz-chem-01'],
    createdAt: '2026-01-01T00:00:00.000Z',
    revokedAt: null,
  },
  scope: { kind: 'enterprises', enterprises: ['gz-chem-01'] },
};

describe('TicketBook', () => {
  it('redeems a ticket once, for the caller it was issued to', () => {
    const book = new TicketBook();
    const { ticket, expiresAt } = book.issue(auth);
    expect(ticket).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Date.parse(expiresAt) - Date.now()).toBeGreaterThan(29_000);
    expect(book.redeem(ticket)).toBe(auth);
    expect(book.redeem(ticket)).toBeNull();
    expect(book.stats).toMatchObject({ issued: 1, redeemed: 1, refused: 1 });
  });

  it('refuses a ticket after its time to live, and sweeps abandoned ones', () => {
    let now = 1_000_000;
    const book = new TicketBook({ ttlMs: 30_000, now: () => now });
    const late = book.issue(auth).ticket;
    book.issue(auth);
    now += 30_000;
    expect(book.redeem(late)).toBeNull();
    expect(book.stats.expired).toBe(1);
    book.issue(auth); // sweeps the other expired one
    expect(book.size).toBe(1);
    expect(book.stats.expired).toBe(2);
  });

  it('keeps at most maxTickets, evicting (and counting) the oldest', () => {
    const book = new TicketBook({ maxTickets: 2 });
    const first = book.issue(auth).ticket;
    const second = book.issue(auth).ticket;
    const third = book.issue(auth).ticket;
    expect(book.size).toBe(2);
    expect(book.stats.evicted).toBe(1);
    expect(book.redeem(first)).toBeNull();
    expect(book.redeem(second)).toBe(auth);
    expect(book.redeem(third)).toBe(auth);
  });

  it('never issues the same ticket twice', () => {
    const book = new TicketBook();
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) seen.add(book.issue(auth).ticket);
    expect(seen.size).toBe(1000);
  });
});
