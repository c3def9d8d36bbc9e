/**
 * A small RFC 4180 CSV reader for registry imports (a few thousand rows): quoted fields with `""` escapes and line
 * breaks inside quotes, LF / CRLF / CR line ends, a UTF-8 BOM, blank lines skipped. Each record keeps the line it
 * starts on so import errors can point at it. Written here rather than pulled in: the format needed is small and a
 * strict reader (a stray quote is an error, not silently kept) gives better messages than a lenient library.
 */

export interface CsvRecord {
  /** 1-based line the record starts on (the header is line 1 of a file with no blank lines before it). */
  line: number;
  fields: string[];
}

export interface CsvError {
  line: number;
  message: string;
}

export interface CsvOptions {
  /** Records read at most (default 20,000); more is an error, not a silent truncation. */
  maxRecords?: number;
  /** Longest field in characters (default 2,000). */
  maxFieldLength?: number;
}

export interface CsvResult {
  records: CsvRecord[];
  /** Syntax errors; a record with one is left out of `records`. */
  errors: CsvError[];
}

const QUOTE = 34;
const COMMA = 44;
const LF = 10;
const CR = 13;

export function parseCsv(text: string, options: CsvOptions = {}): CsvResult {
  const maxRecords = options.maxRecords ?? 20_000;
  const maxFieldLength = options.maxFieldLength ?? 2_000;
  const records: CsvRecord[] = [];
  const errors: CsvError[] = [];
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  const n = text.length;

  while (i < n) {
    const start = line;
    const fields: string[] = [];
    let error: string | null = null;
    let field = '';
    let done = false;
    while (!done) {
      // One field per iteration; `i` is at its first character.
      if (i < n && text.charCodeAt(i) === QUOTE) {
        i++;
        let closed = false;
        while (i < n) {
          const c = text.charCodeAt(i);
          if (c === QUOTE) {
            if (text.charCodeAt(i + 1) === QUOTE) {
              field += '"';
              i += 2;
              continue;
            }
            i++;
            closed = true;
            break;
          }
          if (c === LF || (c === CR && text.charCodeAt(i + 1) !== LF)) line++;
          field += text[i];
          i++;
        }
        if (!closed) {
          error ??= 'quoted field is not closed (missing ")';
        } else if (i < n && text.charCodeAt(i) !== COMMA && text.charCodeAt(i) !== LF && text.charCodeAt(i) !== CR) {
          error ??= 'unexpected character after a closing quote (a quote inside a field must be doubled: "")';
        }
      }
      // Unquoted part (or whatever follows a bad closing quote, skipped to the next separator).
      while (i < n) {
        const c = text.charCodeAt(i);
        if (c === COMMA || c === LF || c === CR) break;
        if (c === QUOTE) error ??= 'quote inside an unquoted field (quote the whole field and double the quote)';
        field += text[i];
        i++;
      }
      if (field.length > maxFieldLength) error ??= `field longer than ${maxFieldLength} characters`;
      fields.push(field);
      field = '';
      if (i >= n) {
        done = true;
      } else if (text.charCodeAt(i) === COMMA) {
        i++;
      } else {
        // Line end: CRLF counts once.
        i += text.charCodeAt(i) === CR && text.charCodeAt(i + 1) === LF ? 2 : 1;
        line++;
        done = true;
      }
    }
    if (fields.length === 1 && fields[0] === '' && error === null) continue; // blank line
    if (error !== null) {
      errors.push({ line: start, message: error });
      continue;
    }
    if (records.length >= maxRecords) {
      errors.push({ line: start, message: `more than ${maxRecords} records` });
      break;
    }
    records.push({ line: start, fields });
  }
  return { records, errors };
}
