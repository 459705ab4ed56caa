// File access for the AdapterHub loaders/savers: the JSON config files (read with Python's JSON
// semantics, written atomically), the weights files (safetensors first, else PyTorch .bin
// through the restricted unpickler) and the typed errors that name the file.
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { binding, type NativeTensor, type NativeTensorToWrite } from '../binding.js';
import { AdapterFusionError, InvalidFileError, IoError, native } from '../errors.js';
import { dumpPy, parsePy, PyJsonSyntaxError, PyObject, pyTypeName, type PyJson } from './pyjson.js';

/** Config files are a few KiB; anything this large is not one. */
const MAX_CONFIG_BYTES = 16 << 20;

function ioMessage(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e.code === 'string') {
    if (e.code === 'ENOENT') return 'no such file or directory';
    if (e.code === 'EACCES' || e.code === 'EPERM') return 'permission denied';
    if (e.code === 'EISDIR') return 'is a directory';
    if (e.code === 'ENOTDIR') return 'a parent is not a directory';
    return `${e.code}: ${e.message}`;
  }
  return err instanceof Error ? err.message : String(err);
}

/**
 * Returns `err` with `path` in its message: AdapterFusionErrors from the core (a config the core
 * rejects, a bad tensor) are re-created with the same class, code and the original as `cause`.
 */
export function naming(path: string, err: unknown): unknown {
  if (!(err instanceof AdapterFusionError) || err.message.includes(path)) return err;
  const Cls = err.constructor as new (message: string, options?: { cause?: unknown }) => AdapterFusionError;
  try {
    const wrapped = new Cls(`${path}: ${err.message}`, { cause: err });
    if (wrapped.code === err.code) return wrapped;
  } catch {
    // a class with another constructor signature: keep the original
  }
  return err;
}

/** Whether `path` exists as a regular file (an unreadable folder counts as absent). */
export async function isFile(path: string): Promise<boolean> {
  try {
    return (await fs.stat(path)).isFile();
  } catch {
    return false;
  }
}

/** The folder must exist: IoError naming it otherwise. */
export async function requireDir(dir: string, what: string): Promise<void> {
  let st;
  try {
    st = await fs.stat(dir);
  } catch (err) {
    throw new IoError(`${what}: cannot open folder ${dir}: ${ioMessage(err)}`, { cause: err });
  }
  if (!st.isDirectory()) throw new IoError(`${what}: ${dir} is not a folder`);
}

/**
 * Reads a JSON config file as Python would (floats stay floats). IoError when it is missing or
 * unreadable, InvalidFileError when it is not UTF-8 JSON whose top level is an object.
 */
export async function readJsonObject(path: string): Promise<PyObject> {
  let bytes: Buffer;
  try {
    const st = await fs.stat(path);
    if (!st.isFile()) throw new IoError(`${path}: not a regular file`);
    if (st.size > MAX_CONFIG_BYTES) throw new InvalidFileError(`${path}: ${st.size} bytes is too large for a config file`);
    bytes = await fs.readFile(path);
  } catch (err) {
    if (err instanceof AdapterFusionError) throw err;
    throw new IoError(`${path}: cannot read: ${ioMessage(err)}`, { cause: err });
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch (err) {
    throw new InvalidFileError(`${path}: not valid UTF-8`, { cause: err });
  }
  let value: PyJson;
  try {
    value = parsePy(text);
  } catch (err) {
    if (err instanceof PyJsonSyntaxError) throw new InvalidFileError(`${path}: invalid JSON: ${err.message}`, { cause: err });
    throw err;
  }
  if (!(value instanceof PyObject)) throw new InvalidFileError(`${path}: the top level must be a JSON object, not ${pyTypeName(value)}`);
  return value;
}

/** Creates `dir` (and its parents) if needed. */
export async function ensureDir(dir: string): Promise<void> {
  try {
    await fs.mkdir(dir, { recursive: true });
  } catch (err) {
    throw new IoError(`${dir}: cannot create folder: ${ioMessage(err)}`, { cause: err });
  }
  const st = await fs.stat(dir).catch(() => null);
  if (!st?.isDirectory()) throw new IoError(`${dir}: not a folder`);
}

/**
 * Writes `json.dump(value, indent=2, sort_keys=True)` text to `path` atomically: a temp file in
 * the same folder, flushed to disk, then renamed over `path` (a crash never leaves a half file).
 */
export async function writeJsonAtomic(path: string, value: PyJson): Promise<void> {
  const text = dumpPy(value);
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const fh = await fs.open(tmp, 'wx', 0o644);
    try {
      await fh.writeFile(text, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.rename(tmp, path);
  } catch (err) {
    await fs.unlink(tmp).catch(() => undefined);
    throw new IoError(`${path}: cannot write: ${ioMessage(err)}`, { cause: err });
  }
}

export interface WeightsFile {
  path: string;
  tensors: NativeTensor[];
}

/**
 * Reads the module's weights from `dir`: `<safetensorsName>` if present, else `<binName>` (a
 * PyTorch state dict, read by the core's restricted unpickler, which never runs code).
 */
export async function readWeights(dir: string, safetensorsName: string, binName: string): Promise<WeightsFile> {
  const st = join(dir, safetensorsName);
  const bin = join(dir, binName);
  if (await isFile(st)) {
    const { tensors } = await native(() => binding().readSafetensors(st)).catch((err) => {
      throw naming(st, err);
    });
    return { path: st, tensors };
  }
  if (await isFile(bin)) {
    const { tensors } = await native(() => binding().readTorchStateDict(bin)).catch((err) => {
      throw naming(bin, err);
    });
    return { path: bin, tensors };
  }
  throw new IoError(`${dir}: no weights file (neither ${safetensorsName} nor ${binName})`);
}

/** Writes F32 tensors (sorted by name, no metadata) atomically, as safetensors.torch.save_file does. */
export async function writeWeights(path: string, tensors: NativeTensorToWrite[]): Promise<void> {
  const sorted = [...tensors].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  await native(() => binding().writeSafetensors(path, sorted, {})).catch((err) => {
    throw naming(path, err);
  });
}
