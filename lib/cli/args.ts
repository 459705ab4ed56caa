// A small strict command-line parser over node:util's parseArgs: unknown options, missing
// values, repeated single-valued options, stray arguments and bad numbers are usage errors
// (exit code 2) with a one-line message.
import { parseArgs } from 'node:util';

/** A mistake in the command line: printed with a usage hint, exit code 2. */
export class UsageError extends Error {
  /** The command whose usage to point at ('predict', 'info'), or null for the main usage. */
  readonly command: string | null;
  constructor(message: string, command: string | null = null) {
    super(message);
    this.name = 'UsageError';
    this.command = command;
  }
}

export const MAIN_USAGE = `Usage: adapterfusion <command> [options]

BERT with bottleneck adapters and AdapterFusion (AdapterHub-compatible files).

Commands:
  predict     run a model with adapters, a fusion layer and a head over JSON Lines
  info        print the native backend (GEMM provider, instruction set, threads) and version
  help [cmd]  print this help, or a command's

Options:
  -h, --help     print help
  -V, --version  print the version

Run 'adapterfusion <command> --help' for a command's options.
`;

export const PREDICT_USAGE = `Usage: adapterfusion predict --model DIR [--adapter DIR]... [--fusion DIR] --head DIR
                            --input FILE [--output FILE] [options]

Loads a BERT checkpoint folder, AdapterHub-saved adapters, an optional AdapterFusion layer and a
prediction head, and writes one JSON line of predictions per input line.

Model:
  --model DIR          Hugging Face BERT folder (config.json + model.safetensors; its tokenizer,
                       vocab.txt or tokenizer.json, is used for "text" lines)
  --adapter DIR        an adapter saved by AdapterHub's save_adapter (repeatable)
  --fusion DIR         an AdapterFusion layer saved by save_adapter_fusion; every adapter it fuses
                       must be given with --adapter. Active setup: Fuse(its adapters); without
                       --fusion, the adapter when exactly one is given, else none
  --head DIR           a prediction head saved by save_head (or the folder of an adapter saved
                       with its head)

Input and output:
  --input FILE         JSON Lines ('-' = stdin). Each non-empty line is one example:
                         {"input_ids": [...], "token_type_ids": [...], "attention_mask": [...]}
                             (the last two optional: default all 0 / all 1)
                         {"text": "...", "text_pair": "..."}   (text_pair optional; tokenized)
                         {"choices": [<one of the above>, ...]} for a multiple-choice head
                       Other keys are ignored, except "id", which is copied to the output.
  --output FILE        where to write (default stdout); written to a temp file in the same
                       folder and renamed into place only when every line succeeded
  --fusion-attentions  add "fusion_attentions": [layer][token][adapter] (real tokens only;
                       null for a layer without fusion; multiple choice: one per choice)

Output lines:
  {"logits": [...], "label": k}            classification and multiple choice (k = argmax);
                                           "label_name" too when the head names its labels
  {"logits": [x], "score": x}              regression heads

Options:
  --batch-size N       examples per forward pass (default 32); each batch is padded to its
                       longest row
  --max-length N       truncate "text" lines to N tokens, special tokens included
                       (default: the tokenizer's limit, at most the model's positions)
  --threads N          CPU threads (default: one per available core)
  --gemm NAME          CPU GEMM provider: builtin or openblas (default: the fastest available)
  -h, --help           print this help

Exit codes: 0 success, 1 error (bad input, missing or malformed files), 2 usage error,
3 internal error (a bug: please report it).
`;

export const INFO_USAGE = `Usage: adapterfusion info [--threads N] [--gemm builtin|openblas] [--json]

Prints the package version and what the native backend uses: backend, GEMM provider,
instruction set (ISA) and thread count (for the given --threads / --gemm, if any).

Options:
  --threads N   report for N threads
  --gemm NAME   report for this GEMM provider (builtin or openblas)
  --json        print one JSON object instead of text
  -h, --help    print this help
`;

export interface PredictArgs {
  model: string;
  adapters: string[];
  fusion: string | null;
  head: string | null;
  input: string;
  output: string | null;
  fusionAttentions: boolean;
  batchSize: number;
  maxLength: number | null;
  threads: number | null;
  gemm: 'builtin' | 'openblas' | null;
}

export interface InfoArgs {
  threads: number | null;
  gemm: 'builtin' | 'openblas' | null;
  json: boolean;
}

export type Command =
  | { name: 'help'; topic: 'main' | 'predict' | 'info'; toStderr: boolean }
  | { name: 'version' }
  | { name: 'predict'; args: PredictArgs }
  | { name: 'info'; args: InfoArgs };

type OptionSpec = Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }>;

const PREDICT_OPTIONS: OptionSpec = {
  model: { type: 'string' },
  adapter: { type: 'string', multiple: true },
  fusion: { type: 'string' },
  head: { type: 'string' },
  input: { type: 'string' },
  output: { type: 'string' },
  'fusion-attentions': { type: 'boolean' },
  'batch-size': { type: 'string' },
  'max-length': { type: 'string' },
  threads: { type: 'string' },
  gemm: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

const INFO_OPTIONS: OptionSpec = {
  threads: { type: 'string' },
  gemm: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

/** parseArgs with its errors rewritten as short UsageErrors; rejects repeated single options. */
function strictParse(argv: string[], spec: OptionSpec, command: string): Record<string, string | boolean | string[] | undefined> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: spec, strict: true, allowPositionals: false, tokens: true });
  } catch (err) {
    throw new UsageError(rephrase(err), command);
  }
  const seen = new Map<string, number>();
  for (const token of parsed.tokens ?? []) {
    if (token.kind !== 'option') continue;
    if (spec[token.name]?.multiple) continue;
    const count = (seen.get(token.name) ?? 0) + 1;
    seen.set(token.name, count);
    if (count > 1) throw new UsageError(`option --${token.name} given more than once`, command);
  }
  return parsed.values as Record<string, string | boolean | string[] | undefined>;
}

function rephrase(err: unknown): string {
  const e = err as { code?: string; message?: string };
  const msg = e?.message ?? String(err);
  const quoted = /'(-{1,2}[^'\s]*)'/.exec(msg)?.[1];
  switch (e?.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${quoted ?? ''}`.trim();
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE': {
      // "Option '--model <value>' argument missing" / "Option '--fusion-attentions' does not take an argument"
      const name = /Option '(-{1,2}[\w-]+)/.exec(msg)?.[1] ?? quoted ?? 'an option';
      if (/does not take an argument/.test(msg)) return `option ${name} takes no value`;
      return `option ${name} needs a value`;
    }
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL': {
      const arg = /'([^']*)'/.exec(msg)?.[1];
      return arg === undefined ? 'unexpected argument' : `unexpected argument '${arg}'`;
    }
    default:
      return msg;
  }
}

function positiveInt(value: string | undefined, name: string, command: string, min = 1): number | null {
  if (value === undefined) return null;
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value)) || Number(value) < min) {
    throw new UsageError(`--${name} must be an integer ≥ ${min}, got '${value}'`, command);
  }
  return Number(value);
}

function gemmOption(value: string | undefined, command: string): 'builtin' | 'openblas' | null {
  if (value === undefined) return null;
  if (value !== 'builtin' && value !== 'openblas') throw new UsageError(`--gemm must be builtin or openblas, got '${value}'`, command);
  return value;
}

function nonEmpty(value: string | undefined, name: string, command: string): string | undefined {
  if (value === '') throw new UsageError(`--${name} needs a non-empty value`, command);
  return value;
}

function wantsHelp(argv: string[]): boolean {
  // Help wins over every other check, as long as it is an option (not after '--').
  for (const a of argv) {
    if (a === '--') return false;
    if (a === '--help' || a === '-h') return true;
  }
  return false;
}

function parsePredict(argv: string[]): Command {
  if (wantsHelp(argv)) return { name: 'help', topic: 'predict', toStderr: false };
  const v = strictParse(argv, PREDICT_OPTIONS, 'predict');
  const str = (name: string) => nonEmpty(v[name] as string | undefined, name, 'predict');
  const model = str('model');
  if (model === undefined) throw new UsageError('missing --model DIR (the BERT checkpoint folder)', 'predict');
  const input = str('input');
  if (input === undefined) throw new UsageError("missing --input FILE (JSON Lines; '-' for stdin)", 'predict');
  const adapters = (v.adapter as string[] | undefined) ?? [];
  for (const a of adapters) nonEmpty(a, 'adapter', 'predict');
  const fusion = str('fusion') ?? null;
  const fusionAttentions = (v['fusion-attentions'] as boolean | undefined) ?? false;
  if (fusion !== null && adapters.length === 0) {
    throw new UsageError('--fusion needs the fused adapters too: give each with --adapter DIR', 'predict');
  }
  if (fusionAttentions && fusion === null) throw new UsageError('--fusion-attentions needs --fusion DIR', 'predict');
  return {
    name: 'predict',
    args: {
      model,
      adapters,
      fusion,
      head: str('head') ?? null,
      input,
      output: str('output') ?? null,
      fusionAttentions,
      batchSize: positiveInt(str('batch-size'), 'batch-size', 'predict') ?? 32,
      maxLength: positiveInt(str('max-length'), 'max-length', 'predict', 2),
      threads: positiveInt(str('threads'), 'threads', 'predict'),
      gemm: gemmOption(str('gemm'), 'predict'),
    },
  };
}

function parseInfo(argv: string[]): Command {
  if (wantsHelp(argv)) return { name: 'help', topic: 'info', toStderr: false };
  const v = strictParse(argv, INFO_OPTIONS, 'info');
  return {
    name: 'info',
    args: {
      threads: positiveInt(v.threads as string | undefined, 'threads', 'info'),
      gemm: gemmOption(v.gemm as string | undefined, 'info'),
      json: (v.json as boolean | undefined) ?? false,
    },
  };
}

/** argv without node and the script: ['predict', '--model', ...]. */
export function parseCommandLine(argv: string[]): Command {
  const [first, ...rest] = argv;
  if (first === undefined) return { name: 'help', topic: 'main', toStderr: true };
  switch (first) {
    case '-h':
    case '--help':
      if (rest.length > 0) throw new UsageError(`unexpected argument '${rest[0]}' after ${first}`);
      return { name: 'help', topic: 'main', toStderr: false };
    case '-V':
    case '--version':
      if (rest.length > 0) throw new UsageError(`unexpected argument '${rest[0]}' after ${first}`);
      return { name: 'version' };
    case 'help': {
      if (rest.length > 1) throw new UsageError(`unexpected argument '${rest[1]}'`);
      const topic = rest[0];
      if (topic === undefined) return { name: 'help', topic: 'main', toStderr: false };
      if (topic === 'predict' || topic === 'info') return { name: 'help', topic, toStderr: false };
      throw new UsageError(`unknown command '${topic}'`);
    }
    case 'predict':
      return parsePredict(rest);
    case 'info':
      return parseInfo(rest);
    default:
      if (first.startsWith('-')) throw new UsageError(`unknown option ${first.split('=')[0]}`);
      throw new UsageError(`unknown command '${first}'`);
  }
}

export function usageOf(topic: 'main' | 'predict' | 'info' | string | null): string {
  if (topic === 'predict') return PREDICT_USAGE;
  if (topic === 'info') return INFO_USAGE;
  return MAIN_USAGE;
}
