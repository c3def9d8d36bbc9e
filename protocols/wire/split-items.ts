/**
 * Splits a wire message's bytes into its header and the raw text of each element of its top-level `items` array,
 * without decoding the message as one string.
 *
 * Why: a sensor message is up to 1 MiB (hundreds of alerts with their evidence). Decoding it as one string and
 * parsing that costs about 10 µs per 1.6 kB alert on Node 20 — the decode of one large string runs at ~180 MB/s,
 * whatever the encoding — while decoding and parsing the same bytes item by item runs at several GB/s for the
 * decode. It also hands the collector each item's text as the sensor sent it, so the store keeps that text instead
 * of serialising the parsed item again.
 *
 * This is only a splitter, not a validator: the caller parses the header (with `items` emptied) and every item
 * with `JSON.parse`, which checks their syntax. What the splitter itself checks is what those parses cannot see:
 * that the separators between items are a comma and whitespace, and that the split is exact. It returns null for
 * anything it does not fully understand (no `items` key, `items` twice, an escaped key, `items` not an array,
 * structure it cannot follow); the caller then parses the whole message the ordinary way, which gives the same
 * result and the same error. Hence: for any input, split + parse accepts exactly what `JSON.parse` of the whole
 * accepts, with equal values.
 */

export interface ItemSplit {
  /** Byte offset where the `items` array value starts (its `[`). */
  arrayStart: number;
  /** Byte offset just past the array value (past its `]`). */
  arrayEnd: number;
  /** [start, end) byte offsets of each element, without surrounding whitespace. */
  items: number[];
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;

/** `items` as bytes, between its quotes. */
const ITEMS_KEY = [0x69, 0x74, 0x65, 0x6d, 0x73];

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** Index just past the closing quote of the string whose opening quote is at `i`, or -1. */
function skipString(b: Uint8Array, i: number): number {
  const n = b.length;
  let j = i + 1;
  while (j < n) {
    const c = b[j] as number;
    if (c === QUOTE) return j + 1;
    j += c === BACKSLASH ? 2 : 1;
  }
  return -1;
}

/**
 * Index just past the JSON value starting at `i` (an object, array, string or scalar), or -1. Brackets are only
 * counted, not matched by kind: a mismatch makes the later `JSON.parse` of that text fail, never the split wrong
 * for valid input.
 */
function skipValue(b: Uint8Array, i: number): number {
  const n = b.length;
  const first = b[i];
  if (first === QUOTE) return skipString(b, i);
  if (first !== OPEN_BRACE && first !== OPEN_BRACKET) {
    // A scalar: runs to the next separator, closing bracket or whitespace.
    let j = i;
    while (j < n) {
      const c = b[j] as number;
      if (c === COMMA || c === CLOSE_BRACE || c === CLOSE_BRACKET || isSpace(c)) break;
      j++;
    }
    return j > i ? j : -1;
  }
  let depth = 0;
  let j = i;
  while (j < n) {
    const c = b[j] as number;
    if (c === QUOTE) {
      j = skipString(b, j);
      if (j < 0) return -1;
      continue;
    }
    if (c === OPEN_BRACE || c === OPEN_BRACKET) depth++;
    else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
      if (depth === 0) return j + 1;
    }
    j++;
  }
  return -1;
}

function skipSpace(b: Uint8Array, i: number): number {
  let j = i;
  while (j < b.length && isSpace(b[j] as number)) j++;
  return j;
}

function isItemsKey(b: Uint8Array, start: number, end: number): boolean {
  // start is the opening quote, end is past the closing quote.
  if (end - start !== ITEMS_KEY.length + 2) return false;
  for (let k = 0; k < ITEMS_KEY.length; k++) if (b[start + 1 + k] !== ITEMS_KEY[k]) return false;
  return true;
}

function hasBackslash(b: Uint8Array, start: number, end: number): boolean {
  for (let k = start; k < end; k++) if (b[k] === BACKSLASH) return true;
  return false;
}

/** Splits the top-level object's `items` array, or returns null (the caller then parses the whole message). */
export function splitItems(b: Uint8Array): ItemSplit | null {
  let i = skipSpace(b, 0);
  if (b[i] !== OPEN_BRACE) return null;
  i = skipSpace(b, i + 1);
  let found: ItemSplit | null = null;
  if (b[i] === CLOSE_BRACE) return null;
  for (;;) {
    if (b[i] !== QUOTE) return null;
    const keyEnd = skipString(b, i);
    if (keyEnd < 0) return null;
    // An escaped key could spell `items` in a way this byte comparison would miss.
    if (hasBackslash(b, i, keyEnd)) return null;
    const isItems = isItemsKey(b, i, keyEnd);
    i = skipSpace(b, keyEnd);
    if (b[i] !== COLON) return null;
    i = skipSpace(b, i + 1);
    if (isItems) {
      if (found !== null || b[i] !== OPEN_BRACKET) return null;
      const split = splitArray(b, i);
      if (split === null) return null;
      found = split;
      i = split.arrayEnd;
    } else {
      const end = skipValue(b, i);
      if (end < 0) return null;
      i = end;
    }
    i = skipSpace(b, i);
    if (b[i] === COMMA) {
      i = skipSpace(b, i + 1);
      continue;
    }
    if (b[i] !== CLOSE_BRACE) return null;
    // Only whitespace may follow the object.
    if (skipSpace(b, i + 1) !== b.length) return null;
    return found;
  }
}

function splitArray(b: Uint8Array, start: number): ItemSplit | null {
  const items: number[] = [];
  let i = skipSpace(b, start + 1);
  if (b[i] === CLOSE_BRACKET) return { arrayStart: start, arrayEnd: i + 1, items };
  for (;;) {
    const end = skipValue(b, i);
    if (end < 0) return null;
    items.push(i, end);
    i = skipSpace(b, end);
    if (b[i] === COMMA) {
      i = skipSpace(b, i + 1);
      continue;
    }
    if (b[i] !== CLOSE_BRACKET) return null;
    return { arrayStart: start, arrayEnd: i + 1, items };
  }
}
