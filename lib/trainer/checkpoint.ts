// Trainer checkpoints on disk, written so that a crash at any moment leaves the last good
// checkpoint loadable.
//
// Layout of a checkpoint folder (`<checkpointDir>/epoch-<k>`, k = completed epochs):
//   trainable.safetensors   every trainable parameter (F32, model names, model shapes)
//   optimizer.safetensors   Adam's moments: exp_avg.<name>, exp_avg_sq.<name>; metadata "steps"
//                           (the largest step count) and "tensor_steps" (JSON: name -> that
//                           tensor's own count; absent in older checkpoints: all are "steps")
//   best.safetensors        the best parameters so far (only when a best is tracked)
//   trainer_state.json      epoch, global step, options, history, best, temperatures, ...
//
// Commit protocol: everything is written (and fsynced) into `<checkpointDir>/.tmp-epoch-<k>-XXXX`,
// which is then renamed to `epoch-<k>` (rename is atomic), the parent folder is fsynced, and only
// then are the other `epoch-*` folders removed. A folder named `epoch-<k>` is therefore always
// complete; `.tmp-*` and `.trash-*` folders are leftovers of an interrupted save and are ignored
// (and removed by the next successful one).
import { chmod, mkdir, mkdtemp, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { InvalidArgumentError, InvalidFileError, IoError } from '../errors.js';
import { readSafetensors, writeSafetensors, type TensorToWrite } from '../safetensors.js';

export const CHECKPOINT_FORMAT = 'adapterfusion-trainer-checkpoint';
export const CHECKPOINT_VERSION = 1;
export const STATE_FILE = 'trainer_state.json';

/** A named float tensor (a parameter, a moment). */
export interface NamedTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

/** AdamW's state: moments per tensor and step counts (per tensor, as torch keeps them). */
export interface OptimizerState {
  /** The largest step count (the one count of every tensor in older checkpoints). */
  steps: number;
  /**
   * Each tensor's own step count (multi-task training steps a task's adapter and head only
   * when the task is drawn). Absent when saving: every tensor has `steps`.
   */
  tensorSteps?: Record<string, number>;
  m: NamedTensor[];
  v: NamedTensor[];
}

export interface CheckpointContents {
  /** The trainer state (JSON-serialisable; non-finite numbers survive the round trip). */
  state: Record<string, unknown> & { epoch: number };
  params: NamedTensor[];
  optimizer: OptimizerState;
  /** The best parameters so far, when tracked. */
  best?: NamedTensor[] | null;
}

/** Where a checkpoint lives, and what it holds (a step count for every tensor with moments). */
export interface LoadedCheckpoint extends CheckpointContents {
  path: string;
  optimizer: OptimizerState & { tensorSteps: Record<string, number> };
}

const isCount = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 0;

// JSON with NaN / ±Infinity kept (JSON.stringify would turn them into null).
const FLOAT_TAG = '__float__';
export function stringifyState(value: unknown): string {
  return JSON.stringify(
    value,
    (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? { [FLOAT_TAG]: String(v) } : v),
    2,
  );
}
export function parseState(text: string): unknown {
  return JSON.parse(text, (_k, v) => {
    if (v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 1 && typeof v[FLOAT_TAG] === 'string') return Number(v[FLOAT_TAG]);
    return v;
  });
}

async function writeFileSynced(path: string, text: string): Promise<void> {
  const fh = await open(path, 'w');
  try {
    await fh.writeFile(text, 'utf8');
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function syncDir(path: string): Promise<void> {
  // Makes the renames inside `path` durable; not every platform can open a folder for this.
  let fh;
  try {
    fh = await open(path, 'r');
    await fh.sync();
  } catch {
    // best effort (e.g. Windows)
  } finally {
    await fh?.close();
  }
}

function toWrite(list: NamedTensor[], prefix = ''): TensorToWrite[] {
  return list.map((t) => ({ name: prefix + t.name, dtype: 'F32', shape: t.shape, data: t.data }));
}

function ioError(what: string, path: string, cause: unknown): Error {
  if (cause instanceof Error && (cause as { code?: string }).code?.startsWith('ERR_AF_')) return cause;
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new IoError(`${what} ${path}: ${reason}`, { cause });
}

// `epoch-<k>` after k completed epochs; `epoch-<k>-batch-<b>` when training was cancelled after
// b batches of epoch k+1 (a resume continues inside that epoch).
const EPOCH_DIR = /^epoch-(\d+)(?:-batch-(\d+))?$/;

/** Observers of a save's progress (used by tests to inject failures at each stage). */
export interface SaveHooks {
  /** Called after each file is complete in the temp folder, and with 'commit' just before the rename. */
  afterFile?: (file: 'trainable.safetensors' | 'optimizer.safetensors' | 'best.safetensors' | 'trainer_state.json' | 'commit', tmpDir: string) => void | Promise<void>;
}

/**
 * Writes a checkpoint as `<dir>/epoch-<state.epoch>` with the commit protocol above; returns
 * its path. On failure the previous checkpoints are untouched (a half-written `.tmp-*` folder
 * may remain and is ignored).
 */
export async function saveCheckpoint(dir: string, c: CheckpointContents, hooks: SaveHooks = {}): Promise<string> {
  if (typeof dir !== 'string' || dir === '') throw new TypeError('checkpoint dir must be a non-empty string');
  const { steps, tensorSteps } = c.optimizer;
  if (!isCount(steps)) throw new TypeError('optimizer.steps must be an integer >= 0');
  if (tensorSteps !== undefined) {
    for (const t of c.optimizer.m) {
      if (!isCount(tensorSteps[t.name])) throw new TypeError(`optimizer.tensorSteps["${t.name}"] must be an integer >= 0`);
    }
  }
  const batch = typeof c.state.batchInEpoch === 'number' && c.state.batchInEpoch > 0 ? c.state.batchInEpoch : 0;
  const name = batch > 0 ? `epoch-${c.state.epoch}-batch-${batch}` : `epoch-${c.state.epoch}`;
  let tmp: string;
  try {
    await mkdir(dir, { recursive: true });
    tmp = await mkdtemp(join(dir, `.tmp-${name}-`));
  } catch (err) {
    throw ioError('cannot create a checkpoint folder in', dir, err);
  }
  await writeSafetensors(join(tmp, 'trainable.safetensors'), toWrite(c.params), { format: CHECKPOINT_FORMAT });
  await hooks.afterFile?.('trainable.safetensors', tmp);
  await writeSafetensors(join(tmp, 'optimizer.safetensors'), [...toWrite(c.optimizer.m, 'exp_avg.'), ...toWrite(c.optimizer.v, 'exp_avg_sq.')], {
    format: CHECKPOINT_FORMAT,
    steps: String(steps),
    ...(tensorSteps ? { tensor_steps: JSON.stringify(Object.fromEntries(c.optimizer.m.map((t) => [t.name, tensorSteps[t.name]]))) } : {}),
  });
  await hooks.afterFile?.('optimizer.safetensors', tmp);
  if (c.best) {
    await writeSafetensors(join(tmp, 'best.safetensors'), toWrite(c.best), { format: CHECKPOINT_FORMAT });
    await hooks.afterFile?.('best.safetensors', tmp);
  }
  const final = join(dir, name);
  try {
    // (writeSafetensors fsyncs each file and renames it into place itself.)
    // The state file is written last: a folder without it is never a checkpoint.
    const state = { format: CHECKPOINT_FORMAT, version: CHECKPOINT_VERSION, ...c.state, savedAt: new Date().toISOString() };
    await writeFileSynced(join(tmp, STATE_FILE), stringifyState(state) + '\n');
    await hooks.afterFile?.('trainer_state.json', tmp);
    await chmod(tmp, 0o755); // mkdtemp makes it private
    await syncDir(tmp);
    await hooks.afterFile?.('commit', tmp);
    // A folder with this name can only be a stale one (a resume from an older checkpoint):
    // move it aside first, since rename cannot replace a non-empty folder.
    const stale = await stat(final).then(() => true, () => false);
    if (stale) await rename(final, join(dir, `.trash-${name}-${randomBytes(4).toString('hex')}`));
    await rename(tmp, final);
    await syncDir(dir);
  } catch (err) {
    throw ioError('cannot write the checkpoint', final, err);
  }
  // Committed: now the older checkpoints and leftovers can go.
  for (const entry of await readdir(dir)) {
    if (entry === name) continue;
    if (EPOCH_DIR.test(entry) || entry.startsWith('.tmp-epoch-') || entry.startsWith('.trash-epoch-')) {
      await rm(join(dir, entry), { recursive: true, force: true }).catch(() => undefined);
    }
  }
  return final;
}

/**
 * The newest complete checkpoint in `dir` (the `epoch-<k>[-batch-<b>]` folder with the largest
 * (k, b) that has a state file), or null.
 */
export async function latestCheckpoint(dir: string): Promise<string | null> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch {
    return null;
  }
  const found = entries
    .map((e) => ({ e, m: EPOCH_DIR.exec(e) }))
    .filter((x) => x.m)
    .map((x) => ({ path: join(dir, x.e), k: Number(x.m![1]), b: Number(x.m![2] ?? 0) }))
    .sort((a, b) => b.k - a.k || b.b - a.b);
  for (const f of found) {
    if (await stat(join(f.path, STATE_FILE)).then(() => true, () => false)) return f.path;
  }
  return null;
}

function byName(tensors: { name: string; shape: number[]; data: unknown }[], file: string, prefix = ''): Map<string, NamedTensor> {
  const out = new Map<string, NamedTensor>();
  for (const t of tensors) {
    if (!t.name.startsWith(prefix)) continue;
    if (!(t.data instanceof Float32Array)) throw new InvalidFileError(`${file}: tensor ${t.name} is not a float tensor`);
    out.set(t.name.slice(prefix.length), { name: t.name.slice(prefix.length), shape: t.shape, data: t.data });
  }
  return out;
}

// Per-tensor step counts from the "tensor_steps" metadata; without it (older checkpoints)
// every tensor has the one count `steps`.
function readTensorSteps(text: string | undefined, steps: number, names: string[], file: string): Record<string, number> {
  const out: Record<string, number> = {};
  if (text === undefined) {
    for (const name of names) out[name] = steps;
    return out;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new InvalidFileError(`${file}: metadata "tensor_steps" is not JSON`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new InvalidFileError(`${file}: metadata "tensor_steps" must be an object`);
  const counts = parsed as Record<string, unknown>;
  for (const name of names) {
    const n = Object.prototype.hasOwnProperty.call(counts, name) ? counts[name] : undefined;
    if (!isCount(n)) throw new InvalidFileError(`${file}: metadata "tensor_steps" has no step count for ${name}`);
    out[name] = n;
  }
  return out;
}

/**
 * Loads a checkpoint: `path` is either a checkpoint folder (holding trainer_state.json) or a
 * checkpointDir, whose newest complete checkpoint is taken.
 */
export async function loadCheckpoint(path: string): Promise<LoadedCheckpoint> {
  if (typeof path !== 'string' || path === '') throw new TypeError('checkpoint path must be a non-empty string');
  let folder = path;
  if (!(await stat(join(path, STATE_FILE)).then(() => true, () => false))) {
    const exists = await stat(path).then((s) => s.isDirectory(), () => false);
    if (!exists) throw new IoError(`no checkpoint at ${path}: the folder does not exist`);
    const latest = await latestCheckpoint(path);
    if (!latest) throw new InvalidArgumentError(`no checkpoint in ${path}: it holds neither ${STATE_FILE} nor epoch-<k> checkpoint folders`);
    folder = latest;
  }
  const stateFile = join(folder, STATE_FILE);
  let state: LoadedCheckpoint['state'];
  try {
    const parsed = parseState(await readFile(stateFile, 'utf8'));
    if (typeof parsed !== 'object' || parsed === null || (parsed as { format?: unknown }).format !== CHECKPOINT_FORMAT) {
      throw new Error(`not an ${CHECKPOINT_FORMAT} state file`);
    }
    if ((parsed as { version?: unknown }).version !== CHECKPOINT_VERSION) throw new Error(`unsupported version ${(parsed as { version?: unknown }).version}`);
    state = parsed as LoadedCheckpoint['state'];
    if (!Number.isInteger(state.epoch) || state.epoch < 0) throw new Error('epoch is missing');
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') throw new IoError(`cannot read ${stateFile}`, { cause: err });
    throw new InvalidFileError(`${stateFile}: ${(err as Error).message}`, { cause: err });
  }
  const pFile = join(folder, 'trainable.safetensors');
  const oFile = join(folder, 'optimizer.safetensors');
  const bFile = join(folder, 'best.safetensors');
  const params = byName((await readSafetensors(pFile)).tensors, pFile);
  const opt = await readSafetensors(oFile);
  const steps = Number(opt.metadata.steps);
  if (!Number.isInteger(steps) || steps < 0) throw new InvalidFileError(`${oFile}: metadata "steps" is missing or not a count`);
  const m = byName(opt.tensors, oFile, 'exp_avg.');
  const v = byName(opt.tensors, oFile, 'exp_avg_sq.');
  for (const name of params.keys()) {
    if (!m.has(name) || !v.has(name)) throw new InvalidFileError(`${oFile}: no Adam moments for ${name}`);
  }
  const tensorSteps = readTensorSteps(opt.metadata.tensor_steps, steps, [...m.keys()], oFile);
  const hasBest = await stat(bFile).then(() => true, () => false);
  const best = hasBest ? [...byName((await readSafetensors(bFile)).tensors, bFile).values()] : null;
  return {
    path: folder,
    state,
    params: [...params.values()],
    optimizer: { steps, tensorSteps, m: [...m.values()], v: [...v.values()] },
    best,
  };
}

/** The checkpoint folder name for a number of completed epochs. */
export function checkpointName(epoch: number): string {
  return `epoch-${epoch}`;
}
