/** Hex text of b[start, end) (tests and diagnostics). */
export function toHexString(b: Uint8Array, start: number, end: number): string {
  let s = '';
  for (let i = start; i < end; i++) s += (b[i] ?? 0).toString(16).padStart(2, '0');
  return s;
}
