// The tokenizer's public surface.
export { Tokenizer, type Encoded, type EncodedBatch } from './tokenizer.js';
export type { EncodeOptions } from './encode-options.js';
export type { TokenizerOptions } from './settings.js';
export type { TruncationStrategy } from './truncation.js';
