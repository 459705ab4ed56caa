// Tests of the demo's task generator (lib/demo/tasks.ts): the vocabulary and its tokenizer
// folder, the hidden word attributes, determinism, sizes, label balance, that every generated row
// obeys its task's stated rule, disjoint splits, and the TSV / task.json files.
import test from 'ava';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError } from '../lib/errors.js';
import { Tokenizer } from '../lib/tokenizer/index.js';
import {
  DEFAULT_DEMO_SIZES,
  DEMO_COLORS,
  DEMO_PAIR_LENGTH,
  DEMO_SINGLE_LENGTH,
  DEMO_SPECIAL_TOKENS,
  DEMO_TARGET,
  DEMO_TOPICS,
  DEMO_HOBBY_TOPICS,
  DEMO_HOBBIES,
  DEMO_WORD_COUNT,
  DEMO_WORDS,
  demoTaskJson,
  demoTextExamples,
  demoTsv,
  demoVocabulary,
  demoWordAttributes,
  majorityValue,
  makeDemoTasks,
  writeDemoTasks,
  writeDemoTokenizer,
  type DemoRow,
  type DemoTask,
} from '../lib/demo/tasks.js';
import { DEMO_BERT_CONFIG } from '../lib/demo/settings.js';

const SMALL = { sourceTrain: 120, sourceDev: 40, targetTrain: 48, targetDev: 60 };

let root = '';
test.before(async () => {
  root = await mkdtemp(join(tmpdir(), 'af-demo-tasks-'));
});
test.after.always(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

const words = (s: string) => s.split(' ');
const byName = (tasks: DemoTask[], name: string) => {
  const t = tasks.find((x) => x.name === name);
  if (!t) throw new Error(`no task ${name}`);
  return t;
};

// ---------------------------------------------------------------- vocabulary and tokenizer

test('the vocabulary: BERT specials first, then distinct lower-case words; the model config matches it', (t) => {
  const vocab = demoVocabulary();
  t.deepEqual(vocab.slice(0, 5), ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']);
  t.deepEqual(vocab.slice(5), [...DEMO_WORDS]);
  t.is(DEMO_WORDS.length, DEMO_WORD_COUNT);
  t.is(new Set(DEMO_WORDS).size, DEMO_WORDS.length);
  for (const w of DEMO_WORDS) t.regex(w, /^[a-z]{5}$/);
  t.is(DEMO_BERT_CONFIG.vocab_size, vocab.length);
  t.is(DEMO_BERT_CONFIG.pad_token_id, 0);
});

test('writeDemoTokenizer: the real tokenizer reads it, each word is one token, specials are BERT ids', async (t) => {
  const dir = join(root, 'tokenizer');
  await writeDemoTokenizer(dir);
  const lines = (await readFile(join(dir, 'vocab.txt'), 'utf8')).split('\n');
  t.is(lines.pop(), '');
  t.deepEqual(lines, demoVocabulary());
  const config = JSON.parse(await readFile(join(dir, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
  t.is(config.do_lower_case, true);

  const tok = await Tokenizer.fromPretrained(dir);
  t.is(tok.vocabSize, demoVocabulary().length);
  t.deepEqual([tok.padTokenId, tok.unkTokenId, tok.clsTokenId, tok.sepTokenId, tok.maskTokenId], [0, 1, 2, 3, 4]);
  DEMO_WORDS.forEach((w, i) => {
    t.deepEqual(tok.tokenize(w), [w]);
    t.is(tok.tokenToId(w), i + DEMO_SPECIAL_TOKENS.length);
  });
  // lower-casing: an upper-case spelling is the same token
  const [a, b, c] = DEMO_WORDS;
  const e = tok.encode(`${a} ${b.toUpperCase()}`, c);
  t.deepEqual(Array.from(e.inputIds), [2, 5, 6, 3, 7, 3]);
  t.deepEqual(Array.from(e.tokenTypeIds), [0, 0, 0, 0, 1, 1]);
  t.is(tok.encode('zzzzzzz').inputIds[1], tok.unkTokenId);
  // every generated sentence tokenizes to its words, nothing unknown
  for (const task of makeDemoTasks(3, SMALL)) {
    for (const r of task.train) {
      const ids = Array.from(tok.encode(r.text, r.pair).inputIds);
      t.false(ids.includes(tok.unkTokenId));
      t.is(ids.length, words(r.text).length + (r.pair ? words(r.pair).length + 3 : 2));
    }
  }
});

// ---------------------------------------------------------------- attributes

test('word attributes: balanced topics and colors, every (topic, color) cell the same size, seeded', (t) => {
  const a = demoWordAttributes(5);
  t.is(a.topic.size, DEMO_WORD_COUNT);
  t.is(a.color.size, DEMO_WORD_COUNT);
  const perTopic = DEMO_WORD_COUNT / DEMO_TOPICS.length;
  const perCell = DEMO_WORD_COUNT / (DEMO_TOPICS.length * DEMO_COLORS.length);
  a.byTopic.forEach((ws, k) => {
    t.is(ws.length, perTopic);
    for (const w of ws) t.is(a.topic.get(w), k);
  });
  a.byColor.forEach((ws, k) => {
    t.is(ws.length, DEMO_WORD_COUNT / DEMO_COLORS.length);
    for (const w of ws) t.is(a.color.get(w), k);
  });
  for (let tp = 0; tp < DEMO_TOPICS.length; tp++) {
    for (let c = 0; c < DEMO_COLORS.length; c++) {
      t.is(a.byTopic[tp].filter((w) => a.color.get(w) === c).length, perCell, `cell (${tp}, ${c})`);
    }
  }
  t.deepEqual(demoWordAttributes(5).byTopic, a.byTopic);
  t.deepEqual(demoWordAttributes(5).byColor, a.byColor);
  t.notDeepEqual(demoWordAttributes(6).byTopic, a.byTopic);
});

test('majorityValue: a strict majority, else -1', (t) => {
  const m = new Map([['a', 0], ['b', 1], ['c', 2]]);
  t.is(majorityValue(['a', 'a', 'b'], m), 0);
  t.is(majorityValue(['a', 'b', 'a', 'b'], m), -1);
  t.is(majorityValue(['a', 'b', 'c'], m), -1);
  t.is(majorityValue(['a', 'a', 'x'], m), -1);
});

// ---------------------------------------------------------------- tasks

test('makeDemoTasks: the sources, then the target; two related, two unrelated', (t) => {
  const tasks = makeDemoTasks(1, SMALL);
  t.deepEqual(tasks.map((x) => x.name), ['topic', 'pair-topic', 'color', 'pair-color', DEMO_TARGET]);
  t.deepEqual(tasks.map((x) => x.related), [true, true, false, false, 'target']);
  t.deepEqual(tasks.map((x) => x.pair), [false, true, false, true, false]);
  t.deepEqual(byName(tasks, 'topic').labels, [...DEMO_TOPICS]);
  t.deepEqual(byName(tasks, 'color').labels, [...DEMO_COLORS]);
  t.deepEqual(byName(tasks, DEMO_TARGET).labels, [...DEMO_HOBBIES]);
  for (const x of tasks) {
    t.true(x.description.length > 20, x.name);
    t.false(x.description.includes('\n'), x.name);
  }
});

test('makeDemoTasks is deterministic for a seed and differs between seeds', (t) => {
  const a = makeDemoTasks(7, SMALL);
  t.deepEqual(makeDemoTasks(7, SMALL), a);
  const b = makeDemoTasks(8, SMALL);
  for (let i = 0; i < a.length; i++) t.notDeepEqual(b[i].train, a[i].train, a[i].name);
});

test('sizes: the defaults, and the ones asked for', (t) => {
  const tasks = makeDemoTasks(2);
  for (const x of tasks) {
    const target = x.related === 'target';
    t.is(x.train.length, target ? DEFAULT_DEMO_SIZES.targetTrain : DEFAULT_DEMO_SIZES.sourceTrain, x.name);
    t.is(x.dev.length, target ? DEFAULT_DEMO_SIZES.targetDev : DEFAULT_DEMO_SIZES.sourceDev, x.name);
  }
  t.true(DEFAULT_DEMO_SIZES.targetTrain >= 32 && DEFAULT_DEMO_SIZES.targetTrain <= 64);
  const small = makeDemoTasks(2, { sourceTrain: 9, targetDev: 5 });
  t.is(small[0].train.length, 9);
  t.is(small[0].dev.length, DEFAULT_DEMO_SIZES.sourceDev);
  t.is(small[4].dev.length, 5);
  t.is(small[4].train.length, DEFAULT_DEMO_SIZES.targetTrain);
});

test('labels are balanced in every split (counts differ by at most one)', (t) => {
  for (const sizes of [SMALL, { sourceTrain: 101, sourceDev: 7, targetTrain: 32, targetDev: 61 }]) {
    for (const x of makeDemoTasks(4, sizes)) {
      for (const split of ['train', 'dev'] as const) {
        const counts = x.labels.map((l) => x[split].filter((r) => r.label === l).length);
        t.true(Math.max(...counts) - Math.min(...counts) <= 1, `${x.name} ${split}: ${counts.join(',')}`);
        t.is(counts.reduce((s, c) => s + c, 0), x[split].length);
      }
    }
  }
});

function checkLength(t: { true(v: boolean, m?: string): void }, s: string, range: readonly [number, number], where: string): void {
  const n = words(s).length;
  t.true(n >= range[0] && n <= range[1], `${where}: ${n} words`);
}

test('every row obeys its task rule', (t) => {
  for (const seed of [1, 2, 3]) {
    const a = demoWordAttributes(seed);
    const tasks = makeDemoTasks(seed, SMALL);
    const rowsOf = (x: DemoTask): DemoRow[] => [...x.train, ...x.dev];
    for (const x of tasks) {
      for (const r of rowsOf(x)) {
        const where = `seed ${seed} ${x.name}: "${r.text}" | "${r.pair}" -> ${r.label}`;
        for (const w of words(r.text).concat(r.pair ? words(r.pair) : [])) t.true(a.topic.has(w), `${where}: unknown word ${w}`);
        const label = x.labels.indexOf(r.label);
        t.true(label >= 0, where);
        t.is(r.pair !== null, x.pair, where);
        if (x.name === 'topic' || x.name === 'color') {
          checkLength(t, r.text, DEMO_SINGLE_LENGTH, where);
          t.is(majorityValue(words(r.text), x.name === 'topic' ? a.topic : a.color), label, where);
        } else if (x.name === 'pair-topic' || x.name === 'pair-color') {
          const attr = x.name === 'pair-topic' ? a.topic : a.color;
          checkLength(t, r.text, DEMO_PAIR_LENGTH, where);
          checkLength(t, r.pair!, DEMO_PAIR_LENGTH, where);
          t.is(majorityValue(words(r.text), attr), label, where);
          t.is(majorityValue(words(r.pair!), attr), label, where);
        } else {
          t.is(x.name, DEMO_TARGET);
          checkLength(t, r.text, DEMO_SINGLE_LENGTH, where);
          t.true(DEMO_HOBBY_TOPICS[label].includes(majorityValue(words(r.text), a.topic)), where);
        }
      }
    }
    // every topic behind a hobby occurs (outdoors = weather or sport)
    const target = byName(tasks, DEMO_TARGET);
    const topicsSeen = new Set([...target.train, ...target.dev].map((r) => majorityValue(words(r.text), a.topic)));
    t.deepEqual([...topicsSeen].sort(), [0, 1, 2, 3]);
  }
});

test('the unrelated attribute carries no information about the topic in topic rows', (t) => {
  // In the topic task the words' colors are drawn independently of the label, so the color
  // majority (when there is one) is spread over all colors for every topic.
  const a = demoWordAttributes(1);
  const topic = byName(makeDemoTasks(1), 'topic');
  for (let k = 0; k < DEMO_TOPICS.length; k++) {
    const rows = topic.train.filter((r) => r.label === DEMO_TOPICS[k]);
    const colors = new Set(rows.map((r) => majorityValue(words(r.text), a.color)).filter((c) => c >= 0));
    t.is(colors.size, DEMO_COLORS.length, DEMO_TOPICS[k]);
  }
});

test('train and dev never share a row, and no row repeats', (t) => {
  for (const x of makeDemoTasks(9)) {
    const key = (r: DemoRow) => `${r.text}\t${r.pair ?? ''}`;
    const train = new Set(x.train.map(key));
    const dev = new Set(x.dev.map(key));
    t.is(train.size, x.train.length, x.name);
    t.is(dev.size, x.dev.length, x.name);
    for (const k of dev) t.false(train.has(k), `${x.name}: ${k}`);
  }
});

test('demoTextExamples: label ids in the order of the labels', (t) => {
  const x = byName(makeDemoTasks(1, SMALL), 'pair-topic');
  const ex = demoTextExamples(x, 'dev');
  t.is(ex.length, x.dev.length);
  ex.forEach((e, i) => {
    t.is(e.text, x.dev[i].text);
    t.is(e.pair, x.dev[i].pair);
    t.is(x.labels[e.label!], x.dev[i].label);
  });
});

test('writeDemoTasks: TSV with a header and task.json per task', async (t) => {
  const tasks = makeDemoTasks(2, SMALL);
  const dir = join(root, 'tasks');
  await writeDemoTasks(dir, tasks);
  for (const x of tasks) {
    const json = JSON.parse(await readFile(join(dir, x.name, 'task.json'), 'utf8')) as Record<string, unknown>;
    t.deepEqual(json, demoTaskJson(x));
    const expected: Record<string, unknown> = {
      name: x.name,
      format: 'tsv',
      files: { train: 'train.tsv', dev: 'dev.tsv' },
      text: x.pair ? 'sentence1' : 'sentence',
      label: 'label',
      labels: x.labels,
    };
    if (x.pair) expected.pair = 'sentence2';
    t.deepEqual(json, expected);
    for (const split of ['train', 'dev'] as const) {
      const text = await readFile(join(dir, x.name, `${split}.tsv`), 'utf8');
      t.is(text, demoTsv(x, split));
      const lines = text.split('\n');
      t.is(lines.pop(), '');
      t.is(lines[0], x.pair ? 'sentence1\tsentence2\tlabel' : 'sentence\tlabel');
      t.is(lines.length, x[split].length + 1);
      lines.slice(1).forEach((line, i) => {
        const r = x[split][i];
        t.deepEqual(line.split('\t'), x.pair ? [r.text, r.pair, r.label] : [r.text, r.label]);
      });
    }
  }
});

test('bad seeds and sizes are InvalidArgumentErrors', (t) => {
  t.throws(() => makeDemoTasks(-1), { instanceOf: InvalidArgumentError });
  t.throws(() => makeDemoTasks(1.5), { instanceOf: InvalidArgumentError });
  t.throws(() => demoWordAttributes(Number.NaN), { instanceOf: InvalidArgumentError });
  t.throws(() => makeDemoTasks(1, { targetTrain: 0 }), { instanceOf: InvalidArgumentError });
  t.throws(() => makeDemoTasks(1, { sourceDev: 2.5 }), { instanceOf: InvalidArgumentError });
});
