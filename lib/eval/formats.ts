// Text formats of the task files: tab-separated values without quoting (GLUE), RFC 4180 CSV
// (quoted fields with commas, quotes and newlines), JSON Lines. All tolerate a UTF-8 BOM, CRLF
// line ends and a missing final newline. Only a file that cannot be parsed at all (an unclosed
// quote, a missing header column) throws here; bad rows are the readers' business (rows.ts).
import { readFile } from 'node:fs/promises';
import { InvalidFileError, IoError } from '../errors.js';
import type { RowProblem } from './rows.js';

/** Reads a UTF-8 text file, without its byte-order mark. */
export async function readText(path: string): Promise<string> {
  if (typeof path !== 'string' || path === '') throw new TypeError('path must be a non-empty string');
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new IoError(`cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  let text: string;
  try {
    // fatal: bytes that are not UTF-8 are an error, not text silently turned into U+FFFD
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch (err) {
    const at = firstInvalidUtf8(bytes);
    let line = 1;
    for (let i = bytes.indexOf(0x0a); i >= 0 && i < at; i = bytes.indexOf(0x0a, i + 1)) line++;
    throw new InvalidFileError(`${path}:${line}: not valid UTF-8 (at byte offset ${at})`, { cause: err });
  }
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** Offset of the first byte that does not begin a well-formed UTF-8 sequence (RFC 3629); bytes.length if none. */
export function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    const n = c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : 0;
    if (n === 0 || i + n >= b.length) return i;
    // The second byte's range excludes overlongs, surrogates and code points past U+10FFFF.
    const lo = c === 0xe0 ? 0xa0 : c === 0xf0 ? 0x90 : 0x80;
    const hi = c === 0xed ? 0x9f : c === 0xf4 ? 0x8f : 0xbf;
    if (b[i + 1] < lo || b[i + 1] > hi) return i;
    for (let k = 2; k <= n; k++) if ((b[i + k] & 0xc0) !== 0x80) return i;
    i += n + 1;
  }
  return b.length;
}

/** Lines without their terminators (\n, \r\n, or a lone trailing \r); a final empty line is dropped. */
export function splitLines(text: string): string[] {
  const lines = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

export interface Table {
  /** Column names (the first row), or null for files without a header. */
  header: string[] | null;
  /** Data rows with their 1-based line numbers in the file. */
  rows: { line: number; cells: string[] }[];
}

/**
 * Tab-separated values as GLUE writes them: no quoting (a `"` is an ordinary character), one
 * row per line. Blank lines are skipped; stray carriage returns at the end of cells are removed.
 */
export function parseTsv(text: string, opts: { header?: boolean } = {}): Table {
  const lines = splitLines(text);
  const rows: Table['rows'] = [];
  let header: string[] | null = null;
  lines.forEach((l, i) => {
    if (l.trim() === '') return;
    const cells = l.split('\t').map((c) => c.replace(/\r+$/, ''));
    if ((opts.header ?? true) && header === null) header = cells.map((c) => c.trim());
    else rows.push({ line: i + 1, cells });
  });
  return { header, rows };
}

/**
 * RFC 4180 CSV: fields separated by commas, optionally quoted; inside quotes, `""` is a quote
 * and commas / newlines are data; a quote in the middle of an unquoted field is an ordinary
 * character (as Python's csv module reads it). Returns rows of cells with the line each row starts on.
 */
export function parseCsv(text: string, file = 'CSV'): { line: number; cells: string[] }[] {
  const rows: { line: number; cells: string[] }[] = [];
  let cells: string[] = [];
  let field = '';
  let quoted = false;
  let line = 1;
  let rowLine = 1;
  let fieldStarted = false;
  const endRow = () => {
    cells.push(field);
    if (!(cells.length === 1 && cells[0] === '' && !fieldStarted)) rows.push({ line: rowLine, cells });
    cells = [];
    field = '';
    fieldStarted = false;
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else {
        if (ch === '\n') line++;
        field += ch;
      }
      continue;
    }
    if (ch === '"' && field === '') {
      quoted = true;
      fieldStarted = true;
    } else if (ch === ',') {
      cells.push(field);
      field = '';
      fieldStarted = true;
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      endRow();
      line++;
      rowLine = line;
    } else {
      field += ch;
      fieldStarted = true;
    }
  }
  if (quoted) throw new InvalidFileError(`${file}:${rowLine}: a quoted field is not closed`);
  if (field !== '' || cells.length || fieldStarted) endRow();
  return rows;
}

/** A CSV file as a Table: the first row is the header (trimmed), the rest are data rows. */
export function parseCsvTable(text: string, file = 'CSV', opts: { header?: boolean } = {}): Table {
  const rows = parseCsv(text, file);
  const header = (opts.header ?? true) ? (rows.shift()?.cells.map((c) => c.trim()) ?? null) : null;
  return { header, rows };
}

/** One non-blank line of a JSON Lines file: its value, or why it is not JSON. */
export interface JsonlLine {
  line: number;
  value?: unknown;
  /** Set when the line is not valid JSON (then `value` is absent). */
  error?: string;
}

/** JSON Lines, line by line: a bad line is kept with its `error` so that line positions stay aligned. */
export function jsonlLines(text: string): JsonlLine[] {
  const out: JsonlLine[] = [];
  splitLines(text).forEach((l, i) => {
    if (l.trim() === '') return;
    try {
      out.push({ line: i + 1, value: JSON.parse(l) });
    } catch (err) {
      out.push({ line: i + 1, error: `not valid JSON (${(err as Error).message})` });
    }
  });
  return out;
}

/**
 * JSON Lines: one JSON value per non-blank line. A line that is not JSON throws an
 * InvalidFileError naming file:line, or, when `problems` is given, is added to it and left out.
 */
export function parseJsonl(text: string, file = 'JSONL', problems?: RowProblem[]): { line: number; value: unknown }[] {
  const out: { line: number; value: unknown }[] = [];
  for (const l of jsonlLines(text)) {
    if (l.error === undefined) out.push({ line: l.line, value: l.value });
    else if (problems) problems.push({ file, line: l.line, message: l.error });
    else throw new InvalidFileError(`${file}:${l.line}: ${l.error}`);
  }
  return out;
}

/** Column indices by name; throws InvalidFileError naming the file and the missing column. */
export function columns<K extends string>(header: string[] | null, names: Record<K, string>, file: string): Record<K, number> {
  if (!header) throw new InvalidFileError(`${file}: no header row`);
  const out = {} as Record<K, number>;
  for (const [key, col] of Object.entries(names) as [K, string][]) {
    const i = header.indexOf(col);
    if (i < 0) throw new InvalidFileError(`${file}: no column "${col}" (columns: ${header.join(', ')})`);
    out[key] = i;
  }
  return out;
}
