// The public BERT model: a typed, disposable handle over the native encoder. Argument types
// are checked here (TypeErrors naming the argument); values (ids, shapes) are checked by the
// core, whose errors arrive as typed AdapterFusionErrors.
import { binding, type NativeBertConfig, type NativeBertModel, type NativeParamInfo } from '../binding.js';
import { DisposedError, native, nativeSync } from '../errors.js';

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
    if (typeof input !== 'object' || input === null) throw new TypeError('input must be an object');
    const batchSize = checkCount(input.batchSize, 'input.batchSize');
    const seqLen = checkCount(input.seqLen, 'input.seqLen');
    const inputIds = checkInt32(input.inputIds, 'input.inputIds', false)!;
    const tokenTypeIds = checkInt32(input.tokenTypeIds, 'input.tokenTypeIds', true);
    const attentionMask = checkInt32(input.attentionMask, 'input.attentionMask', true);
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
   * gradient buffer and no weight-gradient GEMM. Gradients restart from zero.
   */
  setTrainable(spec: 'all' | 'none' | string[]): void {
    const handle = this.#handle();
    const params = handle.params();
    let flags: boolean[];
    if (spec === 'all' || spec === 'none') {
      flags = params.map(() => spec === 'all');
    } else if (Array.isArray(spec) && spec.every((s) => typeof s === 'string')) {
      const known = new Set(params.map((p) => p.name));
      for (const s of spec) {
        const matches = s.endsWith('*') ? params.some((p) => p.name.startsWith(s.slice(0, -1))) : known.has(s);
        if (!matches) throw new TypeError(`setTrainable: "${s}" matches no parameter`);
      }
      flags = params.map((p) => spec.some((s) => (s.endsWith('*') ? p.name.startsWith(s.slice(0, -1)) : p.name === s)));
    } else {
      throw new TypeError("spec must be 'all', 'none' or an array of parameter names");
    }
    nativeSync(() => handle.setTrainable(flags));
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

  /** Frees native memory now; every later call throws DisposedError. Idempotent. */
  dispose(): void {
    this.#native?.dispose();
    this.#native = null;
  }

  /** What loading skipped (MLM head, pooler, ...) and the checkpoint's dtype. */
  loadReport(): { ignoredKeys: string[]; dtype: string } {
    return this.#handle().loadReport();
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
