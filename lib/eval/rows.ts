// Malformed rows of task files. A reader never stops at the first bad row and never drops one
// silently: it returns the good records plus one { file, line, message } per bad row, and the
// caller decides — refuse the file with every bad row listed (BadRowsError) or skip them.
import { InvalidFileError } from '../errors.js';

/** One row a reader could not use: where it is (1-based line) and why. */
export interface RowProblem {
  file: string;
  line: number;
  message: string;
}

/** What a reader returns: the usable records and the rows it left out. */
export interface ReadResult<R> {
  records: R[];
  problems: RowProblem[];
}

/** What loading does with bad rows: 'error' refuses the split, 'skip' leaves them out and reports them. */
export type BadRowsMode = 'error' | 'skip';

/** How many bad rows an error message lists before "… and N more". */
export const LISTED_PROBLEMS = 20;

/**
 * Thrown inside a reader's per-row callback (see collectRows) for one bad row; `file` / `line`
 * override the row's own when the problem is in a companion file (Social IQa's labels).
 */
export class RowError extends Error {
  readonly file?: string;
  readonly line?: number;
  constructor(message: string, at?: { file: string; line: number }) {
    super(message);
    this.file = at?.file;
    this.line = at?.line;
  }
}

/** Throws a RowError (for expressions: `x ?? bad('...')`). */
export function bad(message: string): never {
  throw new RowError(message);
}

/** `file:line: message`, the form editors and terminals link. */
export function formatProblem(p: RowProblem): string {
  return `${p.file}:${p.line}: ${p.message}`;
}

/** One line per problem, the first `max` of them, then "… and N more". */
export function formatProblems(problems: readonly RowProblem[], max = LISTED_PROBLEMS): string {
  const lines = problems.slice(0, max).map(formatProblem);
  if (problems.length > max) lines.push(`… and ${problems.length - max} more`);
  return lines.join('\n');
}

/** The one error a split with bad rows gives under badRows 'error'; `problems` holds all of them. */
export class BadRowsError extends InvalidFileError {
  readonly problems: readonly RowProblem[];
  /** `context` names what was read (e.g. "task rte, split dev"); default: the files. */
  constructor(problems: readonly RowProblem[], context?: string) {
    const n = problems.length;
    const files = [...new Set(problems.map((p) => p.file))];
    const what = context ?? files.join(', ');
    super(`${what}: ${n} bad row${n === 1 ? '' : 's'}\n${formatProblems(problems)}`);
    this.problems = problems;
  }
}

/**
 * Runs `read` on every item, keeping what it returns (undefined: a row that legitimately belongs
 * elsewhere, e.g. another split) and turning each RowError into a RowProblem at `file`:item.line.
 * Any other error (an unreadable file) propagates.
 */
export function collectRows<T extends { line: number }, R>(
  file: string,
  items: Iterable<T>,
  read: (item: T) => R | undefined,
  into: ReadResult<R> = { records: [], problems: [] },
): ReadResult<R> {
  for (const item of items) {
    try {
      const r = read(item);
      if (r !== undefined) into.records.push(r);
    } catch (err) {
      if (!(err instanceof RowError)) throw err;
      into.problems.push({ file: err.file ?? file, line: err.line ?? item.line, message: err.message });
    }
  }
  return into;
}

/** The records, or a BadRowsError listing every bad row. */
export function recordsOrThrow<R>(result: ReadResult<R>, context?: string): R[] {
  if (result.problems.length) throw new BadRowsError(result.problems, context);
  return result.records;
}
