// The demo's generated tasks. A fixed vocabulary of made-up words; for a seed, every word gets
// two hidden attributes, a topic and a color, drawn independently of each other. Two source
// tasks depend on the topic (related to the target), two on the color (unrelated), and the
// low-resource target is a simple function of the topic. A random encoder knows nothing about
// the words, so an adapter trained on the target's few examples has to learn each word's topic
// from a handful of occurrences, while the topic adapters, trained on plenty of data, know them.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError } from '../errors.js';
import { hashInts, permutation, sfc32 } from '../trainer/random.js';
import type { TextExample } from '../trainer/batching.js';

/** BERT's special tokens, at ids 0..4 of the demo vocabulary ([PAD] = 0, as in BERT). */
export const DEMO_SPECIAL_TOKENS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] as const;

/** Names of the hidden topics (the related attribute) and colors (the unrelated one). */
export const DEMO_TOPICS = ['food', 'weather', 'music', 'sport'] as const;
export const DEMO_COLORS = ['red', 'green', 'blue', 'gold'] as const;

/** The target's labels (hobbies) and the topics behind each (indices into DEMO_TOPICS). */
export const DEMO_HOBBIES = ['cooking', 'outdoors', 'singing'] as const;
export const DEMO_HOBBY_TOPICS: readonly (readonly number[])[] = [[0], [1, 3], [2]];

/**
 * Words of the vocabulary. As many as the model's hidden size (64): the random word embeddings
 * are then linearly independent, so an adapter can learn any word -> attribute map quickly from
 * the sources' data, yet 48 target sentences show each word only a few times.
 */
export const DEMO_WORD_COUNT = 64;

// Consonant-vowel syllables and a final consonant: lower-case ASCII only, so the uncased BERT
// normaliser leaves the words as they are and each is one WordPiece token.
const CONSONANTS = 'bdfgklmnprstvz';
const VOWELS = 'aeiou';
const VOCAB_SEED = 20200501; // fixed: the vocabulary is the same for every task seed

function makeWords(): readonly string[] {
  const syllables: string[] = [];
  for (const c of CONSONANTS) for (const v of VOWELS) syllables.push(c + v);
  const s = syllables.length;
  const order = permutation(s * s * CONSONANTS.length, VOCAB_SEED);
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

/** Writes a tokenizer folder (vocab.txt + tokenizer_config.json) for Tokenizer.fromPretrained. */
export async function writeDemoTokenizer(dir: string): Promise<void> {
  if (typeof dir !== 'string' || dir === '') throw new TypeError('dir must be a non-empty string (a folder path)');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'vocab.txt'), demoVocabulary().join('\n') + '\n', 'utf8');
  // These are the loader's defaults too; written out so that the folder says what it is.
  const config = {
    tokenizer_class: 'BertTokenizer',
    do_lower_case: true,
    model_max_length: 64,
    pad_token: '[PAD]',
    unk_token: '[UNK]',
    cls_token: '[CLS]',
    sep_token: '[SEP]',
    mask_token: '[MASK]',
  };
  await writeFile(join(dir, 'tokenizer_config.json'), JSON.stringify(config, null, 2) + '\n', 'utf8');
}

// ---------------------------------------------------------------- hidden attributes

/** Each word's hidden topic and color (indices into DEMO_TOPICS / DEMO_COLORS) for a seed. */
export interface DemoWordAttributes {
  topic: ReadonlyMap<string, number>;
  color: ReadonlyMap<string, number>;
  /** The words of each topic / each color. */
  byTopic: readonly (readonly string[])[];
  byColor: readonly (readonly string[])[];
}

const TAG_ATTRIBUTES = 0x41545452;
const TAG_ROWS = 0x524f5753;

function checkSeed(seed: unknown): asserts seed is number {
  if (typeof seed !== 'number' || !Number.isInteger(seed) || seed < 0 || seed >= 2 ** 53) {
    throw new InvalidArgumentError(`seed must be an integer in [0, 2^53), got ${String(seed)}`);
  }
}

/**
 * Topics are a balanced random partition of the words; within each topic the colors are dealt
 * round-robin over a fresh shuffle, so every (topic, color) cell holds the same number of words
 * and a word's topic says nothing about its color.
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
    permutation(words.length, hashInts(TAG_ATTRIBUTES, seed, 1 + t)).forEach((i, k) => {
      topic.set(words[i], t);
      color.set(words[i], k % nC);
      byColor[k % nC].push(words[i]);
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
  /** Related to the target task (true), unrelated (false), or the target itself. */
  related: boolean | 'target';
  labels: string[];
  pair: boolean;
  train: DemoRow[];
  dev: DemoRow[];
}

/** Examples per split. */
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
  targetDev: 420,
});

/** Sentence lengths in words, inclusive: single-sentence tasks, and each sentence of a pair. */
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

/** The value a strict majority of the words has, or -1 (what every row's label is made from). */
export function majorityValue(words: readonly string[], attribute: ReadonlyMap<string, number>): number {
  const counts = new Map<number, number>();
  for (const w of words) {
    const v = attribute.get(w);
    if (v === undefined) return -1;
    counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  for (const [v, c] of counts) if (2 * c > words.length) return v;
  return -1;
}

/**
 * A sentence in which a bare majority of the words (3 of 5, 4 of 6 or 7) have value `value` of
 * an attribute (`groups[value]` = its words); the others have other values. A bare majority
 * keeps the rule a matter of counting, not of spotting one word.
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

// The majority value of one sentence is the label.
function singleTask(name: string, description: string, related: boolean, labels: readonly string[], groups: readonly (readonly string[])[], n: readonly [number, number]): Spec {
  return {
    name, description, related, labels, pair: false, train: n[0], dev: n[1],
    make: (rand, label) => ({ text: sentence(rand, groups, label, DEMO_SINGLE_LENGTH), pair: null, label: labels[label] }),
  };
}

// Two sentences with the same majority value, which is the label.
function pairTask(name: string, description: string, related: boolean, labels: readonly string[], groups: readonly (readonly string[])[], n: readonly [number, number]): Spec {
  return {
    name, description, related, labels, pair: true, train: n[0], dev: n[1],
    make: (rand, label) => ({
      text: sentence(rand, groups, label, DEMO_PAIR_LENGTH),
      pair: sentence(rand, groups, label, DEMO_PAIR_LENGTH),
      label: labels[label],
    }),
  };
}

function specs(attrs: DemoWordAttributes, sizes: DemoTaskSizes): Spec[] {
  const src = [sizes.sourceTrain, sizes.sourceDev] as const;
  const topics = DEMO_TOPICS.join(', ');
  const colors = DEMO_COLORS.join(', ');
  const hobbies = DEMO_HOBBIES.map((h, i) => `${h} (${DEMO_HOBBY_TOPICS[i].map((t) => DEMO_TOPICS[t]).join(' or ')})`);
  const target: Spec = {
    name: DEMO_TARGET,
    description:
      `the hobby of the sentence's topic (the one most of its words belong to): ` +
      `${hobbies.slice(0, -1).join(', ')} or ${hobbies[hobbies.length - 1]}; ${sizes.targetTrain} training examples`,
    related: 'target',
    labels: DEMO_HOBBIES,
    pair: false,
    train: sizes.targetTrain,
    dev: sizes.targetDev,
    // the topics behind a hobby are equally likely
    make: (rand, label) => ({ text: sentence(rand, attrs.byTopic, pick(rand, DEMO_HOBBY_TOPICS[label]), DEMO_SINGLE_LENGTH), pair: null, label: DEMO_HOBBIES[label] }),
  };
  return [
    singleTask('topic', `the topic (${topics}) that most of the sentence's words belong to`, true, DEMO_TOPICS, attrs.byTopic, src),
    pairTask('pair-topic', `two sentences on one topic: the topic (${topics}) that most words of each belong to`, true, DEMO_TOPICS, attrs.byTopic, src),
    singleTask('color', `the color (${colors}) that most of the sentence's words have, a hidden attribute independent of the topic`, false, DEMO_COLORS, attrs.byColor, src),
    pairTask('pair-color', `two sentences of one color: the color (${colors}) that most words of each have`, false, DEMO_COLORS, attrs.byColor, src),
    target,
  ];
}

function checkSizes(sizes: DemoTaskSizes): void {
  for (const key of ['sourceTrain', 'sourceDev', 'targetTrain', 'targetDev'] as const) {
    const v = sizes[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new InvalidArgumentError(`sizes.${key} must be a positive integer, got ${String(v)}`);
  }
}

// `count` rows whose labels are dealt evenly in a shuffled order; a row already in `seen` (the
// same text and pair) is drawn again, so splits never share a row.
function rows(spec: Spec, count: number, rand: Rand, seen: Set<string>): DemoRow[] {
  const k = spec.labels.length;
  const labels = shuffle(rand, Array.from({ length: count }, (_, i) => i % k));
  return labels.map((label) => {
    for (let attempt = 0; attempt < 1000; attempt++) {
      const row = spec.make(rand, label);
      const key = `${row.text}\t${row.pair ?? ''}`;
      if (seen.has(key)) continue;
      seen.add(key);
      return row;
    }
    throw new InvalidArgumentError(`demo task ${spec.name}: cannot draw ${count} distinct rows; ask for fewer`);
  });
}

/**
 * The demo's tasks for a seed: the sources (two related to the target, two not), then the
 * target. Pure: the same seed and sizes give the same rows. Train and dev never share a row,
 * and in every split the label counts differ by at most one.
 */
export function makeDemoTasks(seed: number, sizes: Partial<DemoTaskSizes> = {}): DemoTask[] {
  checkSeed(seed);
  if (typeof sizes !== 'object' || sizes === null) throw new TypeError('sizes must be an object');
  const s: DemoTaskSizes = { ...DEFAULT_DEMO_SIZES, ...sizes };
  checkSizes(s);
  const attrs = demoWordAttributes(seed);
  return specs(attrs, s).map((spec, index) => {
    const rand = sfc32(hashInts(TAG_ROWS, seed, index));
    const seen = new Set<string>();
    const train = rows(spec, spec.train, rand, seen);
    const dev = rows(spec, spec.dev, rand, seen);
    return { name: spec.name, description: spec.description, related: spec.related, labels: [...spec.labels], pair: spec.pair, train, dev };
  });
}

/** A split as raw examples for tokenizeExamples (labels as ids). */
export function demoTextExamples(task: DemoTask, split: 'train' | 'dev'): TextExample[] {
  return task[split].map((r) => ({ text: r.text, pair: r.pair, label: task.labels.indexOf(r.label) }));
}

/** The task.json of a task, as the custom-task reader reads it. */
export function demoTaskJson(task: DemoTask): Record<string, unknown> {
  return {
    name: task.name,
    format: 'tsv',
    files: { train: 'train.tsv', dev: 'dev.tsv' },
    text: task.pair ? 'sentence1' : 'sentence',
    ...(task.pair ? { pair: 'sentence2' } : {}),
    label: 'label',
    labels: [...task.labels],
  };
}

/** A split as TSV with a header row: sentence, label (or sentence1, sentence2, label). */
export function demoTsv(task: DemoTask, split: 'train' | 'dev'): string {
  const header = task.pair ? 'sentence1\tsentence2\tlabel' : 'sentence\tlabel';
  const lines = task[split].map((r) => (task.pair ? `${r.text}\t${r.pair ?? ''}\t${r.label}` : `${r.text}\t${r.label}`));
  return [header, ...lines].join('\n') + '\n';
}

/** Writes <dir>/<task>/{train.tsv, dev.tsv, task.json} for every task. */
export async function writeDemoTasks(dir: string, tasks: readonly DemoTask[]): Promise<void> {
  if (typeof dir !== 'string' || dir === '') throw new TypeError('dir must be a non-empty string (a folder path)');
  for (const task of tasks) {
    const folder = join(dir, task.name);
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, 'train.tsv'), demoTsv(task, 'train'), 'utf8');
    await writeFile(join(folder, 'dev.tsv'), demoTsv(task, 'dev'), 'utf8');
    await writeFile(join(folder, 'task.json'), JSON.stringify(demoTaskJson(task), null, 2) + '\n', 'utf8');
  }
}
