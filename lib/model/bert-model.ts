// The public BERT model: a typed, disposable handle over the native encoder. Argument types
// are checked here (TypeErrors naming the argument); values (ids, shapes) are checked by the
// core, whose errors arrive as typed AdapterFusionErrors.
import {
  binding,
  type NativeAdamWOptions,
  type NativeBertConfig,
  type NativeBertModel,
  type NativeLoss,
  type NativeParamInfo,
} from '../binding.js';
import { join } from 'node:path';
import { DisposedError, native, nativeSync } from '../errors.js';
import { warnNonFinite } from '../warnings.js';
import { Fuse, type AdapterSetup } from '../adapters/composition.js';
import {
  adapterOverrides,
  classificationHeadConfig,
  fusionOverrides,
  multipleChoiceHeadConfig,
  type AddAdapterOptions,
  type AddClassificationHeadOptions,
  type AddFusionOptions,
  type AddMultipleChoiceHeadOptions,
} from '../adapters/options.js';
import * as io from '../adapters/io.js';

export type BertConfig = NativeBertConfig;
export type ParameterInfo = NativeParamInfo;

export interface LoadModelOptions {
  /** 'cpu' (default). 'cuda' needs a build with the CUDA backend. */
  device?: 'cpu' | 'cuda';
  /** CPU threads; default: one per available core. */
  threads?: number;
  /** CPU GEMM provider; default: the fastest one compiled in for this CPU. */
  gemm?: 'builtin' | 'openblas';
}

/** One batch of token ids, row-major [batchSize, seqLen] (what Tokenizer.encodeBatch returns). */
export interface BatchInput {
  inputIds: Int32Array;
  /** Default: all 0. */
  tokenTypeIds?: Int32Array;
  /** 1 = real token, 0 = padding. Default: all 1. */
  attentionMask?: Int32Array;
  batchSize: number;
  seqLen: number;
}

export interface ForwardOptions {
  /** Dropout on, with the config's probabilities (default false: inference). */
  train?: boolean;
  /** Dropout seed for this call (default 0); the same seed gives the same masks. */
  seed?: number;
  /** Keep what backward() needs (default: same as `train`). */
  keepActivations?: boolean;
  /** Also return the embedding output and every layer's output. */
  outputHiddenStates?: boolean;
}

export interface ForwardOutput {
  /** [batchSize, seqLen, hiddenSize] row-major. */
  lastHiddenState: Float32Array;
  /** numHiddenLayers + 1 arrays of [batchSize, seqLen, hiddenSize]: embeddings first. */
  hiddenStates?: Float32Array[];
}

export interface BackwardOptions {
  /** Return the gradient of the gathered word-embedding rows (inputs_embeds). */
  inputGrad?: boolean;
}

export interface PredictOptions {
  /** Also return the fusion softmax weights per layer, [batchSize, seqLen, N] each. */
  outputFusionAttentions?: boolean;
}

export interface PredictOutput {
  /** [examples, classes] row-major; for multiple choice one row per example (batchSize / numChoices). */
  logits: Float32Array;
  examples: number;
  classes: number;
  /** Per layer (FFN site), or null where no fusion ran in that layer. */
  fusionAttentions?: (Float32Array | null)[];
}

/** Labels: Int32Array class ids (classification, multiple choice) or Float32Array targets (regression). */
export type Labels = Int32Array | Float32Array;

export type AdamWOptions = NativeAdamWOptions;
export type LossOutput = NativeLoss & { logits: Float32Array };

export interface StepOptions extends AdamWOptions {
  /** Dropout seed of this step (default 0). */
  seed?: number;
  /** Dropout on (default true). */
  train?: boolean;
}

export interface TrainAdapterFusionOptions {
  /** Also train the fused adapters (AdapterHub's unfreeze_adapters). */
  unfreezeAdapters?: boolean;
}

function checkInt32(value: unknown, name: string, optional: boolean): Int32Array | null {
  if (value === undefined || value === null) {
    if (optional) return null;
    throw new TypeError(`${name} must be an Int32Array`);
  }
  if (!(value instanceof Int32Array)) throw new TypeError(`${name} must be an Int32Array`);
  return value;
}

function checkCount(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new TypeError(`${name} must be a positive integer`);
  }
  return value;
}

export class BertModel {
  readonly config: BertConfig;
  readonly dir: string;
  #native: NativeBertModel | null;

  /** @internal use loadModel(). */
  constructor(handle: NativeBertModel, dir: string) {
    this.#native = handle;
    this.dir = dir;
    this.config = handle.config();
  }

  get disposed(): boolean {
    return this.#native === null;
  }

  #handle(): NativeBertModel {
    if (!this.#native) throw new DisposedError();
    return this.#native;
  }

  /** Encoder forward; runs off the JS thread. */
  async forward(input: BatchInput, options: ForwardOptions = {}): Promise<ForwardOutput> {
    const handle = this.#handle();
    const { batchSize, seqLen, inputIds, tokenTypeIds, attentionMask } = checkBatch(input);
    if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
    const train = options.train ?? false;
    const out = await native(() =>
      handle.forward(inputIds, tokenTypeIds, attentionMask, batchSize, seqLen, {
        train,
        keepActivations: options.keepActivations ?? train,
        seed: options.seed ?? 0,
        outputHiddenStates: options.outputHiddenStates ?? false,
      }),
    );
    const result: ForwardOutput = { lastHiddenState: out.lastHiddenState };
    if (out.hiddenStates) {
      const size = batchSize * seqLen * this.config.hiddenSize;
      result.hiddenStates = [];
      for (let i = 0; i <= this.config.numHiddenLayers; i++) {
        result.hiddenStates.push(out.hiddenStates.subarray(i * size, (i + 1) * size));
      }
    }
    return result;
  }

  /**
   * Backpropagates gradOutput [batchSize, seqLen, hiddenSize] through the last forward (which
   * must have kept its activations). Gradients of trainable parameters accumulate.
   */
  async backward(gradOutput: Float32Array, options: BackwardOptions = {}): Promise<{ inputsEmbeds?: Float32Array }> {
    const handle = this.#handle();
    if (!(gradOutput instanceof Float32Array)) throw new TypeError('gradOutput must be a Float32Array');
    return native(() => handle.backward(gradOutput, { inputGrad: options.inputGrad ?? false }));
  }

  /** Every parameter in the model's table order, with its shape and whether it trains. */
  parameters(): ParameterInfo[] {
    return this.#handle().params();
  }

  /**
   * Chooses which parameters get gradients: 'all', 'none', or a list of names where a
   * trailing '*' matches a prefix (e.g. 'encoder.layer.3.*'). Frozen parameters get no
   * gradient buffer and no weight-gradient GEMM. Gradients and optimiser state restart from
   * zero. Names are matched when the call runs, after every earlier call on the model.
   */
  async setTrainable(spec: 'all' | 'none' | string[]): Promise<void> {
    const handle = this.#handle();
    let selectors: string[];
    if (spec === 'all') selectors = ['*'];
    else if (spec === 'none') selectors = [];
    else if (Array.isArray(spec) && spec.every((s) => typeof s === 'string' && s !== '' && !s.startsWith('@'))) selectors = [...spec];
    else throw new TypeError("spec must be 'all', 'none' or an array of parameter names");
    return native(() => handle.setTrainable(selectors));
  }

  async zeroGrad(): Promise<void> {
    const handle = this.#handle();
    return native(() => handle.zeroGrad());
  }

  async getParameter(name: string): Promise<Float32Array> {
    const handle = this.#handle();
    if (typeof name !== 'string') throw new TypeError('name must be a string');
    return native(() => handle.getParam(name));
  }

  async setParameter(name: string, values: Float32Array): Promise<void> {
    const handle = this.#handle();
    if (typeof name !== 'string') throw new TypeError('name must be a string');
    if (!(values instanceof Float32Array)) throw new TypeError('values must be a Float32Array');
    return native(() => handle.setParam(name, values));
  }

  /** The accumulated gradient of a trainable parameter. */
  async getGradient(name: string): Promise<Float32Array> {
    const handle = this.#handle();
    if (typeof name !== 'string') throw new TypeError('name must be a string');
    return native(() => handle.getGrad(name));
  }

  // ---------------------------------------------------------------- adapters, fusion, heads

  /** Adds a bottleneck adapter (AdapterHub "pfeiffer" by default), initialised as AdapterHub's "bert" init. */
  async addAdapter(name: string, options: AddAdapterOptions = {}): Promise<void> {
    const handle = this.#handle();
    if (typeof name !== 'string') throw new TypeError('name must be a string');
    if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
    const config = options.config ?? 'pfeiffer';
    if (typeof config !== 'string' && (typeof config !== 'object' || config === null || Array.isArray(config))) {
      throw new TypeError("options.config must be 'pfeiffer', 'houlsby' or an AdapterHub config object");
    }
    const overrides = adapterOverrides(options);
    await native(() =>
      handle.addAdapter(name, JSON.stringify(config), Object.keys(overrides).length ? JSON.stringify(overrides) : null, options.seed ?? 0),
    );
  }

  /** Adds an AdapterFusion layer over existing adapters (named "a,b,c"). */
  async addAdapterFusion(adapters: string[] | Fuse, options: AddFusionOptions = {}): Promise<void> {
    const handle = this.#handle();
    const names = adapters instanceof Fuse ? [...adapters.adapters] : adapters;
    if (!Array.isArray(names) || names.some((n) => typeof n !== 'string')) throw new TypeError('adapters must be a Fuse or an array of adapter names');
    if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
    const overrides = fusionOverrides(options);
    await native(() =>
      handle.addAdapterFusion(
        names,
        JSON.stringify(options.config ?? 'dynamic'),
        Object.keys(overrides).length ? JSON.stringify(overrides) : null,
        options.seed ?? 0,
      ),
    );
  }

  /** AdapterHub's classification head on [CLS]: dropout → Linear(D,D) → tanh → dropout → Linear(D, numLabels); numLabels 1 = regression (MSE). */
  async addClassificationHead(name: string, options: AddClassificationHeadOptions): Promise<void> {
    const handle = this.#handle();
    if (typeof name !== 'string') throw new TypeError('name must be a string');
    const config = classificationHeadConfig(options);
    await native(() => handle.addHead(name, JSON.stringify(config), options.seed ?? 0));
  }

  /** One score per choice, softmax over the choices; batches hold numChoices rows per example. */
  async addMultipleChoiceHead(name: string, options: AddMultipleChoiceHeadOptions): Promise<void> {
    const handle = this.#handle();
    if (typeof name !== 'string') throw new TypeError('name must be a string');
    const config = multipleChoiceHeadConfig(options);
    await native(() => handle.addHead(name, JSON.stringify(config), options.seed ?? 0));
  }

  /** Removes an adapter (and any fusion over it). */
  async deleteAdapter(name: string): Promise<void> {
    const handle = this.#handle();
    return native(() => handle.deleteModule('adapter', name));
  }
  async deleteAdapterFusion(adapters: string[] | Fuse | string): Promise<void> {
    const handle = this.#handle();
    return native(() => handle.deleteModule('fusion', fusionName(adapters)));
  }
  async deleteHead(name: string): Promise<void> {
    const handle = this.#handle();
    return native(() => handle.deleteModule('head', name));
  }

  /** Names of the adapters, fusions ("a,b,c") and heads the model holds. */
  adapters(): string[] {
    return this.#handle().moduleNames('adapter');
  }
  adapterFusions(): string[] {
    return this.#handle().moduleNames('fusion');
  }
  heads(): string[] {
    return this.#handle().moduleNames('head');
  }
  /** The full AdapterHub "config" object of an adapter / fusion / head. */
  adapterConfig(name: string): Record<string, unknown> {
    const handle = this.#handle();
    return JSON.parse(nativeSync(() => handle.moduleConfig('adapter', name)));
  }
  adapterFusionConfig(adapters: string[] | Fuse | string): Record<string, unknown> {
    const handle = this.#handle();
    return JSON.parse(nativeSync(() => handle.moduleConfig('fusion', fusionName(adapters))));
  }
  headConfig(name: string): Record<string, unknown> {
    const handle = this.#handle();
    return JSON.parse(nativeSync(() => handle.moduleConfig('head', name)));
  }

  /**
   * Which adapters run (one name, a Fuse, or null for none) and which head predicts (by
   * default the head that is active when the call runs; null for none).
   */
  async setActiveAdapters(setup: AdapterSetup, options: { head?: string | null } = {}): Promise<void> {
    const handle = this.#handle();
    if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
    const head = options.head;
    if (head !== undefined && head !== null && typeof head !== 'string') throw new TypeError('options.head must be a string or null');
    if (setup === null || setup === undefined) return native(() => handle.setActive('none', [], head));
    if (setup instanceof Fuse) return native(() => handle.setActive('fuse', [...setup.adapters], head));
    if (typeof setup === 'string') return native(() => handle.setActive('single', [setup], head));
    throw new TypeError('setup must be an adapter name, a Fuse or null');
  }

  /** The active head: name, number of classes, regression / multiple choice. */
  activeHead(): { name: string; classes: number; regression: boolean; multipleChoice: boolean } | null {
    return this.#handle().headInfo();
  }

  /** Use the direct (unregrouped) fusion form — the test oracle and a benchmark baseline. */
  async setFusionDirect(direct: boolean): Promise<void> {
    const handle = this.#handle();
    return native(() => handle.setFusionDirect(direct));
  }

  async loadAdapter(dir: string, options: { loadAs?: string } = {}): Promise<string> {
    return io.loadAdapter(this, dir, options);
  }
  async saveAdapter(dir: string, name: string): Promise<void> {
    return io.saveAdapter(this, dir, name);
  }
  async loadHead(dir: string, options: { loadAs?: string } = {}): Promise<string> {
    return io.loadHead(this, dir, options);
  }
  async saveHead(dir: string, name: string): Promise<void> {
    return io.saveHead(this, dir, name);
  }
  async loadAdapterFusion(dir: string): Promise<string> {
    return io.loadAdapterFusion(this, dir);
  }
  async saveAdapterFusion(dir: string, adapters: string[] | Fuse | string): Promise<void> {
    return io.saveAdapterFusion(this, dir, fusionName(adapters));
  }

  // ---------------------------------------------------------------- prediction and training

  /** Logits of the active head (and fusion weights on request); runs off the JS thread. */
  async predict(input: BatchInput, options: PredictOptions = {}): Promise<PredictOutput> {
    const handle = this.#handle();
    const b = checkBatch(input);
    const out = await native(() =>
      handle.predict(b.inputIds, b.tokenTypeIds, b.attentionMask, b.batchSize, b.seqLen, {
        outputFusionAttentions: options.outputFusionAttentions ?? false,
      }),
    );
    const result: PredictOutput = { logits: out.logits, examples: out.logits.length / out.classes, classes: out.classes };
    if (out.fusionAttentions) result.fusionAttentions = out.fusionAttentions;
    return result;
  }

  /** Loss of the active head and, by default, the gradients of every trainable parameter (accumulated). */
  async lossAndGrad(input: BatchInput, labels: Labels, options: { train?: boolean; seed?: number; backward?: boolean } = {}): Promise<LossOutput> {
    const handle = this.#handle();
    const b = checkBatch(input);
    checkLabels(labels);
    return native(() => handle.lossAndGrad(b.inputIds, b.tokenTypeIds, b.attentionMask, b.batchSize, b.seqLen, labels, options));
  }

  /** One training step in one native call: forward (dropout on), loss, backward, AdamW, zero grads. */
  async trainStep(input: BatchInput, labels: Labels, options: StepOptions = {}): Promise<LossOutput & { gradNorm: number }> {
    const handle = this.#handle();
    const b = checkBatch(input);
    checkLabels(labels);
    return native(() => handle.trainStep(b.inputIds, b.tokenTypeIds, b.attentionMask, b.batchSize, b.seqLen, labels, options));
  }

  /** AdamW over the accumulated gradients (then zeroes them); returns the norm before clipping. */
  async optimizerStep(options: AdamWOptions = {}): Promise<{ gradNorm: number }> {
    const handle = this.#handle();
    return native(() => handle.optimizerStep(options));
  }

  /**
   * Which trainable parameters get weight decay: a predicate on names (default: all). It is
   * asked of the parameters in parameters() now, so await earlier changes to the model first;
   * parameters added later get no decay until this is called again.
   */
  async setWeightDecay(predicate: (name: string) => boolean): Promise<void> {
    const handle = this.#handle();
    if (typeof predicate !== 'function') throw new TypeError('predicate must be a function');
    const names = handle.params().map((p) => p.name).filter((n) => predicate(n));
    return native(() => handle.setWeightDecayNames(names));
  }

  /** Adam's moments of one parameter and the step count (for checkpoints). */
  async getOptimizerState(name: string): Promise<{ steps: number; m: Float32Array; v: Float32Array }> {
    const handle = this.#handle();
    return native(() => handle.getOptimizerState(name));
  }
  async setOptimizerState(steps: number, name: string, m: Float32Array, v: Float32Array): Promise<void> {
    const handle = this.#handle();
    return native(() => handle.setOptimizerState(steps, name, m, v));
  }
  async resetOptimizer(): Promise<void> {
    const handle = this.#handle();
    return native(() => handle.resetOptimizer());
  }
  /** Fusion softmax temperatures per (layer, site), AdapterHub-annealed when `temperature` is on. */
  async fusionTemperatures(adapters: string[] | Fuse | string): Promise<Float32Array> {
    const handle = this.#handle();
    return native(() => handle.fusionTemperatures(fusionName(adapters)));
  }
  async setFusionTemperatures(adapters: string[] | Fuse | string, temperatures: Float32Array): Promise<void> {
    const handle = this.#handle();
    if (!(temperatures instanceof Float32Array)) throw new TypeError('temperatures must be a Float32Array');
    return native(() => handle.setFusionTemperatures(fusionName(adapters), temperatures));
  }

  // ---------------------------------------------------------------- training modes

  /** Head only: everything frozen but the active (or named) head. */
  async trainHead(head?: string): Promise<void> {
    const handle = this.#handle();
    if (head !== undefined && typeof head !== 'string') throw new TypeError('head must be a string');
    return native(() => handle.setTrainable([head === undefined ? '@head' : `@head:${head}`]));
  }

  /** Full fine-tuning: every weight of the encoder, the active adapters and fusion, and the head. */
  async trainFull(): Promise<void> {
    return this.setTrainable('all');
  }

  /** One adapter and the active head; BERT frozen (AdapterHub train_adapter). */
  async trainAdapter(name: string): Promise<void> {
    const handle = this.#handle();
    if (typeof name !== 'string') throw new TypeError('name must be a string');
    return native(() => handle.setTrainable([`@adapter:${name}`, '@head']));
  }

  /** The fusion layers and the active head; BERT and adapters frozen (AdapterHub train_adapter_fusion). */
  async trainAdapterFusion(adapters: string[] | Fuse | string, options: TrainAdapterFusionOptions = {}): Promise<void> {
    const handle = this.#handle();
    const key = fusionName(adapters);
    const selectors = [`@fusion:${key}`, '@head'];
    if (options.unfreezeAdapters) for (const a of key.split(',')) selectors.push(`@adapter:${a}`);
    return native(() => handle.setTrainable(selectors));
  }

  /** @internal the native handle, for lib/ modules (file IO, trainer). */
  _native(): NativeBertModel {
    return this.#handle();
  }

  /** Frees native memory now; every later call throws DisposedError. Idempotent. */
  dispose(): void {
    this.#native?.dispose();
    this.#native = null;
  }

  /** What loading skipped (MLM head, pooler, ...), the checkpoint's dtype, and the tensors holding NaN or Infinity. */
  loadReport(): { ignoredKeys: string[]; dtype: string; nonFinite: string[] } {
    return this.#handle().loadReport();
  }
}

function fusionName(adapters: string[] | Fuse | string): string {
  if (adapters instanceof Fuse) return adapters.name;
  if (typeof adapters === 'string') return adapters;
  if (Array.isArray(adapters) && adapters.every((a) => typeof a === 'string')) return adapters.join(',');
  throw new TypeError('adapters must be a Fuse, an array of adapter names or a fusion name "a,b,c"');
}

function checkBatch(input: BatchInput) {
  if (typeof input !== 'object' || input === null) throw new TypeError('input must be an object');
  return {
    batchSize: checkCount(input.batchSize, 'input.batchSize'),
    seqLen: checkCount(input.seqLen, 'input.seqLen'),
    inputIds: checkInt32(input.inputIds, 'input.inputIds', false)!,
    tokenTypeIds: checkInt32(input.tokenTypeIds, 'input.tokenTypeIds', true),
    attentionMask: checkInt32(input.attentionMask, 'input.attentionMask', true),
  };
}

function checkLabels(labels: unknown): void {
  if (!(labels instanceof Int32Array) && !(labels instanceof Float32Array)) {
    throw new TypeError('labels must be an Int32Array (class ids) or a Float32Array (regression targets)');
  }
}

/**
 * Loads a Hugging Face BERT checkpoint folder (config.json + model.safetensors). Runs off the
 * JS thread.
 */
export async function loadModel(dir: string, options: LoadModelOptions = {}): Promise<BertModel> {
  if (typeof dir !== 'string') throw new TypeError('dir must be a string');
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const handle = await native(() => binding().NativeBertModel.load(dir, options));
  warnNonFinite(join(dir, 'model.safetensors'), handle.loadReport().nonFinite);
  return new BertModel(handle, dir);
}

/** A config.json object as Hugging Face writes it (snake_case keys). */
export interface HfBertConfig {
  vocab_size: number;
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  intermediate_size: number;
  max_position_embeddings: number;
  type_vocab_size: number;
  hidden_act: 'gelu';
  layer_norm_eps?: number;
  hidden_dropout_prob?: number;
  attention_probs_dropout_prob?: number;
  pad_token_id?: number;
  [key: string]: unknown;
}

export interface CreateModelOptions extends LoadModelOptions {
  /** Seed of the random initialisation (default 0). */
  seed?: number;
  /** Standard deviation of the N(0, σ) weights (default 0.02, as Hugging Face). */
  initializerRange?: number;
}

/** A BERT with freshly initialised weights (Hugging Face's scheme), e.g. for benchmarks. */
export async function createModel(config: HfBertConfig, options: CreateModelOptions = {}): Promise<BertModel> {
  if (typeof config !== 'object' || config === null) throw new TypeError('config must be an object');
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const handle = await native(() => binding().NativeBertModel.create(JSON.stringify(config), options));
  return new BertModel(handle, '');
}
