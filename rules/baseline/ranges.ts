/**
 * Inclusive integer ranges (`[start, end]`) kept sorted and merged, for the address ranges a baseline has seen read or
 * written. Adjacent ranges merge (`0-3` + `4-7` = `0-7`), so a client that walks a block in small writes learns the
 * whole block. Bounded: past `maxRanges` the two closest ranges merge (the set only grows, so coverage never shrinks;
 * the caller counts the merge).
 */
export type Range = [start: number, end: number];

/** Adds `[start, end]` to the sorted, merged list in place. Returns true when the cap forced a merge of a gap. */
export function addRange(ranges: Range[], start: number, end: number, maxRanges: number): boolean {
  let i = 0;
  while (i < ranges.length && (ranges[i] as Range)[1] < start - 1) i++;
  // ranges[i..] end at or after start-1: merge every range that touches [start, end].
  let lo = start;
  let hi = end;
  let j = i;
  while (j < ranges.length && (ranges[j] as Range)[0] <= end + 1) {
    const r = ranges[j] as Range;
    if (r[0] < lo) lo = r[0];
    if (r[1] > hi) hi = r[1];
    j++;
  }
  ranges.splice(i, j - i, [lo, hi]);
  if (ranges.length <= maxRanges) return false;
  mergeClosest(ranges);
  return true;
}

/** Merges the two neighbours separated by the smallest gap. */
function mergeClosest(ranges: Range[]): void {
  let best = 0;
  let bestGap = Number.POSITIVE_INFINITY;
  for (let k = 0; k + 1 < ranges.length; k++) {
    const gap = (ranges[k + 1] as Range)[0] - (ranges[k] as Range)[1];
    if (gap < bestGap) {
      bestGap = gap;
      best = k;
    }
  }
  const a = ranges[best] as Range;
  const b = ranges[best + 1] as Range;
  ranges.splice(best, 2, [a[0], Math.max(a[1], b[1])]);
}

/** True when `[start, end]` lies inside one range of the list, each range widened by `slack` on both sides. */
export function rangeCovered(ranges: readonly Range[], start: number, end: number, slack: number): boolean {
  for (const r of ranges) {
    if (r[0] - slack <= start && end <= r[1] + slack) return true;
    if (r[0] - slack > start) return false;
  }
  return false;
}

/** `[3, 3]` → `"3"`, `[0, 63]` → `"0-63"`: the form an engineer reads and edits in the baseline file. */
export function formatRange(r: Range): string {
  return r[0] === r[1] ? String(r[0]) : `${r[0]}-${r[1]}`;
}

const RANGE_TEXT = /^(\d+)(?:\s*-\s*(\d+))?$/;

/** Parses `"N"` or `"A-B"` (A ≤ B, non-negative integers); null when malformed. */
export function parseRange(text: string): Range | null {
  const m = RANGE_TEXT.exec(text.trim());
  if (!m) return null;
  const start = Number(m[1]);
  const end = m[2] === undefined ? start : Number(m[2]);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end < start) return null;
  return [start, end];
}
