// The task registry on hand-made files (fixtures/data): every task's train / dev (/ test) split,
// the Argument corpus, malformed rows reported as file:line (refused or skipped), files that cannot
// be parsed at all, missing split files named before any work, and custom tasks from a JSON file
// or a column mapping with their spec validation.
import test from 'ava';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BadRowsError,
  TASKS,
  checkTaskData,
  defineCustomTask,
  formatProblems,
  headOptionsFor,
  loadTask,
  loadTaskWithProblems,
  parseColumnMapping,
  parseJsonl,
  readArgument,
  readCustomTaskFile,
  readSocialIqaRows,
  taskNames,
  validateCustomTaskSpec,
  type ChoiceRecord,
  type CustomTaskSpec,
  type RowProblem,
  type TaskRecord,
  type TextRecord,
} from '../lib/eval/index.js';
import { InvalidFileError } from '../lib/errors.js';
import { fixturesDir } from './helpers/paths.js';

const dataDir = join(fixturesDir, 'data');
const badDir = join(dataDir, 'bad');
const customDir = join(dataDir, 'custom');

async function tempDir(t: { teardown(fn: () => unknown): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'af-tasks-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function put(dir: string, name: string, content: string): Promise<string> {
  const path = join(dir, name);
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, content);
  return path;
}

const labelsOf = (rs: TaskRecord[]) => rs.map((r) => r.label);
const where = (ps: readonly RowProblem[]) => ps.map((p) => [p.line, p.message]);

// ---------------------------------------------------------------- the registry on its fixtures

test('registry: the paper\'s 16 tasks (and SICK relatedness), each with train and dev, all present in fixtures/data', async (t) => {
  t.deepEqual(taskNames().sort(), [
    'argument', 'boolq', 'cb', 'cosmosqa', 'csqa', 'hellaswag', 'imdb', 'mnli', 'mrpc', 'qqp', 'rte', 'scitail', 'sick', 'sick-relatedness',
    'socialiqa', 'sst2', 'winogrande',
  ]);
  for (const spec of Object.values(TASKS)) {
    t.truthy(spec.files.train, `${spec.name} train`);
    t.truthy(spec.files.dev, `${spec.name} dev`);
    // Every split of every task has its hand-made file(s).
    const paths = await checkTaskData(spec.name, dataDir);
    t.deepEqual(Object.keys(paths), Object.keys(spec.files), spec.name);
  }
  t.deepEqual(Object.keys(TASKS.sick.files), ['train', 'dev', 'test']);
  t.deepEqual(Object.keys(TASKS.scitail.files), ['train', 'dev', 'test']);
  t.deepEqual(Object.keys(TASKS.argument.files), ['train', 'dev', 'test']);
  t.deepEqual(Object.keys(TASKS.mnli.files), ['train', 'dev', 'dev_mismatched']);
  t.deepEqual(headOptionsFor('argument'), { type: 'classification', numLabels: 3, id2label: ['NoArgument', 'Argument_for', 'Argument_against'] });
});

// [task, split, labels, pair?] — pair: whether text records carry a second text.
const FIXTURES: [string, string, (number | undefined)[], boolean][] = [
  ['mnli', 'train', [0, 2, 1, 0], true],
  ['mnli', 'dev', [2, 0, 1], true],
  ['mnli', 'dev_mismatched', [1, 2], true],
  ['qqp', 'train', [1, 0, 1], true],
  ['qqp', 'dev', [1, 0], true],
  ['sst2', 'train', [1, 0, 1, 0], false],
  ['sst2', 'dev', [1, 0, 1], false],
  ['rte', 'train', [0, 1, 0, 1], true],
  ['rte', 'dev', [0, 1, 0], true],
  ['mrpc', 'train', [1, 0, 1], true],
  ['mrpc', 'dev', [1, 0], true],
  ['cb', 'train', [0, 1, 2, 0], true],
  ['cb', 'dev', [2, 1, 0], true],
  ['boolq', 'train', [1, 0, 1], true],
  ['boolq', 'dev', [0, 1], true],
  ['sick', 'train', [0, 0], true],
  ['sick', 'dev', [2], true],
  ['sick', 'test', [1], true],
  ['sick-relatedness', 'train', [4.2, 4.6], true],
  ['sick-relatedness', 'dev', [3.5], true],
  ['sick-relatedness', 'test', [1.1], true],
  ['scitail', 'train', [0, 1, 0], true],
  ['scitail', 'dev', [0, 1], true],
  ['scitail', 'test', [0, 1], true],
  ['imdb', 'train', [0, 0, 1, 1], false],
  ['imdb', 'dev', [0, 1, 1], false],
  ['imdb', 'test', [0, 1, 1], false],
  ['argument', 'train', [1, 2, 0, 1, 2], true],
  ['argument', 'dev', [1, 0], true],
  ['argument', 'test', [0, 2], true],
  ['hellaswag', 'train', [0, 2, 1], true],
  ['hellaswag', 'dev', [0, 2], true],
  ['winogrande', 'train', [0, 1], true],
  ['winogrande', 'dev', [0, 0, 1], true],
  ['cosmosqa', 'train', [1, 0, 2], true],
  ['cosmosqa', 'dev', [1, 3], true],
  ['csqa', 'train', [1, 4, 0], true],
  ['csqa', 'dev', [2, 0], true],
  ['socialiqa', 'train', [0, 1, 2], true],
  ['socialiqa', 'dev', [0, 2], true],
];

test('every registry task reads its fixture splits with the expected counts, labels and pairs / choices', async (t) => {
  const seen = new Set<string>();
  for (const [task, split, labels, pair] of FIXTURES) {
    const spec = TASKS[task];
    const got = await loadTaskWithProblems(task, split, { dataDir });
    const name = `${task}/${split}`;
    seen.add(`${task}/${split}`);
    t.deepEqual(got.problems, [], name);
    t.deepEqual(labelsOf(got.records), labels, name);
    for (const r of got.records) {
      if (spec.kind === 'multiple_choice') {
        const c = (r as ChoiceRecord).choices;
        t.is(c.length, spec.numChoices!, name);
        t.true(c.every((x) => x.text.trim() !== '' && (x.pair ?? '').trim() !== ''), name);
      } else {
        const x = r as TextRecord;
        t.true(x.text.trim() !== '', name);
        t.is(typeof x.pair === 'string' && x.pair.trim() !== '', pair, name);
      }
    }
  }
  // The table covers every split of every task.
  for (const spec of Object.values(TASKS)) for (const split of Object.keys(spec.files)) t.true(seen.has(`${spec.name}/${split}`), `${spec.name}/${split}`);
});

test('new train fixtures keep the formats\' quirks: MRPC BOM, CosmosQA CRLF with a quoted newline, HellaSwag empty ctx_b, IMDb <br />', async (t) => {
  const mrpc = (await loadTask('mrpc', 'train', { dataDir })) as TextRecord[];
  t.is(mrpc[0].text, 'The mayor opened the new bridge on Monday .');
  t.is(mrpc[1].text, 'Sales fell " slightly " in March .');
  const cosmos = (await loadTask('cosmosqa', 'train', { dataDir })) as ChoiceRecord[];
  t.deepEqual(cosmos[0].choices[1], { text: 'The power went out, so we lit candles and told "ghost" stories.', pair: 'What did they do when the power went out ? They lit candles .' });
  t.is(cosmos[2].choices[0].text, 'We missed the last train.\r\nWe walked home, laughing.');
  t.is(cosmos[2].id, 't3');
  const hs = (await loadTask('hellaswag', 'train', { dataDir })) as ChoiceRecord[];
  t.deepEqual(hs[1].choices[2], { text: 'A girl stands at the edge of the pool.', pair: 'She dives into the water.' });
  const imdb = (await loadTask('imdb', 'train', { dataDir })) as TextRecord[];
  t.deepEqual(imdb[1], { id: 'neg/1_3.txt', text: 'The jokes fell flat. I left early.', label: 0 });
  const wg = (await loadTask('winogrande', 'train', { dataDir })) as ChoiceRecord[];
  t.deepEqual(wg[1].choices[1], { text: 'Maria lent Ana an umbrella because Ana', pair: 'was going out in the rain.' });
});

// ---------------------------------------------------------------- Argument

test('Argument: per-topic TSV files, split = the rows of its set across topics, (topic, sentence) pairs', async (t) => {
  const train = (await loadTask('argument', 'train', { dataDir })) as TextRecord[];
  t.deepEqual(train[0], { id: 'a1', text: 'school uniforms', pair: 'Uniforms let students focus on learning instead of fashion.', label: 1 });
  // The second topic file has the release's full column set (retrievedUrl, archivedUrl, sentenceHash).
  t.deepEqual(train[4], { id: 'b2', text: 'space travel', pair: 'The money would do more good fixing problems on Earth.', label: 2 });
  t.deepEqual((await loadTask('argument', 'dev', { dataDir })).map((r) => r.id), ['a4', 'b3']);
  t.is((await readArgument(join(dataDir, 'argument'))).length, 9);

  const dir = await tempDir(t);
  await put(dir, 'a.tsv', 'topic\thash\tsentence\tannotation\tset\nt\th1\tGood one.\tArgument_for\ttrain\nt\th2\tBad label.\tArgument_maybe\ttrain\n');
  await put(dir, 'b.tsv', 'topic\thash\tsentence\tannotation\tset\nt\th3\tNo set.\tNoArgument\tdev\nt\th4\t \tNoArgument\ttrain\nt\th5\ttoo few\ttrain\n');
  const got = await loadTaskWithProblems('argument', 'train', { file: dir, badRows: 'skip' });
  t.deepEqual(got.records.map((r) => r.id), ['h1']);
  t.deepEqual(
    got.problems.map((p) => `${p.file.slice(dir.length + 1)}:${p.line}: ${p.message}`),
    [
      'a.tsv:3: label "Argument_maybe" is not one of "NoArgument", "Argument_for", "Argument_against"',
      'b.tsv:2: set "dev" is not one of "train", "val", "test"',
      'b.tsv:3: "sentence" is empty',
      'b.tsv:4: 4 cells, the header has 5',
    ],
  );
  await put(dir, 'c.tsv', 'topic\tsentence\tset\nt\ts\ttrain\n');
  await t.throwsAsync(loadTask('argument', 'train', { file: dir }), { instanceOf: InvalidFileError, message: /c\.tsv: no column "annotation"/ });
  const empty = await tempDir(t);
  await t.throwsAsync(loadTask('argument', 'dev', { file: empty }), { code: 'ERR_AF_IO', message: /no <topic>\.tsv files/ });
});

// ---------------------------------------------------------------- malformed rows

test('bad TSV rows: refused with every file:line and reason, or skipped and returned', async (t) => {
  const file = join(badDir, 'rte', 'dev.tsv');
  const err = await t.throwsAsync(loadTask('rte', 'dev', { dataDir: badDir }), { instanceOf: BadRowsError, code: 'ERR_AF_INVALID_FILE' });
  t.is(
    err!.message,
    `task rte, split dev: 4 bad rows\n` +
      `${file}:3: label "maybe" is not one of "entailment", "not_entailment"\n` +
      `${file}:4: 3 cells, the header has 4\n` +
      `${file}:6: "sentence1" is empty\n` +
      `${file}:8: 5 cells, the header has 4`,
  );
  t.true(err instanceof InvalidFileError);
  t.is((err as BadRowsError).problems.length, 4);
  const got = await loadTaskWithProblems('rte', 'dev', { dataDir: badDir, badRows: 'skip' });
  t.deepEqual(got.records.map((r) => r.id), ['0', '4']);
  t.is(got.path, file);
  t.true(got.problems.every((p) => p.file === file));
  t.deepEqual(where(got.problems), [
    [3, 'label "maybe" is not one of "entailment", "not_entailment"'],
    [4, '3 cells, the header has 4'],
    [6, '"sentence1" is empty'],
    [8, '5 cells, the header has 4'],
  ]);
  // limit counts good records only.
  t.deepEqual((await loadTaskWithProblems('rte', 'dev', { dataDir: badDir, badRows: 'skip', limit: 1 })).records.map((r) => r.id), ['0']);
});

test('bad CSV rows (CosmosQA): a multi-line row is reported at its first line', async (t) => {
  const file = join(badDir, 'cosmosqa', 'valid.csv');
  await t.throwsAsync(loadTask('cosmosqa', 'dev', { dataDir: badDir }), {
    instanceOf: BadRowsError,
    message: new RegExp(`^task cosmosqa, split dev: 3 bad rows\\n${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3: label "9"`),
  });
  const got = await loadTaskWithProblems('cosmosqa', 'dev', { dataDir: badDir, badRows: 'skip' });
  t.deepEqual(got.records.map((r) => [r.id, r.label]), [['b1', 0], ['b5', 3]]);
  t.deepEqual(where(got.problems), [
    [3, 'label "9" is not an integer in [0, 4)'],
    [5, '6 cells, the header has 8'],
    [6, '"answer1" is empty'],
  ]);
});

test('bad JSONL rows (CB): not JSON, not an object, wrong type, missing key, unknown label, empty text', async (t) => {
  const got = await loadTaskWithProblems('cb', 'dev', { dataDir: badDir, badRows: 'skip' });
  t.deepEqual(got.records.map((r) => r.id), ['0', '7']);
  t.deepEqual(got.problems.map((p) => p.line), [2, 3, 4, 5, 6, 7]);
  const msgs = got.problems.map((p) => p.message);
  t.is(msgs[0], '"hypothesis" must be a string');
  t.regex(msgs[1], /^not valid JSON \(/);
  t.is(msgs[2], '"hypothesis" is missing');
  t.is(msgs[3], 'label "maybe" is not one of "entailment", "contradiction", "neutral"');
  t.is(msgs[4], 'the line is not a JSON object');
  t.is(msgs[5], '"premise" is empty');
  const err = await t.throwsAsync(loadTask('cb', 'dev', { dataDir: badDir }), { instanceOf: BadRowsError });
  t.is(err!.message.split('\n').length, 7);
  t.true(err!.message.includes(`${join(badDir, 'cb', 'val.jsonl')}:3: not valid JSON`));
  // parseJsonl collects instead of throwing when given a problems array.
  const problems: RowProblem[] = [];
  t.deepEqual(parseJsonl('{"a":1}\n{oops}\n[2]\n', 'x.jsonl', problems), [{ line: 1, value: { a: 1 } }, { line: 3, value: [2] }]);
  t.is(problems.length, 1);
  t.is(problems[0].line, 2);
});

test('bad rows: the message lists the first 20, then "… and N more"; the error keeps them all', async (t) => {
  const dir = await tempDir(t);
  const rows = Array.from({ length: 25 }, (_, i) => `${i}\tsentence ${i}\tthe other\tnope\n`).join('');
  const file = await put(dir, 'dev.tsv', `index\tsentence1\tsentence2\tlabel\n0\tok\tok\tentailment\n${rows}`);
  const err = (await t.throwsAsync(loadTask('rte', 'dev', { file }), { instanceOf: BadRowsError })) as BadRowsError;
  const lines = err.message.split('\n');
  t.is(lines[0], 'task rte, split dev: 25 bad rows');
  t.is(lines.length, 22);
  t.is(lines[1], `${file}:3: label "nope" is not one of "entailment", "not_entailment"`);
  t.is(lines[20], `${file}:22: label "nope" is not one of "entailment", "not_entailment"`);
  t.is(lines[21], '… and 5 more');
  t.is(err.problems.length, 25);
  t.is(formatProblems(err.problems, 2).split('\n')[2], '… and 23 more');
});

test('badRows "skip" through loadTask: the good records and one AF_BAD_ROWS process warning listing the rows', async (t) => {
  const warned = once(process, 'warning');
  const records = await loadTask('rte', 'dev', { dataDir: badDir, badRows: 'skip' });
  t.is(records.length, 2);
  const [w] = (await warned) as [Error & { code?: string }];
  t.is(w.code, 'AF_BAD_ROWS');
  t.regex(w.message, /^task rte, split dev: skipped 4 bad rows\n.*dev\.tsv:3: label "maybe"/);
  await t.throwsAsync(loadTask('rte', 'dev', { dataDir: badDir, badRows: 'warn' as 'skip' }), { instanceOf: TypeError, message: /badRows/ });
});

test('a file that cannot be parsed at all stays one InvalidFileError naming it, in both modes', async (t) => {
  const file = join(badDir, 'cosmosqa', 'train.csv');
  for (const badRows of ['error', 'skip'] as const) {
    const err = await t.throwsAsync(loadTask('cosmosqa', 'train', { dataDir: badDir, badRows }), { instanceOf: InvalidFileError });
    t.false(err instanceof BadRowsError);
    t.is(err!.message, `${file}:2: a quoted field is not closed`);
  }
  const dir = await tempDir(t);
  const noCol = await put(dir, 'dev.tsv', 'index\tpremise\tsentence2\tlabel\n0\ta\tb\tentailment\n');
  await t.throwsAsync(loadTask('rte', 'dev', { file: noCol, badRows: 'skip' }), { instanceOf: InvalidFileError, message: /dev\.tsv: no column "sentence1"/ });
});

test('Social IQa: a bad label is a problem at its line of the labels file; a labels file of the wrong length is refused', async (t) => {
  const dir = await tempDir(t);
  const line = (c: string) => JSON.stringify({ context: c, question: 'q?', answerA: 'a', answerB: 'b', answerC: 'c' });
  const file = await put(dir, 'dev.jsonl', `${line('one')}\n{broken\n${line('three')}\n${line('four')}\n`);
  const labels = await put(dir, 'dev-labels.lst', '1\n2\n\n7\n3\n');
  const got = await readSocialIqaRows(file, labels);
  t.deepEqual(labelsOf(got.records), [0, 2]);
  t.deepEqual(got.problems.map((p) => [p.file, p.line]), [[file, 2], [labels, 4]]);
  t.is(got.problems[1].message, 'label "7" is not an integer in [1, 4)');
  await writeFile(labels, '1\n2\n');
  await t.throwsAsync(readSocialIqaRows(file, labels), { instanceOf: InvalidFileError, message: /2 labels for 4 examples/ });
});

// ---------------------------------------------------------------- missing split files

test('checkTaskData names the task, the folder and every missing split file with its expected path', async (t) => {
  const dir = await tempDir(t);
  await put(dir, 'rte/train.tsv', 'index\tsentence1\tsentence2\tlabel\n');
  const rte = join(dir, 'rte');
  await t.throwsAsync(checkTaskData('rte', dir, ['train', 'dev']), {
    code: 'ERR_AF_IO',
    message: `task rte: ${rte} is missing dev.tsv (split dev: ${join(rte, 'dev.tsv')})`,
  });
  const mnli = join(dir, 'mnli');
  await t.throwsAsync(checkTaskData('mnli', dir), {
    code: 'ERR_AF_IO',
    message:
      `task mnli: ${mnli} (which does not exist) is missing train.tsv (split train: ${join(mnli, 'train.tsv')}), ` +
      `dev_matched.tsv (split dev: ${join(mnli, 'dev_matched.tsv')}) and dev_mismatched.tsv (split dev_mismatched: ${join(mnli, 'dev_mismatched.tsv')})`,
  });
  // One file for several splits is named once; companion files and folders count too.
  await t.throwsAsync(checkTaskData('sick', dir), { message: `task sick: ${join(dir, 'sick')} (which does not exist) is missing SICK.txt (splits train, dev, test: ${join(dir, 'sick', 'SICK.txt')})` });
  await put(dir, 'socialiqa/dev.jsonl', '');
  await t.throwsAsync(checkTaskData('socialiqa', dir, ['dev']), { message: /is missing dev-labels\.lst \(split dev: .*dev-labels\.lst\)$/ });
  await put(dir, 'imdb/train/pos/1.txt', 'x');
  await t.throwsAsync(checkTaskData('imdb', dir, ['train']), { message: /is missing train\/neg \(split train: / });
  await mkdir(join(dir, 'argument'));
  await t.throwsAsync(checkTaskData('argument', dir, ['train']), { message: /task argument: .*argument is missing \*\.tsv \(split train: / });
  await put(dir, 'argument/x.tsv', '');
  t.deepEqual(await checkTaskData('argument', dir, ['train']), { train: join(dir, 'argument') });
  t.deepEqual(await checkTaskData('rte', dir, ['train']), { train: join(rte, 'train.tsv') });
  await t.throwsAsync(checkTaskData('rte', dir, ['validation']), { code: 'ERR_AF_INVALID_ARGUMENT', message: /no split "validation"/ });
  await t.throwsAsync(checkTaskData('rte', undefined, ['dev']), { instanceOf: TypeError, message: /dataDir/ });
});

// ---------------------------------------------------------------- custom tasks

test('custom task from a JSON file: TSV classification, labels inferred from train, relative files', async (t) => {
  const task = await readCustomTaskFile(join(customDir, 'sentiment', 'task.json'));
  t.is(task.name, 'sentiment');
  t.is(task.kind, 'classification');
  t.deepEqual(task.labels, ['bad', 'good', 'mixed']);
  t.is(task.metric, 'accuracy');
  t.deepEqual(task.metrics, ['accuracy', 'macroF1', 'mcc']);
  t.is(task.files.dev, join(customDir, 'sentiment', 'dev.tsv'));
  t.is(task.custom!.files.train, join(customDir, 'sentiment', 'train.tsv'));
  t.deepEqual(task.custom!.labels, ['bad', 'good', 'mixed']);
  t.deepEqual(headOptionsFor(task), { type: 'classification', numLabels: 3, id2label: ['bad', 'good', 'mixed'] });
  t.deepEqual(await checkTaskData(task, undefined), { train: task.files.train, dev: task.files.dev });
  const train = await loadTask(task, 'train');
  t.deepEqual(train[3], { id: 's4', text: 'A "classic" for sure.', label: 1 });
  t.deepEqual(labelsOf(await loadTask(task, 'dev')), [1, 0]);
  // task.custom saved as JSON reads back to the same task (absolute files, labels fixed).
  const dir = await tempDir(t);
  const again = await readCustomTaskFile(await put(dir, 'saved.json', JSON.stringify(task.custom)));
  t.deepEqual(again.custom, task.custom);
  t.deepEqual(await loadTask(again, 'train'), train);
});

test('a hand-written TaskSpec whose reader returns a plain array still loads', async (t) => {
  const spec = { ...TASKS.sst2, name: 'plain', read: async () => [{ text: 'a', label: 0 }, { text: 'b', label: 1 }] };
  t.deepEqual(await loadTaskWithProblems(spec, 'dev', { dataDir }), {
    task: 'plain',
    split: 'dev',
    path: join(dataDir, 'sst2', 'dev.tsv'),
    records: [
      { text: 'a', label: 0 },
      { text: 'b', label: 1 },
    ],
    problems: [],
  });
});

test('custom task from a JSON file: JSONL multiple choice, nested keys, label as index or choice column', async (t) => {
  const task = await readCustomTaskFile(join(customDir, 'quiz', 'task.json'));
  t.is(task.kind, 'multiple_choice');
  t.is(task.numChoices, 3);
  t.is(task.labels, undefined);
  t.deepEqual(headOptionsFor(task), { type: 'multiple_choice', numChoices: 3 });
  const train = (await loadTask(task, 'train')) as ChoiceRecord[];
  t.deepEqual(labelsOf(train), [0, 1, 2]);
  t.deepEqual(train[0], {
    id: 'q1',
    label: 0,
    choices: [
      { text: 'Ana keeps her bike in the shed.', pair: 'Where is the bike? in the shed' },
      { text: 'Ana keeps her bike in the shed.', pair: 'Where is the bike? on the roof' },
      { text: 'Ana keeps her bike in the shed.', pair: 'Where is the bike? in the lake' },
    ],
  });
  t.deepEqual(labelsOf(await loadTask(task, 'dev')), [0, 2]);
});

test('custom task from a column mapping: CSV classification with explicit labels and CSV / TSV regression', async (t) => {
  const sim = join(customDir, 'similarity');
  const files = { train: join(sim, 'train.csv'), dev: join(sim, 'dev.csv') };
  const cls = await defineCustomTask({ name: 'related', files, labels: ['no', 'yes'], ...parseColumnMapping('text=first,pair=second,label=related') } as CustomTaskSpec);
  t.deepEqual(cls.labels, ['no', 'yes']);
  t.deepEqual(cls.metrics, ['accuracy', 'f1', 'macroF1', 'mcc']);
  const train = (await loadTask(cls, 'train')) as TextRecord[];
  t.deepEqual(train[2], { text: 'She said "hello" twice.', pair: 'She greeted someone.', label: 1 });
  t.deepEqual(labelsOf(await loadTask(cls, 'dev')), [1, 0]);

  const reg = await defineCustomTask({ name: 'similarity', kind: 'regression', files, ...parseColumnMapping('text=first,pair=second,label=score') } as CustomTaskSpec);
  t.is(reg.metric, 'pearson');
  t.deepEqual(reg.metrics, ['pearson', 'spearman', 'mse']);
  t.deepEqual(headOptionsFor(reg), { type: 'classification', numLabels: 1 });
  t.deepEqual(labelsOf(await loadTask(reg, 'train')), [4.1, 0.8, 3.6]);
  const dev = (await loadTask(reg, 'dev')) as TextRecord[];
  t.deepEqual(dev[1], { text: 'It is raining.', pair: 'The sun is out, hot and bright.', label: 0.5 });

  // Relative files resolve against baseDir; TSV regression on the stars column.
  const stars = await defineCustomTask({ name: 'stars', kind: 'regression', files: { train: 'train.tsv', dev: 'dev.tsv' }, text: 'review', label: 'stars' }, { baseDir: join(customDir, 'sentiment') });
  t.deepEqual(labelsOf(await loadTask(stars, 'train')), [5, 2, 3, 5]);
});

test('custom task from a column mapping: JSONL classification with inferred labels (strings and booleans), header-less TSV by index', async (t) => {
  const cb = await defineCustomTask({
    name: 'my-cb',
    files: { train: join(dataDir, 'cb', 'train.jsonl'), dev: join(dataDir, 'cb', 'val.jsonl') },
    ...parseColumnMapping('text=premise,pair=hypothesis,label=label,id=idx'),
  } as CustomTaskSpec);
  t.deepEqual(cb.labels, ['contradiction', 'entailment', 'neutral']);
  const dev = (await loadTask(cb, 'dev')) as TextRecord[];
  t.deepEqual(labelsOf(dev), [2, 0, 1]);
  t.is(dev[0].id, '0');
  const bq = await defineCustomTask({
    name: 'my-boolq',
    files: { train: join(dataDir, 'boolq', 'train.jsonl'), dev: join(dataDir, 'boolq', 'val.jsonl') },
    ...parseColumnMapping('text=question,pair=passage,label=label'),
  } as CustomTaskSpec);
  t.deepEqual(bq.labels, ['false', 'true']);
  t.deepEqual(labelsOf(await loadTask(bq, 'dev')), [0, 1]);

  const dir = await tempDir(t);
  await put(dir, 'train.tsv', 'x\t"plain" text\t10\ny\tmore text\t2\nz\tthird\t10\n');
  await put(dir, 'dev.tsv', 'w\tdev text\t2\n');
  const noHeader = await defineCustomTask({ name: 'indexed', files: { train: 'train.tsv', dev: 'dev.tsv' }, header: false, text: 1, label: '2', id: 0 }, { baseDir: dir });
  t.deepEqual(noHeader.labels, ['2', '10']); // numeric values sort as numbers
  t.deepEqual(await loadTask(noHeader, 'train'), [
    { id: 'x', text: '"plain" text', label: 1 },
    { id: 'y', text: 'more text', label: 0 },
    { id: 'z', text: 'third', label: 1 },
  ]);
});

test('custom task: dev labels outside the list, wrong cell counts and missing keys are row problems; a missing column refuses the file', async (t) => {
  const dir = await tempDir(t);
  await put(dir, 'train.csv', 'text,label\nfine,a\ngood,b\n');
  const dev = await put(dir, 'dev.csv', 'text,label\nok,a\nhmm,c\ntoo,many,cells\n,b\n');
  const task = await defineCustomTask({ name: 'ab', files: { train: 'train.csv', dev: 'dev.csv' }, text: 'text', label: 'label' }, { baseDir: dir });
  t.deepEqual(task.labels, ['a', 'b']);
  const err = await t.throwsAsync(loadTask(task, 'dev'), { instanceOf: BadRowsError });
  t.is(err!.message, `task ab, split dev: 3 bad rows\n${dev}:3: label "c" is not one of "a", "b"\n${dev}:4: 3 cells, the header has 2\n${dev}:5: "text" is empty`);
  const got = await loadTaskWithProblems(task, 'dev', { badRows: 'skip' });
  t.deepEqual(got.records, [{ text: 'ok', label: 0 }]);

  await put(dir, 'dev.jsonl', '{"t": "x", "y": "a"}\n{"t": "x"}\n{"t": 5, "y": "b"}\n');
  await put(dir, 'train.jsonl', '{"t": "x", "y": "a"}\n');
  const j = await defineCustomTask({ name: 'j', files: { train: 'train.jsonl', dev: 'dev.jsonl' }, text: 't', label: 'y', labels: ['a', 'b'] }, { baseDir: dir });
  t.deepEqual(where((await loadTaskWithProblems(j, 'dev', { badRows: 'skip' })).problems), [
    [2, 'the label "y" is empty or missing'],
    [3, '"t" must be a string'],
  ]);

  await put(dir, 'other.csv', 'sentence,label\nx,a\n');
  await t.throwsAsync(loadTask(task, 'dev', { file: join(dir, 'other.csv') }), { instanceOf: InvalidFileError, message: /other\.csv: no column "text" \(columns: sentence, label\)/ });
  // Inferring labels first names every missing file.
  await t.throwsAsync(defineCustomTask({ name: 'gone', files: { train: 'no-train.csv', dev: 'no-dev.csv' }, text: 'text', label: 'label' }, { baseDir: dir }), {
    code: 'ERR_AF_IO',
    message: /^task gone: missing .*no-train\.csv \(split train: .*\) and .*no-dev\.csv \(split dev: /,
  });
  await put(dir, 'one.csv', 'text,label\nx,a\ny,a\n');
  await t.throwsAsync(defineCustomTask({ name: 'one', files: { train: 'one.csv', dev: 'dev.csv' }, text: 'text', label: 'label' }, { baseDir: dir }), {
    instanceOf: InvalidFileError,
    message: /holds 1 distinct value\(s\) \(a\).*give "labels"/,
  });
});

test('custom task spec validation: unknown keys, wrong types and bad values name the key', async (t) => {
  const ok: CustomTaskSpec = { name: 'x', files: { train: 'a.csv', dev: 'b.csv' }, text: 'text', label: 'label', labels: ['n', 'y'] };
  t.notThrows(() => validateCustomTaskSpec(ok));
  const bad = (patch: Record<string, unknown>) => ({ ...ok, ...patch });
  t.throws(() => validateCustomTaskSpec(null), { instanceOf: TypeError });
  t.throws(() => validateCustomTaskSpec(bad({ columns: 'x' })), { code: 'ERR_AF_INVALID_ARGUMENT', message: /unknown key "columns"/ });
  t.throws(() => validateCustomTaskSpec(bad({ name: 3 })), { instanceOf: TypeError, message: /"name" must be a string/ });
  t.throws(() => validateCustomTaskSpec(bad({ name: 'a b' })), { code: 'ERR_AF_INVALID_ARGUMENT', message: /"name"/ });
  t.throws(() => validateCustomTaskSpec(bad({ name: 'rte' })), { code: 'ERR_AF_INVALID_ARGUMENT', message: /"rte" is a registered task/ });
  t.throws(() => validateCustomTaskSpec(bad({ files: { train: 'a.csv' } })), { code: 'ERR_AF_INVALID_ARGUMENT', message: /"files\.dev" is required/ });
  t.throws(() => validateCustomTaskSpec(bad({ files: { train: 'a.csv', dev: 'b.csv', valid: 'c.csv' } })), { message: /unknown split "files\.valid"/ });
  t.throws(() => validateCustomTaskSpec(bad({ files: { train: 'a.csv', dev: 7 } })), { instanceOf: TypeError, message: /"files\.dev"/ });
  t.throws(() => validateCustomTaskSpec(bad({ files: { train: 'a.txt', dev: 'b.csv' } })), { message: /format of files\.train "a\.txt"/ });
  t.notThrows(() => validateCustomTaskSpec(bad({ files: { train: 'a.txt', dev: 'b.txt' }, format: 'tsv' })));
  t.throws(() => validateCustomTaskSpec(bad({ format: 'xlsx' })), { message: /"format" must be one of csv, tsv, jsonl/ });
  t.throws(() => validateCustomTaskSpec(bad({ text: undefined })), { message: /"text" \(a column\) is required/ });
  t.throws(() => validateCustomTaskSpec(bad({ pair: ['a'] })), { instanceOf: TypeError, message: /"pair" must be a column/ });
  t.throws(() => validateCustomTaskSpec(bad({ labels: 'n,y' })), { instanceOf: TypeError, message: /"labels" must be an array of strings/ });
  t.throws(() => validateCustomTaskSpec(bad({ labels: ['n', 'n'] })), { message: /"labels" has an empty or repeated name "n"/ });
  t.throws(() => validateCustomTaskSpec(bad({ kind: 'ranking' })), { message: /"kind" must be one of/ });
  t.throws(() => validateCustomTaskSpec(bad({ kind: 'regression' })), { message: /"labels" only apply to classification/ });
  t.throws(() => validateCustomTaskSpec(bad({ labels: undefined, kind: 'multiple_choice' })), { message: /needs "choices"/ });
  t.throws(() => validateCustomTaskSpec(bad({ labels: undefined, choices: ['a'] })), { message: /"choices" needs at least 2/ });
  t.throws(() => validateCustomTaskSpec(bad({ labels: undefined, kind: 'regression', choices: ['a', 'b'] })), { message: /"choices" needs "kind" multiple_choice/ });
  t.throws(() => validateCustomTaskSpec(bad({ metric: 'pearson' })), { message: /"metric" of a classification task must be one of accuracy, f1, macroF1, mcc/ });
  t.throws(() => validateCustomTaskSpec(bad({ header: 'yes' })), { instanceOf: TypeError, message: /"header"/ });
  t.throws(() => validateCustomTaskSpec(bad({ header: false })), { message: /"text" names a column, but with "header": false/ });
  t.throws(() => validateCustomTaskSpec(bad({ files: { train: 'a.jsonl', dev: 'b.jsonl' }, text: 0 })), { message: /"text" is an index, but JSONL columns are keys/ });
  await t.throwsAsync(defineCustomTask(bad({ labels: ['a', 'b', 'c'], metric: 'f1' }) as CustomTaskSpec), { message: /f1 needs 2 labels/ });
});

test('readCustomTaskFile: bad JSON and bad specs are InvalidFileErrors naming the file (and the key)', async (t) => {
  const dir = await tempDir(t);
  const broken = await put(dir, 'broken.json', '{"name": ');
  await t.throwsAsync(readCustomTaskFile(broken), { instanceOf: InvalidFileError, message: /broken\.json: not valid JSON/ });
  const unknown = await put(dir, 'unknown.json', JSON.stringify({ name: 't', files: { train: 'a.csv', dev: 'b.csv' }, text: 'x', label: 'y', labels: ['a', 'b'], colums: {} }));
  await t.throwsAsync(readCustomTaskFile(unknown), { instanceOf: InvalidFileError, message: /unknown\.json: custom task spec: unknown key "colums"/ });
  await t.throwsAsync(readCustomTaskFile(join(dir, 'absent.json')), { code: 'ERR_AF_IO' });
  // Missing data files are found by checkTaskData, with the paths resolved next to the JSON file.
  const spec = await put(dir, 'task.json', JSON.stringify({ name: 't', files: { train: 'data/a.csv', dev: 'data/b.csv' }, text: 'x', label: 'y', labels: ['a', 'b'] }));
  const task = await readCustomTaskFile(spec);
  await t.throwsAsync(checkTaskData(task, undefined), {
    code: 'ERR_AF_IO',
    message: `task t: missing ${join(dir, 'data', 'a.csv')} (split train: ${join(dir, 'data', 'a.csv')}) and ${join(dir, 'data', 'b.csv')} (split dev: ${join(dir, 'data', 'b.csv')})`,
  });
});

test('parseColumnMapping: key=column pairs, choices separated by |, mistakes named', (t) => {
  t.deepEqual(parseColumnMapping('text=sentence,pair=question,label=label'), { text: 'sentence', pair: 'question', label: 'label' });
  t.deepEqual(parseColumnMapping(' text = context , choices=answer0|answer1| answer2,label=label,id=qid '), {
    text: 'context',
    choices: ['answer0', 'answer1', 'answer2'],
    label: 'label',
    id: 'qid',
  });
  t.throws(() => parseColumnMapping('text=a,labels=b'), { code: 'ERR_AF_INVALID_ARGUMENT', message: /unknown key "labels"/ });
  t.throws(() => parseColumnMapping('text=a,text=b'), { message: /"text" is given twice/ });
  t.throws(() => parseColumnMapping('text'), { message: /"text" is not key=column/ });
  t.throws(() => parseColumnMapping('text=a,,label=b'), { message: /is not key=column/ });
  t.throws(() => parseColumnMapping('choices=a||b'), { message: /empty column/ });
  t.throws(() => parseColumnMapping(3 as unknown as string), { instanceOf: TypeError });
});
