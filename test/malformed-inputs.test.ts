// Malformed and malicious inputs (issue 7 §2), across every file the library reads. Each case
// must give a typed error (lib/errors.ts class and its `code`) whose message names the file and
// says what is wrong — never a crash, a hang (each test has a time bound) or an out-of-memory —
// and, where a model is involved, must leave the model exactly as it was (every parameter's
// name, shape and bits, and its adapters, heads and fusions). The bytes are built here (see
// test/helpers/malformed.ts), in a temp folder; nothing is committed but this code.
//
//   kind                                              file(s) it targets
//   ------------------------------------------------  ----------------------------------------------
//   empty file (0 bytes)                               model.safetensors, adapter.safetensors, config.json,
//                                                      adapter/head/fusion *_config.json, *.bin, vocab.txt,
//                                                      tokenizer.json, task TSV, task.json (custom task)
//   truncated in the 8-byte length prefix              *.safetensors
//   truncated inside the header                        *.safetensors
//   truncated inside the data                          *.safetensors
//   truncated in a ZIP local header / its data         *.bin
//   truncated in the ZIP central directory             *.bin
//   truncated in the ZIP end record                    *.bin
//   huge header length (2^63, 2^64-1)                  *.safetensors (refused from the file size)
//   huge dimensions (overflowing / consistent)         *.safetensors, *.bin (refused, nothing allocated)
//   sizes and offsets past EOF                         *.safetensors data_offsets; ZIP central directory
//                                                      offset/size, local header offset, entry size,
//                                                      ZIP64 end record offset; huge ZIP/ZIP64 entry counts
//   overlapping offsets                                *.safetensors
//   unsorted offsets (accepted, as the reference)      *.safetensors
//   reversed / negative offsets                        *.safetensors
//   bad dtypes                                         *.safetensors (unknown name), *.bin (storage type)
//   NaN / Inf weights (load, with a warning)           model.safetensors, adapter.safetensors, *.bin
//   duplicate keys                                     safetensors header (tensor, __metadata__), config.json,
//                                                      *_config.json, pickled state dict, ZIP entries,
//                                                      tokenizer.json, tokenizer_config.json, task JSONL,
//                                                      custom task.json, predict JSONL
//   non-UTF-8 bytes                                    safetensors header, config.json, *_config.json,
//                                                      pickle strings, vocab.txt, tokenizer.json, task TSV,
//                                                      task.json, predict JSONL
//   deeply nested JSON (100k levels)                   safetensors header, config.json, *_config.json,
//                                                      tokenizer.json, task JSONL (line / value),
//                                                      task.json, predict JSONL (line, input_ids, id)
//   number out of range (1e400, 2^100)                 config.json, *_config.json, predict JSONL
//   byte-order mark, NaN literal, NUL byte             config.json, *_config.json, predict JSONL
//   oversized config (sparse 17 MiB)                   config.json, *_config.json
//   ZIP entry names with path traversal                *.bin (archive name, absolute name, storage key)
//   compressed (deflate) ZIP entries                   *.bin (a storage, data.pkl)
//   duplicate / mismatched / missing ZIP entries       *.bin (entry twice, local name, no data.pkl)
//   big-endian byteorder record                        *.bin
//   pickle with foreign globals                        *.bin (GLOBAL os.system, posix.system,
//                                                      STACK_GLOBAL builtins.eval)
//   REDUCE on a non-allowed callable                   *.bin (a storage type, a string, OrderedDict(args))
//   memo abuse                                         *.bin (GET of a missing key, GET 2^32-1,
//                                                      more than 2^21 MEMOIZEs; a huge PUT index is fine)
//   recursion bombs                                    *.bin (100k MARKs, 100k nested 1-tuples,
//                                                      100k nested lists as root and as a value)
//   string length past the end / no STOP / bad opcode  *.bin
//   storage smaller than its view, strides past it     *.bin
//   a directory where a file is expected               model.safetensors, config.json, *_config.json,
//                                                      adapter weights, vocab.txt, task TSV, task.json,
//                                                      predict --input
//   missing files                                      config.json, model.safetensors, *_config.json,
//                                                      weights, task TSV, predict --input
//   bad rows (cells, labels, not JSON, not objects)    task TSV / JSONL / CSV, custom task JSONL
//   unclosed CSV quote, missing header column          task CSV / TSV
//   token ids that are not ids (string, -1, 6.5)       tokenizer.json model.vocab
//   unusable tokenizer parts                           tokenizer.json (normalizer nested 10k deep,
//                                                      unknown normalizer, added_tokens not a list)
import test, { type ExecutionContext } from 'ava';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AdapterFusionError,
  Fuse,
  InvalidFileError,
  IoError,
  ShapeMismatchError,
  Tokenizer,
  UnsupportedError,
  createModel,
  loadModel,
  loadTask,
  readCustomTaskFile,
  readSafetensors,
  saveModel,
  type BertModel,
  type HfBertConfig,
} from '../lib/index.js';
import { bertTokenizerJson } from '../lib/tokenizer/wordpiece-config.js';
import {
  Pickle,
  f32Safetensors,
  nestedArrays,
  nestedObjects,
  safetensorsBytes,
  stateDictPickle,
  torchBin,
  torchEntries,
  zipBytes,
  type F32Tensor,
  type ZipLayout,
} from './helpers/malformed.js';
import { fixturesDir, repoRoot } from './helpers/paths.js';

const CONFIG: HfBertConfig = {
  vocab_size: 50,
  hidden_size: 16,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  intermediate_size: 32,
  max_position_embeddings: 32,
  type_vocab_size: 2,
  hidden_act: 'gelu',
};
const MB = 1 << 20;
const DEEP = 100_000;

// ------------------------------------------------------------------ shared folders and helpers

let root = '';
let cases = 0;
/** Saved from one tiny model: base (config.json + model.safetensors), adapters a and b, head h, fusion a,b. */
const src = { model: '', a: '', b: '', h: '', ab: '' };
let adapterTensors: F32Tensor[] = [];

test.before(async () => {
  root = mkdtempSync(join(tmpdir(), 'af-malformed-'));
  const m = await createModel(CONFIG, { seed: 1, threads: 1 });
  try {
    await m.addAdapter('a', { reductionFactor: 4, seed: 2 });
    await m.addAdapter('b', { reductionFactor: 4, seed: 3 });
    await m.addAdapterFusion(new Fuse('a', 'b'), { seed: 4 });
    await m.addClassificationHead('h', { numLabels: 3, seed: 5 });
    for (const k of ['model', 'a', 'b', 'h', 'ab'] as const) src[k] = join(root, 'src', k);
    await saveModel(m, src.model);
    await m.saveAdapter(src.a, 'a');
    await m.saveAdapter(src.b, 'b');
    await m.saveHead(src.h, 'h');
    await m.saveAdapterFusion(src.ab, 'a,b');
  } finally {
    m.dispose();
  }
  const { tensors } = await readSafetensors(join(src.a, 'adapter.safetensors'));
  adapterTensors = tensors.map((t) => ({ name: t.name, shape: t.shape, data: t.data as Float32Array }));
});
test.after.always(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

/** A fresh folder for one case, optionally a copy of a saved one. */
function caseDir(copyOf?: string): string {
  const dir = join(root, `case${cases++}`);
  if (copyOf) cpSync(copyOf, dir, { recursive: true });
  else mkdirSync(dir);
  return dir;
}

type ErrorClass = new (message: string) => AdapterFusionError;

interface Expected {
  cls: ErrorClass;
  /** What is wrong. */
  message: RegExp;
  /** The path the message must name. */
  path: string;
}

/** The call fails with exactly `e.cls` and its code, naming `e.path` and saying what is wrong. */
async function expectError(t: ExecutionContext, name: string, run: () => Promise<unknown>, e: Expected): Promise<void> {
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
async function snapshot(m: BertModel): Promise<unknown> {
  const values: Record<string, string> = {};
  for (const p of m.parameters()) {
    const v = await m.getParameter(p.name);
    values[p.name] = Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
  }
  return { params: m.parameters(), adapters: m.adapters(), heads: m.heads(), fusions: m.adapterFusions(), activeHead: m.activeHead(), values };
}

/** The model the loaders load into: adapters a and b (no fusion), head "keep", a active. */
async function target(): Promise<BertModel> {
  const m = await createModel(CONFIG, { seed: 7, threads: 1 });
  await m.addAdapter('a', { reductionFactor: 4, seed: 8 });
  await m.addAdapter('b', { reductionFactor: 4, seed: 9 });
  await m.addClassificationHead('keep', { numLabels: 2, seed: 10 });
  await m.setActiveAdapters('a', { head: 'keep' });
  return m;
}

type Kind = 'adapter' | 'head' | 'fusion';
const FILES: Record<Kind, { src: () => string; config: string; weights: string; bin: string }> = {
  adapter: { src: () => src.a, config: 'adapter_config.json', weights: 'adapter.safetensors', bin: 'pytorch_adapter.bin' },
  head: { src: () => src.h, config: 'head_config.json', weights: 'model_head.safetensors', bin: 'pytorch_model_head.bin' },
  fusion: { src: () => src.ab, config: 'adapter_fusion_config.json', weights: 'model_adapter_fusion.safetensors', bin: 'pytorch_model_adapter_fusion.bin' },
};

/** Loads `dir` as a module of `kind` (an adapter as "x", so it never collides with a, b). */
function load(m: BertModel, kind: Kind, dir: string): Promise<string> {
  return kind === 'adapter' ? m.loadAdapter(dir, { loadAs: 'x' }) : kind === 'head' ? m.loadHead(dir) : m.loadAdapterFusion(dir);
}

/** A load that must fail as `e` says and leave `m` exactly as it was. */
async function expectLoadError(t: ExecutionContext, m: BertModel, name: string, kind: Kind, dir: string, e: Expected): Promise<void> {
  const before = await snapshot(m);
  await expectError(t, name, () => load(m, kind, dir), e);
  t.deepEqual(await snapshot(m), before, `${name}: the model changed`);
}

const rssMB = () => process.memoryUsage().rss / MB;

// ------------------------------------------------------------------ safetensors

const t4 = (begin: number, end: number, shape = [1], dtype = 'F32') => ({ dtype, shape, data_offsets: [begin, end] });
/** A good two-tensor file: a = [2] at [0, 8), b = [1] at [8, 12). */
const goodSt = () => safetensorsBytes({ a: t4(0, 8, [2]), b: t4(8, 12) }, new Uint8Array(new Float32Array([1, 2, 3]).buffer));

interface StCase {
  name: string;
  bytes: () => Buffer;
  cls: ErrorClass;
  message: RegExp;
  /** Checked: the RSS grows by less than this many MiB (nothing sized by the hostile number is allocated). */
  maxGrowthMB?: number;
}

const stCases: StCase[] = [
  { name: 'an empty file', bytes: () => Buffer.alloc(0), cls: InvalidFileError, message: /file is 0 bytes, too short for the 8-byte header length/ },
  { name: 'truncated in the length prefix', bytes: () => goodSt().bytes.subarray(0, 5), cls: InvalidFileError, message: /file is 5 bytes, too short for the 8-byte header length/ },
  { name: 'only the length prefix', bytes: () => goodSt().bytes.subarray(0, 8), cls: InvalidFileError, message: /header length \d+ runs past the end of the file \(8 bytes\)/ },
  { name: 'truncated inside the header', bytes: () => goodSt().bytes.subarray(0, 20), cls: InvalidFileError, message: /header length \d+ runs past the end of the file \(20 bytes\)/ },
  { name: 'truncated inside the data', bytes: () => { const g = goodSt(); return g.bytes.subarray(0, g.bytes.length - 2); }, cls: InvalidFileError, message: /tensor "b": data range \[8, 12\) runs past the end of the data section \(10 bytes; is the file truncated\?\)/ },
  { name: 'a header length of 2^63', bytes: () => safetensorsBytes({}, 0, { headerLength: 2n ** 63n }).bytes, cls: InvalidFileError, message: /header length 9223372036854775808 exceeds the limit/, maxGrowthMB: 64 },
  { name: 'a header length of 2^64-1', bytes: () => safetensorsBytes({}, 0, { headerLength: 2n ** 64n - 1n }).bytes, cls: InvalidFileError, message: /header length 18446744073709551615 exceeds the limit/, maxGrowthMB: 64 },
  { name: 'a header length of 0', bytes: () => safetensorsBytes('', 0).bytes, cls: InvalidFileError, message: /header: invalid JSON at byte 0/ },
  { name: 'huge dimensions whose byte size overflows', bytes: () => safetensorsBytes({ a: t4(0, 4, [2 ** 31, 2 ** 31]) }, 4).bytes, cls: InvalidFileError, message: /tensor "a": byte size of shape \[2147483648, 2147483648\] overflows 64 bits/, maxGrowthMB: 64 },
  { name: 'huge dimensions with matching offsets in a tiny file', bytes: () => safetensorsBytes({ a: t4(0, 2 ** 52, [2 ** 50]) }, 4).bytes, cls: InvalidFileError, message: /tensor "a": data range \[0, 4503599627370496\) runs past the end of the data section \(4 bytes/, maxGrowthMB: 64 },
  { name: 'data_offsets past EOF', bytes: () => safetensorsBytes({ a: t4(0, 4096, [1024]) }, 4).bytes, cls: InvalidFileError, message: /tensor "a": data range \[0, 4096\) runs past the end of the data section/ },
  { name: 'overlapping offsets', bytes: () => safetensorsBytes({ a: t4(0, 8, [2]), b: t4(4, 8) }, 8).bytes, cls: InvalidFileError, message: /tensor "b": data range \[4, 8\) overlaps tensor "a" at \[0, 8\)/ },
  { name: 'reversed offsets', bytes: () => safetensorsBytes({ a: t4(4, 0, [0]) }, 4).bytes, cls: InvalidFileError, message: /tensor "a": data_offsets begin 4 is after end 0/ },
  { name: 'a negative offset', bytes: () => safetensorsBytes({ a: t4(-4, 0) }, 4).bytes, cls: InvalidFileError, message: /tensor "a": data_offsets\[0\]: expected a non-negative integer, got -4/ },
  { name: 'an unknown dtype', bytes: () => safetensorsBytes({ a: t4(0, 4, [1], 'float32') }, 4).bytes, cls: InvalidFileError, message: /tensor "a": unknown dtype "float32"/ },
  {
    name: 'a duplicate tensor key in the header',
    bytes: () => safetensorsBytes('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', 8).bytes,
    cls: InvalidFileError,
    message: /header: invalid JSON at byte \d+: duplicate key "a"/,
  },
  {
    name: 'a duplicate __metadata__ key',
    bytes: () => safetensorsBytes('{"__metadata__":{"k":"1","k":"2"},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', 4).bytes,
    cls: InvalidFileError,
    message: /header: invalid JSON at byte \d+: duplicate key "k"/,
  },
  {
    name: 'non-UTF-8 bytes in the header',
    bytes: () => safetensorsBytes(Buffer.from('{"\xff":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', 'latin1'), 4).bytes,
    cls: InvalidFileError,
    message: /header is not valid UTF-8/,
  },
  { name: 'a header nested 100k arrays deep', bytes: () => safetensorsBytes(nestedArrays(DEEP), 0).bytes, cls: InvalidFileError, message: /header: invalid JSON at byte \d+: nesting deeper than 128 levels/ },
  { name: 'a header nested 100k objects deep', bytes: () => safetensorsBytes(nestedObjects(DEEP), 0).bytes, cls: InvalidFileError, message: /header: invalid JSON at byte \d+: nesting deeper than 128 levels/ },
];

test.serial('safetensors: every malformed file is refused by readSafetensors, loadModel and the adapter/head/fusion loaders', async (t) => {
  t.timeout(120_000);
  const m = await target();
  try {
    for (const c of stCases) {
      const bytes = c.bytes();
      const rss0 = rssMB();
      // readSafetensors
      const file = join(caseDir(), 'x.safetensors');
      writeFileSync(file, bytes);
      await expectError(t, `readSafetensors, ${c.name}`, () => readSafetensors(file), { cls: c.cls, message: c.message, path: file });
      // loadModel: the checkpoint's model.safetensors
      const ckpt = caseDir(src.model);
      writeFileSync(join(ckpt, 'model.safetensors'), bytes);
      await expectError(t, `loadModel, ${c.name}`, () => loadModel(ckpt), { cls: c.cls, message: c.message, path: join(ckpt, 'model.safetensors') });
      // the loaders: the module's weights file; the model stays as it was
      for (const kind of ['adapter', 'head', 'fusion'] as const) {
        const dir = caseDir(FILES[kind].src());
        const weights = join(dir, FILES[kind].weights);
        writeFileSync(weights, bytes);
        await expectLoadError(t, m, `${kind} weights, ${c.name}`, kind, dir, { cls: c.cls, message: c.message, path: weights });
      }
      if (c.maxGrowthMB !== undefined) t.true(rssMB() - rss0 < c.maxGrowthMB, `${c.name}: RSS grew by ${Math.round(rssMB() - rss0)} MiB`);
    }

    // A directory where the file is expected, and a missing file.
    const dirFile = join(caseDir(), 'x.safetensors');
    mkdirSync(dirFile);
    await expectError(t, 'readSafetensors of a directory', () => readSafetensors(dirFile), { cls: IoError, message: /./, path: dirFile });
    await expectError(t, 'readSafetensors of a missing file', () => readSafetensors(join(root, 'nope.safetensors')), { cls: IoError, message: /./, path: join(root, 'nope.safetensors') });
    const ckpt = caseDir(src.model);
    rmSync(join(ckpt, 'model.safetensors'));
    mkdirSync(join(ckpt, 'model.safetensors'));
    // (The native message says "file not found" for a directory today; any IoError naming the file will do.)
    await expectError(t, 'loadModel, model.safetensors is a directory', () => loadModel(ckpt), { cls: IoError, message: /model\.safetensors: /, path: join(ckpt, 'model.safetensors') });
    for (const kind of ['adapter', 'head', 'fusion'] as const) {
      const dir = caseDir(FILES[kind].src());
      rmSync(join(dir, FILES[kind].weights));
      mkdirSync(join(dir, FILES[kind].weights));
      const e = { cls: IoError, message: new RegExp(`no weights file \\(neither ${FILES[kind].weights.replace('.', '\\.')} nor ${FILES[kind].bin.replace('.', '\\.')}\\)`), path: dir };
      await expectLoadError(t, m, `${kind} weights file is a directory`, kind, dir, e);
      rmSync(join(dir, FILES[kind].weights), { recursive: true });
      await expectLoadError(t, m, `${kind} weights file missing`, kind, dir, e);
    }

    // Unsorted offsets are valid (the reference parser sorts them): the file reads, values intact.
    const unsorted = join(caseDir(), 'unsorted.safetensors');
    writeFileSync(unsorted, safetensorsBytes({ b: t4(4, 8), a: t4(0, 4) }, new Uint8Array(new Float32Array([1.5, -2.5]).buffer)).bytes);
    const { tensors } = await readSafetensors(unsorted);
    const by = Object.fromEntries(tensors.map((x) => [x.name, Array.from(x.data as Float32Array)]));
    t.deepEqual(by, { a: [1.5], b: [-2.5] });

    // The model still runs after all of that.
    const out = await m.predict({ inputIds: new Int32Array([1, 2, 3]), batchSize: 1, seqLen: 3 });
    t.true(out.logits.every(Number.isFinite));
  } finally {
    m.dispose();
  }
});

// ------------------------------------------------------------------ config.json (loadModel)

test.serial('config.json: malformed, hostile and misplaced files are refused by loadModel, naming the file', async (t) => {
  t.timeout(60_000);
  const good = readFileSync(join(src.model, 'config.json'), 'utf8');
  const body = good.trim().slice(1, -1);
  // `names`: the file the message must name, when not config.json.
  const cfgCases: { name: string; write: (path: string) => void; cls: ErrorClass; message: RegExp; names?: string }[] = [
    { name: 'an empty file', write: (p) => writeFileSync(p, ''), cls: InvalidFileError, message: /invalid JSON at byte 0: unexpected end of input/ },
    {
      name: 'non-UTF-8 bytes',
      write: (p) => writeFileSync(p, Buffer.concat([Buffer.from('{"model_type": "bert\xff", ', 'latin1'), Buffer.from(body + '}')])),
      cls: InvalidFileError,
      message: /invalid JSON at byte \d+: invalid UTF-8 in string/,
    },
    { name: '100k nested arrays', write: (p) => writeFileSync(p, `{"x": ${nestedArrays(DEEP)}, ${body}}`), cls: InvalidFileError, message: /invalid JSON at byte \d+: nesting deeper than 128 levels/ },
    { name: '100k nested objects', write: (p) => writeFileSync(p, `{"x": ${nestedObjects(DEEP)}, ${body}}`), cls: InvalidFileError, message: /invalid JSON at byte \d+: nesting deeper than 128 levels/ },
    // Duplicate keys: the last one counts (as Python's json), so a bad last value is the error.
    { name: 'a duplicate key whose last value is wrong', write: (p) => writeFileSync(p, `{${body}, "num_attention_heads": 5}`), cls: InvalidFileError, message: /hidden_size 16 is not a multiple of num_attention_heads 5/ },
    { name: 'a byte-order mark', write: (p) => writeFileSync(p, '\ufeff' + good), cls: InvalidFileError, message: /invalid JSON at byte 0: unexpected byte 0xEF/ },
    { name: 'a NaN literal', write: (p) => writeFileSync(p, `{${body}, "layer_norm_eps": NaN}`), cls: InvalidFileError, message: /invalid JSON at byte \d+: unexpected character 'N'/ },
    { name: 'an integer far out of range', write: (p) => writeFileSync(p, `{${body}, "vocab_size": 123456789012345678901234567890}`), cls: InvalidFileError, message: /field "vocab_size" must be an integer in \[0, 1048576\], got 123456789012345678901234567890/ },
    { name: 'a top-level array', write: (p) => writeFileSync(p, '[]'), cls: InvalidFileError, message: /expected a JSON object/ },
    {
      name: 'a sparse 17 MiB file',
      write: (p) => {
        writeFileSync(p, good);
        truncateSync(p, 17 * MB);
      },
      cls: InvalidFileError,
      message: /config file larger than 16 MiB/,
    },
    { name: 'a directory', write: (p) => mkdirSync(p), cls: IoError, message: /config\.json: is a folder or a special file, not a file/ },
    { name: 'a number beyond double range', write: (p) => writeFileSync(p, `{${body}, "layer_norm_eps": 1e400}`), cls: InvalidFileError, message: /config\.json: field "layer_norm_eps": number 1e400 is out of the range of a double/ },
    {
      // Sizes far beyond the weights beside it: refused from the file's tensor shapes before the
      // model is allocated (2^20 of everything would need terabytes).
      name: 'dimensions far beyond the weights file',
      write: (p) => writeFileSync(p, JSON.stringify({ ...JSON.parse(good), vocab_size: 1 << 20, hidden_size: 1 << 20, intermediate_size: 1 << 20, num_attention_heads: 1, max_position_embeddings: 1 << 20 })),
      cls: ShapeMismatchError,
      message: /model\.safetensors: tensor "[^"]+" has shape \[[\d, ]+\] but config\.json implies \[\d+(, \d+)?\]/,
      names: 'model.safetensors',
    },
    { name: 'no file', write: () => undefined, cls: IoError, message: /config\.json: file not found/ },
  ];
  for (const c of cfgCases) {
    const dir = caseDir(src.model);
    const path = join(dir, 'config.json');
    rmSync(path);
    c.write(path);
    await expectError(t, `config.json, ${c.name}`, () => loadModel(dir), { cls: c.cls, message: c.message, path: c.names ? join(dir, c.names) : path });
  }
  // The duplicate key the other way round: the good last value wins and the model loads.
  const dir = caseDir(src.model);
  writeFileSync(join(dir, 'config.json'), `{"num_attention_heads": 5, ${body}}`);
  const m = await loadModel(dir);
  t.is(m.config.numAttentionHeads, CONFIG.num_attention_heads);
  m.dispose();
  await expectError(t, 'loadModel of a missing folder', () => loadModel(join(root, 'no-such-model')), { cls: IoError, message: /not a folder/, path: join(root, 'no-such-model') });
});

// ------------------------------------------------------------------ adapter / head / fusion JSON configs

test.serial('adapter_config.json, head_config.json, adapter_fusion_config.json: refused, naming the file; the model unchanged', async (t) => {
  t.timeout(120_000);
  const jsonCases: { name: string; edit: (path: string, text: string) => void; cls: ErrorClass; message: RegExp }[] = [
    { name: 'an empty file', edit: (p) => writeFileSync(p, ''), cls: InvalidFileError, message: /invalid JSON: unexpected end of input at character 0/ },
    { name: 'only whitespace', edit: (p) => writeFileSync(p, '  \n'), cls: InvalidFileError, message: /invalid JSON: unexpected end of input/ },
    { name: 'non-UTF-8 bytes', edit: (p, s) => writeFileSync(p, Buffer.concat([Buffer.from('{"x": "\xff\xfe", ', 'latin1'), Buffer.from(s.trim().slice(1))])), cls: InvalidFileError, message: /not valid UTF-8/ },
    { name: '100k nested arrays', edit: (p, s) => writeFileSync(p, s.replace(/^\{/, `{"x": ${nestedArrays(DEEP)},`)), cls: InvalidFileError, message: /invalid JSON: nesting deeper than 256/ },
    { name: '100k nested objects', edit: (p, s) => writeFileSync(p, s.replace(/^\{/, `{"x": ${nestedObjects(DEEP)},`)), cls: InvalidFileError, message: /invalid JSON: nesting deeper than 256/ },
    // Python's json keeps the last of duplicate keys; so does the loader.
    { name: 'a duplicate "config" key whose last value is a number', edit: (p, s) => writeFileSync(p, s.replace(/\}\s*$/, ', "config": 5}')), cls: InvalidFileError, message: /"config" must be an object/ },
    { name: 'a number beyond double range', edit: (p, s) => writeFileSync(p, s.replace(/\}\s*$/, ', "x": 1e400}')), cls: InvalidFileError, message: /invalid JSON: number out of range/ },
    { name: 'a NaN literal', edit: (p, s) => writeFileSync(p, s.replace(/\}\s*$/, ', "x": NaN}')), cls: InvalidFileError, message: /invalid JSON: unexpected character "N"/ },
    { name: 'a byte-order mark', edit: (p, s) => writeFileSync(p, '\ufeff' + s), cls: InvalidFileError, message: /invalid JSON: byte order mark/ },
    { name: 'a NUL byte after the object', edit: (p, s) => writeFileSync(p, s + '\0'), cls: InvalidFileError, message: /invalid JSON: unexpected data after the JSON value/ },
    { name: 'a top-level array', edit: (p) => writeFileSync(p, '[{}]'), cls: InvalidFileError, message: /the top level must be a JSON object, not list/ },
    {
      name: 'a sparse 17 MiB file',
      edit: (p) => truncateSync(p, 17 * MB),
      cls: InvalidFileError,
      message: /17825792 bytes is too large for a config file/,
    },
    {
      name: 'a directory',
      edit: (p) => {
        rmSync(p);
        mkdirSync(p);
      },
      cls: IoError,
      message: /not a regular file/,
    },
    { name: 'no file', edit: (p) => rmSync(p), cls: IoError, message: /cannot read: no such file or directory/ },
  ];
  const m = await target();
  try {
    for (const kind of ['adapter', 'head', 'fusion'] as const) {
      for (const c of jsonCases) {
        const dir = caseDir(FILES[kind].src());
        const path = join(dir, FILES[kind].config);
        c.edit(path, readFileSync(path, 'utf8'));
        await expectLoadError(t, m, `${FILES[kind].config}, ${c.name}`, kind, dir, { cls: c.cls, message: c.message, path });
      }
      await expectLoadError(t, m, `${kind}: a missing folder`, kind, join(root, 'no-such-folder'), { cls: IoError, message: /cannot open folder/, path: join(root, 'no-such-folder') });
    }
    // The unedited folders load (so each refusal above is the edit's doing).
    const fresh = await target();
    try {
      for (const kind of ['adapter', 'head', 'fusion'] as const) await load(fresh, kind, FILES[kind].src());
      t.deepEqual(fresh.adapters().sort(), ['a', 'b', 'x']);
      t.deepEqual(fresh.adapterFusions(), ['a,b']);
    } finally {
      fresh.dispose();
    }
  } finally {
    m.dispose();
  }
});

// ------------------------------------------------------------------ PyTorch .bin: ZIP

const six = new Float32Array([0, 1, 2, 3, 4, 5]);
const sixBytes = new Uint8Array(six.buffer);
/** A torch archive holding `pickle` and one 6-float storage "0". */
const archive = (pickle: Uint8Array, opts: { name?: string; deflate?: Set<string>; storages?: Uint8Array[] } = {}) =>
  zipBytes(torchEntries(opts.name ?? 'archive', pickle, opts.storages ?? [sixBytes], { deflate: opts.deflate })).bytes;
/** A state dict {"w": <value pickled by `inner`>}. */
const dictOf = (inner: (p: Pickle) => Pickle) => inner(new Pickle().proto(2).emptyDict().mark().str('w')).setitems().stop().bytes();
const wPickle = () => stateDictPickle([{ name: 'w', shape: [2, 3] }]);

function patched(z: ZipLayout, edit: (b: Buffer) => void): Buffer {
  const b = Buffer.from(z.bytes);
  edit(b);
  return b;
}

/** `z` with a ZIP64 end record + locator inserted before its end record. */
function withZip64(z: ZipLayout, o: { entries?: bigint; recordOffset?: bigint }): Buffer {
  const cdSize = z.end - z.centralDirectory;
  const n = BigInt(z.local.length);
  const rec = Buffer.alloc(56);
  rec.writeUInt32LE(0x06064b50, 0);
  rec.writeBigUInt64LE(44n, 4);
  rec.writeUInt16LE(45, 12);
  rec.writeUInt16LE(45, 14);
  rec.writeBigUInt64LE(o.entries ?? n, 24);
  rec.writeBigUInt64LE(o.entries ?? n, 32);
  rec.writeBigUInt64LE(BigInt(cdSize), 40);
  rec.writeBigUInt64LE(BigInt(z.centralDirectory), 48);
  const loc = Buffer.alloc(20);
  loc.writeUInt32LE(0x07064b50, 0);
  loc.writeBigUInt64LE(o.recordOffset ?? BigInt(z.end), 8);
  loc.writeUInt32LE(1, 16);
  return Buffer.concat([z.bytes.subarray(0, z.end), rec, loc, z.bytes.subarray(z.end)]);
}

interface BinCase {
  name: string;
  bytes: () => Buffer;
  cls: ErrorClass;
  message: RegExp;
  maxGrowthMB?: number;
}

const zipCases: BinCase[] = [
  { name: 'an empty file', bytes: () => Buffer.alloc(0), cls: InvalidFileError, message: /0 bytes is too short for a ZIP archive/ },
  { name: 'text, not a ZIP', bytes: () => Buffer.from('not a zip archive, just some text\n'), cls: InvalidFileError, message: /no ZIP end-of-central-directory record \(not a ZIP archive, or truncated\)/ },
  { name: 'truncated in the first local header', bytes: () => goodBin().bytes.subarray(0, 10), cls: InvalidFileError, message: /10 bytes is too short for a ZIP archive/ },
  { name: 'truncated in a later local header', bytes: () => goodBin().bytes.subarray(0, goodBin().local[2] + 12), cls: InvalidFileError, message: /no ZIP end-of-central-directory record/ },
  { name: 'truncated in an entry\'s data', bytes: () => goodBin().bytes.subarray(0, goodBin().data[3] + 5), cls: InvalidFileError, message: /no ZIP end-of-central-directory record/ },
  { name: 'truncated in the central directory', bytes: () => goodBin().bytes.subarray(0, goodBin().central[1] + 10), cls: InvalidFileError, message: /no ZIP end-of-central-directory record/ },
  { name: 'truncated in the end record', bytes: () => goodBin().bytes.subarray(0, goodBin().end + 10), cls: InvalidFileError, message: /no ZIP end-of-central-directory record/ },
  { name: 'a central directory offset past EOF', bytes: () => patched(goodBin(), (b) => b.writeUInt32LE(b.length + 100, goodBin().end + 16)), cls: InvalidFileError, message: /central directory \[\d+, \+\d+\) lies outside the file/ },
  { name: 'a 4 GiB central directory size', bytes: () => patched(goodBin(), (b) => b.writeUInt32LE(0xfffffff0, goodBin().end + 12)), cls: InvalidFileError, message: /central directory \[\d+, \+4294967280\) lies outside the file/, maxGrowthMB: 64 },
  {
    name: 'an entry count of 65534',
    bytes: () => patched(goodBin(), (b) => {
      b.writeUInt16LE(0xfffe, goodBin().end + 8);
      b.writeUInt16LE(0xfffe, goodBin().end + 10);
    }),
    cls: InvalidFileError,
    message: /65534 entries cannot fit in a central directory of \d+ bytes/,
    maxGrowthMB: 64,
  },
  { name: 'a ZIP64 entry count of 2^60', bytes: () => withZip64(goodBin(), { entries: 2n ** 60n }), cls: InvalidFileError, message: /1152921504606846976 entries cannot fit/, maxGrowthMB: 64 },
  { name: 'a ZIP64 end record offset past EOF', bytes: () => withZip64(goodBin(), { recordOffset: 2n ** 40n }), cls: InvalidFileError, message: /ZIP64 end record offset 1099511627776 lies outside the file/ },
  { name: 'a local header offset past EOF', bytes: () => patched(goodBin(), (b) => b.writeUInt32LE(0x7fffff00, goodBin().central[0] + 42)), cls: InvalidFileError, message: /entry "archive\/data\.pkl": local header offset 2147483392 lies outside the entry area/ },
  {
    name: 'an entry size past EOF',
    bytes: () => patched(goodBin(), (b) => {
      b.writeUInt32LE(0x7fffff00, goodBin().central[2] + 20);
      b.writeUInt32LE(0x7fffff00, goodBin().central[2] + 24);
    }),
    cls: InvalidFileError,
    message: /entry "archive\/data\/0": data \[\d+, \+2147483392\) runs past the entry area/,
    maxGrowthMB: 64,
  },
  { name: 'a local header naming another entry', bytes: () => patched(goodBin(), (b) => (b[goodBin().local[0] + 30] ^= 1)), cls: InvalidFileError, message: /local header names a different entry/ },
  { name: 'an entry twice', bytes: () => zipBytes([...torchEntries('archive', wPickle(), [sixBytes]), { name: 'archive/data/0', data: sixBytes }]).bytes, cls: InvalidFileError, message: /entry "archive\/data\/0" appears twice/ },
  { name: 'no data.pkl', bytes: () => zipBytes(torchEntries('archive', wPickle(), [sixBytes]).slice(1)).bytes, cls: InvalidFileError, message: /no "archive\/data\.pkl" in the archive/ },
  { name: 'path traversal in the archive name', bytes: () => archive(wPickle(), { name: '../../../tmp/af-evil' }), cls: InvalidFileError, message: /no "\.\.\/data\.pkl" in the archive/ },
  { name: 'an absolute archive name', bytes: () => archive(wPickle(), { name: '/tmp/af-evil' }), cls: InvalidFileError, message: /not a torch\.save archive \(first entry "\/tmp\/af-evil\/data\.pkl"\)/ },
  {
    name: 'path traversal in a storage key',
    bytes: () => archive(dictOf((p) => p.tensor('../../../../etc/passwd', 6, [2, 3]))),
    cls: InvalidFileError,
    message: /storage "archive\/data\/\.\.\/\.\.\/\.\.\/\.\.\/etc\/passwd" is missing from the archive/,
  },
  { name: 'a deflated storage', bytes: () => archive(wPickle(), { deflate: new Set(['archive/data/0']) }), cls: UnsupportedError, message: /storage "archive\/data\/0" is compressed or encrypted/ },
  {
    name: 'a deflated data.pkl',
    bytes: () => zipBytes(torchEntries('archive', wPickle(), [sixBytes]).map((e, i) => (i === 0 ? { ...e, deflate: true } : e))).bytes,
    cls: UnsupportedError,
    message: /entry "archive\/data\.pkl" is compressed \(method 8\)/,
  },
  {
    name: 'a big-endian byteorder record',
    bytes: () => zipBytes(torchEntries('archive', wPickle(), [sixBytes]).map((e) => (e.name.endsWith('/byteorder') ? { ...e, data: Buffer.from('big') } : e))).bytes,
    cls: UnsupportedError,
    message: /big-endian torch archives are not supported/,
  },
];

/** The saved adapter "a" as a torch .bin (built here; read back by the control case). */
let goodBinCache: ZipLayout | null = null;
const goodBin = () => (goodBinCache ??= torchBin(adapterTensors));

// ------------------------------------------------------------------ PyTorch .bin: pickle

const LONG1_2_62 = [0x8a, 8, 0, 0, 0, 0, 0, 0, 0, 0x40]; // LONG1 of 2^62

const pickleCases: BinCase[] = [
  { name: 'GLOBAL os.system', bytes: () => archive(dictOf((p) => p.global('os', 'system').str('touch /tmp/af_malformed_pwned').tuple1().reduce())), cls: UnsupportedError, message: /refused global "os\.system"/ },
  { name: 'GLOBAL posix.system', bytes: () => archive(dictOf((p) => p.global('posix', 'system').str('touch /tmp/af_malformed_pwned').tuple1().reduce())), cls: UnsupportedError, message: /refused global "posix\.system"/ },
  {
    name: 'STACK_GLOBAL builtins.eval',
    bytes: () => archive(new Pickle().proto(4).emptyDict().mark().raw([0x8c, 1]).raw('w').raw([0x8c, 8]).raw('builtins').raw([0x8c, 4]).raw('eval').raw([0x93]).str('1').tuple1().reduce().setitems().stop().bytes()),
    cls: UnsupportedError,
    message: /refused global "builtins\.eval"/,
  },
  { name: 'GLOBAL torch.load', bytes: () => archive(dictOf((p) => p.global('torch', 'load').str('/dev/null').tuple1().reduce())), cls: UnsupportedError, message: /refused global "torch\.load"/ },
  { name: 'REDUCE on a storage type', bytes: () => archive(dictOf((p) => p.global('torch', 'FloatStorage').emptyTuple().reduce())), cls: UnsupportedError, message: /refused call of "torch\.FloatStorage"/ },
  { name: 'REDUCE on a string', bytes: () => archive(dictOf((p) => p.str('os.system').emptyTuple().reduce())), cls: UnsupportedError, message: /REDUCE of a str, not a global/ },
  { name: 'REDUCE of OrderedDict with arguments', bytes: () => archive(dictOf((p) => p.global('collections', 'OrderedDict').str('x').tuple1().reduce())), cls: UnsupportedError, message: /collections\.OrderedDict called with arguments/ },
  { name: 'BUILD setting another attribute', bytes: () => archive(new Pickle().proto(2).global('collections', 'OrderedDict').emptyTuple().reduce().emptyDict().str('__class__').none().setitem().build().stop().bytes()), cls: UnsupportedError, message: /BUILD sets an attribute other than _metadata/ },
  { name: 'GET of a missing memo key', bytes: () => archive(dictOf((p) => p.binget(7))), cls: InvalidFileError, message: /memo entry 7 was never stored/ },
  { name: 'GET of memo key 2^32-1', bytes: () => archive(dictOf((p) => p.longBinget(0xffffffff))), cls: InvalidFileError, message: /memo entry 4294967295 was never stored/ },
  { name: 'more than 2^21 MEMOIZEs', bytes: () => archive(new Pickle().proto(4).emptyDict().raw(Buffer.alloc((1 << 21) + 1, 0x94)).stop().bytes()), cls: InvalidFileError, message: /memo larger than 2097152 entries/, maxGrowthMB: 512 },
  { name: '100k nested MARKs', bytes: () => archive(new Pickle().proto(2).raw('('.repeat(DEEP)).none().raw('t'.repeat(DEEP)).stop().bytes()), cls: InvalidFileError, message: /MARK nesting deeper than 1000/ },
  { name: '100k nested 1-tuples', bytes: () => archive(new Pickle().proto(2).none().raw(Buffer.alloc(DEEP, 0x85)).stop().bytes()), cls: UnsupportedError, message: /the pickled object is a tuple, not a state dict/ },
  { name: '100k nested lists', bytes: () => archive(new Pickle().proto(2).raw(']'.repeat(DEEP)).raw('a'.repeat(DEEP - 1)).stop().bytes()), cls: UnsupportedError, message: /the pickled object is a list, not a state dict/ },
  { name: '100k nested lists as a value', bytes: () => archive(dictOf((p) => p.raw(']'.repeat(DEEP)).raw('a'.repeat(DEEP - 1)))), cls: UnsupportedError, message: /value of "w" is a list, not a tensor/ },
  { name: 'a key twice in the state dict', bytes: () => archive(new Pickle().proto(2).emptyDict().mark().str('w').tensor('0', 6, [2, 3]).str('w').tensor('0', 6, [2, 3]).setitems().stop().bytes()), cls: InvalidFileError, message: /tensor "w" appears twice/ },
  { name: 'a key that is not UTF-8', bytes: () => archive(new Pickle().proto(2).emptyDict().mark().strBytes(Buffer.from([0x77, 0xff])).tensor('0', 6, [2, 3]).setitems().stop().bytes()), cls: InvalidFileError, message: /string is not valid UTF-8/ },
  { name: 'a string length past the end', bytes: () => archive(new Pickle().proto(2).emptyDict().mark().str('w', 0xffffffff).stop().bytes()), cls: InvalidFileError, message: /the pickle ends in the middle of an opcode/, maxGrowthMB: 64 },
  { name: 'no STOP', bytes: () => archive(new Pickle().proto(2).emptyDict().mark().str('w').tensor('0', 6, [2, 3]).setitems().bytes()), cls: InvalidFileError, message: /the pickle ends without STOP/ },
  { name: 'an unknown opcode', bytes: () => archive(new Pickle().proto(2).emptyDict().raw([0xff]).stop().bytes()), cls: InvalidFileError, message: /unknown pickle opcode 0xFF/ },
  { name: 'a state dict that is a list', bytes: () => archive(new Pickle().proto(2).emptyList().stop().bytes()), cls: UnsupportedError, message: /the pickled object is a list, not a state dict/ },
  { name: 'an unknown storage type (bad dtype)', bytes: () => archive(dictOf((p) => p.tensor('0', 6, [2, 3], { storageType: 'Float8Storage' }))), cls: UnsupportedError, message: /refused global "torch\.Float8Storage"/ },
  { name: 'a view of 2^60 elements on a 6-element storage', bytes: () => archive(dictOf((p) => p.tensor('0', 6, [2 ** 30, 2 ** 30], { stride: [0, 0] }))), cls: UnsupportedError, message: /view has 1152921504606846976 elements but its storage only 6/, maxGrowthMB: 64 },
  {
    name: 'dimensions whose element count overflows',
    bytes: () =>
      archive(dictOf((p) =>
        p.global('torch._utils', '_rebuild_tensor_v2').mark()
          .mark().str('storage').global('torch', 'FloatStorage').str('0').str('cpu').int(6).tuple().binpersid()
          .int(0).mark().raw(LONG1_2_62).raw(LONG1_2_62).tuple().ints([1, 1]).bool(false)
          .global('collections', 'OrderedDict').emptyTuple().reduce().tuple().reduce())),
    cls: InvalidFileError,
    message: /tensor "w": element count overflows 64 bits/,
    maxGrowthMB: 64,
  },
  {
    name: 'a storage of 2^62 elements in a 24-byte entry',
    bytes: () =>
      archive(dictOf((p) =>
        p.global('torch._utils', '_rebuild_tensor_v2').mark()
          .mark().str('storage').global('torch', 'FloatStorage').str('0').str('cpu').raw(LONG1_2_62).tuple().binpersid()
          .int(0).ints([2, 3]).ints([3, 1]).bool(false)
          .global('collections', 'OrderedDict').emptyTuple().reduce().tuple().reduce())),
    cls: InvalidFileError,
    message: /storage "archive\/data\/0" holds 24 bytes, not 4611686018427387904 F32 elements/,
    maxGrowthMB: 64,
  },
  { name: 'strides past the storage', bytes: () => archive(dictOf((p) => p.tensor('0', 6, [2, 3], { stride: [4, 1] }))), cls: InvalidFileError, message: /view \(offset 0\) addresses element 6 of a storage of 6 elements/ },
];

const MARKER = '/tmp/af_malformed_pwned';

test.serial('PyTorch .bin: malformed ZIP archives and hostile pickles are refused by the loaders; nothing runs; the model unchanged', async (t) => {
  t.timeout(180_000);
  const markerBefore = existsSync(MARKER);
  const m = await target();
  try {
    // The control: the adapter's tensors written here as a torch.save archive load, equal to the safetensors.
    const control = caseDir();
    cpSync(join(src.a, 'adapter_config.json'), join(control, 'adapter_config.json'));
    writeFileSync(join(control, 'pytorch_adapter.bin'), goodBin().bytes);
    const fresh = await target();
    try {
      t.is(await fresh.loadAdapter(control, { loadAs: 'x' }), 'x');
      for (const x of adapterTensors) {
        const name = x.name.replace(/^bert\./, '').replace('.adapters.a.', '.adapters.x.');
        t.deepEqual(await fresh.getParameter(name), x.data, name);
      }
    } finally {
      fresh.dispose();
    }

    const all = [...zipCases.map((c) => ({ ...c, group: 'ZIP' })), ...pickleCases.map((c) => ({ ...c, group: 'pickle' }))];
    for (const [i, c] of all.entries()) {
      // Every case through the adapter loader; every third also through the head and fusion loaders.
      const kinds: Kind[] = i % 3 === 0 ? ['adapter', 'head', 'fusion'] : ['adapter'];
      const bytes = c.bytes();
      const rss0 = rssMB();
      for (const kind of kinds) {
        const dir = caseDir(FILES[kind].src());
        rmSync(join(dir, FILES[kind].weights));
        const bin = join(dir, FILES[kind].bin);
        writeFileSync(bin, bytes);
        await expectLoadError(t, m, `${kind} .bin, ${c.group}: ${c.name}`, kind, dir, { cls: c.cls, message: c.message, path: bin });
      }
      if (c.maxGrowthMB !== undefined) t.true(rssMB() - rss0 < c.maxGrowthMB, `${c.name}: RSS grew by ${Math.round(rssMB() - rss0)} MiB`);
    }
    if (!markerBefore) t.false(existsSync(MARKER), 'a hostile pickle ran code');

    // Accepted on purpose, each harmless: an archive named ".." (entry names are never paths:
    // nothing is extracted) and a memo PUT at index 2^32-1 (the memo is a map, as Python's).
    for (const [name, bytes] of [
      ['an archive named ".."', archive(wPickle(), { name: '..' })],
      ['a memo PUT at 2^32-1', archive(new Pickle().proto(2).emptyDict().longBinput(0xffffffff).mark().str('w').tensor('0', 6, [2, 3]).setitems().stop().bytes())],
    ] as const) {
      const dir = caseDir();
      cpSync(join(src.a, 'adapter_config.json'), join(dir, 'adapter_config.json'));
      writeFileSync(join(dir, 'pytorch_adapter.bin'), bytes);
      // Read (the 6-float "w" is no adapter tensor, so the loader then names what is missing).
      await expectLoadError(t, m, `.bin, ${name} (read, then matched)`, 'adapter', dir, { cls: InvalidFileError, message: /pytorch_adapter\.bin: missing tensor/, path: join(dir, 'pytorch_adapter.bin') });
    }
  } finally {
    m.dispose();
  }
});

// ------------------------------------------------------------------ NaN / Inf weights

const mainJs = join(repoRoot, 'dist', 'lib', 'cli', 'main.js');

function cli(args: string[]): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile(process.execPath, [mainJs, ...args], { maxBuffer: 64 * MB, timeout: 60_000 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number' && !err.signal) return reject(err);
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, signal: err?.signal ?? null, stdout, stderr });
    });
    child.stdin!.end('');
  });
}

function writeInput(dir: string, content: string | Buffer): string {
  const path = join(dir, 'in.jsonl');
  writeFileSync(path, content);
  return path;
}

const noStack = (s: string) => !/\n\s+at .+:\d+:\d+\)?/.test(s) && !/internal error/.test(s);


/** Process warnings emitted while `fn` runs (they are delivered on the next tick). */
async function warningsOf(fn: () => Promise<unknown>): Promise<(Error & { code?: string })[]> {
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

test.serial('NaN and Inf weights load, with a warning naming the file and tensor, and predict says the logits are not finite', async (t) => {
  t.timeout(60_000);
  // An adapter whose down-projection bias is NaN, +Inf, -Inf, ...: safetensors and .bin alike.
  const bad = adapterTensors.map((x) =>
    x.name.endsWith('layer.0.output.adapters.a.adapter_down.0.bias') ? { ...x, data: new Float32Array(x.data.length).fill(NaN).fill(Infinity, 1, 2).fill(-Infinity, 2, 3) } : x,
  );
  const st = caseDir(src.a);
  const f = f32Safetensors(bad);
  writeFileSync(join(st, 'adapter.safetensors'), safetensorsBytes(f.header, f.data).bytes);
  const bin = caseDir();
  cpSync(join(src.a, 'adapter_config.json'), join(bin, 'adapter_config.json'));
  writeFileSync(join(bin, 'pytorch_adapter.bin'), torchBin(bad).bytes);
  const input = { inputIds: new Int32Array([1, 2, 3, 4]), batchSize: 1, seqLen: 4 };
  for (const [what, dir, file] of [['adapter.safetensors', st, 'adapter.safetensors'], ['pytorch_adapter.bin', bin, 'pytorch_adapter.bin']] as const) {
    const m = await target();
    try {
      let name = '';
      const warnings = await warningsOf(async () => (name = await m.loadAdapter(dir, { loadAs: 'x' })));
      t.is(name, 'x', `${what}: loads`);
      t.is(warnings.length, 1, `${what}: one warning`);
      t.is(warnings[0]?.code, 'AF_NON_FINITE_WEIGHTS');
      t.true(warnings[0]?.message.includes(join(dir, file)), `${what}: the warning names the file: ${warnings[0]?.message}`);
      t.regex(warnings[0]?.message ?? '', /adapter_down\.0\.bias" holds NaN or Infinity/);
      const v = await m.getParameter('encoder.layer.0.output.adapters.x.adapter_down.0.bias');
      t.true(Number.isNaN(v[0]) && v[1] === Infinity && v[2] === -Infinity, `${what}: values kept as they are`);
      await m.setActiveAdapters('x', { head: 'keep' });
      const out = await m.predict(input);
      t.false(out.logits.some(Number.isFinite), `${what}: the logits are not finite`);
    } finally {
      m.dispose();
    }
  }
  // The CLI: the load warning, then a warning that the logits are not finite, and no label.
  const r = await cli(['predict', '--model', src.model, '--adapter', st, '--head', src.h, '--input', writeInput(caseDir(), '{"input_ids":[1,2,3]}\n')]);
  t.is(r.code, 0, r.stderr);
  const line = JSON.parse(r.stdout) as { logits: unknown[]; label: unknown };
  t.deepEqual(line.logits, [null, null, null]);
  t.is(line.label, null);
  t.regex(r.stderr, /AF_NON_FINITE_WEIGHTS/);
  t.regex(r.stderr, /line 1: the logits are not finite \(NaN or Infinity\), so no label is given/);

  // The base model's weights: loadModel warns and lists the tensors in loadReport().
  const ckpt = caseDir(src.model);
  const { tensors } = await readSafetensors(join(ckpt, 'model.safetensors'));
  const g = f32Safetensors(tensors.map((x) => ({ name: x.name, shape: x.shape, data: x.name === 'embeddings.LayerNorm.weight' ? new Float32Array(x.data.length).fill(NaN) : (x.data as Float32Array) })));
  writeFileSync(join(ckpt, 'model.safetensors'), safetensorsBytes(g.header, g.data).bytes);
  let m: Awaited<ReturnType<typeof loadModel>> | undefined;
  const warnings = await warningsOf(async () => (m = await loadModel(ckpt)));
  try {
    t.deepEqual(m!.loadReport().nonFinite, ['embeddings.LayerNorm.weight']);
    t.is(warnings.length, 1);
    t.true(warnings[0]?.message.includes(join(ckpt, 'model.safetensors')), warnings[0]?.message);
    const out = await m!.forward(input);
    t.false(out.lastHiddenState.some(Number.isFinite), 'model.safetensors with a NaN LayerNorm weight: the hidden states are NaN');
  } finally {
    m?.dispose();
  }
});

// ------------------------------------------------------------------ vocab.txt, tokenizer.json, tokenizer_config.json

const VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'the', 'cat', 'sat', '##s'];
const NAMES = { pad: '[PAD]', unk: '[UNK]', cls: '[CLS]', sep: '[SEP]', mask: '[MASK]' };

test.serial('vocab.txt, tokenizer.json, tokenizer_config.json: refused by Tokenizer.fromPretrained, naming the file', async (t) => {
  t.timeout(60_000);
  const json = bertTokenizerJson(VOCAB, 'vocab.txt', NAMES, {});
  const jsonText = JSON.stringify(json);
  const vocabText = VOCAB.join('\n') + '\n';
  const tokCases: { name: string; files: Record<string, string | Buffer | null>; file: string; cls: ErrorClass; message: RegExp }[] = [
    { name: 'an empty vocab.txt', files: { 'vocab.txt': '' }, file: 'vocab.txt', cls: InvalidFileError, message: /is empty \(expected one token per line\)/ },
    { name: 'a vocab.txt of blank lines', files: { 'vocab.txt': '\n\n\n' }, file: 'vocab.txt', cls: InvalidFileError, message: /has no \[UNK\] token/ },
    { name: 'non-UTF-8 bytes in vocab.txt', files: { 'vocab.txt': Buffer.from('[PAD]\n[UNK]\n\xff\xfe\n', 'latin1') }, file: 'vocab.txt', cls: InvalidFileError, message: /is not valid UTF-8 text/ },
    { name: 'vocab.txt is a directory', files: { 'vocab.txt': null }, file: '', cls: IoError, message: /has neither tokenizer\.json nor vocab\.txt/ },
    { name: 'an empty tokenizer.json', files: { 'tokenizer.json': '' }, file: 'tokenizer.json', cls: InvalidFileError, message: /malformed JSON/ },
    { name: 'non-UTF-8 bytes in tokenizer.json', files: { 'tokenizer.json': Buffer.concat([Buffer.from(jsonText.slice(0, -1)), Buffer.from(',"x":"\xff"}', 'latin1')]) }, file: 'tokenizer.json', cls: InvalidFileError, message: /is not valid UTF-8 text/ },
    {
      name: 'a normalizer nested 10k Sequences deep',
      files: { 'tokenizer.json': jsonText.replace(/"normalizer":\{[^}]*\}/, '"normalizer":' + '{"type":"Sequence","normalizers":['.repeat(10_000) + '{"type":"Lowercase"}' + ']}'.repeat(10_000)) },
      file: 'tokenizer.json',
      cls: InvalidFileError,
      message: /not a usable tokenizer/,
    },
    // Duplicate keys: the last counts (JSON.parse, as Python's json).
    { name: 'a duplicate "model" key without a vocab', files: { 'tokenizer.json': jsonText.slice(0, -1) + ',"model":{"type":"WordPiece"}}' }, file: 'tokenizer.json', cls: InvalidFileError, message: /has no "model" with a "vocab"/ },
    { name: 'a duplicate vocab key whose last id is -1', files: { 'tokenizer.json': jsonText.replace('"cat":6', '"cat":6,"cat":-1') }, file: 'tokenizer.json', cls: InvalidFileError, message: /model\.vocab\["cat"\] = -1 is not a token id/ },
    { name: 'a token id that is a string', files: { 'tokenizer.json': jsonText.replace('"cat":6', '"cat":"six"') }, file: 'tokenizer.json', cls: InvalidFileError, message: /model\.vocab\["cat"\] = "six" is not a token id/ },
    { name: 'a fractional token id', files: { 'tokenizer.json': jsonText.replace('"cat":6', '"cat":6.5') }, file: 'tokenizer.json', cls: InvalidFileError, message: /model\.vocab\["cat"\] = 6\.5 is not a token id/ },
    { name: 'an unknown normalizer', files: { 'tokenizer.json': JSON.stringify({ ...json, normalizer: { type: 'Evil' } }) }, file: 'tokenizer.json', cls: InvalidFileError, message: /not a usable tokenizer: Unknown Normalizer type: Evil/ },
    { name: 'added_tokens that is not a list', files: { 'tokenizer.json': JSON.stringify({ ...json, added_tokens: 'x' }) }, file: 'tokenizer.json', cls: InvalidFileError, message: /not a usable tokenizer/ },
    { name: 'a tokenizer_config.json with a duplicate key whose last value is wrong', files: { 'vocab.txt': vocabText, 'tokenizer_config.json': '{"do_lower_case": true, "do_lower_case": "yes"}' }, file: 'tokenizer_config.json', cls: InvalidFileError, message: /"do_lower_case" must be a boolean, got "yes"/ },
    { name: 'a tokenizer_config.json that is not UTF-8', files: { 'vocab.txt': vocabText, 'tokenizer_config.json': Buffer.from([0x7b, 0xff, 0x7d]) }, file: 'tokenizer_config.json', cls: InvalidFileError, message: /is not valid UTF-8 text/ },
  ];
  for (const c of tokCases) {
    const dir = caseDir();
    for (const [name, content] of Object.entries(c.files)) {
      if (content === null) mkdirSync(join(dir, name));
      else writeFileSync(join(dir, name), content);
    }
    const path = c.file ? join(dir, c.file) : dir;
    await expectError(t, c.name, () => Tokenizer.fromPretrained(dir), { cls: c.cls, message: c.message, path });
  }
  await expectError(t, 'a missing tokenizer folder', () => Tokenizer.fromPretrained(join(root, 'no-such-tokenizer')), { cls: IoError, message: /cannot open tokenizer folder/, path: join(root, 'no-such-tokenizer') });

  // Accepted, as Hugging Face does: 100k-deep nesting under a key nobody reads (JSON.parse is not
  // recursive) and a token listed twice in vocab.txt (the last line's id wins).
  const deep = caseDir();
  writeFileSync(join(deep, 'tokenizer.json'), jsonText.slice(0, -1) + `,"x":${nestedArrays(DEEP)}}`);
  t.deepEqual(Array.from((await Tokenizer.fromPretrained(deep)).encode('the cat').inputIds), [2, 5, 6, 3]);
  const dup = caseDir();
  writeFileSync(join(dup, 'vocab.txt'), [...VOCAB, 'the'].join('\n'));
  t.is((await Tokenizer.fromPretrained(dup)).tokenToId('the'), VOCAB.length);
});

// ------------------------------------------------------------------ task data (loadTask, custom tasks)

test.serial('task data files: unreadable files and bad rows are typed errors naming the file (and line)', async (t) => {
  t.timeout(60_000);
  const rteHead = 'index\tsentence1\tsentence2\tlabel\n';
  const cb = (o: Record<string, unknown> = {}) => JSON.stringify({ premise: 'p', hypothesis: 'h', label: 'neutral', idx: 0, ...o });
  const cosmosHead = 'id,context,question,answer0,answer1,answer2,answer3,label\n';
  const taskCases: { name: string; task: string; file: string; content: string | Buffer | null; cls: ErrorClass; message: RegExp; line?: number }[] = [
    { name: 'an empty TSV', task: 'rte', file: 'dev.tsv', content: '', cls: InvalidFileError, message: /no header row/ },
    { name: 'a TSV row with too few cells', task: 'rte', file: 'dev.tsv', content: rteHead + '0\ta\tb\n', cls: InvalidFileError, message: /:2: 3 cells, the header has 4/ },
    { name: 'a TSV row with an unknown label', task: 'rte', file: 'dev.tsv', content: rteHead + '0\ta\tb\tmaybe\n', cls: InvalidFileError, message: /:2: label "maybe" is not one of "entailment", "not_entailment"/ },
    { name: 'a TSV without a needed column', task: 'rte', file: 'dev.tsv', content: 'index\tsentence1\n0\ta\n', cls: InvalidFileError, message: /no column "sentence2"/ },
    { name: 'non-UTF-8 bytes in a TSV', task: 'rte', file: 'dev.tsv', content: Buffer.concat([Buffer.from(rteHead + '0\tok\tok\tentailment\n'), Buffer.from('1\t\xff\xfe\tb\tentailment\n', 'latin1')]), cls: InvalidFileError, message: /:3: not valid UTF-8 \(at byte offset \d+\)/ },
    { name: 'binary garbage', task: 'rte', file: 'dev.tsv', content: Buffer.from([0, 1, 2, 0xc0, 0x80, 10, 0, 0]), cls: InvalidFileError, message: /:1: not valid UTF-8 \(at byte offset 3\)/ },
    { name: 'a directory', task: 'rte', file: 'dev.tsv', content: null, cls: IoError, message: /EISDIR/ },
    { name: 'a JSONL line that is not JSON', task: 'cb', file: 'val.jsonl', content: cb() + '\n{"premise": \n', cls: InvalidFileError, message: /:2: not valid JSON/ },
    { name: 'a JSONL line nested 100k deep', task: 'cb', file: 'val.jsonl', content: cb() + '\n' + nestedArrays(DEEP) + '\n', cls: InvalidFileError, message: /:2: the line is not a JSON object/ },
    { name: 'a JSONL value nested 100k deep', task: 'cb', file: 'val.jsonl', content: cb({ premise: 'X' }).replace('"X"', nestedObjects(DEEP, '"x"')) + '\n', cls: InvalidFileError, message: /:1: "premise" must be a string/ },
    { name: 'a JSONL duplicate key whose last value is wrong', task: 'cb', file: 'val.jsonl', content: cb().slice(0, -1) + ',"label":"bogus"}\n', cls: InvalidFileError, message: /:1: label "bogus" is not one of/ },
    { name: 'JSONL lines that are not objects', task: 'cb', file: 'val.jsonl', content: '[1,2]\n"x"\nnull\n', cls: InvalidFileError, message: /3 bad rows\n.*:1: the line is not a JSON object\n.*:2: .*\n.*:3: / },
    { name: 'an unclosed CSV quote', task: 'cosmosqa', file: 'valid.csv', content: cosmosHead + 'q1,"unclosed,q,a,b,c,d,1\n', cls: InvalidFileError, message: /:2: a quoted field is not closed/ },
    { name: 'a CSV row with too few cells', task: 'cosmosqa', file: 'valid.csv', content: cosmosHead + 'q1,ctx,q,a,b\n', cls: InvalidFileError, message: /:2: 5 cells, the header has 8/ },
    { name: 'a CSV label out of range', task: 'cosmosqa', file: 'valid.csv', content: cosmosHead + 'q1,ctx,q,a,b,c,d,9\n', cls: InvalidFileError, message: /:2: label "9" is not an integer in \[0, 4\)/ },
  ];
  for (const c of taskCases) {
    const path = join(caseDir(), c.file);
    if (c.content === null) mkdirSync(path);
    else writeFileSync(path, c.content);
    await expectError(t, `${c.task}: ${c.name}`, () => loadTask(c.task, 'dev', { file: path }), { cls: c.cls, message: c.message, path });
  }
  const missing = join(root, 'no-such-dev.tsv');
  await expectError(t, 'rte: a missing file', () => loadTask('rte', 'dev', { file: missing }), { cls: IoError, message: /ENOENT/, path: missing });

  // Custom tasks: the task.json file and its data.
  const quiz = join(fixturesDir, 'data', 'custom', 'quiz');
  const spec = readFileSync(join(quiz, 'task.json'), 'utf8').trim().slice(1, -1);
  const customCases: { name: string; edit: (dir: string) => string; cls: ErrorClass; message: RegExp; file: string }[] = [
    { name: 'an empty task.json', edit: (d) => (writeFileSync(join(d, 'task.json'), ''), join(d, 'task.json')), cls: InvalidFileError, message: /not valid JSON/, file: 'task.json' },
    { name: 'task.json nested 100k deep', edit: (d) => (writeFileSync(join(d, 'task.json'), `{${spec}, "description": ${nestedArrays(DEEP)}}`), join(d, 'task.json')), cls: InvalidFileError, message: /"description" must be a string/, file: 'task.json' },
    { name: 'task.json with a duplicate "name" whose last value is a registered task', edit: (d) => (writeFileSync(join(d, 'task.json'), `{${spec}, "name": "rte"}`), join(d, 'task.json')), cls: InvalidFileError, message: /"name" "rte" is a registered task/, file: 'task.json' },
    {
      name: 'task.json with non-UTF-8 bytes',
      edit: (d) => (writeFileSync(join(d, 'task.json'), Buffer.concat([Buffer.from(`{${spec}, "description": "`), Buffer.from([0xff, 0xfe]), Buffer.from('"}')])), join(d, 'task.json')),
      cls: InvalidFileError,
      message: /:\d+: not valid UTF-8/,
      file: 'task.json',
    },
    { name: 'task.json is a directory', edit: (d) => d, cls: IoError, message: /EISDIR/, file: '' },
    {
      name: 'a data line nested 100k deep',
      edit: (d) => {
        writeFileSync(join(d, 'dev.jsonl'), readFileSync(join(d, 'dev.jsonl'), 'utf8') + `{"story": ${nestedObjects(DEEP, '"s"')}, "question": "q", "opt1": "a", "opt2": "b", "opt3": "c", "answer": 1}\n`);
        return join(d, 'task.json');
      },
      cls: InvalidFileError,
      message: /dev\.jsonl:\d+: "story\.text" is missing/,
      file: 'dev.jsonl',
    },
  ];
  for (const c of customCases) {
    const dir = caseDir(quiz);
    const specPath = c.edit(dir);
    const path = c.file ? join(dir, c.file) : dir;
    await expectError(t, `custom task: ${c.name}`, async () => loadTask(await readCustomTaskFile(specPath), 'dev'), { cls: c.cls, message: c.message, path });
  }
});

// ------------------------------------------------------------------ CLI predict (JSONL input)

test.serial('CLI predict: malformed JSONL input exits 1 with one line naming the input file and line, never a crash', async (t) => {
  t.timeout(180_000);
  const deep = nestedArrays(DEEP);
  const ok = '{"input_ids":[1,2]}';
  const cliCases: { name: string; content: string | Buffer | null; message: RegExp }[] = [
    { name: 'non-UTF-8 bytes', content: Buffer.concat([Buffer.from(ok + '\n{"input_ids":[1,2],"id":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}\n')]), message: /line 2: not valid UTF-8 \(byte 26 of the line\)/ },
    { name: 'a line nested 100k deep', content: `${ok}\n${deep}\n`, message: /line 2: expected a JSON object, got an array/ },
    { name: 'input_ids nested 100k deep', content: `{"input_ids":${deep}}\n`, message: /line 1: "input_ids"\[0\] must be an integer, got an array/ },
    { name: 'an id nested 100k deep', content: `{"input_ids":[1,2],"id":${deep}}\n`, message: /line 1: "id" cannot be written back/ },
    { name: 'a duplicate key whose last value is wrong', content: '{"input_ids":[1,2],"input_ids":[1,99999]}\n', message: /line 1: "input_ids"\[1\] = 99999 is out of range/ },
    { name: 'a NaN literal', content: '{"input_ids":[1,NaN]}\n', message: /line 1: not valid JSON/ },
    { name: 'a number beyond double range', content: '{"input_ids":[1,1e400]}\n', message: /line 1: "input_ids"\[1\] must be an integer, got number Infinity/ },
    { name: 'a byte-order mark', content: '\ufeff' + ok + '\n', message: /line 1: not valid JSON/ },
    { name: 'a NUL byte', content: ok + '\0\n', message: /line 1: not valid JSON/ },
    { name: 'a directory as --input', content: null, message: /--input .*: is a folder, not a file/ },
  ];
  const dir = caseDir();
  const runs = cliCases.map((c, i) => async () => {
    const input = join(dir, `in${i}.jsonl`);
    if (c.content === null) mkdirSync(input);
    else writeFileSync(input, c.content);
    return { c, input, r: await cli(['predict', '--model', src.model, '--adapter', src.a, '--head', src.h, '--input', input, '--threads', '1']) };
  });
  // Two at a time: each is a separate node process.
  const results = [];
  for (let i = 0; i < runs.length; i += 2) results.push(...(await Promise.all(runs.slice(i, i + 2).map((run) => run()))));
  for (const { c, input, r } of results) {
    t.is(r.signal, null, `${c.name}: killed by ${r.signal}`);
    t.is(r.code, 1, `${c.name}: exit code (stderr: ${r.stderr})`);
    t.true(r.stderr.startsWith('adapterfusion: ') && r.stderr.includes(input), `${c.name}: the message does not name ${input}: ${r.stderr}`);
    t.regex(r.stderr, c.message, c.name);
    t.true(noStack(r.stderr), `${c.name}: ${r.stderr}`);
    t.is(r.stdout, '', `${c.name}: no output`);
  }
  const missing = join(dir, 'missing.jsonl');
  const r = await cli(['predict', '--model', src.model, '--adapter', src.a, '--head', src.h, '--input', missing]);
  t.is(r.code, 1);
  t.regex(r.stderr, /^adapterfusion: --input .*missing\.jsonl: no such file/);
  // An empty input is not an error: no lines, no output.
  const empty = join(dir, 'empty.jsonl');
  writeFileSync(empty, '');
  const e = await cli(['predict', '--model', src.model, '--adapter', src.a, '--head', src.h, '--input', empty]);
  t.is(e.code, 0, e.stderr);
  t.is(e.stdout, '');
});
