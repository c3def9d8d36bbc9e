/** Durations in rule files: `90s`, `30m`, `24h`, `7d` (a plain number is seconds). */
export function parseDuration(text: unknown): number {
  if (typeof text === 'number' && Number.isFinite(text) && text > 0) return text * 1000;
  if (typeof text !== 'string') throw new Error(`duration must be like 30m, 24h or 7d (got ${JSON.stringify(text)})`);
  const m = /^(\d+(?:\.\d+)?)\s*(s|m|h|d|w)$/.exec(text.trim());
  if (m === null) throw new Error(`duration must be like 30m, 24h or 7d (got '${text}')`);
  const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[m[2] as 's' | 'm' | 'h' | 'd' | 'w'];
  const ms = Number(m[1]) * unit;
  if (!(ms > 0)) throw new Error(`duration '${text}' must be positive`);
  return ms;
}
