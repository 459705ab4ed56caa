// Bad checkpoints and bad calls: each gives a typed error naming the file, tensor or
// argument, and never crashes the process.
import test from 'ava';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync, truncateSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DisposedError,
  InvalidArgumentError,
  InvalidFileError,
  IoError,
  ShapeMismatchError,
  UnsupportedError,
  loadModel,
  readSafetensors,
  writeSafetensors,
  type TensorToWrite,
} from '../lib/index.js';
import { fixturesDir } from './helpers/paths.js';

const tinyA = join(fixturesDir, 'bert', 'tiny-a');
const tinyConfig = JSON.parse(readFileSync(join(tinyA, 'config.json'), 'utf8')) as Record<string, unknown>;

// A checkpoint folder made from tiny-a with an edited config and/or weights file.
function checkpoint(edit: { config?: Record<string, unknown> | string; weights?: (path: string) => void; noWeights?: boolean; noConfig?: boolean }): string {
  const dir = mkdtempSync(join(tmpdir(), 'af-ckpt-'));
  if (!edit.noConfig) {
    const config = edit.config === undefined ? tinyConfig : edit.config;
    writeFileSync(join(dir, 'config.json'), typeof config === 'string' ? config : JSON.stringify(config));
  }
  if (!edit.noWeights) {
    copyFileSync(join(tinyA, 'model.safetensors'), join(dir, 'model.safetensors'));
    edit.weights?.(join(dir, 'model.safetensors'));
  }
  return dir;
}

async function rewriteWeights(dir: string, change: (tensors: TensorToWrite[]) => TensorToWrite[]) {
  const path = join(dir, 'model.safetensors');
  const { tensors } = await readSafetensors(path);
  const list = tensors.map((t) => ({ name: t.name, dtype: 'F32' as const, shape: t.shape, data: t.data as Float32Array }));
  await writeSafetensors(path, change(list));
}

const loadCases: [string, () => string | Promise<string>, new (...a: never[]) => Error, RegExp][] = [
  ['a missing folder', () => join(tmpdir(), 'af-does-not-exist'), IoError, /not a folder/],
  ['no config.json', () => checkpoint({ noConfig: true }), IoError, /config\.json: file not found/],
  ['no model.safetensors', () => checkpoint({ noWeights: true }), IoError, /model\.safetensors: file not found/],
  ['config.json that is not JSON', () => checkpoint({ config: '{"hidden_size": 48,' }), InvalidFileError, /config\.json: invalid JSON/],
  ['config.json without hidden_size', () => checkpoint({ config: { ...tinyConfig, hidden_size: undefined } }), InvalidFileError, /hidden_size/],
  ['config.json with hidden_act relu', () => checkpoint({ config: { ...tinyConfig, hidden_act: 'relu' } }), UnsupportedError, /hidden_act/],
  ['config.json with heads not dividing hidden', () => checkpoint({ config: { ...tinyConfig, num_attention_heads: 5 } }), InvalidFileError, /num_attention_heads/],
  ['config.json with a negative size', () => checkpoint({ config: { ...tinyConfig, vocab_size: -3 } }), InvalidFileError, /vocab_size/],
  ['config.json with a fractional size', () => checkpoint({ config: { ...tinyConfig, intermediate_size: 80.5 } }), InvalidFileError, /intermediate_size/],
  ['config.json with model_type roberta', () => checkpoint({ config: { ...tinyConfig, model_type: 'roberta' } }), UnsupportedError, /model_type/],
  ['config.json with relative positions', () => checkpoint({ config: { ...tinyConfig, position_embedding_type: 'relative_key' } }), UnsupportedError, /position_embedding_type/],
  ['weights of another hidden size', () => checkpoint({ config: { ...tinyConfig, hidden_size: 60 } }), ShapeMismatchError, /has shape \[\d+(, \d+)*\] but config\.json implies \[\d+(, 60)?\]/],
  ['weights of another vocabulary', () => checkpoint({ config: { ...tinyConfig, vocab_size: 98 } }), ShapeMismatchError, /word_embeddings/],
  ['more layers in config than in the file', () => checkpoint({ config: { ...tinyConfig, num_hidden_layers: 3 } }), InvalidFileError, /missing, e\.g\. encoder\.layer\.2\./],
  ['fewer layers in config than in the file', () => checkpoint({ config: { ...tinyConfig, num_hidden_layers: 1 } }), InvalidFileError, /encoder\.layer\.1\..*not a parameter/],
  ['a truncated weights file', () => checkpoint({ weights: (p) => truncateSync(p, statSync(p).size - 10) }), InvalidFileError, /model\.safetensors/],
  ['a weights file with a garbage header', () => checkpoint({ weights: (p) => writeFileSync(p, Buffer.from([8, 0, 0, 0, 0, 0, 0, 0, 0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d, 0x20])) }), InvalidFileError, /model\.safetensors/],
  [
    'a weight stored as I32',
    async () => {
      const dir = checkpoint({});
      await rewriteWeights(dir, (l) =>
        l.map((t) => (t.name === 'embeddings.LayerNorm.bias' ? { ...t, dtype: 'I32' as const, data: new Int32Array(t.data.length) } : t)),
      );
      return dir;
    },
    UnsupportedError,
    /embeddings\.LayerNorm\.bias.*I32/,
  ],
  [
    'a tensor present with and without the bert. prefix',
    async () => {
      const dir = checkpoint({});
      await rewriteWeights(dir, (l) => [...l, { ...l.find((t) => t.name === 'embeddings.LayerNorm.bias')!, name: 'bert.embeddings.LayerNorm.bias' }]);
      return dir;
    },
    InvalidFileError,
    /appears twice/,
  ],
  [
    'a missing tensor',
    async () => {
      const dir = checkpoint({});
      await rewriteWeights(dir, (l) => l.filter((t) => t.name !== 'encoder.layer.0.attention.self.key.bias'));
      return dir;
    },
    InvalidFileError,
    /encoder\.layer\.0\.attention\.self\.key\.bias/,
  ],
];

for (const [what, make, cls, message] of loadCases) {
  test(`loadModel rejects ${what}`, async (t) => {
    const dir = await make();
    try {
      const err = await t.throwsAsync(loadModel(dir), { instanceOf: cls as never, message });
      t.truthy((err as { code?: string }).code?.startsWith('ERR_AF_'));
    } finally {
      if (dir.includes('af-ckpt-')) rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('forward and backward reject bad inputs with typed errors', async (t) => {
  const model = await loadModel(tinyA);
  const { vocabSize, maxPositionEmbeddings, hiddenSize } = model.config;
  const ok = { inputIds: new Int32Array([1, 2, 3]), batchSize: 1, seqLen: 3 };
  await t.throwsAsync(model.forward({ ...ok, inputIds: new Int32Array([1, vocabSize, 3]) }), { instanceOf: InvalidArgumentError, message: /inputIds\[1\] = 97 is outside \[0, vocab_size=97\)/ });
  await t.throwsAsync(model.forward({ ...ok, inputIds: new Int32Array([1, -1, 3]) }), { instanceOf: InvalidArgumentError, message: /inputIds\[1\]/ });
  await t.throwsAsync(model.forward({ ...ok, tokenTypeIds: new Int32Array([0, 2, 0]) }), { instanceOf: InvalidArgumentError, message: /tokenTypeIds\[1\]/ });
  await t.throwsAsync(model.forward({ ...ok, attentionMask: new Int32Array([1, 2, 0]) }), { instanceOf: InvalidArgumentError, message: /attentionMask\[1\]/ });
  const long = maxPositionEmbeddings + 1;
  await t.throwsAsync(model.forward({ inputIds: new Int32Array(long).fill(1), batchSize: 1, seqLen: long }), { instanceOf: InvalidArgumentError, message: /max_position_embeddings/ });
  await t.throwsAsync(model.forward({ ...ok, batchSize: 0 }), { instanceOf: TypeError, message: /batchSize/ });
  await t.throwsAsync(model.forward({ ...ok, inputIds: new Int32Array(0), batchSize: 1, seqLen: 0 }), { instanceOf: TypeError, message: /seqLen/ });
  await t.throwsAsync(model.forward({ ...ok, batchSize: 2 }), { instanceOf: RangeError, message: /inputIds must have 6 elements/ });
  await t.throwsAsync(model.forward({ ...ok, inputIds: [1, 2, 3] as unknown as Int32Array }), { instanceOf: TypeError, message: /inputIds must be an Int32Array/ });
  await t.throwsAsync(model.forward({ ...ok, inputIds: new Float32Array(3) as unknown as Int32Array }), { instanceOf: TypeError });
  await t.throwsAsync(model.forward(null as never), { instanceOf: TypeError });
  // backward needs a forward that kept activations, and a gradient of the right size.
  await model.forward(ok);
  await t.throwsAsync(model.backward(new Float32Array(3 * hiddenSize)), { instanceOf: InvalidArgumentError, message: /keepActivations/ });
  await model.forward(ok, { keepActivations: true });
  await t.throwsAsync(model.backward(new Float32Array(5)), { instanceOf: InvalidArgumentError, message: /gradOutput must have/ });
  await t.throwsAsync(model.backward([1, 2] as unknown as Float32Array), { instanceOf: TypeError });
  await t.throwsAsync(model.setTrainable(['no.such.weight']), { instanceOf: InvalidArgumentError, message: /matches no parameter/ });
  await t.throwsAsync(model.getParameter('no.such.weight'), { instanceOf: InvalidArgumentError });
  await t.throwsAsync(model.setParameter('embeddings.LayerNorm.bias', new Float32Array(3)), { instanceOf: ShapeMismatchError, message: new RegExp(`expected ${hiddenSize} values, got 3`) });
  // The model still works after all of that.
  const out = await model.forward(ok);
  t.is(out.lastHiddenState.length, 3 * hiddenSize);
  model.dispose();
  model.dispose();
  t.true(model.disposed);
  await t.throwsAsync(model.forward(ok), { instanceOf: DisposedError });
  t.throws(() => model.parameters(), { instanceOf: DisposedError });
});

test('loadModel rejects bad options', async (t) => {
  await t.throwsAsync(loadModel(tinyA, { device: 'cuda' }), { instanceOf: UnsupportedError, message: /CUDA/ });
  await t.throwsAsync(loadModel(tinyA, { gemm: 'mkl' as never }), { instanceOf: RangeError, message: /gemm/ });
  await t.throwsAsync(loadModel(tinyA, { threads: -1 }), { instanceOf: RangeError, message: /threads/ });
  await t.throwsAsync(loadModel(42 as unknown as string), { instanceOf: TypeError, message: /dir/ });
});
