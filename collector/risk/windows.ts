/**
 * Declared maintenance windows (`Enterprise.maintenanceWindows`): engineering actions inside one weigh nothing in
 * the risk score. Format: `<days> HH:MM-HH:MM`, days being `daily` (or `每天`), a day (`Mon`…`Sun`), a range
 * (`Mon-Fri`) or a comma list (`Sat,Sun`); a window may cross midnight (`Fri 22:00-02:00` runs into Saturday).
 * Times are local to the configured UTC offset (default +08:00, China Standard Time).
 */

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
const MINUTES_PER_DAY = 1440;

export interface MaintenanceWindow {
  /** Days (0 = Sunday) on which the window starts. */
  days: Set<number>;
  startMin: number;
  endMin: number;
  text: string;
}

function dayIndex(token: string): number {
  const i = DAYS.indexOf(token.slice(0, 3).toLowerCase() as (typeof DAYS)[number]);
  if (i < 0 || token.length < 3) throw new Error(`unknown day '${token}'`);
  return i;
}

function minutes(hhmm: string): number {
  const m = /^(\d{1,2}):(\d{2})$/.exec(hhmm);
  if (m === null) throw new Error(`bad time '${hhmm}' (HH:MM)`);
  const h = Number(m[1]);
  const min = Number(m[2]);
  if (h > 24 || min > 59 || (h === 24 && min !== 0)) throw new Error(`bad time '${hhmm}'`);
  return h * 60 + min;
}

/** Parses one window; throws an Error naming the problem. */
export function parseWindow(text: string): MaintenanceWindow {
  const m = /^\s*(\S+)\s+(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})\s*$/.exec(text);
  if (m === null) throw new Error(`'${text}' is not '<days> HH:MM-HH:MM'`);
  const [, dayPart = '', from = '', to = ''] = m;
  const days = new Set<number>();
  if (/^(daily|everyday|每天|\*)$/i.test(dayPart)) for (let d = 0; d < 7; d++) days.add(d);
  else {
    for (const piece of dayPart.split(',')) {
      const range = piece.split('-');
      if (range.length === 2) {
        const a = dayIndex(range[0] ?? '');
        const b = dayIndex(range[1] ?? '');
        for (let d = a; ; d = (d + 1) % 7) {
          days.add(d);
          if (d === b) break;
        }
      } else days.add(dayIndex(piece));
    }
  }
  const startMin = minutes(from);
  const endMin = minutes(to);
  if (startMin === endMin) throw new Error(`'${text}' is empty (start equals end)`);
  return { days, startMin, endMin, text };
}

/** Parses a UTC offset `+08:00` / `-05:30` / `Z` into minutes. */
export function parseOffset(text: string): number {
  if (text === 'Z' || text === 'UTC') return 0;
  const m = /^([+-])(\d{2}):(\d{2})$/.exec(text);
  if (m === null) throw new Error(`bad UTC offset '${text}' (+HH:MM)`);
  return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
}

/** True when `ms` (UTC) falls inside the window, in local time at `offsetMin`. */
export function inWindow(w: MaintenanceWindow, ms: number, offsetMin: number): boolean {
  const local = new Date(ms + offsetMin * 60_000);
  const day = local.getUTCDay();
  const min = local.getUTCHours() * 60 + local.getUTCMinutes();
  if (w.startMin < w.endMin) return w.days.has(day) && min >= w.startMin && min < w.endMin;
  // Crosses midnight: the evening part on a listed day, the morning part on the day after one.
  if (w.days.has(day) && min >= w.startMin) return true;
  return w.days.has((day + 6) % 7) && min < w.endMin && min < MINUTES_PER_DAY;
}

export interface ParsedWindows {
  windows: MaintenanceWindow[];
  /** Declared windows that do not parse (reported in the score's explanation, otherwise ignored). */
  invalid: { text: string; problem: string }[];
}

export function parseWindows(texts: readonly string[]): ParsedWindows {
  const out: ParsedWindows = { windows: [], invalid: [] };
  for (const text of texts) {
    try {
      out.windows.push(parseWindow(text));
    } catch (error) {
      out.invalid.push({ text, problem: (error as Error).message });
    }
  }
  return out;
}

export function inAnyWindow(windows: readonly MaintenanceWindow[], ms: number, offsetMin: number): boolean {
  for (const w of windows) if (inWindow(w, ms, offsetMin)) return true;
  return false;
}
