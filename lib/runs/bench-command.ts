// `bench`: times what a user's runs spend their time on — a forward pass with a head, an ST-A
// training step, a Fusion training step and a Fusion forward — on this machine, for a model
// folder or BERT-base shapes with random weights. Medians of repeated calls after a warm-up.
// (The comparisons against PyTorch / AdapterHub / ONNX Runtime are in bench/.)
import { cpus } from 'node:os';
import { createModel, loadModel, type BatchInput, type BertModel } from '../model/bert-model.js';
import { Fuse } from '../adapters/composition.js';
import { backendInfo } from '../backend-info.js';
import { InvalidArgumentError } from '../errors.js';
import { sfc32 } from '../trainer/random.js';

export interface BenchOptions {
  /** A BERT folder; default: BERT-base shapes (12 layers, 768 hidden) with random weights. */
  model?: string;
  batchSize?: number;
  seqLen?: number;
  /** Adapters in the fusion (default 8). */
  adapters?: number;
  /** Timed repetitions per case (default 5). */
  repeats?: number;
  threads?: number;
  gemm?: 'builtin' | 'openblas';
}

export interface BenchCase {
  name: string;
  /** Median milliseconds per call. */
  ms: number;
  /** Tokens (B·L) per second. */
  tokensPerSecond: number;
}

export interface BenchResult {
  machine: { cpu: string; cores: number; backend: string; gemm: string; isa: string; threads: number };
  model: string;
  batchSize: number;
  seqLen: number;
  adapters: number;
  cases: BenchCase[];
}

/** BERT-base's shapes (bert-base-uncased's config). */
export const BERT_BASE = {
  vocab_size: 30522,
  hidden_size: 768,
  num_hidden_layers: 12,
  num_attention_heads: 12,
  intermediate_size: 3072,
  max_position_embeddings: 512,
  type_vocab_size: 2,
  hidden_act: 'gelu' as const,
};

function batchOf(model: BertModel, B: number, L: number): BatchInput {
  const rand = sfc32(7);
  const ids = new Int32Array(B * L);
  // Ordinary word ids: past BERT's specials and unused slots when the vocabulary has them.
  const lo = model.config.vocabSize > 2000 ? 1000 : Math.min(5, model.config.vocabSize - 1);
  for (let i = 0; i < ids.length; i++) ids[i] = lo + Math.floor(rand() * (model.config.vocabSize - lo));
  return { inputIds: ids, batchSize: B, seqLen: L };
}

async function median(repeats: number, fn: () => Promise<unknown>): Promise<number> {
  await fn(); // warm-up: allocations, packed weights
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

export async function benchCommand(o: BenchOptions = {}): Promise<BenchResult> {
  const B = o.batchSize ?? 8;
  const L = o.seqLen ?? 128;
  const N = o.adapters ?? 8;
  const repeats = o.repeats ?? 5;
  if (N < 2) throw new InvalidArgumentError('bench: a fusion needs at least 2 adapters');
  const mo = { ...(o.threads !== undefined ? { threads: o.threads } : {}), ...(o.gemm !== undefined ? { gemm: o.gemm } : {}) };
  const model = o.model ? await loadModel(o.model, mo) : await createModel(BERT_BASE, { ...mo, seed: 1 });
  try {
    if (L > model.config.maxPositionEmbeddings) throw new InvalidArgumentError(`bench: seq-len ${L} is more than the model's ${model.config.maxPositionEmbeddings} positions`);
    const batch = batchOf(model, B, L);
    const labels = new Int32Array(B).map((_, i) => i % 2);
    const names = Array.from({ length: N }, (_, i) => `a${i}`);
    for (const [i, n] of names.entries()) await model.addAdapter(n, { config: 'pfeiffer', seed: i + 1 });
    await model.addClassificationHead('h', { numLabels: 2 });
    await model.addAdapterFusion(new Fuse(...names), { seed: 1 });
    const step = { lr: 1e-4, seed: 1 };
    const cases: BenchCase[] = [];
    const time = async (name: string, fn: () => Promise<unknown>) => {
      const ms = await median(repeats, fn);
      cases.push({ name, ms, tokensPerSecond: (B * L) / (ms / 1000) });
    };
    await model.setActiveAdapters(null, { head: 'h' });
    await time('forward (encoder + head)', () => model.predict(batch));
    await model.setActiveAdapters('a0', { head: 'h' });
    await model.trainAdapter('a0');
    await time('ST-A train step', () => model.trainStep(batch, labels, step));
    await model.setActiveAdapters(new Fuse(...names), { head: 'h' });
    await model.trainAdapterFusion(new Fuse(...names));
    await time(`Fusion N=${N} train step`, () => model.trainStep(batch, labels, step));
    await time(`Fusion N=${N} forward`, () => model.predict(batch));
    const info = backendInfo(mo);
    return {
      machine: { cpu: cpus()[0]?.model?.trim() ?? 'unknown', cores: cpus().length, backend: info.backend, gemm: info.gemmProvider, isa: info.isa, threads: info.threads },
      model: o.model ?? 'BERT-base shapes, random weights',
      batchSize: B,
      seqLen: L,
      adapters: N,
      cases,
    };
  } finally {
    model.dispose();
  }
}
