/**
 * Bulletin periods. Daily, weekly and monthly periods follow China Standard Time (UTC+08:00, no daylight saving):
 * a day starts at 00:00 in Beijing, a week on Monday, a month on the 1st. Because the offset is a whole number of
 * hours, every bound is hour-aligned in UTC, which is what the store's hourly rollups need to count exactly.
 * A custom period is any [from, to) the caller gives.
 */

export const PERIOD_KINDS = ['daily', 'weekly', 'monthly', 'custom'] as const;
export type PeriodKind = (typeof PERIOD_KINDS)[number];

export interface Period {
  kind: PeriodKind;
  /** Inclusive start (ISO, UTC). */
  from: string;
  /** Exclusive end (ISO, UTC). */
  to: string;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** Beijing time is UTC+8 all year. */
export const CST_OFFSET_MS = 8 * HOUR_MS;

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** Midnight (Beijing time) of the day containing `ms`, as a UTC instant. */
function cstDayStart(ms: number): number {
  const local = ms + CST_OFFSET_MS;
  return local - (((local % DAY_MS) + DAY_MS) % DAY_MS) - CST_OFFSET_MS;
}

/** Fields of the Beijing-time calendar date containing `ms`. */
export function cstDate(ms: number): { year: number; month: number; day: number; weekday: number } {
  const d = new Date(ms + CST_OFFSET_MS);
  // getUTCDay: 0 Sunday … 6 Saturday; we want 0 Monday … 6 Sunday.
  return { year: d.getUTCFullYear(), month: d.getUTCMonth(), day: d.getUTCDate(), weekday: (d.getUTCDay() + 6) % 7 };
}

function cstMonthStart(year: number, month: number): number {
  return Date.UTC(year, month, 1) - CST_OFFSET_MS;
}

/** The daily/weekly/monthly period that contains the instant `at`. */
export function periodContaining(kind: Exclude<PeriodKind, 'custom'>, at: number): Period {
  const day = cstDayStart(at);
  if (kind === 'daily') return { kind, from: iso(day), to: iso(day + DAY_MS) };
  if (kind === 'weekly') {
    const start = day - cstDate(at).weekday * DAY_MS;
    return { kind, from: iso(start), to: iso(start + 7 * DAY_MS) };
  }
  const { year, month } = cstDate(at);
  return { kind, from: iso(cstMonthStart(year, month)), to: iso(cstMonthStart(year, month + 1)) };
}

/** The last complete period before `now` (what a scheduled bulletin covers). */
export function lastCompletePeriod(kind: Exclude<PeriodKind, 'custom'>, now: number): Period {
  const current = periodContaining(kind, now);
  return periodContaining(kind, Date.parse(current.from) - 1);
}

/** The period just before `p`, of the same length (calendar months for monthly). */
export function previousPeriod(p: Period): Period {
  if (p.kind === 'daily' || p.kind === 'weekly' || p.kind === 'monthly') {
    return periodContaining(p.kind, Date.parse(p.from) - 1);
  }
  const from = Date.parse(p.from);
  const length = Date.parse(p.to) - from;
  return { kind: 'custom', from: iso(from - length), to: iso(from) };
}

export class PeriodError extends Error {}

/**
 * Resolves what a caller asked for: a periodic kind with an optional date inside the wanted period (default: the
 * last complete one), or custom with both bounds.
 */
export function resolvePeriod(kind: PeriodKind, opts: { from?: string; to?: string; now?: number }): Period {
  const now = opts.now ?? Date.now();
  if (kind === 'custom') {
    if (opts.from === undefined || opts.to === undefined) throw new PeriodError('a custom period needs from and to');
    const from = Date.parse(opts.from);
    const to = Date.parse(opts.to);
    if (!Number.isFinite(from) || !Number.isFinite(to)) throw new PeriodError('from and to must be ISO times');
    if (from >= to) throw new PeriodError('from must be before to');
    return { kind, from: iso(from), to: iso(to) };
  }
  if (opts.from === undefined) return lastCompletePeriod(kind, now);
  const at = Date.parse(opts.from.length === 10 ? `${opts.from}T00:00:00+08:00` : opts.from);
  if (!Number.isFinite(at)) throw new PeriodError('from must be a date (YYYY-MM-DD) or an ISO time');
  return periodContaining(kind, at);
}

/** `2024-05-06` of an instant, in Beijing time. */
export function cstDay(isoTime: string): string {
  const { year, month, day } = cstDate(Date.parse(isoTime));
  return `${year}-${String(month + 1).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

/** Human period label: `2024-05-06 – 2024-05-12` (inclusive last day, Beijing time). */
export function periodLabel(p: Period): string {
  const first = cstDay(p.from);
  const last = cstDay(iso(Date.parse(p.to) - 1));
  return first === last ? first : `${first} – ${last}`;
}
