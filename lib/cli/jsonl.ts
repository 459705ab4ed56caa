// Streaming JSON Lines: a line reader that pulls from a stream chunk by chunk (so memory stays
// bounded by one chunk plus the longest line) and a writer that honours backpressure and, for
// files, writes atomically (temp file in the same folder, renamed over the target on success).
import { createReadStream, createWriteStream, unlinkSync, type WriteStream } from 'node:fs';
import { rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Readable, Writable } from 'node:stream';
import { firstInvalidUtf8 } from '../eval/formats.js';

/** A user-facing failure (exit code 1): printed as `adapterfusion: <message>`, no stack. */
export class CliError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CliError';
  }
}

/** Raised when stdout's reader went away (e.g. `| head`): stop quietly. */
export class BrokenPipe extends Error {
  constructor() {
    super('broken pipe');
    this.name = 'BrokenPipe';
  }
}

export interface Line {
  /** 1-based line number in the input. */
  number: number;
  text: string;
}

function describeFsError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  switch (e?.code) {
    case 'ENOENT':
      return 'file not found';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a folder, not a file';
    case 'ENOSPC':
      return 'no space left on device';
    default:
      return e instanceof Error ? e.message : String(err);
  }
}

/**
 * Lines of a stream, numbered from 1, without their line terminator (`\n` or `\r\n`). The bytes
 * are split at newlines first (a 0x0A byte is never part of a multi-byte UTF-8 sequence), then
 * each line is decoded strictly: a line that is not UTF-8 is a CliError naming the line, not
 * text silently turned into U+FFFD. A final line without a newline is still yielded.
 */
export async function* readLines(stream: Readable, name: string): AsyncGenerator<Line> {
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  let parts: Buffer[] = []; // the current line's bytes so far (no newline among them)
  let number = 0;
  const decode = (bytes: Buffer): Line => {
    number++;
    let text: string;
    try {
      text = decoder.decode(bytes);
    } catch (err) {
      throw new CliError(`${name} line ${number}: not valid UTF-8 (byte ${firstInvalidUtf8(bytes) + 1} of the line)`, { cause: err });
    }
    return { number, text: text.endsWith('\r') ? text.slice(0, -1) : text };
  };
  try {
    for await (const chunk of stream) {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : (chunk as Buffer);
      let start = 0;
      for (;;) {
        const nl = bytes.indexOf(0x0a, start);
        if (nl < 0) break;
        const piece = bytes.subarray(start, nl);
        const line = parts.length ? Buffer.concat([...parts, piece]) : piece;
        parts = [];
        yield decode(line);
        start = nl + 1;
      }
      if (start < bytes.length) parts.push(bytes.subarray(start));
    }
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(`${name}: cannot read: ${describeFsError(err)}`, { cause: err });
  }
  if (parts.length) {
    const rest = Buffer.concat(parts);
    parts = [];
    yield decode(rest);
  }
}

/** Opens `path` for reading ('-' = stdin); fails with a CliError naming the file. */
export async function openInput(path: string): Promise<{ stream: Readable; name: string }> {
  if (path === '-') return { stream: process.stdin, name: '<stdin>' };
  const stream = createReadStream(path, { highWaterMark: 1 << 16 });
  await new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', (err) => reject(new CliError(`${path}: cannot open the input: ${describeFsError(err)}`, { cause: err })));
  });
  return { stream, name: path };
}

/** Where output lines go: write() waits when the destination is full; commit() finishes it. */
export interface LineWriter {
  write(text: string): Promise<void>;
  /** Flushes; for a file, renames the temp file over the target. */
  commit(): Promise<void>;
  /** Drops what was written (removes the temp file); safe to call twice or after commit. */
  abort(): Promise<void>;
  /** Synchronous last-resort cleanup (signal handlers). */
  abortSync(): void;
}

async function writeWithBackpressure(stream: Writable, text: string, failure: () => Error | null): Promise<void> {
  const err = failure();
  if (err) throw err;
  if (stream.write(text)) return;
  await new Promise<void>((resolve, reject) => {
    const onDrain = () => {
      cleanup();
      resolve();
    };
    const onError = () => {
      cleanup();
      reject(failure() ?? new CliError('output stream failed'));
    };
    const onClose = () => {
      cleanup();
      const f = failure();
      if (f) reject(f);
      else resolve();
    };
    const cleanup = () => {
      stream.off('drain', onDrain);
      stream.off('error', onError);
      stream.off('close', onClose);
    };
    stream.on('drain', onDrain);
    stream.on('error', onError);
    stream.on('close', onClose);
  });
  const after = failure();
  if (after) throw after;
}

/** Writes to process.stdout; an EPIPE (reader gone) becomes BrokenPipe. */
export function stdoutWriter(): LineWriter {
  let failed: Error | null = null;
  const onError = (err: NodeJS.ErrnoException) => {
    failed = err.code === 'EPIPE' ? new BrokenPipe() : new CliError(`cannot write to stdout: ${describeFsError(err)}`, { cause: err });
  };
  process.stdout.on('error', onError);
  return {
    write: (text) => writeWithBackpressure(process.stdout, text, () => failed),
    async commit() {
      await writeWithBackpressure(process.stdout, '', () => failed);
    },
    async abort() {},
    abortSync() {},
  };
}

/**
 * Writes to a temp file next to `path` (same folder, so the rename is atomic) and renames it
 * over `path` on commit. Until then `path` is untouched; abort() removes the temp file.
 */
export async function atomicFileWriter(path: string): Promise<LineWriter> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let failed: Error | null = null;
  let done = false;
  const stream: WriteStream = createWriteStream(tmp, { flags: 'wx', highWaterMark: 1 << 16 });
  stream.on('error', (err: NodeJS.ErrnoException) => {
    const why = err.code === 'ENOENT' ? `the folder ${dirname(path)} does not exist` : describeFsError(err);
    failed ??= new CliError(`${path}: cannot write the output: ${why}`, { cause: err });
  });
  await new Promise<void>((resolve, reject) => {
    stream.once('ready', () => resolve());
    stream.once('error', () => reject(failed));
  });
  const removeTmp = async () => {
    try {
      await unlink(tmp);
    } catch {
      // already gone
    }
  };
  return {
    write: (text) => writeWithBackpressure(stream, text, () => failed),
    async commit() {
      if (failed) throw failed;
      await new Promise<void>((resolve, reject) => {
        stream.end((err?: Error | null) => (err || failed ? reject(failed ?? err) : resolve()));
      });
      // end() resolves after 'finish'; wait for the descriptor to close before renaming.
      if (!stream.closed) await new Promise<void>((resolve) => stream.once('close', () => resolve()));
      try {
        await rename(tmp, path);
      } catch (err) {
        await removeTmp();
        throw new CliError(`${path}: cannot write the output: ${describeFsError(err)}`, { cause: err });
      }
      done = true;
    },
    async abort() {
      if (done) return;
      done = true;
      stream.destroy();
      if (!stream.closed) await new Promise<void>((resolve) => stream.once('close', () => resolve()));
      await removeTmp();
    },
    abortSync() {
      if (done) return;
      done = true;
      stream.destroy();
      unlinkSyncSafe(tmp);
    },
  };
}

function unlinkSyncSafe(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

/**
 * A JSON number for a float32 value: 9 significant digits (enough to round-trip float32),
 * printed in its shortest form; NaN and ±Infinity (not JSON) become null.
 */
export function f32(x: number): number | null {
  if (!Number.isFinite(x)) return null;
  return Number(x.toPrecision(9));
}
