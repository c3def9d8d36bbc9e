/// <reference lib="dom" />
/**
 * Dates and numbers in the user's language (Intl), dates in the chosen time zone (Asia/Shanghai by default, always
 * named on screen), and the conversion of a zoned date-time input back to an ISO instant for the API.
 */
import { getState } from './store.ts';

const cache = new Map<string, Intl.DateTimeFormat | Intl.NumberFormat | Intl.RelativeTimeFormat>();

function cached<T extends Intl.DateTimeFormat | Intl.NumberFormat | Intl.RelativeTimeFormat>(
  key: string,
  make: () => T,
): T {
  let f = cache.get(key);
  if (!f) {
    f = make();
    cache.set(key, f);
  }
  return f as T;
}

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const { lang, timeZone } = getState();
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return cached(
    `dt|${lang}|${timeZone}`,
    () =>
      new Intl.DateTimeFormat(lang, {
        timeZone,
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        hour: '2-digit',
        minute: '2-digit',
        second: '2-digit',
        hourCycle: 'h23',
      }),
  ).format(d);
}

/** A day key (`2024-05-06`, UTC, as the API's aggregates give it) in the user's language. */
export function formatDay(key: string): string {
  const { lang } = getState();
  const d = new Date(`${key.slice(0, 10)}T00:00:00Z`);
  if (Number.isNaN(d.getTime())) return key;
  return cached(
    `day|${lang}`,
    () => new Intl.DateTimeFormat(lang, { timeZone: 'UTC', year: 'numeric', month: '2-digit', day: '2-digit' }),
  ).format(d);
}

export function formatNumber(n: number | null | undefined, digits = 0): string {
  if (n === null || n === undefined || Number.isNaN(n)) return '—';
  const { lang } = getState();
  return cached(`n|${lang}|${digits}`, () => new Intl.NumberFormat(lang, { maximumFractionDigits: digits })).format(n);
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${formatNumber(v, i === 0 ? 0 : 1)} ${units[i]}`;
}

/** "3 minutes ago" in the user's language. */
export function formatAge(iso: string | null, nowMs: number = Date.now()): string {
  if (!iso) return '—';
  const { lang } = getState();
  const seconds = Math.round((Date.parse(iso) - nowMs) / 1000);
  const rtf = cached(`rt|${lang}`, () => new Intl.RelativeTimeFormat(lang, { numeric: 'auto' }));
  const abs = Math.abs(seconds);
  if (abs < 60) return rtf.format(seconds, 'second');
  if (abs < 3600) return rtf.format(Math.round(seconds / 60), 'minute');
  if (abs < 86400) return rtf.format(Math.round(seconds / 3600), 'hour');
  return rtf.format(Math.round(seconds / 86400), 'day');
}

/** Offset of `timeZone` from UTC at `utcMs`, in ms (e.g. +8 h for Asia/Shanghai). */
export function zoneOffsetMs(timeZone: string, utcMs: number): number {
  const parts = cached(
    `off|${timeZone}`,
    () =>
      new Intl.DateTimeFormat('en-US', {
        timeZone,
        hourCycle: 'h23',
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        hour: '2-digit',
        minute: '2-digit',
        second: '2-digit',
      }),
  ).formatToParts(new Date(utcMs));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return asUtc - Math.floor(utcMs / 1000) * 1000;
}

/** `2024-05-06T16:00` (a datetime-local value, read in `timeZone`) → ISO instant; '' when empty or invalid. */
export function zonedInputToIso(value: string, timeZone: string): string {
  if (value === '') return '';
  const naive = Date.parse(`${value.length === 16 ? `${value}:00` : value}Z`);
  if (Number.isNaN(naive)) return '';
  const offset = zoneOffsetMs(timeZone, naive - zoneOffsetMs(timeZone, naive));
  return new Date(naive - offset).toISOString();
}

/** ISO instant → datetime-local value in `timeZone` (inverse of zonedInputToIso). */
export function isoToZonedInput(iso: string, timeZone: string): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return '';
  return new Date(ms + zoneOffsetMs(timeZone, ms)).toISOString().slice(0, 16);
}

/** `UTC+8` style label of a zone's current offset. */
export function zoneLabel(timeZone: string): string {
  const minutes = Math.round(zoneOffsetMs(timeZone, Date.now()) / 60000);
  const sign = minutes < 0 ? '-' : '+';
  const h = Math.floor(Math.abs(minutes) / 60);
  const m = Math.abs(minutes) % 60;
  return `UTC${sign}${h}${m ? `:${String(m).padStart(2, '0')}` : ''}`;
}
