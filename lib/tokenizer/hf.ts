// A typed facade over the parts of @huggingface/tokenizers that we use.
// The package's .d.ts files re-export with extensionless relative paths, which NodeNext module
// resolution cannot follow, so its own types reach us as `any`; this file pins down what we rely on.
import { Tokenizer as HfTokenizerClass } from '@huggingface/tokenizers';
import { InvalidFileError } from '../errors.js';

export interface HfNormalizer {
  config: { type?: string; lowercase?: boolean; handle_chinese_chars?: boolean };
  normalize(text: string): string;
}

export interface HfTokenizer {
  normalizer: HfNormalizer | null;
  model: { vocab: (string | undefined)[] } | null;
  encode(text: string, options: { add_special_tokens: boolean }): { ids: number[] };
  tokenize(text: string): string[];
  decode(ids: number[], options: { skip_special_tokens: boolean }): string;
  token_to_id(token: string): number | undefined;
  id_to_token(id: number): string | undefined;
}

// `source` names the file(s) the configuration came from, for the error message.
export function createHfTokenizer(tokenizerJson: object, tokenizerConfig: object, source: string): HfTokenizer {
  try {
    return new HfTokenizerClass(tokenizerJson, tokenizerConfig) as HfTokenizer;
  } catch (err) {
    throw new InvalidFileError(`${source}: not a usable tokenizer: ${(err as Error).message}`, { cause: err });
  }
}
