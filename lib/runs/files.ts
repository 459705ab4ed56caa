// Small file helpers of the run pipeline: atomic text writes (temp file + fsync + rename, so a
// crash never leaves half a run.json) and an append-only JSON Lines log.
import { appendFile, mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { IoError } from '../errors.js';

const reason = (err: unknown) => (err instanceof Error ? err.message : String(err));

export async function ensureFolder(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (err) {
    throw new IoError(`cannot create the folder ${dir}: ${reason(err)}`, { cause: err });
  }
}

export async function writeTextAtomic(path: string, text: string): Promise<void> {
  await ensureFolder(dirname(path));
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const fh = await open(tmp, 'wx', 0o644);
    try {
      await fh.writeFile(text, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw new IoError(`cannot write ${path}: ${reason(err)}`, { cause: err });
  }
}

export async function writeJson(path: string, value: unknown): Promise<void> {
  await writeTextAtomic(path, JSON.stringify(value, null, 2) + '\n');
}

export async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Appends one JSON object per line; lines are written in call order. */
export class JsonlLog {
  readonly path: string;
  #chain: Promise<void> = Promise.resolve();
  constructor(path: string) {
    this.path = path;
  }
  write(value: unknown): Promise<void> {
    const line = JSON.stringify(value) + '\n';
    this.#chain = this.#chain.then(() =>
      appendFile(this.path, line, 'utf8').catch((err) => {
        throw new IoError(`cannot append to ${this.path}: ${reason(err)}`, { cause: err });
      }),
    );
    return this.#chain;
  }
}

/**
 * Rewinds a JSON-lines log to what a run had logged when its checkpoint was written: keeps the
 * complete lines that `keep` accepts, and drops a torn last line. A run killed after its last
 * checkpoint logged steps it will redo on resume; without this they would appear twice.
 */
export async function rewindJsonl(path: string, keep: (line: Record<string, unknown>) => boolean): Promise<void> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return; // nothing logged yet
  }
  const kept: string[] = [];
  for (const line of text.split('\n')) {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      continue; // empty, or torn by a kill mid-write
    }
    if (value && typeof value === 'object' && keep(value as Record<string, unknown>)) kept.push(line);
  }
  await writeTextAtomic(path, kept.length ? kept.join('\n') + '\n' : '');
}
