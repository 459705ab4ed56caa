// tokenizer.json configurations for BERT WordPiece: built from a bare vocab.txt, or an existing
// one with its BertNormalizer adjusted. The vocab.txt form is what transformers' converter
// (BertConverter) writes, so both loading paths run the same code in @huggingface/tokenizers.
import { InvalidArgumentError, InvalidFileError } from '../errors.js';
import type { NormalizerOverrides, SpecialTokenNames } from './settings.js';

type Json = Record<string, unknown>;

export function bertTokenizerJson(vocab: string[], vocabPath: string, names: SpecialTokenNames, norm: NormalizerOverrides): Json {
  // null prototype: a token such as "__proto__" must become a key, not a prototype
  const ids: Record<string, number> = Object.create(null);
  vocab.forEach((token, id) => {
    ids[token] = id; // a repeated token keeps its last line, as in Hugging Face's load_vocab
  });
  for (const key of ['unk', 'cls', 'sep', 'pad'] as const) {
    if (!(names[key] in ids)) throw new InvalidFileError(`${vocabPath}: has no ${names[key]} token (${key}); is this a BERT vocabulary?`);
  }
  const special = [...new Set([names.pad, names.unk, names.cls, names.sep, names.mask])].filter((t) => t in ids);
  const addedTokens = special
    .map((content) => ({ id: ids[content], content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }))
    .sort((a, b) => a.id - b.id);
  const cls = { id: names.cls, ids: [ids[names.cls]], tokens: [names.cls] };
  const sep = { id: names.sep, ids: [ids[names.sep]], tokens: [names.sep] };
  const tok = (id: string, typeId: number) => ({ SpecialToken: { id, type_id: typeId } });
  const seq = (id: string, typeId: number) => ({ Sequence: { id, type_id: typeId } });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens,
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: norm.handleChineseChars ?? true,
      strip_accents: norm.stripAccents ?? null,
      lowercase: norm.lowercase ?? true,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [tok(names.cls, 0), seq('A', 0), tok(names.sep, 0)],
      pair: [tok(names.cls, 0), seq('A', 0), tok(names.sep, 0), seq('B', 1), tok(names.sep, 1)],
      special_tokens: { [names.cls]: cls, [names.sep]: sep },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: names.unk, continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab: ids },
  };
}

// Applies explicit casing/accent settings to tokenizer.json's BertNormalizer, as transformers'
// BertTokenizerFast does with tokenizer_config.json. Settings that came from the caller's
// options must take effect, so a normaliser of another kind is then an error.
export function withNormalizerOverrides(json: Json, path: string, norm: NormalizerOverrides, fromOptions: boolean): Json {
  if (norm.lowercase === undefined && norm.stripAccents === undefined && norm.handleChineseChars === undefined) return json;
  const n = json.normalizer as Json | null | undefined;
  if (!n || n.type !== 'BertNormalizer') {
    if (!fromOptions) return json;
    throw new InvalidArgumentError(`doLowerCase/stripAccents need a BertNormalizer, but ${path} has ${n ? String(n.type) : 'no normalizer'}`);
  }
  const normalizer = { ...n };
  if (norm.lowercase !== undefined) normalizer.lowercase = norm.lowercase;
  if (norm.stripAccents !== undefined) normalizer.strip_accents = norm.stripAccents;
  if (norm.handleChineseChars !== undefined) normalizer.handle_chinese_chars = norm.handleChineseChars;
  return { ...json, normalizer };
}
