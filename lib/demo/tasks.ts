// The demo's generated tasks. A fixed vocabulary of made-up words; for a seed, every word gets
// two hidden attributes, a topic and a color, drawn independently of each other. Two source
// tasks depend on the topic (related to the target), two on the color (unrelated), and the
// low-resource target task is a simple function of the topic. The words are many and the target
// has few examples, so an adapter trained on the target alone sees most words rarely or never,
// while the topic adapters, trained on plenty of data, know every word's topic.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError } from '../errors.js';
import { hashInts, permutation, sfc32 } from '../trainer/random.js';
import type { TextExample } from '../trainer/batching.js';

/** BERT's special tokens, at ids 0..4 of the demo vocabulary ([PAD] = 0, as BERT). */
export const DEMO_SPECIAL_TOKENS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] as const;

/** Names of the hidden topics (the related attribute) and colors (the unrelated one). */
export const DEMO_TOPICS = ['food', 'weather', 'music', 'sport'] as const;
export const DEMO_COLORS = ['red', 'green', 'blue', 'gold'] as const;
/** The target's "yes" topics: a sentence is a hobby when its topic is music or sport. */
export const DEMO_HOBBY_TOPICS: readonly number[] = [2, 3];

/** Words of the vocabulary (after the specials); each is one WordPiece token. */
export const DEMO_WORD_COUNT = Number(process.env.DEMO_WORDS_TMP) || 128;

// Consonant-vowel syllables; two or three of them make a word. Lower-case ASCII only, so the
// uncased BERT normaliser leaves the words as they are and WordPiece never splits them.
const CONSONANTS = 'bdfgklmnprstvz';
const VOWELS = 'aeiou';
const VOCAB_SEED = 20200501; // fixed: the vocabulary is the same for every task seed

function makeWords(): readonly string[] {
  const syllables: string[] = [];
  for (const c of CONSONANTS) for (const v of VOWELS) syllables.push(c + v);
  const s = syllables.length;
  // every two-syllable word plus a final consonant (s² · 14 of them), in a fixed shuffled order
  const total = s * s * CONSONANTS.length;
  const order = permutation(total, VOCAB_SEED);
  const words: string[] = [];
  for (let k = 0; k < DEMO_WORD_COUNT; k++) {
    const i = order[k];
    words.push(syllables[i % s] + syllables[Math.floor(i / s) % s] + CONSONANTS[Math.floor(i / (s * s))]);
  }
  return Object.freeze(words);
}

/** The made-up words, in vocabulary order. */
export const DEMO_WORDS: readonly string[] = makeWords();

/** The whole vocabulary, one token per id: the specials, then the words. */
export function demoVocabulary(): string[] {
  return [...DEMO_SPECIAL_TOKENS, ...DEMO_WORDS];
}

/** Writes a tokenizer folder (vocab.txt + tokenizer_config.json) that Tokenizer.fromPretrained reads. */
export async function writeDemoTokenizer(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'vocab.txt'), demoVocabulary().join('\n') + '\n', 'utf8');
  // The defaults already are these; written out so the folder says what it is.
  const config = {
    do_lower_case: true,
    model_max_length: 64,
    pad_token: '[PAD]',
    unk_token: '[UNK]',
    cls_token: '[CLS]',
    sep_token: '[SEP]',
    mask_token: '[MASK]',
    tokenizer_class: 'BertTokenizer',
  };
  await writeFile(join(dir, 'tokenizer_config.json'), JSON.stringify(config, null, 2) + '\n', 'utf8');
}

// ---------------------------------------------------------------- hidden attributes

/** Each word's hidden topic and color (indices into DEMO_TOPICS / DEMO_COLORS) for a seed. */
export interface DemoWordAttributes {
  topic: ReadonlyMap<string, number>;
  color: ReadonlyMap<string, number>;
  /** Words by topic and by color. */
  byTopic: readonly (readonly string[])[];
  byColor: readonly (readonly string[])[];
}

const TAG_ATTRIBUTES = 0x41545452;
const TAG_ROWS = 0x524f5753;

/**
 * Topics are a balanced random partition of the words; within each topic the colors are dealt
 * round-robin over a fresh shuffle, so every (topic, color) cell holds the same number of words
 * and knowing a word's topic says nothing about its color.
 */
export function demoWordAttributes(seed: number): DemoWordAttributes {
  checkSeed(seed);
  const nT = DEMO_TOPICS.length;
  const nC = DEMO_COLORS.length;
  const order = permutation(DEMO_WORDS.length, hashInts(TAG_ATTRIBUTES, seed, 0));
  const topic = new Map<string, number>();
  const color = new Map<string, number>();
  const byTopic: string[][] = Array.from({ length: nT }, () => []);
  const byColor: string[][] = Array.from({ length: nC }, () => []);
  order.forEach((w, k) => byTopic[k % nT].push(DEMO_WORDS[w]));
  byTopic.forEach((words, t) => {
    const shuffled = permutation(words.length, hashInts(TAG_ATTRIBUTES, seed, 1 + t));
    shuffled.forEach((i, k) => {
      const word = words[i];
      topic.set(word, t);
      color.set(word, k % nC);
      byColor[k % nC].push(word);
    });
  });
  return { topic, color, byTopic, byColor };
}

// ---------------------------------------------------------------- tasks

/** One row of a task: a sentence (and a second one for pair tasks) and its label's name. */
export interface DemoRow {
  text: string;
  /** The second sentence of a pair task; null for single-sentence tasks. */
  pair: string | null;
  label: string;
}

export interface DemoTask {
  name: string;
  /** The rule, in one sentence. */
  description: string;
  /** Related to the target task, unrelated, or the target itself. */
  related: boolean | 'target';
  labels: string[];
  pair: boolean;
  train: DemoRow[];
  dev: DemoRow[];
}

/** Examples per split; the defaults are the demo's. */
export interface DemoTaskSizes {
  /** Training examples of each source task. */
  sourceTrain: number;
  /** Dev examples of each source task (early stopping). */
  sourceDev: number;
  /** Training examples of the low-resource target. */
  targetTrain: number;
  /** Dev examples of the target (what the demo reports). */
  targetDev: number;
}

export const DEFAULT_DEMO_SIZES: Readonly<DemoTaskSizes> = Object.freeze({
  sourceTrain: 1600,
  sourceDev: 200,
  targetTrain: 48,
  targetDev: 400,
});

/** Sentence lengths in words, inclusive: single-sentence tasks and each side of a pair. */
export const DEMO_SINGLE_LENGTH: readonly [number, number] = [5, 7];
export const DEMO_PAIR_LENGTH: readonly [number, number] = [3, 5];

/** The target task's name. */
export const DEMO_TARGET = 'hobby';

type Rand = () => number;

function pick<T>(rand: Rand, items: readonly T[]): T {
  return items[Math.floor(rand() * items.length)];
}

function shuffle<T>(rand: Rand, items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

/**
 * A sentence whose words mostly (a strict majority) have value `value` of an attribute
 * (`groups[value]` = its words); the others come from the other values.
 */
function sentence(rand: Rand, groups: readonly (readonly string[])[], value: number, length: readonly [number, number]): string {
  const n = length[0] + Math.floor(rand() * (length[1] - length[0] + 1));
  const major = Math.floor(n / 2) + 1;
  const words: string[] = [];
  for (let i = 0; i < major; i++) words.push(pick(rand, groups[value]));
  for (let i = major; i < n; i++) {
    let other = Math.floor(rand() * (groups.length - 1));
    if (other >= value) other++;
    words.push(pick(rand, groups[other]));
  }
  return shuffle(rand, words).join(' ');
}

/** Labels 0..k-1 dealt evenly over n rows, in a shuffled order. */
function balancedLabels(rand: Rand, n: number, k: number): number[] {
  return shuffle(
    rand,
    Array.from({ length: n }, (_, i) => i % k),
  );
}

// Makes `count` rows with balanced labels, none equal to a row already in `seen`.
function rows(count: number, classes: number, rand: Rand, seen: Set<string>, make: (label: number) => DemoRow): DemoRow[] {
  const out: DemoRow[] = [];
  for (const label of balancedLabels(rand, count, classes)) {
    for (let attempt = 0; ; attempt++) {
      if (attempt > 1000) throw new InvalidArgumentError('demo tasks: cannot draw enough distinct rows; make the splits smaller');
      const row = make(label);
      const key = row.text + '\t' + (row.pair ?? '');
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(row);
      break;
    }
  }
  return out;
}

interface Spec {
  name: string;
  description: string;
  related: boolean | 'target';
  labels: readonly string[];
  pair: boolean;
  train: number;
  dev: number;
  make(rand: Rand, label: number): DemoRow;
}

function singleTask(name: string, description: string, related: boolean, names: readonly string[], groups: readonly (readonly string[])[], n: [number, number]): Spec {
  return {
    name, description, related, labels: names, pair: false, train: n[0], dev: n[1],
    make: (rand, label) => ({ text: sentence(rand, groups, label, DEMO_SINGLE_LENGTH), pair: null, label: names[label] }),
  };
}

function matchTask(name: string, description: string, related: boolean, groups: readonly (readonly string[])[], n: [number, number]): Spec {
  const names = ['different', 'same'];
  return {
    name, description, related, labels: names, pair: true, train: n[0], dev: n[1],
    make: (rand, label) => {
      const a = Math.floor(rand() * groups.length);
      let b = a;
      if (label === 0) {
        b = Math.floor(rand() * (groups.length - 1));
        if (b >= a) b++;
      }
      return { text: sentence(rand, groups, a, DEMO_PAIR_LENGTH), pair: sentence(rand, groups, b, DEMO_PAIR_LENGTH), label: names[label] };
    },
  };
}

function specs(attrs: DemoWordAttributes, sizes: DemoTaskSizes): Spec[] {
  const src: [number, number] = [sizes.sourceTrain, sizes.sourceDev];
  const topics = DEMO_TOPICS.join(', ');
  const colors = DEMO_COLORS.join(', ');
  const hobby = DEMO_HOBBY_TOPICS.map((t) => DEMO_TOPICS[t]).join(' or ');
  const notHobby = DEMO_TOPICS.filter((_, t) => !DEMO_HOBBY_TOPICS.includes(t));
  // The target's words: "yes" sentences are mostly hobby-topic words, "no" ones mostly not;
  // the topic within each side is uniform.
  const target: Spec = {
    name: DEMO_TARGET,
    description: `yes when most of the sentence's words are about one topic and that topic is ${hobby}; no when it is ${notHobby.join(' or ')}`,
    related: 'target',
    labels: ['no', 'yes'],
    pair: false,
    train: sizes.targetTrain,
    dev: sizes.targetDev,
    make: (rand, label) => {
      const side = label === 1 ? DEMO_HOBBY_TOPICS : DEMO_TOPICS.map((_, t) => t).filter((t) => !DEMO_HOBBY_TOPICS.includes(t));
      const t = pick(rand, side);
      return { text: sentence(rand, attrs.byTopic, t, DEMO_SINGLE_LENGTH), pair: null, label: label === 1 ? 'yes' : 'no' };
    },
  };
  const all: Spec[] = [
    singleTask('topic', `the topic (${topics}) that most of the sentence's words belong to`, true, DEMO_TOPICS, attrs.byTopic, src),
    matchTask('topic-match', 'same when most words of both sentences belong to one and the same topic, different otherwise', true, attrs.byTopic, src),
    singleTask('color', `the color (${colors}) that most of the sentence's words have; colors are independent of topics`, false, DEMO_COLORS, attrs.byColor, src),
    matchTask('color-match', 'same when most words of both sentences have one and the same color, different otherwise', false, attrs.byColor, src),
    absentTask('absent-topic', 'the topic none of the words belongs to', true, DEMO_TOPICS, attrs.byTopic, src),
    absentTask('absent-color', 'the color none of the words has', false, DEMO_COLORS, attrs.byColor, src),
    secondTask('reply-topic', 'the topic of the second sentence', true, DEMO_TOPICS, attrs.byTopic, src),
    secondTask('reply-color', 'the color of the second sentence', false, DEMO_COLORS, attrs.byColor, src),
    firstTask('first-topic', 'the topic of the first sentence', true, DEMO_TOPICS, attrs.byTopic, src),
    firstTask('first-color', 'the color of the first sentence', false, DEMO_COLORS, attrs.byColor, src),
    lengthTask('length', 'short (3-4 words) or long (6-7 words)', false, attrs, src),
    longerTask('longer', 'which sentence is longer', false, attrs, src),
  ];
  const pickNames = (process.env.DEMO_TASKS_TMP ?? 'topic,first-topic,color,first-color').split(',');
  return [...pickNames.map((n) => all.find((t) => t.name === n)!), target];
}

function absentTask(name: string, description: string, related: boolean, names: readonly string[], groups: readonly (readonly string[])[], n: [number, number]): Spec {
  return {
    name, description, related, labels: names, pair: false, train: n[0], dev: n[1],
    make: (rand, label) => {
      const len = DEMO_SINGLE_LENGTH[0] + Math.floor(rand() * (DEMO_SINGLE_LENGTH[1] - DEMO_SINGLE_LENGTH[0] + 1));
      const present = groups.map((_, k) => k).filter((k) => k !== label);
      const words = present.map((k) => pick(rand, groups[k]));
      while (words.length < len) words.push(pick(rand, groups[pick(rand, present)]));
      return { text: shuffle(rand, words).join(' '), pair: null, label: names[label] };
    },
  };
}

function secondTask(name: string, description: string, related: boolean, names: readonly string[], groups: readonly (readonly string[])[], n: [number, number]): Spec {
  return {
    name, description, related, labels: names, pair: true, train: n[0], dev: n[1],
    make: (rand, label) => ({
      text: sentence(rand, groups, Math.floor(rand() * groups.length), DEMO_PAIR_LENGTH),
      pair: sentence(rand, groups, label, DEMO_PAIR_LENGTH),
      label: names[label],
    }),
  };
}

function firstTask(name: string, description: string, related: boolean, names: readonly string[], groups: readonly (readonly string[])[], n: [number, number]): Spec {
  return {
    name, description, related, labels: names, pair: true, train: n[0], dev: n[1],
    make: (rand, label) => ({
      text: sentence(rand, groups, label, DEMO_PAIR_LENGTH),
      pair: sentence(rand, groups, Math.floor(rand() * groups.length), DEMO_PAIR_LENGTH),
      label: names[label],
    }),
  };
}

function lengthTask(name: string, description: string, related: boolean, attrs: DemoWordAttributes, n: [number, number]): Spec {
  return {
    name, description, related, labels: ['short', 'long'], pair: false, train: n[0], dev: n[1],
    make: (rand, label) => {
      const len = label === 0 ? 3 + Math.floor(rand() * 2) : 6 + Math.floor(rand() * 2);
      const words = Array.from({ length: len }, () => pick(rand, DEMO_WORDS_USED()));
      return { text: words.join(' '), pair: null, label: label === 0 ? 'short' : 'long' };
    },
  };
}

function longerTask(name: string, description: string, related: boolean, attrs: DemoWordAttributes, n: [number, number]): Spec {
  return {
    name, description, related, labels: ['first', 'second'], pair: true, train: n[0], dev: n[1],
    make: (rand, label) => {
      const a = 2 + Math.floor(rand() * 3);
      const b = a + 2 + Math.floor(rand() * 2);
      const mk = (len: number) => Array.from({ length: len }, () => pick(rand, DEMO_WORDS_USED())).join(' ');
      const [x, y] = label === 0 ? [mk(b), mk(a)] : [mk(a), mk(b)];
      return { text: x, pair: y, label: label === 0 ? 'first' : 'second' };
    },
  };
}

const DEMO_WORDS_USED = () => DEMO_WORDS;

function checkSeed(seed: unknown): asserts seed is number {
  if (typeof seed !== 'number' || !Number.isInteger(seed) || seed < 0 || seed >= 2 ** 53) {
    throw new InvalidArgumentError(`seed must be an integer in [0, 2^53), got ${String(seed)}`);
  }
}

function checkSizes(sizes: DemoTaskSizes): void {
  for (const key of ['sourceTrain', 'sourceDev', 'targetTrain', 'targetDev'] as const) {
    const v = sizes[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new InvalidArgumentError(`sizes.${key} must be a positive integer, got ${String(v)}`);
  }
}

/**
 * The demo's tasks for a seed: four sources (two related to the target, two not) and the
 * target last. Pure: the same seed and sizes give the same rows. Train and dev never share a
 * row, and every split's labels are balanced (counts differ by at most one).
 */
export function makeDemoTasks(seed: number, sizes: Partial<DemoTaskSizes> = {}): DemoTask[] {
  checkSeed(seed);
  const s: DemoTaskSizes = { ...DEFAULT_DEMO_SIZES, ...sizes };
  checkSizes(s);
  const attrs = demoWordAttributes(seed);
  return specs(attrs, s).map((spec, index) => {
    const rand = sfc32(hashInts(TAG_ROWS, seed, index));
    const seen = new Set<string>();
    const make = (label: number) => spec.make(rand, label);
    const train = rows(spec.train, spec.labels.length, rand, seen, make);
    const dev = rows(spec.dev, spec.labels.length, rand, seen, make);
    return { name: spec.name, description: spec.description, related: spec.related, labels: [...spec.labels], pair: spec.pair, train, dev };
  });
}

/** A task's rows as raw examples for tokenizeExamples (labels as ids). */
export function demoTextExamples(task: DemoTask, split: 'train' | 'dev'): TextExample[] {
  return task[split].map((r) => ({ text: r.text, pair: r.pair, label: task.labels.indexOf(r.label) }));
}

/** The task.json the custom-task reader consumes. */
export function demoTaskJson(task: DemoTask): Record<string, unknown> {
  const json: Record<string, unknown> = {
    name: task.name,
    format: 'tsv',
    files: { train: 'train.tsv', dev: 'dev.tsv' },
    text: task.pair ? 'sentence1' : 'sentence',
  };
  if (task.pair) json.pair = 'sentence2';
  json.label = 'label';
  json.labels = [...task.labels];
  return json;
}

/** A split as TSV with a header row (sentence, label or sentence1, sentence2, label). */
export function demoTsv(task: DemoTask, split: 'train' | 'dev'): string {
  const header = task.pair ? 'sentence1\tsentence2\tlabel' : 'sentence\tlabel';
  const lines = task[split].map((r) => (task.pair ? `${r.text}\t${r.pair ?? ''}\t${r.label}` : `${r.text}\t${r.label}`));
  return [header, ...lines].join('\n') + '\n';
}

/** Writes <dir>/<task>/{train.tsv, dev.tsv, task.json} for every task. */
export async function writeDemoTasks(dir: string, tasks: readonly DemoTask[]): Promise<void> {
  for (const task of tasks) {
    const folder = join(dir, task.name);
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, 'train.tsv'), demoTsv(task, 'train'), 'utf8');
    await writeFile(join(folder, 'dev.tsv'), demoTsv(task, 'dev'), 'utf8');
    await writeFile(join(folder, 'task.json'), JSON.stringify(demoTaskJson(task), null, 2) + '\n', 'utf8');
  }
}
