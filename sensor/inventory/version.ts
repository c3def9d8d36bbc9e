/**
 * Firmware version comparison for advisory ranges. Versions are dotted numbers with an optional leading `V`
 * ("V3.2.6", "4.4.0"); a range bound may use `x` for "any" in a position (Siemens writes S7-300 fixes as
 * "V3.X.14": any minor version, patch 14).
 */

/** Splits "V3.2.6" into [3, 2, 6]; `x` becomes null (wildcard). Returns null when not a version. */
export function parseVersion(text: string): (number | null)[] | null {
  const m = /^\s*[vV]?\s*(\d+|[xX])((?:\.(?:\d+|[xX]))*)/.exec(text);
  if (m === null) return null;
  const parts = `${m[1]}${m[2] ?? ''}`.split('.');
  return parts.map((p) => (p === 'x' || p === 'X' ? null : Number(p)));
}

/**
 * Compares `version` with `bound`: negative when below, 0 when equal, positive when above. Missing positions count
 * as 0; a wildcard position in either compares equal. Null when either is not a version.
 */
export function compareVersions(version: string, bound: string): number | null {
  const a = parseVersion(version);
  const b = parseVersion(bound);
  if (a === null || b === null) return null;
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    // Missing positions are 0; null (wildcard) must survive, so no `??` here.
    const x = i < a.length ? (a[i] as number | null) : 0;
    const y = i < b.length ? (b[i] as number | null) : 0;
    if (x === null || y === null) continue;
    if (x !== y) return x - y;
  }
  return 0;
}

/** Whether `version` lies in [from, below) (either bound may be absent). Null when it cannot be compared. */
export function inRange(version: string, from: string | undefined, below: string | undefined): boolean | null {
  if (from !== undefined) {
    const c = compareVersions(version, from);
    if (c === null) return null;
    if (c < 0) return false;
  }
  if (below !== undefined) {
    const c = compareVersions(version, below);
    if (c === null) return null;
    if (c >= 0) return false;
  }
  return true;
}
