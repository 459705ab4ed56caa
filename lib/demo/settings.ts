// The demo's model and hyperparameters. The paper fine-tunes a pretrained BERT-base with
// adapter lr 1e-4 (30 epochs) and fusion lr 5e-5 (10 epochs); the demo's BERT is tiny and
// random, its tasks are small, and it must finish in minutes on two cores, so: larger learning
// rates (fusion's query/key start at N(0, 0.02), where their gradients are products of two small
// weights, so 5e-5 barely moves the softmax off uniform in a few hundred steps), small batches
// and more epochs for the 48-example target (so it gets enough steps), and a short patience.
import type { HfBertConfig } from '../model/bert-model.js';
import type { AdapterPreset } from '../adapters/options.js';
import { DEMO_SPECIAL_TOKENS, DEMO_WORDS } from './tasks.js';

/**
 * Standard deviation of the random weights. Hugging Face's 0.02 suits pretraining, but an
 * untrained encoder at that scale barely mixes the tokens: its [CLS] output varies across
 * sentences by ~1e-5 of its norm, so nothing downstream can learn. At about 1/sqrt(hidden)
 * attention and FFN keep their inputs' scale and [CLS] carries the sentence (~20 % of its
 * variance across sentences).
 */
export const DEMO_INIT_RANGE = 0.06;

/** A small BERT over the demo vocabulary: createModel(DEMO_BERT_CONFIG, DEMO_MODEL_OPTIONS(seed)). */
export const DEMO_BERT_CONFIG: Readonly<HfBertConfig> = Object.freeze({
  vocab_size: DEMO_SPECIAL_TOKENS.length + DEMO_WORDS.length,
  hidden_size: 64,
  num_hidden_layers: 4,
  num_attention_heads: 4,
  intermediate_size: 128,
  max_position_embeddings: 64,
  type_vocab_size: 2,
  hidden_act: 'gelu',
  layer_norm_eps: 1e-12,
  hidden_dropout_prob: 0.1,
  attention_probs_dropout_prob: 0.1,
  pad_token_id: 0,
  initializer_range: DEMO_INIT_RANGE,
});

/** createModel's options for a seed: the seeded random initialisation at DEMO_INIT_RANGE. */
export function demoModelOptions(seed: number): { seed: number; initializerRange: number } {
  return { seed, initializerRange: DEMO_INIT_RANGE };
}

/** Bottleneck adapters: Pfeiffer (after the FFN), hidden / reductionFactor units. */
export interface DemoAdapterSettings {
  config: AdapterPreset;
  reductionFactor: number;
}

export const DEMO_ADAPTER: Readonly<DemoAdapterSettings> = Object.freeze({ config: 'pfeiffer', reductionFactor: 2 });

/** One training stage: Trainer options. */
export interface DemoStageSettings {
  lr: number;
  epochs: number;
  batchSize: number;
  /** Early stopping on dev accuracy (the best epoch's weights are restored). */
  patience: number;
}

export interface DemoSettings {
  /** Stage 1 on a source task (plenty of data). */
  sourceAdapter: DemoStageSettings;
  /** Stage 1 on the low-resource target (its ST-A). */
  targetAdapter: DemoStageSettings;
  /** Baseline: the target's head alone on the frozen BERT. */
  head: DemoStageSettings;
  /** Stage 2: fusion over every adapter, with a fresh head for the target. */
  fusion: DemoStageSettings;
}

export const DEMO_SETTINGS: Readonly<DemoSettings> = Object.freeze({
  sourceAdapter: Object.freeze({ lr: 1e-2, epochs: 20, batchSize: 32, patience: 4 }),
  targetAdapter: Object.freeze({ lr: 3e-3, epochs: 60, batchSize: 8, patience: 20 }),
  head: Object.freeze({ lr: 3e-3, epochs: 60, batchSize: 8, patience: 20 }),
  fusion: Object.freeze({ lr: 3e-3, epochs: 60, batchSize: 8, patience: 20 }),
});

/** Seeds the demo averages over. */
export const DEMO_SEEDS: readonly number[] = Object.freeze([1, 2, 3]);
