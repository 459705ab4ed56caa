// Loads the native addon and types what it exports. The only file that touches the addon
// object directly; everything else goes through `binding`.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { NativeLoadError } from './errors.js';

export interface NativeBertConfig {
  vocabSize: number;
  hiddenSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  intermediateSize: number;
  maxPositionEmbeddings: number;
  typeVocabSize: number;
  layerNormEps: number;
  hiddenDropoutProb: number;
  attentionProbsDropoutProb: number;
  padTokenId: number;
  hiddenAct: 'gelu';
}

export interface NativeParamInfo {
  name: string;
  shape: number[];
  trainable: boolean;
}

export interface NativeBackendOptions {
  device?: 'cpu' | 'cuda';
  threads?: number;
  gemm?: 'builtin' | 'openblas';
}

export interface NativeForwardOptions {
  train?: boolean;
  keepActivations?: boolean;
  seed?: number;
  outputHiddenStates?: boolean;
}

/**
 * The addon's model handle. Every method that returns a Promise is a task on the model's own
 * queue: tasks run one at a time, in call order, off the JS thread. The synchronous readers
 * (params, moduleNames, moduleConfig, moduleParamNames, moduleShapes, headInfo) read the
 * snapshot the model published after its last finished change (docs/ARCHITECTURE.md, "One
 * owner per model").
 */
export interface NativeBertModel {
  config(): NativeBertConfig;
  params(): NativeParamInfo[];
  loadReport(): { ignoredKeys: string[]; dtype: string; nonFinite: string[] };
  forward(
    inputIds: Int32Array,
    tokenTypeIds: Int32Array | null,
    attentionMask: Int32Array | null,
    batchSize: number,
    seqLen: number,
    options: NativeForwardOptions,
  ): Promise<{ lastHiddenState: Float32Array; hiddenStates?: Float32Array }>;
  backward(gradOutput: Float32Array, options: { inputGrad?: boolean }): Promise<{ inputsEmbeds?: Float32Array }>;
  /** Selectors: "*", a name, "prefix*", "@adapter:NAME", "@fusion:a,b", "@head:NAME", "@head" (the active head). */
  setTrainable(selectors: string[]): Promise<void>;
  zeroGrad(): Promise<void>;
  getParam(name: string): Promise<Float32Array>;
  setParam(name: string, values: Float32Array): Promise<void>;
  getGrad(name: string): Promise<Float32Array>;
  dispose(): void;
  readonly disposed: boolean;

  // Adapters, fusion, heads. Configs are JSON text: an AdapterHub "config" object or a preset name.
  // `values` (by parameter name) adds the module with its weights in one task.
  addAdapter(name: string, configJson: string, overridesJson: string | null, seed: number, values?: NativeModuleValues): Promise<string[]>;
  addAdapterFusion(
    adapterNames: string[],
    configJson: string,
    overridesJson: string | null,
    seed: number,
    values?: NativeModuleValues,
  ): Promise<string[]>;
  addHead(name: string, configJson: string, seed: number, values?: NativeModuleValues): Promise<string[]>;
  /** The parameters an add would create (checked against the snapshot; adds nothing). */
  moduleShapes(kind: 'adapter' | 'head', name: string, configJson: string, overridesJson?: string | null): NativeShape[];
  moduleShapes(kind: 'fusion', adapterNames: string[], configJson: string, overridesJson?: string | null): NativeShape[];
  /** A module's config and weights, read in one task. */
  moduleTensors(kind: NativeModuleKind, name: string): Promise<{ config: string; tensors: (NativeShape & { data: Float32Array })[] }>;
  deleteModule(kind: NativeModuleKind, name: string): Promise<void>;
  /** JSON text of the module's full "config" object, as AdapterHub writes it. */
  moduleConfig(kind: NativeModuleKind, name: string): string;
  moduleNames(kind: NativeModuleKind): string[];
  /** Parameter names (without "bert.") of one module. */
  moduleParamNames(kind: NativeModuleKind, name: string): string[];
  /** head undefined: keep the head that is active when the task runs. */
  setActive(kind: 'none' | 'single' | 'fuse', names: string[], head: string | null | undefined): Promise<void>;
  setFusionDirect(direct: boolean): Promise<void>;
  headInfo(): { name: string; classes: number; regression: boolean; multipleChoice: boolean } | null;
  fusionTemperatures(name: string): Promise<Float32Array>;
  setFusionTemperatures(name: string, temperatures: Float32Array): Promise<void>;

  // Heads, losses, optimiser.
  predict(
    inputIds: Int32Array,
    tokenTypeIds: Int32Array | null,
    attentionMask: Int32Array | null,
    batchSize: number,
    seqLen: number,
    options: { outputFusionAttentions?: boolean; train?: boolean; seed?: number },
  ): Promise<{ logits: Float32Array; classes: number; fusionAttentions?: (Float32Array | null)[] }>;
  lossAndGrad(
    inputIds: Int32Array,
    tokenTypeIds: Int32Array | null,
    attentionMask: Int32Array | null,
    batchSize: number,
    seqLen: number,
    labels: Int32Array | Float32Array,
    options: { train?: boolean; seed?: number; backward?: boolean },
  ): Promise<NativeLoss & { logits: Float32Array }>;
  trainStep(
    inputIds: Int32Array,
    tokenTypeIds: Int32Array | null,
    attentionMask: Int32Array | null,
    batchSize: number,
    seqLen: number,
    labels: Int32Array | Float32Array,
    options: NativeAdamWOptions & { train?: boolean; seed?: number },
  ): Promise<NativeLoss & { gradNorm: number; logits: Float32Array }>;
  optimizerStep(options: NativeAdamWOptions): Promise<{ gradNorm: number }>;
  setWeightDecayNames(names: string[]): Promise<void>;
  getOptimizerState(name: string): Promise<{ steps: number; m: Float32Array; v: Float32Array }>;
  setOptimizerState(steps: number, name: string, m: Float32Array, v: Float32Array): Promise<void>;
  resetOptimizer(): Promise<void>;
}

export interface NativeShape {
  name: string;
  shape: number[];
}
export type NativeModuleValues = Record<string, Float32Array>;

export type NativeModuleKind = 'adapter' | 'fusion' | 'head';

export interface NativeLoss {
  /** lossCe + lossReg */
  loss: number;
  /** The task loss: cross-entropy, or MSE for regression heads. */
  lossCe: number;
  /** AdapterFusion's value regulariser, 0.01·Σ‖I − W_v‖². */
  lossReg: number;
}

export interface NativeAdamWOptions {
  lr?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
  /** Global-norm gradient clipping; 0 = off. */
  maxGradNorm?: number;
}

export interface NativeBackendInfo {
  backend: 'cpu' | 'cuda';
  gemmProvider: 'builtin' | 'openblas';
  isa: 'avx512' | 'avx2' | 'scalar';
  threads: number;
  availableCores: number;
  openblas: boolean;
  devices: string[];
}

export type SafetensorsDType = 'F32' | 'F16' | 'BF16' | 'F64' | 'I32' | 'I64' | 'I16' | 'I8' | 'U8' | 'U16' | 'U32' | 'U64' | 'BOOL' | 'F8_E5M2' | 'F8_E4M3';

export interface NativeTensor {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  /** Float32Array for F32/F16/BF16/F64 (converted), Int32Array for I32, BigInt64Array for I64, raw bytes otherwise. */
  data: Float32Array | Int32Array | BigInt64Array | Uint8Array;
}

export interface NativeTensorToWrite {
  name: string;
  dtype: 'F32' | 'F16' | 'BF16' | 'I32' | 'I64';
  shape: number[];
  data: Float32Array | Int32Array | BigInt64Array;
}

export interface BindingModule {
  readSafetensors(path: string): Promise<{ tensors: NativeTensor[]; metadata: Record<string, string> }>;
  /** A PyTorch .bin state dict through the restricted unpickler (never executes code). */
  readTorchStateDict(path: string): Promise<{ tensors: NativeTensor[]; metadata: Record<string, string> }>;
  /** Atomic: a temp file renamed over `path`; F16/BF16 are rounded to nearest even from Float32Array data. */
  writeSafetensors(path: string, tensors: NativeTensorToWrite[], metadata?: Record<string, string>): Promise<void>;
  backendInfo(options?: NativeBackendOptions): NativeBackendInfo;
  /** Times C[M,N] = A[M,K] B[N,K]^T; seconds of the best and median of `repeats` runs. */
  gemmBenchmark(M: number, N: number, K: number, repeats: number, options?: NativeBackendOptions): Promise<{ best: number; median: number }>;
  NativeBertModel: {
    load(dir: string, options: NativeBackendOptions): Promise<NativeBertModel>;
    /** A model with random weights; `configJson` is config.json text. */
    create(configJson: string, options: NativeBackendOptions & { seed?: number; initializerRange?: number }): Promise<NativeBertModel>;
  };
}

function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new NativeLoadError('adapterfusion: cannot find the package root');
    dir = parent;
  }
  return dir;
}

function load(): BindingModule {
  const require = createRequire(import.meta.url);
  const root = packageRoot();
  try {
    const nodeGypBuild = require('node-gyp-build') as (dir: string) => unknown;
    return nodeGypBuild(root) as BindingModule;
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new NativeLoadError(
      `adapterfusion: the native addon could not be loaded (${reason}).\n` +
        `No prebuilt binary matches ${process.platform}-${process.arch} (Node ${process.version}, N-API 8), ` +
        `and no local build was found in ${join(root, 'build', 'Release')}.\n` +
        `Build it from source with \`npm rebuild adapterfusion\` (needs a C++17 compiler, Python 3 and, ` +
        `optionally, OpenBLAS: \`apt-get install libopenblas-dev\`). On a machine without access to ` +
        `nodejs.org, point node-gyp at the local Node headers: \`npm_config_nodedir=/usr npm rebuild\`.`,
      { cause },
    );
  }
}

let cached: BindingModule | undefined;

/** The addon, loaded on first use. */
export function binding(): BindingModule {
  cached ??= load();
  return cached;
}
