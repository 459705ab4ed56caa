// Resolving a tokenizer's settings from fromPretrained's options and tokenizer_config.json.
// Precedence: explicit options, then tokenizer_config.json, then (tokenizer.json path) the
// normaliser stored in tokenizer.json, then bert-base-uncased defaults.
import { InvalidArgumentError, InvalidFileError } from '../errors.js';

export interface TokenizerOptions {
  /** Lower-case the text. Default: tokenizer_config.json's do_lower_case, else tokenizer.json, else true. */
  doLowerCase?: boolean;
  /** Strip accents (NFD, drop non-spacing marks). Default: tokenizer_config.json's strip_accents; unset follows doLowerCase. */
  stripAccents?: boolean;
  /** Longest encoding, special tokens included. Default: tokenizer_config.json's model_max_length when below 1e6, else 512. */
  maxLength?: number;
}

// Only the fields that someone set explicitly; what is absent stays as tokenizer.json has it.
export interface NormalizerOverrides {
  lowercase?: boolean;
  stripAccents?: boolean | null; // null: follow lowercase (Hugging Face semantics)
  handleChineseChars?: boolean;
}

export interface SpecialTokenNames {
  pad: string;
  unk: string;
  cls: string;
  sep: string;
  mask: string;
}

export interface TokenizerSettings {
  normalizer: NormalizerOverrides;
  fromOptions: boolean; // doLowerCase or stripAccents came from the caller's options
  maxLength: number;
  names: SpecialTokenNames;
}

const DEFAULT_MAX_LENGTH = 512;
// transformers writes VERY_LARGE_INTEGER (1e30) when a model declares no limit
const SANE_MAX_LENGTH = 1e6;

export function checkOptions(opts: unknown): TokenizerOptions {
  if (opts === undefined || opts === null) return {};
  if (typeof opts !== 'object' || Array.isArray(opts)) throw new TypeError('opts must be an object');
  const o = opts as Record<string, unknown>;
  if (o.doLowerCase !== undefined && typeof o.doLowerCase !== 'boolean') {
    throw new TypeError(`opts.doLowerCase must be a boolean, got ${typeof o.doLowerCase}`);
  }
  if (o.stripAccents !== undefined && typeof o.stripAccents !== 'boolean') {
    throw new TypeError(`opts.stripAccents must be a boolean, got ${typeof o.stripAccents}`);
  }
  if (o.maxLength !== undefined) checkMaxLength(o.maxLength, 'opts.maxLength');
  return o as TokenizerOptions;
}

export function checkMaxLength(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new TypeError(`${name} must be an integer, got ${typeof value === 'number' ? value : typeof value}`);
  }
  if (value < 1) throw new InvalidArgumentError(`${name} must be at least 1, got ${value}`);
  return value;
}

function configBoolean(config: Record<string, unknown>, key: string, path: string, allowNull = false): boolean | null | undefined {
  const v = config[key];
  if (v === undefined || typeof v === 'boolean' || (allowNull && v === null)) return v as boolean | null | undefined;
  throw new InvalidFileError(`${path}: "${key}" must be a boolean${allowNull ? ' or null' : ''}, got ${JSON.stringify(v)}`);
}

// Special tokens appear as plain strings or, in older files, as AddedToken objects.
function configToken(config: Record<string, unknown>, key: string, fallback: string, path: string): string {
  const v = config[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') return (v as { content: string }).content;
  throw new InvalidFileError(`${path}: "${key}" must be a token string, got ${JSON.stringify(v)}`);
}

export function resolveSettings(opts: TokenizerOptions, config: Record<string, unknown>, configPath: string): TokenizerSettings {
  const normalizer: NormalizerOverrides = {};
  const lower = configBoolean(config, 'do_lower_case', configPath);
  if (typeof lower === 'boolean') normalizer.lowercase = lower;
  if ('strip_accents' in config) normalizer.stripAccents = configBoolean(config, 'strip_accents', configPath, true) ?? null;
  const cjk = configBoolean(config, 'tokenize_chinese_chars', configPath);
  if (typeof cjk === 'boolean') normalizer.handleChineseChars = cjk;
  // options override key by key, as keyword arguments do in transformers' from_pretrained
  if (opts.doLowerCase !== undefined) normalizer.lowercase = opts.doLowerCase;
  if (opts.stripAccents !== undefined) normalizer.stripAccents = opts.stripAccents;

  let maxLength = opts.maxLength;
  if (maxLength === undefined) {
    const m = config.model_max_length;
    const sane = typeof m === 'number' && Number.isInteger(m) && m >= 1 && m < SANE_MAX_LENGTH;
    maxLength = sane ? m : DEFAULT_MAX_LENGTH;
  }

  const names: SpecialTokenNames = {
    pad: configToken(config, 'pad_token', '[PAD]', configPath),
    unk: configToken(config, 'unk_token', '[UNK]', configPath),
    cls: configToken(config, 'cls_token', '[CLS]', configPath),
    sep: configToken(config, 'sep_token', '[SEP]', configPath),
    mask: configToken(config, 'mask_token', '[MASK]', configPath),
  };
  const fromOptions = opts.doLowerCase !== undefined || opts.stripAccents !== undefined;
  return { normalizer, fromOptions, maxLength, names };
}
