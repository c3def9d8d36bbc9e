/**
 * PostgreSQL text cannot hold U+0000 (neither `text` nor a `json` string that becomes text). One such string in a row
 * failed its whole batch, which came back and failed again. The wire schema lets it through (a rule title or an
 * asset's name may be any JSON string), and SQLite stores it as sent; on PostgreSQL it becomes U+FFFD, so the row is
 * stored and the rest of the batch with it.
 */

export function withoutNul(v: string): string {
  return v.includes('\u0000') ? v.replaceAll('\u0000', '\uFFFD') : v;
}

/**
 * The same for JSON text made by `JSON.stringify`: each `\u0000` escape becomes `\uFFFD`. An escape is a backslash
 * after an even run of backslashes (each `\\` pair is one literal backslash), so a literal backslash followed by
 * "u0000" is left alone.
 */
export function jsonWithoutNul(json: string): string {
  return json.includes('\\u0000') ? json.replace(/(?<!\\)((?:\\\\)*)\\u0000/g, '$1\\uFFFD') : json;
}
