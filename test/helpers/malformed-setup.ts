// Shared fixtures and checks of the malformed-input tests (test/malformed-weights.test.ts,
// test/malformed-text.test.ts; issue 7 §2). Each case must give a typed error (lib/errors.ts
// class and its `code`) whose message names the file and says what is wrong — never a crash, a
// hang (each test has a time bound) or an out-of-memory — and, where a model is involved, must
// leave the model exactly as it was (every parameter's name, shape and bits, and its adapters,
// heads and fusions). The bytes are built by the tests (see test/helpers/malformed.ts), in a temp
// folder made here; nothing is committed but this code.
//
// Call useMalformedFixtures() once at the top of each test file: ava hooks belong to the file
// that registers them. Its `before` hook saves one tiny model and fills the returned object.
import test, { type ExecutionContext } from 'ava';
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AdapterFusionError,
  Fuse,
  createModel,
  readSafetensors,
  saveModel,
  type BertModel,
  type HfBertConfig,
} from '../../lib/index.js';
import { type F32Tensor } from './malformed.js';
import { repoRoot } from './paths.js';

export const CONFIG: HfBertConfig = {
  vocab_size: 50,
  hidden_size: 16,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  intermediate_size: 32,
  max_position_embeddings: 32,
  type_vocab_size: 2,
  hidden_act: 'gelu',
};
export const MB = 1 << 20;
export const DEEP = 100_000;

// ------------------------------------------------------------------ shared folders

/** Filled by the `before` hook that useMalformedFixtures() registers. */
export const fx = {
  /** The temp folder holding everything; removed after the file's tests. */
  root: '',
  /** Saved from one tiny model: base (config.json + model.safetensors), adapters a and b, head h, fusion a,b. */
  src: { model: '', a: '', b: '', h: '', ab: '' },
  /** The tensors of adapter a's adapter.safetensors. */
  adapterTensors: [] as F32Tensor[],
};
let cases = 0;

/** Registers this file's hooks: make the temp root and the saved folders before, remove them after. */
export function useMalformedFixtures(): typeof fx {
  test.before(async () => {
    fx.root = mkdtempSync(join(tmpdir(), 'af-malformed-'));
    const { src } = fx;
    const m = await createModel(CONFIG, { seed: 1, threads: 1 });
    try {
      await m.addAdapter('a', { reductionFactor: 4, seed: 2 });
      await m.addAdapter('b', { reductionFactor: 4, seed: 3 });
      await m.addAdapterFusion(new Fuse('a', 'b'), { seed: 4 });
      await m.addClassificationHead('h', { numLabels: 3, seed: 5 });
      for (const k of ['model', 'a', 'b', 'h', 'ab'] as const) src[k] = join(fx.root, 'src', k);
      await saveModel(m, src.model);
      await m.saveAdapter(src.a, 'a');
      await m.saveAdapter(src.b, 'b');
      await m.saveHead(src.h, 'h');
      await m.saveAdapterFusion(src.ab, 'a,b');
    } finally {
      m.dispose();
    }
    const { tensors } = await readSafetensors(join(src.a, 'adapter.safetensors'));
    fx.adapterTensors = tensors.map((t) => ({ name: t.name, shape: t.shape, data: t.data as Float32Array }));
  });
  test.after.always(() => {
    if (fx.root) rmSync(fx.root, { recursive: true, force: true });
  });
  return fx;
}

/** A fresh folder for one case, optionally a copy of a saved one. */
export function caseDir(copyOf?: string): string {
  const dir = join(fx.root, `case${cases++}`);
  if (copyOf) cpSync(copyOf, dir, { recursive: true });
  else mkdirSync(dir);
  return dir;
}

// ------------------------------------------------------------------ checks

export type ErrorClass = new (message: string) => AdapterFusionError;

export interface Expected {
  cls: ErrorClass;
  /** What is wrong. */
  message: RegExp;
  /** The path the message must name. */
  path: string;
}

/** The call fails with exactly `e.cls` and its code, naming `e.path` and saying what is wrong. */
export async function expectError(t: ExecutionContext, name: string, run: () => Promise<unknown>, e: Expected): Promise<void> {
  let err: unknown;
  let value: unknown;
  try {
    value = await run();
  } catch (x) {
    err = x;
  }
  if (err === undefined) {
    t.fail(`${name}: succeeded (${String(value).slice(0, 80)}), expected ${e.cls.name}`);
    return;
  }
  const got = err as Error & { code?: unknown };
  t.true(err instanceof e.cls, `${name}: got ${got?.constructor?.name} (${String(got?.message).slice(0, 300)}), expected ${e.cls.name}`);
  t.is(got.code, new e.cls('').code, `${name}: code`);
  t.true(typeof got.message === 'string' && got.message.includes(e.path), `${name}: the message does not name ${e.path}: ${got.message}`);
  t.regex(got.message, e.message, `${name}: says what is wrong`);
}

/** Everything observable about a model: its layout, module lists, active head and every parameter's bits. */
export async function snapshot(m: BertModel): Promise<unknown> {
  const values: Record<string, string> = {};
  for (const p of m.parameters()) {
    const v = await m.getParameter(p.name);
    values[p.name] = Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
  }
  return { params: m.parameters(), adapters: m.adapters(), heads: m.heads(), fusions: m.adapterFusions(), activeHead: m.activeHead(), values };
}

/** The model the loaders load into: adapters a and b (no fusion), head "keep", a active. */
export async function target(): Promise<BertModel> {
  const m = await createModel(CONFIG, { seed: 7, threads: 1 });
  await m.addAdapter('a', { reductionFactor: 4, seed: 8 });
  await m.addAdapter('b', { reductionFactor: 4, seed: 9 });
  await m.addClassificationHead('keep', { numLabels: 2, seed: 10 });
  await m.setActiveAdapters('a', { head: 'keep' });
  return m;
}

export type Kind = 'adapter' | 'head' | 'fusion';
export const FILES: Record<Kind, { src: () => string; config: string; weights: string; bin: string }> = {
  adapter: { src: () => fx.src.a, config: 'adapter_config.json', weights: 'adapter.safetensors', bin: 'pytorch_adapter.bin' },
  head: { src: () => fx.src.h, config: 'head_config.json', weights: 'model_head.safetensors', bin: 'pytorch_model_head.bin' },
  fusion: { src: () => fx.src.ab, config: 'adapter_fusion_config.json', weights: 'model_adapter_fusion.safetensors', bin: 'pytorch_model_adapter_fusion.bin' },
};

/** Loads `dir` as a module of `kind` (an adapter as "x", so it never collides with a, b). */
export function load(m: BertModel, kind: Kind, dir: string): Promise<string> {
  return kind === 'adapter' ? m.loadAdapter(dir, { loadAs: 'x' }) : kind === 'head' ? m.loadHead(dir) : m.loadAdapterFusion(dir);
}

/** A load that must fail as `e` says and leave `m` exactly as it was. */
export async function expectLoadError(t: ExecutionContext, m: BertModel, name: string, kind: Kind, dir: string, e: Expected): Promise<void> {
  const before = await snapshot(m);
  await expectError(t, name, () => load(m, kind, dir), e);
  t.deepEqual(await snapshot(m), before, `${name}: the model changed`);
}

export const rssMB = () => process.memoryUsage().rss / MB;

// ------------------------------------------------------------------ CLI

const mainJs = join(repoRoot, 'dist', 'lib', 'cli', 'main.js');

/** Runs the compiled CLI (dist/lib/cli/main.js) in a separate node process, with an empty stdin. */
export function cli(args: string[]): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile(process.execPath, [mainJs, ...args], { maxBuffer: 64 * MB, timeout: 60_000 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number' && !err.signal) return reject(err);
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, signal: err?.signal ?? null, stdout, stderr });
    });
    child.stdin!.end('');
  });
}

/** Writes `content` as in.jsonl in `dir` and returns its path. */
export function writeInput(dir: string, content: string | Buffer): string {
  const path = join(dir, 'in.jsonl');
  writeFileSync(path, content);
  return path;
}

/** The CLI's stderr holds no stack trace and no "internal error". */
export const noStack = (s: string) => !/\n\s+at .+:\d+:\d+\)?/.test(s) && !/internal error/.test(s);

/** Process warnings emitted while `fn` runs (they are delivered on the next tick). */
export async function warningsOf(fn: () => Promise<unknown>): Promise<(Error & { code?: string })[]> {
  const seen: (Error & { code?: string })[] = [];
  const on = (w: Error) => seen.push(w);
  process.on('warning', on);
  try {
    await fn();
    await new Promise((r) => setImmediate(r));
  } finally {
    process.off('warning', on);
  }
  return seen;
}

