// EncodeOptions: what callers may pass, its defaults, and the checks on it.
import { checkMaxLength } from './settings.js';
import type { TruncationStrategy } from './truncation.js';

export interface EncodeOptions {
  /** Longest encoding, special tokens included. Default: the tokenizer's maxLength. */
  maxLength?: number;
  /**
   * `true`/'longest': pad to the longest encoding of the batch (a single encoding stays as it is);
   * 'max_length': pad to maxLength; `false`: no padding (encodeBatch then needs equal lengths).
   * Default: false for encode, 'longest' for encodeBatch. Padding is on the right, with the
   * pad token, token type 0 and attention 0.
   */
  padding?: boolean | 'longest' | 'max_length';
  /**
   * `true`/'longest_first': cut the longer text first (as the Rust tokenizer does);
   * 'only_first' / 'only_second': cut only that text; `false`: never cut.
   * Default: true — unlike transformers, because BERT cannot take more than its positions.
   */
  truncation?: boolean | TruncationStrategy;
  /** Add [CLS]/[SEP] (the tokenizer's template). Default: true. */
  addSpecialTokens?: boolean;
}

export interface ResolvedEncodeOptions {
  maxLength: number;
  padding: 'none' | 'longest' | 'max_length';
  truncation: 'none' | TruncationStrategy;
  addSpecialTokens: boolean;
}

const PADDING = new Map<unknown, ResolvedEncodeOptions['padding']>([
  [false, 'none'], [true, 'longest'], ['longest', 'longest'], ['max_length', 'max_length'],
]);
const TRUNCATION = new Map<unknown, ResolvedEncodeOptions['truncation']>([
  [false, 'none'], [true, 'longest_first'], ['longest_first', 'longest_first'], ['only_first', 'only_first'], ['only_second', 'only_second'],
]);

export function resolveEncodeOptions(opts: unknown, maxLength: number, defaultPadding: boolean | 'longest'): ResolvedEncodeOptions {
  if (opts === undefined || opts === null) opts = {};
  if (typeof opts !== 'object' || Array.isArray(opts)) throw new TypeError('opts must be an object');
  const o = opts as Record<string, unknown>;
  const padding = PADDING.get(o.padding ?? defaultPadding);
  if (padding === undefined) throw new TypeError(`opts.padding must be true, false, 'longest' or 'max_length', got ${JSON.stringify(o.padding)}`);
  const truncation = TRUNCATION.get(o.truncation ?? true);
  if (truncation === undefined) {
    throw new TypeError(`opts.truncation must be true, false, 'longest_first', 'only_first' or 'only_second', got ${JSON.stringify(o.truncation)}`);
  }
  if (o.addSpecialTokens !== undefined && typeof o.addSpecialTokens !== 'boolean') {
    throw new TypeError(`opts.addSpecialTokens must be a boolean, got ${typeof o.addSpecialTokens}`);
  }
  return {
    maxLength: o.maxLength === undefined ? maxLength : checkMaxLength(o.maxLength, 'opts.maxLength'),
    padding,
    truncation,
    addSpecialTokens: o.addSpecialTokens ?? true,
  };
}
