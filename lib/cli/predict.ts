// `adapterfusion predict`: loads a model with adapters / a fusion layer / a head, then streams
// JSON Lines through it batch by batch: read up to --batch-size examples, pad them to the
// longest row, predict (off the JS thread), write their output lines, repeat. Memory stays
// bounded by one batch whatever the input size.
import { readFile, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { AdapterFusionError, Fuse, loadModel, Tokenizer, type BertModel, type LoadModelOptions } from '../index.js';
import type { AdapterSetup } from '../adapters/composition.js';
import { UsageError, type PredictArgs } from './args.js';
import { atomicFileWriter, CliError, f32, openInput, readLines, stdoutWriter, type LineWriter } from './jsonl.js';

/** One tokenized row: ids, token types and attention mask of equal length (no padding). */
interface Row {
  ids: ArrayLike<number>;
  types: ArrayLike<number> | null;
  mask: ArrayLike<number> | null;
  length: number;
}

/** One input line: one row, or numChoices rows for a multiple-choice head. */
interface Example {
  line: number;
  rows: Row[];
  /** The line's "id" as JSON text, written back as is (undefined: the line has none). */
  id: string | undefined;
}

interface HeadSummary {
  name: string;
  classes: number;
  regression: boolean;
  multipleChoice: boolean;
  /** Label names by id, when the head names its labels (not AdapterHub's default LABEL_k). */
  labelNames: string[] | null;
}

interface Context {
  args: PredictArgs;
  model: BertModel;
  head: HeadSummary;
  inputName: string;
  tokenizer: () => Promise<Tokenizer>;
  textMaxLength: () => Promise<number>;
  /** Whether the non-finite logits warning was printed (once per run). */
  warnedNonFinite?: boolean;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

async function requireFolder(path: string, option: string): Promise<void> {
  let s;
  try {
    s = await stat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliError(`${option} ${path}: ${code === 'ENOENT' ? 'no such folder' : (err as Error).message}`, { cause: err });
  }
  if (!s.isDirectory()) throw new CliError(`${option} ${path}: not a folder`);
}

async function requireFile(path: string, option: string): Promise<void> {
  let s;
  try {
    s = await stat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliError(`${option} ${path}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`, { cause: err });
  }
  if (s.isDirectory()) throw new CliError(`${option} ${path}: is a folder, not a file`);
}

/** The names a saved fusion layer fuses, read from its adapter_fusion_config.json (null if unreadable). */
async function fusionAdapterNames(dir: string): Promise<string[] | null> {
  try {
    const json = JSON.parse(await readFile(join(dir, 'adapter_fusion_config.json'), 'utf8')) as unknown;
    if (!isObject(json)) return null;
    if (Array.isArray(json.adapter_names) && json.adapter_names.every((n) => typeof n === 'string')) return json.adapter_names as string[];
    if (typeof json.name === 'string') return json.name.split(',');
    return null;
  } catch {
    return null; // the library's loader reports what is wrong with the folder
  }
}

function labelNames(config: Record<string, unknown>, classes: number): string[] | null {
  const label2id = config.label2id;
  if (!isObject(label2id)) return null;
  const names: string[] = new Array(classes).fill('');
  let custom = false;
  for (const [name, id] of Object.entries(label2id)) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= classes) continue;
    names[id] = name;
    if (name !== `LABEL_${id}`) custom = true;
  }
  if (!custom) return null;
  return names.map((n, i) => n || `LABEL_${i}`);
}

async function setUp(args: PredictArgs): Promise<{ model: BertModel; head: HeadSummary }> {
  await requireFolder(args.model, '--model');
  for (const dir of args.adapters) await requireFolder(dir, '--adapter');
  if (args.fusion !== null) await requireFolder(args.fusion, '--fusion');
  if (args.head !== null) await requireFolder(args.head, '--head');
  if (args.input !== '-') await requireFile(args.input, '--input');
  if (args.output !== null) {
    await requireFolder(dirname(resolve(args.output)), `--output ${args.output}: the folder`);
    const existing = await stat(args.output).catch(() => null);
    if (existing?.isDirectory()) throw new CliError(`--output ${args.output}: is a folder; give a file path`);
  }

  const options: LoadModelOptions = {};
  if (args.threads !== null) options.threads = args.threads;
  if (args.gemm !== null) options.gemm = args.gemm;
  const model = await loadModel(args.model, options);
  try {
    const adapterNames: string[] = [];
    for (const dir of args.adapters) adapterNames.push(await model.loadAdapter(dir));

    let setup: AdapterSetup = null;
    if (args.fusion !== null) {
      const wanted = await fusionAdapterNames(args.fusion);
      const missing = wanted?.filter((n) => !adapterNames.includes(n)) ?? [];
      if (missing.length > 0) {
        throw new CliError(
          `--fusion ${args.fusion} fuses adapter${missing.length > 1 ? 's' : ''} ${missing.map((n) => `"${n}"`).join(', ')}, ` +
            `not among the --adapter folders given (${adapterNames.map((n) => `"${n}"`).join(', ') || 'none'}); add ${missing.length > 1 ? 'their folders' : 'its folder'} with --adapter DIR`,
        );
      }
      const name = await model.loadAdapterFusion(args.fusion);
      setup = new Fuse(...(wanted ?? name.split(',')));
    } else if (adapterNames.length === 1) {
      setup = adapterNames[0];
    } else if (adapterNames.length > 1) {
      process.stderr.write(
        `adapterfusion: warning: ${adapterNames.length} adapters and no --fusion: no adapter is active (give --fusion DIR to fuse them)\n`,
      );
    }

    let headName: string;
    if (args.head !== null) {
      headName = await model.loadHead(args.head);
    } else {
      const heads = model.heads();
      if (heads.length !== 1) {
        throw new UsageError(
          heads.length === 0 ? 'missing --head DIR (the prediction head folder)' : `missing --head: the adapter folders brought ${heads.length} heads (${heads.join(', ')}); choose one with --head DIR`,
          'predict',
        );
      }
      headName = heads[0];
    }
    await model.setActiveAdapters(setup, { head: headName });
    const info = model.activeHead();
    if (!info) throw new Error(`head "${headName}" is not active after setActiveAdapters`);
    const config = model.headConfig(info.name);
    return {
      model,
      head: { ...info, labelNames: info.regression ? null : labelNames(config, info.classes) },
    };
  } catch (err) {
    model.dispose();
    throw err;
  }
}

// ------------------------------------------------------------------------------ input lines

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'number') return `number ${String(v)}`; // 1e400 parses to Infinity, which JSON.stringify writes as null
  return typeof v === 'string' ? 'a string' : typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(v)}`;
}

function intArray(v: unknown, what: string, lo: number, hi: number, range: string): number[] {
  if (!Array.isArray(v)) throw new CliError(`${what} must be an array of integers, got ${describe(v)}`);
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (typeof x !== 'number' || !Number.isInteger(x)) throw new CliError(`${what}[${i}] must be an integer, got ${describe(x)}`);
    if (x < lo || x >= hi) throw new CliError(`${what}[${i}] = ${x} is out of range (${range})`);
  }
  return v as number[];
}

async function parseRow(ctx: Context, v: unknown, where: string): Promise<Row> {
  const cfg = ctx.model.config;
  const prefix = where ? `${where}: ` : '';
  const key = (k: string) => (where ? `${where}.${k}` : `"${k}"`);
  if (!isObject(v)) throw new CliError(`${prefix}expected an object with "input_ids" or "text", got ${describe(v)}`);
  const hasIds = v.input_ids !== undefined;
  const hasText = v.text !== undefined;
  if (hasIds && hasText) throw new CliError(`${prefix}has both "input_ids" and "text"; give one`);
  let row: Row;
  if (hasIds) {
    if (v.text_pair !== undefined) throw new CliError(`${prefix}"text_pair" goes with "text", not with "input_ids"`);
    const ids = intArray(v.input_ids, key('input_ids'), 0, cfg.vocabSize, `a token id of this model is 0 ≤ id < ${cfg.vocabSize}`);
    const n = ids.length;
    let types: number[] | null = null;
    let mask: number[] | null = null;
    if (v.token_type_ids !== undefined && v.token_type_ids !== null) {
      types = intArray(v.token_type_ids, key('token_type_ids'), 0, cfg.typeVocabSize, `this model has ${cfg.typeVocabSize} token types`);
      if (types.length !== n) throw new CliError(`${key('token_type_ids')} has ${types.length} entries but input_ids has ${n}`);
    }
    if (v.attention_mask !== undefined && v.attention_mask !== null) {
      mask = intArray(v.attention_mask, key('attention_mask'), 0, 2, 'must be 0 or 1');
      if (mask.length !== n) throw new CliError(`${key('attention_mask')} has ${mask.length} entries but input_ids has ${n}`);
      if (!mask.includes(1)) throw new CliError(`${key('attention_mask')} has no 1 (no real token)`);
    }
    row = { ids, types, mask, length: n };
  } else if (hasText) {
    if (typeof v.text !== 'string') throw new CliError(`${key('text')} must be a string, got ${describe(v.text)}`);
    const pair = v.text_pair ?? null;
    if (pair !== null && typeof pair !== 'string') throw new CliError(`${key('text_pair')} must be a string, got ${describe(pair)}`);
    const tokenizer = await ctx.tokenizer();
    const maxLength = await ctx.textMaxLength();
    let enc;
    try {
      enc = tokenizer.encode(v.text, pair, { maxLength, truncation: true });
    } catch (err) {
      if (err instanceof AdapterFusionError) throw new CliError(`${prefix}${err.message}`, { cause: err });
      throw err;
    }
    const ids = intArray(Array.from(enc.inputIds), `${prefix}the tokenizer's ids`, 0, cfg.vocabSize, `the model has ${cfg.vocabSize} token ids; does the tokenizer belong to it?`);
    row = { ids, types: enc.tokenTypeIds, mask: enc.attentionMask, length: enc.length };
  } else {
    const extra = ctx.head.multipleChoice ? '' : v.choices !== undefined ? ` ("choices" needs a multiple-choice head; head "${ctx.head.name}" is not one)` : '';
    throw new CliError(`${prefix}expected an object with "input_ids" or "text"${extra}`);
  }
  if (row.length === 0) throw new CliError(`${prefix}${hasIds ? '"input_ids" is empty' : 'the text gives no tokens'}`);
  if (row.length > cfg.maxPositionEmbeddings) {
    throw new CliError(`${prefix}${row.length} tokens, more than the model's ${cfg.maxPositionEmbeddings} positions${hasText ? ' (use --max-length)' : ''}`);
  }
  return row;
}

/** The "id" as JSON text; a value too deeply nested to write back is the line's error, not a crash. */
function idJson(id: unknown): string | undefined {
  if (id === undefined) return undefined;
  try {
    return JSON.stringify(id);
  } catch (err) {
    throw new CliError(`"id" cannot be written back (${(err as Error).message}); give a string or a number`, { cause: err });
  }
}

async function parseExample(ctx: Context, text: string, line: number): Promise<Example> {
  const at = `${ctx.inputName} line ${line}`;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new CliError(`${at}: not valid JSON (${(err as Error).message})`);
  }
  try {
    if (!isObject(value)) throw new CliError(`expected a JSON object, got ${describe(value)}`);
    const id = idJson(value.id);
    if (ctx.head.multipleChoice) {
      const choices = value.choices;
      if (choices === undefined) {
        throw new CliError(`head "${ctx.head.name}" is a multiple-choice head: expected {"choices": [...]} with ${ctx.head.classes} choices`);
      }
      if (!Array.isArray(choices)) throw new CliError(`"choices" must be an array, got ${describe(choices)}`);
      if (choices.length !== ctx.head.classes) {
        throw new CliError(`"choices" has ${choices.length} entries but head "${ctx.head.name}" takes ${ctx.head.classes}`);
      }
      const rows: Row[] = [];
      for (let i = 0; i < choices.length; i++) rows.push(await parseRow(ctx, choices[i], `"choices"[${i}]`));
      return { line, rows, id };
    }
    return { line, rows: [await parseRow(ctx, value, '')], id };
  } catch (err) {
    if (err instanceof CliError) throw new CliError(`${at}: ${err.message}`, { cause: err });
    throw err;
  }
}

// ------------------------------------------------------------------------------ batches

function argmax(x: Float32Array): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best] || Number.isNaN(x[best])) best = i;
  return best;
}

async function runBatch(ctx: Context, examples: Example[], out: LineWriter): Promise<void> {
  const rows = examples.flatMap((e) => e.rows);
  const batchSize = rows.length;
  const seqLen = rows.reduce((m, r) => Math.max(m, r.length), 0);
  const inputIds = new Int32Array(batchSize * seqLen).fill(ctx.model.config.padTokenId);
  const tokenTypeIds = new Int32Array(batchSize * seqLen);
  const attentionMask = new Int32Array(batchSize * seqLen);
  rows.forEach((r, i) => {
    const o = i * seqLen;
    for (let j = 0; j < r.length; j++) {
      inputIds[o + j] = r.ids[j];
      tokenTypeIds[o + j] = r.types ? r.types[j] : 0;
      attentionMask[o + j] = r.mask ? r.mask[j] : 1;
    }
  });

  let result;
  try {
    result = await ctx.model.predict({ inputIds, tokenTypeIds, attentionMask, batchSize, seqLen }, { outputFusionAttentions: ctx.args.fusionAttentions });
  } catch (err) {
    if (err instanceof AdapterFusionError && err.code !== 'ERR_AF_INTERNAL') {
      const first = examples[0].line;
      const last = examples[examples.length - 1].line;
      throw new CliError(`${ctx.inputName} lines ${first}-${last}: ${err.message}`, { cause: err });
    }
    throw err;
  }
  const { logits, classes } = result;
  if (result.examples !== examples.length) {
    throw new Error(`predict returned ${result.examples} examples for a batch of ${examples.length}`);
  }
  const attentions = result.fusionAttentions;

  let text = '';
  let row = 0;
  examples.forEach((ex, e) => {
    const o: Record<string, unknown> = {};
    const own = logits.subarray(e * classes, (e + 1) * classes);
    o.logits = Array.from(own, f32);
    const finite = own.every(Number.isFinite);
    if (!finite && !ctx.warnedNonFinite) {
      ctx.warnedNonFinite = true;
      process.stderr.write(
        `adapterfusion: warning: ${ctx.inputName} line ${ex.line}: the logits are not finite (NaN or Infinity), so no label is given; ` +
          'the weights hold non-finite values (see the warning when they were loaded)\n',
      );
    }
    if (ctx.head.regression) {
      o.score = f32(own[0]);
    } else {
      const k = finite ? argmax(own) : null;
      o.label = k;
      if (ctx.head.labelNames) o.label_name = k === null ? null : ctx.head.labelNames[k];
    }
    if (ctx.args.fusionAttentions && attentions) {
      const perRow = ex.rows.map((_, c) => fusionAttentionsOfRow(attentions, row + c, seqLen, batchSize, attentionMask));
      o.fusion_attentions = ctx.head.multipleChoice ? perRow : perRow[0];
    }
    row += ex.rows.length;
    const json = JSON.stringify(o);
    text += (ex.id === undefined ? json : `{"id":${ex.id},${json.slice(1)}`) + '\n';
  });
  await out.write(text);
}

/** [layer][real token][adapter] of one batch row; null for a layer without fusion. */
function fusionAttentionsOfRow(layers: (Float32Array | null)[], row: number, seqLen: number, batchSize: number, mask: Int32Array) {
  return layers.map((p) => {
    if (!p) return null;
    const n = p.length / (batchSize * seqLen);
    const tokens: (number | null)[][] = [];
    for (let t = 0; t < seqLen; t++) {
      if (mask[row * seqLen + t] !== 1) continue;
      const o = (row * seqLen + t) * n;
      tokens.push(Array.from(p.subarray(o, o + n), f32));
    }
    return tokens;
  });
}

// ------------------------------------------------------------------------------ command

export async function predictCommand(args: PredictArgs): Promise<void> {
  const { model, head } = await setUp(args);
  let writer: LineWriter | null = null;
  const onSignal = (signal: NodeJS.Signals) => {
    writer?.abortSync();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  try {
    const cfg = model.config;
    if (args.maxLength !== null && args.maxLength > cfg.maxPositionEmbeddings) {
      throw new UsageError(`--max-length ${args.maxLength} is more than the model's ${cfg.maxPositionEmbeddings} positions`, 'predict');
    }
    let tokenizerPromise: Promise<Tokenizer> | null = null;
    const tokenizer = () =>
      (tokenizerPromise ??= (async () => {
        try {
          return await Tokenizer.fromPretrained(args.model);
        } catch (err) {
          if (err instanceof AdapterFusionError && err.code === 'ERR_AF_IO') {
            throw new CliError(`"text" input needs a tokenizer, but --model ${args.model} has neither vocab.txt nor tokenizer.json; give "input_ids" instead`, { cause: err });
          }
          if (err instanceof AdapterFusionError) throw new CliError(`the tokenizer of --model ${args.model}: ${err.message}`, { cause: err });
          throw err;
        }
      })());
    const textMaxLength = async () => args.maxLength ?? Math.min((await tokenizer()).maxLength, cfg.maxPositionEmbeddings);

    const input = await openInput(args.input);
    const ctx: Context = { args, model, head, inputName: input.name, tokenizer, textMaxLength };
    writer = args.output === null ? stdoutWriter() : await atomicFileWriter(args.output);
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);

    // One batch in flight: the next one is read and tokenized while the addon computes this
    // one off the JS thread. Outputs stay in input order (each batch writes after the previous).
    const out = writer;
    let inflight: Promise<void> | null = null;
    const submit = async (examples: Example[]) => {
      if (inflight) await inflight;
      inflight = runBatch(ctx, examples, out);
      inflight.catch(() => {}); // surfaced by the next await; avoids an unhandled rejection meanwhile
    };
    let batch: Example[] = [];
    try {
      for await (const line of readLines(input.stream, input.name)) {
        if (line.text.trim() === '') continue;
        batch.push(await parseExample(ctx, line.text, line.number));
        if (batch.length >= args.batchSize) {
          await submit(batch);
          batch = [];
        }
      }
      if (batch.length > 0) await submit(batch);
      if (inflight) await inflight;
    } finally {
      if (inflight) await (inflight as Promise<void>).catch(() => {}); // never leave a predict running
      if (input.stream !== process.stdin) input.stream.destroy();
    }
    await writer.commit();
  } catch (err) {
    await writer?.abort();
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    model.dispose();
  }
}
