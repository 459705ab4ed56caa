// BERT's tokenizer for the library: ids, token types and attention masks as Int32Arrays.
// Normalisation, pre-tokenisation and WordPiece are @huggingface/tokenizers' (through hf.ts);
// this class adds loading, truncation, special tokens, padding and batching.
import { InvalidArgumentError } from '../errors.js';
import { resolveEncodeOptions, type EncodeOptions, type ResolvedEncodeOptions } from './encode-options.js';
import type { HfTokenizer } from './hf.js';
import { loadTokenizer, type LoadedTokenizer } from './load.js';
import { checkOptions, type TokenizerOptions } from './settings.js';
import { applyTemplate, specialCount, withoutSpecials, type Template } from './template.js';
import { truncatedLengths } from './truncation.js';

/** One encoding: `length` entries, padded up to maxLength with padding 'max_length'. */
export interface Encoded {
  inputIds: Int32Array;
  tokenTypeIds: Int32Array;
  attentionMask: Int32Array;
  /** Tokens before padding (special tokens included). */
  length: number;
}

/** A batch, row-major: row i is [i*seqLen, (i+1)*seqLen). */
export interface EncodedBatch {
  inputIds: Int32Array;
  tokenTypeIds: Int32Array;
  attentionMask: Int32Array;
  batchSize: number;
  seqLen: number;
}

interface Row {
  ids: number[];
  typeIds: number[];
}

function checkText(value: unknown, name: string): string {
  if (typeof value !== 'string') throw new TypeError(`${name} must be a string, got ${value === null ? 'null' : typeof value}`);
  return value;
}

function checkPair(value: unknown, name: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw new TypeError(`${name} must be a string or null, got ${typeof value}`);
  return value;
}

export class Tokenizer {
  /** Default limit for truncation and 'max_length' padding, special tokens included. */
  readonly maxLength: number;
  readonly padTokenId: number;
  readonly unkTokenId: number;
  readonly clsTokenId: number;
  readonly sepTokenId: number;
  readonly maskTokenId: number;
  /** Highest id + 1: the number of rows an embedding table needs. */
  readonly vocabSize: number;
  /** The file the vocabulary was read from (tokenizer.json or vocab.txt). */
  readonly source: string;

  readonly #hf: HfTokenizer;
  readonly #template: Template;
  readonly #plain: Template;

  private constructor(loaded: LoadedTokenizer) {
    this.#hf = loaded.hf;
    this.#template = loaded.template;
    this.#plain = withoutSpecials(loaded.template);
    this.maxLength = loaded.maxLength;
    this.padTokenId = loaded.ids.pad;
    this.unkTokenId = loaded.ids.unk;
    this.clsTokenId = loaded.ids.cls;
    this.sepTokenId = loaded.ids.sep;
    this.maskTokenId = loaded.ids.mask;
    this.vocabSize = loaded.hf.model?.vocab.length ?? 0;
    this.source = loaded.source;
  }

  /**
   * Loads the tokenizer of a Hugging Face model folder: tokenizer.json (+ tokenizer_config.json)
   * when present, else vocab.txt with BERT's standard pipeline. Throws IoError when the folder or
   * both files are missing, InvalidFileError (naming the file) when a file is malformed.
   */
  static async fromPretrained(dir: string, opts?: TokenizerOptions): Promise<Tokenizer> {
    if (typeof dir !== 'string' || dir === '') throw new TypeError('dir must be a non-empty string (a folder path)');
    return new Tokenizer(await loadTokenizer(dir, checkOptions(opts)));
  }

  /** Encodes one text, or a pair of texts ([CLS] text [SEP] pair [SEP]). */
  encode(text: string, pair?: string | null, opts?: EncodeOptions): Encoded {
    const o = resolveEncodeOptions(opts, this.maxLength, false);
    const row = this.#row(checkText(text, 'text'), checkPair(pair, 'pair'), o);
    const n = row.ids.length;
    const len = o.padding === 'max_length' ? Math.max(n, o.maxLength) : n;
    const out: Encoded = { inputIds: new Int32Array(len), tokenTypeIds: new Int32Array(len), attentionMask: new Int32Array(len), length: n };
    this.#write(row, out, 0, len);
    return out;
  }

  /** Encodes texts (with pairs[i] as the second text of row i, when given) into one padded batch. */
  encodeBatch(texts: string[], pairs?: (string | null)[] | null, opts?: EncodeOptions): EncodedBatch {
    if (!Array.isArray(texts)) throw new TypeError(`texts must be an array of strings, got ${typeof texts}`);
    if (pairs !== undefined && pairs !== null) {
      if (!Array.isArray(pairs)) throw new TypeError(`pairs must be an array (of strings or nulls) or null, got ${typeof pairs}`);
      if (pairs.length !== texts.length) {
        throw new InvalidArgumentError(`pairs has ${pairs.length} entries but texts has ${texts.length}; they must match`);
      }
    }
    const o = resolveEncodeOptions(opts, this.maxLength, 'longest');
    const rows = texts.map((t, i) => this.#row(checkText(t, `texts[${i}]`), checkPair(pairs?.[i], `pairs[${i}]`), o));
    const longest = rows.reduce((m, r) => Math.max(m, r.ids.length), 0);
    const seqLen = this.#batchLength(rows, longest, o);
    const size = rows.length * seqLen;
    const out = { inputIds: new Int32Array(size), tokenTypeIds: new Int32Array(size), attentionMask: new Int32Array(size) };
    rows.forEach((row, i) => this.#write(row, out, i * seqLen, seqLen));
    return { ...out, batchSize: rows.length, seqLen };
  }

  /** WordPiece tokens of a text, without special tokens. */
  tokenize(text: string): string[] {
    return this.#hf.tokenize(checkText(text, 'text'));
  }

  /** Text of ids, WordPiece pieces joined; skipSpecialTokens (default false) drops [CLS], [PAD]... */
  decode(ids: ArrayLike<number>, opts?: { skipSpecialTokens?: boolean }): string {
    if (ids === null || typeof ids !== 'object' || typeof ids.length !== 'number') {
      throw new TypeError('ids must be an array or typed array of token ids');
    }
    const skip = opts?.skipSpecialTokens ?? false;
    if (typeof skip !== 'boolean') throw new TypeError(`opts.skipSpecialTokens must be a boolean, got ${typeof skip}`);
    const list = Array.from(ids);
    list.forEach((id, i) => {
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
        throw new InvalidArgumentError(`ids[${i}] = ${id} is not a token id (0 <= id < ${this.vocabSize})`);
      }
    });
    // the library rejects an empty list
    return list.length === 0 ? '' : this.#hf.decode(list, { skip_special_tokens: skip });
  }

  tokenToId(token: string): number | undefined {
    return this.#hf.token_to_id(checkText(token, 'token'));
  }

  idToToken(id: number): string | undefined {
    if (typeof id !== 'number' || !Number.isInteger(id)) throw new TypeError(`id must be an integer, got ${id}`);
    return this.#hf.id_to_token(id);
  }

  // Segment ids -> truncated -> special tokens added; no padding yet.
  #row(text: string, pair: string | null, o: ResolvedEncodeOptions): Row {
    const a = this.#hf.encode(text, { add_special_tokens: false }).ids;
    const b = pair === null ? null : this.#hf.encode(pair, { add_special_tokens: false }).ids;
    const template = o.addSpecialTokens ? this.#template : this.#plain;
    const pieces = b === null ? template.single : template.pair;
    let [first, second] = [a, b];
    if (o.truncation !== 'none') {
      const specials = specialCount(pieces);
      if (o.maxLength < specials) {
        throw new InvalidArgumentError(`maxLength ${o.maxLength} is shorter than the ${specials} special tokens of a ${b ? 'pair' : 'single text'}`);
      }
      const [n1, n2] = truncatedLengths(a.length, b?.length ?? null, o.maxLength - specials, o.truncation);
      first = a.slice(0, n1);
      second = b && b.slice(0, n2);
    }
    const row: Row = { ids: [], typeIds: [] };
    applyTemplate(pieces, first, second, row.ids, row.typeIds);
    return row;
  }

  #batchLength(rows: Row[], longest: number, o: ResolvedEncodeOptions): number {
    if (o.padding === 'longest') return longest;
    if (o.padding === 'max_length') {
      const i = rows.findIndex((r) => r.ids.length > o.maxLength);
      if (i >= 0) throw new InvalidArgumentError(`row ${i} has ${rows[i].ids.length} tokens, more than maxLength ${o.maxLength}; enable truncation`);
      return o.maxLength;
    }
    const i = rows.findIndex((r) => r.ids.length !== longest);
    if (i >= 0) throw new InvalidArgumentError(`padding is off but row ${i} has ${rows[i].ids.length} tokens and another ${longest}; pad or truncate`);
    return longest;
  }

  // Row into [offset, offset + width): tokens, then padding (pad id, type 0, attention 0).
  #write(row: Row, out: { inputIds: Int32Array; tokenTypeIds: Int32Array; attentionMask: Int32Array }, offset: number, width: number): void {
    const n = row.ids.length;
    for (let j = 0; j < n; j++) {
      out.inputIds[offset + j] = row.ids[j];
      out.tokenTypeIds[offset + j] = row.typeIds[j];
      out.attentionMask[offset + j] = 1;
    }
    out.inputIds.fill(this.padTokenId, offset + n, offset + width);
  }
}
