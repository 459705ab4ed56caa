// The evaluation harness: metrics against hand-computed values, the text formats, a reader for
// every task format on hand-made files (fixtures/data), the real shared datasets (row counts and
// label mapping, skipped without ../shared) and evaluateTask with a real model.
import test from 'ava';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel, Tokenizer } from '../lib/index.js';
import {
  TASKS,
  accuracy,
  argmax,
  checkHeadFitsTask,
  computeMetrics,
  crossEntropy,
  evaluateTask,
  f1,
  getTask,
  headOptionsFor,
  loadTask,
  loadTaskExamples,
  macroF1,
  matthewsCorrelation,
  meanSquaredError,
  parseCsv,
  parseJsonl,
  parseTsv,
  pearson,
  ranks,
  readCosmosQa,
  readImdb,
  readSick,
  readSocialIqa,
  spearman,
  taskNames,
  type ChoiceRecord,
  type TextRecord,
} from '../lib/eval/index.js';
import { bertMiniDir, fixturesDir, haveBertMini, haveShared, sharedDataDir } from './helpers/paths.js';

const dataDir = join(fixturesDir, 'data');

async function tempFile(t: { teardown(fn: () => unknown): void }, name: string, content: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'af-eval-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, name);
  await writeFile(path, content);
  return path;
}

const close = (a: number, b: number, tol = 1e-12) => Math.abs(a - b) <= tol;

// ---------------------------------------------------------------- metrics

test('metrics: accuracy, F1, macro-F1 and MCC against hand-computed values', (t) => {
  // TP 3 (0, 3, 5), FP 1 (2), FN 1 (4), TN 1 (1).
  const pred = [1, 0, 1, 1, 0, 1];
  const gold = [1, 0, 0, 1, 1, 1];
  t.is(accuracy(pred, gold), 4 / 6);
  t.is(f1(pred, gold), 0.75); // 2·3 / (2·3 + 1 + 1)
  t.is(f1(pred, gold, 0), 0.5); // class 0: TP 1, FP 1, FN 1
  t.is(macroF1(pred, gold), 0.625);
  t.is(matthewsCorrelation(pred, gold), 0.25); // (3·1 − 1·1) / √(4·4·2·2)
  // Multi-class MCC (sklearn's formula): 4 of 6 right, all marginals 2 → (4·6 − 12) / (36 − 12).
  t.is(matthewsCorrelation([0, 1, 2, 0, 1, 2], [0, 1, 1, 0, 2, 2]), 0.5);
  // Degenerate cases: 0, as sklearn.
  t.is(matthewsCorrelation([1, 1, 1], [1, 1, 1]), 0);
  t.is(f1([0, 0], [0, 0]), 0);
  // Macro-F1 over the classes present in either array (sklearn's default), or all of numClasses.
  t.is(macroF1([0, 1, 1], [0, 1, 0]), (2 / 3 + 2 / 3) / 2);
  t.is(macroF1([0, 1, 1], [0, 1, 0], 3), (2 / 3 + 2 / 3 + 0) / 3);
  t.deepEqual(argmax([0.1, 0.9, 0.5, 0.5, -1, -2], 2), Int32Array.from([1, 0, 0]));
  t.throws(() => accuracy([1], [1, 0]), { code: 'ERR_AF_INVALID_ARGUMENT' });
  t.throws(() => accuracy([], []), { code: 'ERR_AF_INVALID_ARGUMENT' });
});

test('metrics: Pearson, Spearman (tied ranks), MSE, cross-entropy against hand-computed values', (t) => {
  // dx = (−1.5, −.5, .5, 1.5), dy = (−3, −1, 0, 4): r = 11 / √(5·26).
  t.true(close(pearson([1, 2, 3, 4], [2, 4, 5, 9]), 11 / Math.sqrt(130)));
  t.true(close(pearson([1, 2, 3], [3, 2, 1]), -1));
  t.true(Number.isNaN(pearson([1, 1, 1], [1, 2, 3])));
  t.deepEqual(Array.from(ranks([10, 20, 20, 30])), [1, 2.5, 2.5, 4]);
  // Ranks (1, 2.5, 2.5, 4) and (1, 3, 2, 4): r = 4.5 / √(4.5·5) (scipy: 0.9486832980505138).
  t.true(close(spearman([1, 2, 2, 3], [1, 3, 2, 4]), 4.5 / Math.sqrt(22.5)));
  t.true(close(spearman([1, 2, 3, 4], [1, 4, 9, 16]), 1));
  t.is(meanSquaredError([1, 2, 3], [1, 1, 5]), 5 / 3);
  t.true(close(crossEntropy([0, Math.log(3)], 2, [1]), -Math.log(3 / 4)));
  t.true(close(crossEntropy([1000, 0, 0, 1000], 2, [0, 1]), 0));
});

test('computeMetrics picks the metrics of the head kind', (t) => {
  const cls = computeMetrics('classification', [2, 1, 0, 3, 1, 0], 2, [0, 1, 1]);
  t.deepEqual(Object.keys(cls).sort(), ['accuracy', 'examples', 'f1', 'loss', 'macroF1', 'mcc']);
  t.is(cls.accuracy, 2 / 3);
  const three = computeMetrics('classification', [1, 0, 0, 0, 1, 0], 3, [0, 1]);
  t.false('f1' in three);
  const mc = computeMetrics('multiple_choice', [0, 1, 2, 2, 1, 0], 3, [2, 0]);
  t.deepEqual(Object.keys(mc).sort(), ['accuracy', 'examples', 'loss']);
  t.is(mc.accuracy, 1);
  const reg = computeMetrics('regression', [1, 2, 3], 1, [1, 2, 4]);
  t.deepEqual(Object.keys(reg).sort(), ['examples', 'loss', 'mse', 'pearson', 'spearman']);
  t.is(reg.mse, 1 / 3);
  t.is(reg.spearman, 1);
});

// ---------------------------------------------------------------- formats

test('CSV: quoted fields with commas, doubled quotes, newlines, CRLF and no final newline', (t) => {
  const rows = parseCsv('a,b,c\r\n"x, y","say ""hi""","line 1\nline 2"\r\n1,,3\n\n"",q"uote,z');
  t.deepEqual(
    rows.map((r) => r.cells),
    [
      ['a', 'b', 'c'],
      ['x, y', 'say "hi"', 'line 1\nline 2'],
      ['1', '', '3'],
      ['', 'q"uote', 'z'],
    ],
  );
  t.deepEqual(rows.map((r) => r.line), [1, 2, 4, 6]);
  t.throws(() => parseCsv('a,"open\n', 'f.csv'), { code: 'ERR_AF_INVALID_FILE', message: /f\.csv:1/ });
});

test('TSV (GLUE: quotes are plain characters) and JSONL (errors name file:line)', (t) => {
  const tsv = parseTsv('h1\th2\r\n"a\tb"\r\n\r\nc\td\r');
  t.deepEqual(tsv.header, ['h1', 'h2']);
  t.deepEqual(tsv.rows, [
    { line: 2, cells: ['"a', 'b"'] },
    { line: 4, cells: ['c', 'd'] },
  ]);
  t.deepEqual(parseJsonl('{"a":1}\n\n[2]', 'x.jsonl'), [
    { line: 1, value: { a: 1 } },
    { line: 3, value: [2] },
  ]);
  t.throws(() => parseJsonl('{"a":1}\n{oops}\n', 'x.jsonl'), { code: 'ERR_AF_INVALID_FILE', message: /x\.jsonl:2/ });
});

// ---------------------------------------------------------------- readers on hand-made files

test('registry: every task has a kind, metrics, files and a reader; unknown names are listed', (t) => {
  t.deepEqual(taskNames().sort(), [
    'argument', 'boolq', 'cb', 'cosmosqa', 'csqa', 'hellaswag', 'imdb', 'mnli', 'mrpc', 'qqp', 'rte', 'scitail', 'sick', 'sick-relatedness', 'socialiqa', 'sst2',
    'winogrande',
  ]);
  for (const spec of Object.values(TASKS)) {
    t.true(spec.metrics.includes(spec.metric), spec.name);
    if (spec.kind === 'classification') t.true(spec.labels!.length >= 2, spec.name);
    if (spec.kind === 'multiple_choice') t.true(spec.numChoices! >= 2, spec.name);
  }
  t.throws(() => getTask('glue'), { code: 'ERR_AF_INVALID_ARGUMENT', message: /unknown task "glue".*rte/ });
  t.deepEqual(headOptionsFor('cb'), { type: 'classification', numLabels: 3, id2label: ['entailment', 'contradiction', 'neutral'] });
  t.deepEqual(headOptionsFor('sick-relatedness'), { type: 'classification', numLabels: 1 });
  t.deepEqual(headOptionsFor('csqa'), { type: 'multiple_choice', numChoices: 5 });
});

// What each hand-made file must give: [task, split, count, first example (or a check), labels].
const text = (r: unknown) => r as TextRecord;
const choice = (r: unknown) => r as ChoiceRecord;

test('GLUE TSV readers: RTE, MRPC (BOM, plain quotes), SST-2, MNLI, QQP; SciTail TSV', async (t) => {
  const rte = await loadTask('rte', 'dev', { dataDir });
  t.deepEqual(rte.map((r) => r.label), [0, 1, 0]);
  t.deepEqual(rte[1], { id: '1', text: 'The museum opened in 1990 after "years" of delays.', pair: 'The museum closed in 1990.', label: 1 });
  const mrpc = await loadTask('mrpc', 'dev', { dataDir });
  t.deepEqual(mrpc.map((r) => r.label), [1, 0]);
  t.is(text(mrpc[0]).text, 'The company said profits rose " sharply " this year .');
  t.is(text(mrpc[0]).pair, 'Profits rose sharply this year , the company said .');
  const sst = await loadTask('sst2', 'dev', { dataDir });
  t.deepEqual(sst, [
    { text: 'a warm and funny film . ', label: 1 },
    { text: 'dull , plodding and far too long . ', label: 0 },
    { text: "it 's not bad ", label: 1 },
  ]);
  const mnli = await loadTask('mnli', 'dev', { dataDir });
  t.deepEqual(mnli.map((r) => r.label), [2, 0, 1]); // contradiction, entailment, neutral
  t.is(text(mnli[1]).text, 'We talked for an hour about gardens.');
  t.is(text(mnli[1]).pair, 'We had a conversation.');
  const qqp = await loadTask('qqp', 'dev', { dataDir });
  t.deepEqual(qqp.map((r) => [text(r).text, r.label]), [
    ['How do I learn to cook rice?', 1],
    ['Why is the sky blue?', 0],
  ]);
  const sci = await loadTask('scitail', 'dev', { dataDir });
  t.deepEqual(sci, [
    { text: 'Plants make food from sunlight.', pair: 'Photosynthesis uses light energy.', label: 0 },
    { text: 'Rocks are made of minerals.', pair: 'The ocean is salty.', label: 1 },
  ]);
});

test('SuperGLUE JSONL readers: CB, BoolQ', async (t) => {
  const cb = await loadTask('cb', 'dev', { dataDir });
  t.deepEqual(cb.map((r) => r.label), [2, 1, 0]); // neutral, contradiction, entailment
  t.deepEqual(cb[0], { text: 'I was sure she would come, but I never said so.', pair: 'she would come', id: '0', label: 2 });
  const bq = await loadTask('boolq', 'dev', { dataDir });
  t.deepEqual(bq.map((r) => [text(r).text, r.label]), [
    ['is the moon a planet', 0],
    ['do penguins live in antarctica', 1],
  ]);
});

test('SICK: CRLF, a stray \\r in a label, no final newline; SemEval_set splits; entailment and relatedness', async (t) => {
  const all = await readSick(join(dataDir, 'sick', 'SICK.txt'));
  t.is(all.length, 4);
  t.deepEqual(all.map((r) => r.label), [0, 2, 1, 0]); // ENTAILMENT, CONTRADICTION, NEUTRAL\r, ENTAILMENT
  t.deepEqual((await loadTask('sick', 'train', { dataDir })).map((r) => r.id), ['1', '4']);
  t.deepEqual((await loadTask('sick', 'dev', { dataDir })).map((r) => r.id), ['2']);
  t.deepEqual((await loadTask('sick', 'test', { dataDir })).map((r) => r.id), ['3']);
  const rel = await loadTask('sick-relatedness', 'train', { dataDir });
  t.deepEqual(rel.map((r) => r.label), [4.2, 4.6]);
  t.deepEqual(rel[0], { id: '1', text: 'A dog is running in a field', pair: 'An animal is running outside', label: 4.2 });
});

test('IMDb: aclImdb folders (neg, then pos; <br /> removed) and the CSV variant', async (t) => {
  const folder = await loadTask('imdb', 'test', { dataDir });
  t.deepEqual(folder, [
    { id: 'neg/0_2.txt', text: 'Boring from start to finish.', label: 0 },
    { id: 'pos/0_9.txt', text: 'A wonderful film.  I loved every minute.', label: 1 },
    { id: 'pos/1_8.txt', text: 'Great acting and a clever plot.', label: 1 },
  ]);
  t.deepEqual(await readImdb(join(dataDir, 'imdb', 'reviews.csv')), [
    { text: 'Loved it, truly.', label: 1 },
    { text: 'Not for me.', label: 0 },
  ]);
  await t.throwsAsync(readImdb(join(dataDir, 'imdb', 'nope')), { code: 'ERR_AF_IO' });
});

test('multiple-choice readers: CosmosQA (CSV), HellaSwag, WinoGrande, CommonsenseQA, Social IQa', async (t) => {
  const cosmos = await loadTask('cosmosqa', 'dev', { dataDir });
  t.is(cosmos.length, 2);
  t.deepEqual(cosmos.map((r) => r.label), [1, 3]);
  t.deepEqual(choice(cosmos[0]).choices[1], { text: 'We went to the beach, then it rained. Everyone said "typical"!', pair: 'Why did they leave ? It rained .' });
  t.deepEqual(choice(cosmos[1]).choices[0], { text: 'Line one of the story.\nLine two, with a comma.', pair: 'What happened next ? She said "no" .' });

  const hs = await loadTask('hellaswag', 'dev', { dataDir });
  t.deepEqual(hs.map((r) => [r.id, r.label]), [['4', 0], ['9', 2]]);
  t.deepEqual(choice(hs[0]).choices[0], { text: 'A woman puts a tray in the oven.', pair: 'she closes the door and sets a timer.' });
  t.deepEqual(choice(hs[1]).choices[2], { text: 'A man laces his shoes.', pair: 'He starts jogging down the road.' });

  const wg = await loadTask('winogrande', 'dev', { dataDir });
  t.deepEqual(wg.map((r) => r.label), [0, 0, 1]);
  t.deepEqual(choice(wg[0]).choices, [
    { text: 'The trophy did not fit in the suitcase because the trophy', pair: 'was too big.' },
    { text: 'The trophy did not fit in the suitcase because the suitcase', pair: 'was too big.' },
  ]);

  const cs = await loadTask('csqa', 'dev', { dataDir });
  t.deepEqual(cs.map((r) => r.label), [2, 0]);
  t.is(choice(cs[0]).choices.length, 5);
  t.deepEqual(choice(cs[0]).choices[2], { text: 'What keeps you dry in the rain?', pair: 'umbrella' });

  const si = await loadTask('socialiqa', 'dev', { dataDir });
  t.deepEqual(si.map((r) => r.label), [0, 2]);
  t.deepEqual(choice(si[1]).choices[2], { text: 'Jordan forgot his keys at work.', pair: 'What will Jordan want to do next? go back for the keys' });
  t.deepEqual((await readSocialIqa(join(dataDir, 'socialiqa', 'dev.jsonl'))).map((r) => r.label), [undefined, undefined]);
});

test('readers reject malformed files with the file, line and value', async (t) => {
  const rte = await tempFile(t, 'dev.tsv', 'index\tsentence1\tsentence2\tlabel\n0\ta\tb\tentailment\n1\tc\td\tmaybe\n');
  await t.throwsAsync(loadTask('rte', 'dev', { file: rte }), { code: 'ERR_AF_INVALID_FILE', message: /dev\.tsv:3: label "maybe" is not one of "entailment", "not_entailment"/ });
  const noCol = await tempFile(t, 'train.tsv', 'text\tlabel\nok\t1\n');
  await t.throwsAsync(loadTask('sst2', 'train', { file: noCol }), { code: 'ERR_AF_INVALID_FILE', message: /no column "sentence"/ });
  // A file without a label column (a GLUE test file) gives unlabelled examples.
  const unlabelled = await tempFile(t, 'test.tsv', 'index\tsentence\n0\tfine\n');
  t.deepEqual(await loadTask('sst2', 'test', { file: unlabelled }), [{ text: 'fine' }]);
  const short = await tempFile(t, 'valid.csv', 'id,context,question,answer0,answer1,answer2,answer3,label\nq,c,q,a,b,c,d,7\n');
  await t.throwsAsync(readCosmosQa(short), { code: 'ERR_AF_INVALID_FILE', message: /valid\.csv:2: label "7"/ });
  const cb = await tempFile(t, 'val.jsonl', '{"premise": "p", "hypothesis": 3, "label": "neutral"}\n');
  await t.throwsAsync(loadTask('cb', 'dev', { file: cb }), { code: 'ERR_AF_INVALID_FILE', message: /val\.jsonl:1: "hypothesis" must be a string/ });
  await t.throwsAsync(loadTask('rte', 'dev', { dataDir: join(dataDir, 'nowhere') }), { code: 'ERR_AF_IO' });
  await t.throwsAsync(loadTask('rte', 'validation', { dataDir }), { code: 'ERR_AF_INVALID_ARGUMENT', message: /no split "validation"/ });
  await t.throwsAsync(loadTask('rte', 'dev', {}), { instanceOf: TypeError, message: /dataDir/ });
  t.is((await loadTask('rte', 'dev', { dataDir, limit: 2 })).length, 2);
});

// ---------------------------------------------------------------- the real shared datasets

const shared = haveShared ? test : test.skip;
if (!haveShared) console.log('eval.test: ../shared/data is absent: skipping the real-dataset checks');

// [task, split, rows, label histogram by id] (README of ../shared/data; histograms counted from the files).
const REAL: [string, string, number, Record<number, number> | null][] = [
  ['rte', 'train', 2490, { 0: 1249, 1: 1241 }],
  ['rte', 'dev', 277, { 0: 146, 1: 131 }],
  ['mrpc', 'train', 3667, { 0: 1194, 1: 2473 }],
  ['mrpc', 'dev', 408, { 0: 129, 1: 279 }],
  ['sst2', 'train', 67349, { 0: 29780, 1: 37569 }],
  ['sst2', 'dev', 872, { 0: 428, 1: 444 }],
  ['cb', 'train', 250, { 0: 115, 1: 119, 2: 16 }],
  ['cb', 'dev', 56, { 0: 23, 1: 28, 2: 5 }],
  ['boolq', 'dev', 3270, { 0: 1237, 1: 2033 }],
  ['cosmosqa', 'dev', 2985, { 0: 744, 1: 729, 2: 761, 3: 751 }],
  ['sick', 'train', 4439, { 0: 1274, 1: 2524, 2: 641 }],
  ['sick', 'dev', 495, { 0: 143, 1: 281, 2: 71 }],
  ['sick', 'test', 4906, { 0: 1404, 1: 2790, 2: 712 }],
];

for (const [task, split, rows, hist] of REAL) {
  shared(`real data: ${task}/${split} has ${rows} rows with the documented labels`, async (t) => {
    const records = await loadTask(task, split, { dataDir: sharedDataDir });
    t.is(records.length, rows);
    const got: Record<number, number> = {};
    for (const r of records) got[r.label!] = (got[r.label!] ?? 0) + 1;
    t.deepEqual(got, hist);
    for (const r of records) {
      if ('choices' in r) t.true(r.choices.length === 4 && r.choices.every((c) => c.text.length > 0 && c.pair!.length > 0));
      else t.true(typeof r.text === 'string' && r.text.length > 0);
    }
  });
}

shared('real data: SICK has 9840 pairs in all; relatedness scores are 1–5; every split has its own pairs', async (t) => {
  const all = await readSick(join(sharedDataDir, 'sick', 'SICK.txt'), { target: 'relatedness' });
  t.is(all.length, 9840);
  t.true(all.every((r) => r.label! >= 1 && r.label! <= 5));
  t.is(all[0].label, 4.5);
  t.is(all[all.length - 1].id, '10000'); // the last line, without a newline
  const ids = new Set<string>();
  for (const split of ['train', 'dev', 'test']) for (const r of await loadTask('sick', split, { dataDir: sharedDataDir })) ids.add(r.id!);
  t.is(ids.size, 9840);
});

shared('real data: MRPC keeps its text (BOM stripped, quotes kept) and the first rows are right', async (t) => {
  const dev = (await loadTask('mrpc', 'dev', { dataDir: sharedDataDir })) as TextRecord[];
  t.is(dev[0].label, 1);
  t.is(dev[0].text, "He said the foodservice pie business doesn 't fit the company 's long-term growth strategy .");
  t.true(dev[0].pair!.startsWith('" The foodservice pie business'));
  const rte = (await loadTask('rte', 'train', { dataDir: sharedDataDir })) as TextRecord[];
  t.deepEqual(rte[0], { id: '0', text: 'No Weapons of Mass Destruction Found in Iraq Yet.', pair: 'Weapons of Mass Destruction Found in Iraq.', label: 1 });
  const boolq = (await loadTask('boolq', 'dev', { dataDir: sharedDataDir })) as TextRecord[];
  t.is(boolq[0].text, 'does ethanol take more energy make that produces');
});

// ---------------------------------------------------------------- evaluateTask with a real model

const withModel = haveShared && haveBertMini ? test : test.skip;

withModel('evaluateTask: tokenizes, predicts in batches and scores RTE, CB, SICK relatedness and CosmosQA', async (t) => {
  const model = await loadModel(bertMiniDir);
  t.teardown(() => model.dispose());
  const tok = await Tokenizer.fromPretrained(bertMiniDir);
  await model.addClassificationHead('rte', { numLabels: 2, seed: 1 });
  await model.addClassificationHead('cb', { numLabels: 3, seed: 1 });
  await model.addClassificationHead('rel', { numLabels: 1, seed: 1 });
  await model.addMultipleChoiceHead('cosmos', { numChoices: 4, seed: 1 });

  await model.setActiveAdapters(null, { head: 'rte' });
  const rte = await evaluateTask(model, tok, 'rte', 'dev', { dataDir: sharedDataDir, batchSize: 64, encode: { maxLength: 128 } });
  t.is(rte.examples, 277);
  t.is(rte.metric, 'accuracy');
  t.is(rte.value, rte.metrics.accuracy!);
  t.true(rte.value > 0.3 && rte.value < 0.7);
  t.deepEqual(Object.keys(rte.metrics).sort(), ['accuracy', 'examples', 'f1', 'loss', 'macroF1', 'mcc']);
  // The same numbers through loadTaskExamples + the model directly (order, batching and padding do not matter).
  const ex = await loadTaskExamples('rte', 'dev', tok, { dataDir: sharedDataDir, encode: { maxLength: 128 } });
  let hits = 0;
  for (let i = 0; i < ex.length; i += 50) {
    const part = ex.slice(i, i + 50) as { inputIds: Int32Array; tokenTypeIds?: Int32Array; label?: number }[];
    const L = Math.max(...part.map((e) => e.inputIds.length));
    const ids = new Int32Array(part.length * L);
    const types = new Int32Array(part.length * L);
    const mask = new Int32Array(part.length * L);
    part.forEach((e, r) => {
      ids.set(e.inputIds, r * L);
      types.set(e.tokenTypeIds!, r * L);
      mask.fill(1, r * L, r * L + e.inputIds.length);
    });
    const out = await model.predict({ inputIds: ids, tokenTypeIds: types, attentionMask: mask, batchSize: part.length, seqLen: L });
    const pred = argmax(out.logits, 2);
    part.forEach((e, r) => (hits += pred[r] === e.label ? 1 : 0));
  }
  t.is(hits / ex.length, rte.value);

  await model.setActiveAdapters(null, { head: 'cb' });
  const cb = await evaluateTask(model, tok, 'cb', 'dev', { dataDir: sharedDataDir });
  t.is(cb.examples, 56);
  t.false('f1' in cb.metrics);
  t.true(cb.metrics.macroF1! >= 0 && cb.metrics.macroF1! <= 1);

  await model.setActiveAdapters(null, { head: 'rel' });
  const rel = await evaluateTask(model, tok, 'sick-relatedness', 'dev', { dataDir: sharedDataDir, batchSize: 128 });
  t.is(rel.examples, 495);
  t.is(rel.metric, 'pearson');
  t.true(Math.abs(rel.value) <= 1);

  await model.setActiveAdapters(null, { head: 'cosmos' });
  const cos = await evaluateTask(model, tok, 'cosmosqa', 'dev', { dataDir: sharedDataDir, limit: 100, encode: { maxLength: 96 } });
  t.is(cos.examples, 100);
  t.true(cos.value >= 0 && cos.value <= 1);

  // A head that does not fit the task is refused before anything is read.
  t.throws(() => checkHeadFitsTask(model, 'rte'), { code: 'ERR_AF_INVALID_ARGUMENT', message: /does not fit task rte/ });
  await t.throwsAsync(evaluateTask(model, tok, 'rte', 'dev', { dataDir: sharedDataDir }), { code: 'ERR_AF_INVALID_ARGUMENT' });
});
