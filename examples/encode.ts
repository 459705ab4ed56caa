// Example: load a BERT checkpoint, tokenize a few sentences, encode them, and compare their
// mean-pooled embeddings. Usage: node dist/examples/encode.js [model-dir]
// (default: ../shared/models/bert-mini-mlm next to the repository).
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tokenizer, backendInfo, loadModel } from '../lib/index.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dir = process.argv[2] ?? join(repo, '..', 'shared', 'models', 'bert-mini-mlm');
if (!existsSync(join(dir, 'config.json'))) {
  console.error(`No checkpoint at ${dir}. Pass a folder with config.json, model.safetensors and vocab.txt.`);
  process.exit(1);
}

const sentences = [
  'The cat sat on the mat.',
  'A cat was sitting on a rug.',
  'Stock markets fell sharply on Monday.',
  'Shares dropped steeply at the start of the week.',
];

const info = backendInfo();
console.log(`backend: ${info.backend}, GEMM ${info.gemmProvider}/${info.isa}, ${info.threads} threads`);
const tokenizer = await Tokenizer.fromPretrained(dir);
const model = await loadModel(dir);
console.log(`model: ${dir} — ${model.config.numHiddenLayers} layers, hidden ${model.config.hiddenSize}, weights ${model.loadReport().dtype}`);

const batch = tokenizer.encodeBatch(sentences, null, { padding: 'longest', truncation: true, maxLength: 64 });
const started = performance.now();
const { lastHiddenState } = await model.forward(batch);
console.log(`encoded ${batch.batchSize} sentences × ${batch.seqLen} tokens in ${(performance.now() - started).toFixed(1)} ms`);

// Mean over real tokens (attention mask 1), then cosine similarity.
const D = model.config.hiddenSize;
const pooled = sentences.map((_, b) => {
  const v = new Float64Array(D);
  let n = 0;
  for (let l = 0; l < batch.seqLen; l++) {
    if (!batch.attentionMask[b * batch.seqLen + l]) continue;
    n++;
    for (let d = 0; d < D; d++) v[d] += lastHiddenState[(b * batch.seqLen + l) * D + d];
  }
  return v.map((x) => x / n);
});
const cosine = (a: Float64Array, b: Float64Array) => {
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) { ab += a[i] * b[i]; aa += a[i] * a[i]; bb += b[i] * b[i]; }
  return ab / Math.sqrt(aa * bb);
};
console.log('\ncosine similarity of mean-pooled embeddings:');
sentences.forEach((s, i) => {
  const row = sentences.map((_, j) => cosine(pooled[i], pooled[j]).toFixed(3)).join('  ');
  console.log(`  ${row}   ${s}`);
});
model.dispose();
