// Malformed and hostile text inputs: config.json, adapter/head/fusion JSON configs, tokenizer files, task data and CLI predict JSONL.
// The rule each case follows, and the shared fixtures: test/helpers/malformed-setup.ts.
//
//   kind                                              file(s) it targets
//   ------------------------------------------------  ----------------------------------------------
//   empty file (0 bytes)                               config.json, adapter/head/fusion *_config.json,
//                                                      vocab.txt, tokenizer.json, task TSV, task.json
//                                                      (custom task)
//   huge dimensions (beyond the weights beside it)     config.json (refused from model.safetensors' shapes)
//   duplicate keys                                     config.json, *_config.json, tokenizer.json,
//                                                      tokenizer_config.json, task JSONL, custom task.json,
//                                                      predict JSONL
//   non-UTF-8 bytes                                    config.json, *_config.json, vocab.txt, tokenizer.json,
//                                                      tokenizer_config.json, task TSV, task.json, predict JSONL
//   deeply nested JSON (100k levels)                   config.json, *_config.json, tokenizer.json, task JSONL
//                                                      (line / value), task.json, predict JSONL (line,
//                                                      input_ids, id)
//   number out of range (1e400, 2^100)                 config.json, *_config.json, predict JSONL
//   byte-order mark, NaN literal, NUL byte             config.json, *_config.json, predict JSONL
//   oversized config (sparse 17 MiB)                   config.json, *_config.json
//   a directory where a file is expected               config.json, *_config.json, vocab.txt, task TSV,
//                                                      task.json, predict --input
//   missing files                                      config.json, *_config.json, task TSV, predict --input
//   bad rows (cells, labels, not JSON, not objects)    task TSV / JSONL / CSV, custom task JSONL
//   unclosed CSV quote, missing header column          task CSV / TSV
//   token ids that are not ids (string, -1, 6.5)       tokenizer.json model.vocab
//   unusable tokenizer parts                           tokenizer.json (normalizer nested 10k deep,
//                                                      unknown normalizer, added_tokens not a list)
import test from 'ava';
import { mkdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidFileError, IoError, ShapeMismatchError, Tokenizer, loadModel, loadTask, readCustomTaskFile } from '../lib/index.js';
import { bertTokenizerJson } from '../lib/tokenizer/wordpiece-config.js';
import { nestedArrays, nestedObjects } from './helpers/malformed.js';
import {
  CONFIG,
  DEEP,
  FILES,
  MB,
  caseDir,
  cli,
  expectError,
  expectLoadError,
  load,
  noStack,
  target,
  useMalformedFixtures,
  type ErrorClass,
} from './helpers/malformed-setup.js';
import { fixturesDir } from './helpers/paths.js';

const fx = useMalformedFixtures();
const { src } = fx;

// ------------------------------------------------------------------ config.json (loadModel)

test.serial('config.json: malformed, hostile and misplaced files are refused by loadModel, naming the file', async (t) => {
  t.timeout(60_000);
  const good = readFileSync(join(src.model, 'config.json'), 'utf8');
  const body = good.trim().slice(1, -1);
  // `names`: the file the message must name, when not config.json.
  const cfgCases: { name: string; write: (path: string) => void; cls: ErrorClass; message: RegExp; names?: string }[] = [
    { name: 'an empty file', write: (p) => writeFileSync(p, ''), cls: InvalidFileError, message: /invalid JSON at byte 0: unexpected end of input/ },
    {
      name: 'non-UTF-8 bytes',
      write: (p) => writeFileSync(p, Buffer.concat([Buffer.from('{"model_type": "bert\xff", ', 'latin1'), Buffer.from(body + '}')])),
      cls: InvalidFileError,
      message: /invalid JSON at byte \d+: invalid UTF-8 in string/,
    },
    { name: '100k nested arrays', write: (p) => writeFileSync(p, `{"x": ${nestedArrays(DEEP)}, ${body}}`), cls: InvalidFileError, message: /invalid JSON at byte \d+: nesting deeper than 128 levels/ },
    { name: '100k nested objects', write: (p) => writeFileSync(p, `{"x": ${nestedObjects(DEEP)}, ${body}}`), cls: InvalidFileError, message: /invalid JSON at byte \d+: nesting deeper than 128 levels/ },
    // Duplicate keys: the last one counts (as Python's json), so a bad last value is the error.
    { name: 'a duplicate key whose last value is wrong', write: (p) => writeFileSync(p, `{${body}, "num_attention_heads": 5}`), cls: InvalidFileError, message: /hidden_size 16 is not a multiple of num_attention_heads 5/ },
    { name: 'a byte-order mark', write: (p) => writeFileSync(p, '\ufeff' + good), cls: InvalidFileError, message: /invalid JSON at byte 0: unexpected byte 0xEF/ },
    { name: 'a NaN literal', write: (p) => writeFileSync(p, `{${body}, "layer_norm_eps": NaN}`), cls: InvalidFileError, message: /invalid JSON at byte \d+: unexpected character 'N'/ },
    { name: 'an integer far out of range', write: (p) => writeFileSync(p, `{${body}, "vocab_size": 123456789012345678901234567890}`), cls: InvalidFileError, message: /field "vocab_size" must be an integer in \[0, 1048576\], got 123456789012345678901234567890/ },
    { name: 'a top-level array', write: (p) => writeFileSync(p, '[]'), cls: InvalidFileError, message: /expected a JSON object/ },
    {
      name: 'a sparse 17 MiB file',
      write: (p) => {
        writeFileSync(p, good);
        truncateSync(p, 17 * MB);
      },
      cls: InvalidFileError,
      message: /config file larger than 16 MiB/,
    },
    { name: 'a directory', write: (p) => mkdirSync(p), cls: IoError, message: /config\.json: is a folder or a special file, not a file/ },
    { name: 'a number beyond double range', write: (p) => writeFileSync(p, `{${body}, "layer_norm_eps": 1e400}`), cls: InvalidFileError, message: /config\.json: field "layer_norm_eps": number 1e400 is out of the range of a double/ },
    {
      // Sizes far beyond the weights beside it: refused from the file's tensor shapes before the
      // model is allocated (2^20 of everything would need terabytes).
      name: 'dimensions far beyond the weights file',
      write: (p) => writeFileSync(p, JSON.stringify({ ...JSON.parse(good), vocab_size: 1 << 20, hidden_size: 1 << 20, intermediate_size: 1 << 20, num_attention_heads: 1, max_position_embeddings: 1 << 20 })),
      cls: ShapeMismatchError,
      message: /model\.safetensors: tensor "[^"]+" has shape \[[\d, ]+\] but config\.json implies \[\d+(, \d+)?\]/,
      names: 'model.safetensors',
    },
    { name: 'no file', write: () => undefined, cls: IoError, message: /config\.json: file not found/ },
  ];
  for (const c of cfgCases) {
    const dir = caseDir(src.model);
    const path = join(dir, 'config.json');
    rmSync(path);
    c.write(path);
    await expectError(t, `config.json, ${c.name}`, () => loadModel(dir), { cls: c.cls, message: c.message, path: c.names ? join(dir, c.names) : path });
  }
  // The duplicate key the other way round: the good last value wins and the model loads.
  const dir = caseDir(src.model);
  writeFileSync(join(dir, 'config.json'), `{"num_attention_heads": 5, ${body}}`);
  const m = await loadModel(dir);
  t.is(m.config.numAttentionHeads, CONFIG.num_attention_heads);
  m.dispose();
  await expectError(t, 'loadModel of a missing folder', () => loadModel(join(fx.root, 'no-such-model')), { cls: IoError, message: /not a folder/, path: join(fx.root, 'no-such-model') });
});

// ------------------------------------------------------------------ adapter / head / fusion JSON configs

test.serial('adapter_config.json, head_config.json, adapter_fusion_config.json: refused, naming the file; the model unchanged', async (t) => {
  t.timeout(120_000);
  const jsonCases: { name: string; edit: (path: string, text: string) => void; cls: ErrorClass; message: RegExp }[] = [
    { name: 'an empty file', edit: (p) => writeFileSync(p, ''), cls: InvalidFileError, message: /invalid JSON: unexpected end of input at character 0/ },
    { name: 'only whitespace', edit: (p) => writeFileSync(p, '  \n'), cls: InvalidFileError, message: /invalid JSON: unexpected end of input/ },
    { name: 'non-UTF-8 bytes', edit: (p, s) => writeFileSync(p, Buffer.concat([Buffer.from('{"x": "\xff\xfe", ', 'latin1'), Buffer.from(s.trim().slice(1))])), cls: InvalidFileError, message: /not valid UTF-8/ },
    { name: '100k nested arrays', edit: (p, s) => writeFileSync(p, s.replace(/^\{/, `{"x": ${nestedArrays(DEEP)},`)), cls: InvalidFileError, message: /invalid JSON: nesting deeper than 256/ },
    { name: '100k nested objects', edit: (p, s) => writeFileSync(p, s.replace(/^\{/, `{"x": ${nestedObjects(DEEP)},`)), cls: InvalidFileError, message: /invalid JSON: nesting deeper than 256/ },
    // Python's json keeps the last of duplicate keys; so does the loader.
    { name: 'a duplicate "config" key whose last value is a number', edit: (p, s) => writeFileSync(p, s.replace(/\}\s*$/, ', "config": 5}')), cls: InvalidFileError, message: /"config" must be an object/ },
    { name: 'a number beyond double range', edit: (p, s) => writeFileSync(p, s.replace(/\}\s*$/, ', "x": 1e400}')), cls: InvalidFileError, message: /invalid JSON: number out of range/ },
    { name: 'a NaN literal', edit: (p, s) => writeFileSync(p, s.replace(/\}\s*$/, ', "x": NaN}')), cls: InvalidFileError, message: /invalid JSON: unexpected character "N"/ },
    { name: 'a byte-order mark', edit: (p, s) => writeFileSync(p, '\ufeff' + s), cls: InvalidFileError, message: /invalid JSON: byte order mark/ },
    { name: 'a NUL byte after the object', edit: (p, s) => writeFileSync(p, s + '\0'), cls: InvalidFileError, message: /invalid JSON: unexpected data after the JSON value/ },
    { name: 'a top-level array', edit: (p) => writeFileSync(p, '[{}]'), cls: InvalidFileError, message: /the top level must be a JSON object, not list/ },
    {
      name: 'a sparse 17 MiB file',
      edit: (p) => truncateSync(p, 17 * MB),
      cls: InvalidFileError,
      message: /17825792 bytes is too large for a config file/,
    },
    {
      name: 'a directory',
      edit: (p) => {
        rmSync(p);
        mkdirSync(p);
      },
      cls: IoError,
      message: /not a regular file/,
    },
    { name: 'no file', edit: (p) => rmSync(p), cls: IoError, message: /cannot read: no such file or directory/ },
  ];
  const m = await target();
  try {
    for (const kind of ['adapter', 'head', 'fusion'] as const) {
      for (const c of jsonCases) {
        const dir = caseDir(FILES[kind].src());
        const path = join(dir, FILES[kind].config);
        c.edit(path, readFileSync(path, 'utf8'));
        await expectLoadError(t, m, `${FILES[kind].config}, ${c.name}`, kind, dir, { cls: c.cls, message: c.message, path });
      }
      await expectLoadError(t, m, `${kind}: a missing folder`, kind, join(fx.root, 'no-such-folder'), { cls: IoError, message: /cannot open folder/, path: join(fx.root, 'no-such-folder') });
    }
    // The unedited folders load (so each refusal above is the edit's doing).
    const fresh = await target();
    try {
      for (const kind of ['adapter', 'head', 'fusion'] as const) await load(fresh, kind, FILES[kind].src());
      t.deepEqual(fresh.adapters().sort(), ['a', 'b', 'x']);
      t.deepEqual(fresh.adapterFusions(), ['a,b']);
    } finally {
      fresh.dispose();
    }
  } finally {
    m.dispose();
  }
});

// ------------------------------------------------------------------ vocab.txt, tokenizer.json, tokenizer_config.json

const VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'the', 'cat', 'sat', '##s'];
const NAMES = { pad: '[PAD]', unk: '[UNK]', cls: '[CLS]', sep: '[SEP]', mask: '[MASK]' };

test.serial('vocab.txt, tokenizer.json, tokenizer_config.json: refused by Tokenizer.fromPretrained, naming the file', async (t) => {
  t.timeout(60_000);
  const json = bertTokenizerJson(VOCAB, 'vocab.txt', NAMES, {});
  const jsonText = JSON.stringify(json);
  const vocabText = VOCAB.join('\n') + '\n';
  const tokCases: { name: string; files: Record<string, string | Buffer | null>; file: string; cls: ErrorClass; message: RegExp }[] = [
    { name: 'an empty vocab.txt', files: { 'vocab.txt': '' }, file: 'vocab.txt', cls: InvalidFileError, message: /is empty \(expected one token per line\)/ },
    { name: 'a vocab.txt of blank lines', files: { 'vocab.txt': '\n\n\n' }, file: 'vocab.txt', cls: InvalidFileError, message: /has no \[UNK\] token/ },
    { name: 'non-UTF-8 bytes in vocab.txt', files: { 'vocab.txt': Buffer.from('[PAD]\n[UNK]\n\xff\xfe\n', 'latin1') }, file: 'vocab.txt', cls: InvalidFileError, message: /is not valid UTF-8 text/ },
    { name: 'vocab.txt is a directory', files: { 'vocab.txt': null }, file: '', cls: IoError, message: /has neither tokenizer\.json nor vocab\.txt/ },
    { name: 'an empty tokenizer.json', files: { 'tokenizer.json': '' }, file: 'tokenizer.json', cls: InvalidFileError, message: /malformed JSON/ },
    { name: 'non-UTF-8 bytes in tokenizer.json', files: { 'tokenizer.json': Buffer.concat([Buffer.from(jsonText.slice(0, -1)), Buffer.from(',"x":"\xff"}', 'latin1')]) }, file: 'tokenizer.json', cls: InvalidFileError, message: /is not valid UTF-8 text/ },
    {
      name: 'a normalizer nested 10k Sequences deep',
      files: { 'tokenizer.json': jsonText.replace(/"normalizer":\{[^}]*\}/, '"normalizer":' + '{"type":"Sequence","normalizers":['.repeat(10_000) + '{"type":"Lowercase"}' + ']}'.repeat(10_000)) },
      file: 'tokenizer.json',
      cls: InvalidFileError,
      message: /not a usable tokenizer/,
    },
    // Duplicate keys: the last counts (JSON.parse, as Python's json).
    { name: 'a duplicate "model" key without a vocab', files: { 'tokenizer.json': jsonText.slice(0, -1) + ',"model":{"type":"WordPiece"}}' }, file: 'tokenizer.json', cls: InvalidFileError, message: /has no "model" with a "vocab"/ },
    { name: 'a duplicate vocab key whose last id is -1', files: { 'tokenizer.json': jsonText.replace('"cat":6', '"cat":6,"cat":-1') }, file: 'tokenizer.json', cls: InvalidFileError, message: /model\.vocab\["cat"\] = -1 is not a token id/ },
    { name: 'a token id that is a string', files: { 'tokenizer.json': jsonText.replace('"cat":6', '"cat":"six"') }, file: 'tokenizer.json', cls: InvalidFileError, message: /model\.vocab\["cat"\] = "six" is not a token id/ },
    { name: 'a fractional token id', files: { 'tokenizer.json': jsonText.replace('"cat":6', '"cat":6.5') }, file: 'tokenizer.json', cls: InvalidFileError, message: /model\.vocab\["cat"\] = 6\.5 is not a token id/ },
    { name: 'an unknown normalizer', files: { 'tokenizer.json': JSON.stringify({ ...json, normalizer: { type: 'Evil' } }) }, file: 'tokenizer.json', cls: InvalidFileError, message: /not a usable tokenizer: Unknown Normalizer type: Evil/ },
    { name: 'added_tokens that is not a list', files: { 'tokenizer.json': JSON.stringify({ ...json, added_tokens: 'x' }) }, file: 'tokenizer.json', cls: InvalidFileError, message: /not a usable tokenizer/ },
    { name: 'a tokenizer_config.json with a duplicate key whose last value is wrong', files: { 'vocab.txt': vocabText, 'tokenizer_config.json': '{"do_lower_case": true, "do_lower_case": "yes"}' }, file: 'tokenizer_config.json', cls: InvalidFileError, message: /"do_lower_case" must be a boolean, got "yes"/ },
    { name: 'a tokenizer_config.json that is not UTF-8', files: { 'vocab.txt': vocabText, 'tokenizer_config.json': Buffer.from([0x7b, 0xff, 0x7d]) }, file: 'tokenizer_config.json', cls: InvalidFileError, message: /is not valid UTF-8 text/ },
  ];
  for (const c of tokCases) {
    const dir = caseDir();
    for (const [name, content] of Object.entries(c.files)) {
      if (content === null) mkdirSync(join(dir, name));
      else writeFileSync(join(dir, name), content);
    }
    const path = c.file ? join(dir, c.file) : dir;
    await expectError(t, c.name, () => Tokenizer.fromPretrained(dir), { cls: c.cls, message: c.message, path });
  }
  await expectError(t, 'a missing tokenizer folder', () => Tokenizer.fromPretrained(join(fx.root, 'no-such-tokenizer')), { cls: IoError, message: /cannot open tokenizer folder/, path: join(fx.root, 'no-such-tokenizer') });

  // Accepted, as Hugging Face does: 100k-deep nesting under a key nobody reads (JSON.parse is not
  // recursive) and a token listed twice in vocab.txt (the last line's id wins).
  const deep = caseDir();
  writeFileSync(join(deep, 'tokenizer.json'), jsonText.slice(0, -1) + `,"x":${nestedArrays(DEEP)}}`);
  t.deepEqual(Array.from((await Tokenizer.fromPretrained(deep)).encode('the cat').inputIds), [2, 5, 6, 3]);
  const dup = caseDir();
  writeFileSync(join(dup, 'vocab.txt'), [...VOCAB, 'the'].join('\n'));
  t.is((await Tokenizer.fromPretrained(dup)).tokenToId('the'), VOCAB.length);
});

// ------------------------------------------------------------------ task data (loadTask, custom tasks)

test.serial('task data files: unreadable files and bad rows are typed errors naming the file (and line)', async (t) => {
  t.timeout(60_000);
  const rteHead = 'index\tsentence1\tsentence2\tlabel\n';
  const cb = (o: Record<string, unknown> = {}) => JSON.stringify({ premise: 'p', hypothesis: 'h', label: 'neutral', idx: 0, ...o });
  const cosmosHead = 'id,context,question,answer0,answer1,answer2,answer3,label\n';
  const taskCases: { name: string; task: string; file: string; content: string | Buffer | null; cls: ErrorClass; message: RegExp; line?: number }[] = [
    { name: 'an empty TSV', task: 'rte', file: 'dev.tsv', content: '', cls: InvalidFileError, message: /no header row/ },
    { name: 'a TSV row with too few cells', task: 'rte', file: 'dev.tsv', content: rteHead + '0\ta\tb\n', cls: InvalidFileError, message: /:2: 3 cells, the header has 4/ },
    { name: 'a TSV row with an unknown label', task: 'rte', file: 'dev.tsv', content: rteHead + '0\ta\tb\tmaybe\n', cls: InvalidFileError, message: /:2: label "maybe" is not one of "entailment", "not_entailment"/ },
    { name: 'a TSV without a needed column', task: 'rte', file: 'dev.tsv', content: 'index\tsentence1\n0\ta\n', cls: InvalidFileError, message: /no column "sentence2"/ },
    { name: 'non-UTF-8 bytes in a TSV', task: 'rte', file: 'dev.tsv', content: Buffer.concat([Buffer.from(rteHead + '0\tok\tok\tentailment\n'), Buffer.from('1\t\xff\xfe\tb\tentailment\n', 'latin1')]), cls: InvalidFileError, message: /:3: not valid UTF-8 \(at byte offset \d+\)/ },
    { name: 'binary garbage', task: 'rte', file: 'dev.tsv', content: Buffer.from([0, 1, 2, 0xc0, 0x80, 10, 0, 0]), cls: InvalidFileError, message: /:1: not valid UTF-8 \(at byte offset 3\)/ },
    { name: 'a directory', task: 'rte', file: 'dev.tsv', content: null, cls: IoError, message: /EISDIR/ },
    { name: 'a JSONL line that is not JSON', task: 'cb', file: 'val.jsonl', content: cb() + '\n{"premise": \n', cls: InvalidFileError, message: /:2: not valid JSON/ },
    { name: 'a JSONL line nested 100k deep', task: 'cb', file: 'val.jsonl', content: cb() + '\n' + nestedArrays(DEEP) + '\n', cls: InvalidFileError, message: /:2: the line is not a JSON object/ },
    { name: 'a JSONL value nested 100k deep', task: 'cb', file: 'val.jsonl', content: cb({ premise: 'X' }).replace('"X"', nestedObjects(DEEP, '"x"')) + '\n', cls: InvalidFileError, message: /:1: "premise" must be a string/ },
    { name: 'a JSONL duplicate key whose last value is wrong', task: 'cb', file: 'val.jsonl', content: cb().slice(0, -1) + ',"label":"bogus"}\n', cls: InvalidFileError, message: /:1: label "bogus" is not one of/ },
    { name: 'JSONL lines that are not objects', task: 'cb', file: 'val.jsonl', content: '[1,2]\n"x"\nnull\n', cls: InvalidFileError, message: /3 bad rows\n.*:1: the line is not a JSON object\n.*:2: .*\n.*:3: / },
    { name: 'an unclosed CSV quote', task: 'cosmosqa', file: 'valid.csv', content: cosmosHead + 'q1,"unclosed,q,a,b,c,d,1\n', cls: InvalidFileError, message: /:2: a quoted field is not closed/ },
    { name: 'a CSV row with too few cells', task: 'cosmosqa', file: 'valid.csv', content: cosmosHead + 'q1,ctx,q,a,b\n', cls: InvalidFileError, message: /:2: 5 cells, the header has 8/ },
    { name: 'a CSV label out of range', task: 'cosmosqa', file: 'valid.csv', content: cosmosHead + 'q1,ctx,q,a,b,c,d,9\n', cls: InvalidFileError, message: /:2: label "9" is not an integer in \[0, 4\)/ },
  ];
  for (const c of taskCases) {
    const path = join(caseDir(), c.file);
    if (c.content === null) mkdirSync(path);
    else writeFileSync(path, c.content);
    await expectError(t, `${c.task}: ${c.name}`, () => loadTask(c.task, 'dev', { file: path }), { cls: c.cls, message: c.message, path });
  }
  const missing = join(fx.root, 'no-such-dev.tsv');
  await expectError(t, 'rte: a missing file', () => loadTask('rte', 'dev', { file: missing }), { cls: IoError, message: /ENOENT/, path: missing });

  // Custom tasks: the task.json file and its data.
  const quiz = join(fixturesDir, 'data', 'custom', 'quiz');
  const spec = readFileSync(join(quiz, 'task.json'), 'utf8').trim().slice(1, -1);
  const customCases: { name: string; edit: (dir: string) => string; cls: ErrorClass; message: RegExp; file: string }[] = [
    { name: 'an empty task.json', edit: (d) => (writeFileSync(join(d, 'task.json'), ''), join(d, 'task.json')), cls: InvalidFileError, message: /not valid JSON/, file: 'task.json' },
    { name: 'task.json nested 100k deep', edit: (d) => (writeFileSync(join(d, 'task.json'), `{${spec}, "description": ${nestedArrays(DEEP)}}`), join(d, 'task.json')), cls: InvalidFileError, message: /"description" must be a string/, file: 'task.json' },
    { name: 'task.json with a duplicate "name" whose last value is a registered task', edit: (d) => (writeFileSync(join(d, 'task.json'), `{${spec}, "name": "rte"}`), join(d, 'task.json')), cls: InvalidFileError, message: /"name" "rte" is a registered task/, file: 'task.json' },
    {
      name: 'task.json with non-UTF-8 bytes',
      edit: (d) => (writeFileSync(join(d, 'task.json'), Buffer.concat([Buffer.from(`{${spec}, "description": "`), Buffer.from([0xff, 0xfe]), Buffer.from('"}')])), join(d, 'task.json')),
      cls: InvalidFileError,
      message: /:\d+: not valid UTF-8/,
      file: 'task.json',
    },
    { name: 'task.json is a directory', edit: (d) => d, cls: IoError, message: /EISDIR/, file: '' },
    {
      name: 'a data line nested 100k deep',
      edit: (d) => {
        writeFileSync(join(d, 'dev.jsonl'), readFileSync(join(d, 'dev.jsonl'), 'utf8') + `{"story": ${nestedObjects(DEEP, '"s"')}, "question": "q", "opt1": "a", "opt2": "b", "opt3": "c", "answer": 1}\n`);
        return join(d, 'task.json');
      },
      cls: InvalidFileError,
      message: /dev\.jsonl:\d+: "story\.text" is missing/,
      file: 'dev.jsonl',
    },
  ];
  for (const c of customCases) {
    const dir = caseDir(quiz);
    const specPath = c.edit(dir);
    const path = c.file ? join(dir, c.file) : dir;
    await expectError(t, `custom task: ${c.name}`, async () => loadTask(await readCustomTaskFile(specPath), 'dev'), { cls: c.cls, message: c.message, path });
  }
});

// ------------------------------------------------------------------ CLI predict (JSONL input)

test.serial('CLI predict: malformed JSONL input exits 1 with one line naming the input file and line, never a crash', async (t) => {
  t.timeout(180_000);
  const deep = nestedArrays(DEEP);
  const ok = '{"input_ids":[1,2]}';
  const cliCases: { name: string; content: string | Buffer | null; message: RegExp }[] = [
    { name: 'non-UTF-8 bytes', content: Buffer.concat([Buffer.from(ok + '\n{"input_ids":[1,2],"id":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}\n')]), message: /line 2: not valid UTF-8 \(byte 26 of the line\)/ },
    { name: 'a line nested 100k deep', content: `${ok}\n${deep}\n`, message: /line 2: expected a JSON object, got an array/ },
    { name: 'input_ids nested 100k deep', content: `{"input_ids":${deep}}\n`, message: /line 1: "input_ids"\[0\] must be an integer, got an array/ },
    { name: 'an id nested 100k deep', content: `{"input_ids":[1,2],"id":${deep}}\n`, message: /line 1: "id" cannot be written back/ },
    { name: 'a duplicate key whose last value is wrong', content: '{"input_ids":[1,2],"input_ids":[1,99999]}\n', message: /line 1: "input_ids"\[1\] = 99999 is out of range/ },
    { name: 'a NaN literal', content: '{"input_ids":[1,NaN]}\n', message: /line 1: not valid JSON/ },
    { name: 'a number beyond double range', content: '{"input_ids":[1,1e400]}\n', message: /line 1: "input_ids"\[1\] must be an integer, got number Infinity/ },
    { name: 'a byte-order mark', content: '\ufeff' + ok + '\n', message: /line 1: not valid JSON/ },
    { name: 'a NUL byte', content: ok + '\0\n', message: /line 1: not valid JSON/ },
    { name: 'a directory as --input', content: null, message: /--input .*: is a folder, not a file/ },
  ];
  const dir = caseDir();
  const runs = cliCases.map((c, i) => async () => {
    const input = join(dir, `in${i}.jsonl`);
    if (c.content === null) mkdirSync(input);
    else writeFileSync(input, c.content);
    return { c, input, r: await cli(['predict', '--model', src.model, '--adapter', src.a, '--head', src.h, '--input', input, '--threads', '1']) };
  });
  // Two at a time: each is a separate node process.
  const results = [];
  for (let i = 0; i < runs.length; i += 2) results.push(...(await Promise.all(runs.slice(i, i + 2).map((run) => run()))));
  for (const { c, input, r } of results) {
    t.is(r.signal, null, `${c.name}: killed by ${r.signal}`);
    t.is(r.code, 1, `${c.name}: exit code (stderr: ${r.stderr})`);
    t.true(r.stderr.startsWith('adapterfusion: ') && r.stderr.includes(input), `${c.name}: the message does not name ${input}: ${r.stderr}`);
    t.regex(r.stderr, c.message, c.name);
    t.true(noStack(r.stderr), `${c.name}: ${r.stderr}`);
    t.is(r.stdout, '', `${c.name}: no output`);
  }
  const missing = join(dir, 'missing.jsonl');
  const r = await cli(['predict', '--model', src.model, '--adapter', src.a, '--head', src.h, '--input', missing]);
  t.is(r.code, 1);
  t.regex(r.stderr, /^adapterfusion: --input .*missing\.jsonl: no such file/);
  // An empty input is not an error: no lines, no output.
  const empty = join(dir, 'empty.jsonl');
  writeFileSync(empty, '');
  const e = await cli(['predict', '--model', src.model, '--adapter', src.a, '--head', src.h, '--input', empty]);
  t.is(e.code, 0, e.stderr);
  t.is(e.stdout, '');
});
