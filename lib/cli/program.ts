// The `adapterfusion` command line on commander: every command, its options and help. Values are
// checked by lib/cli/args.ts (usage errors, exit 2); the work is done by the library's
// `commands` (lib/runs/commands.ts), so everything here is also callable from code.
import { Command, Option } from 'commander';
import { UsageError } from './args.js';

export interface Handlers {
  predict(o: Record<string, unknown>): Promise<void>;
  info(o: Record<string, unknown>): Promise<void>;
  train(kind: TrainKind, o: Record<string, unknown>): Promise<void>;
  evaluate(o: Record<string, unknown>): Promise<void>;
  report(dir: string, o: Record<string, unknown>): Promise<void>;
  demo(o: Record<string, unknown>): Promise<void>;
  bench(o: Record<string, unknown>): Promise<void>;
  tasks(o: Record<string, unknown>): Promise<void>;
}

export type TrainKind = 'train-head' | 'finetune' | 'train-adapter' | 'train-mt-adapters' | 'train-fusion';

const EXIT_CODES = `
Exit codes: 0 success, 1 error (bad data, missing or malformed files), 2 usage error,
3 internal error (a bug: please report it), 130 / 143 stopped by Ctrl-C / SIGTERM (training
commands keep a checkpoint: run the same command with --resume to continue).`;

function trainingOptions(cmd: Command): Command {
  return cmd
    .option('--model <dir>', 'Hugging Face BERT folder: config.json, model.safetensors, vocab.txt or tokenizer.json')
    .option('--task <name>', "a registered task (see 'adapterfusion tasks') or the name of a custom task")
    .option('--task-file <file>', 'a custom task: JSON with files, columns and labels (see README, "Your own data")')
    .option('--columns <map>', 'custom task columns, e.g. text=sentence,pair=question,label=label (with --train-file/--dev-file)')
    .option('--train-file <file>', 'custom task: the training file (.tsv, .csv or .jsonl)')
    .option('--dev-file <file>', 'custom task: the dev file')
    .option('--test-file <file>', 'custom task: a labelled test file (optional)')
    .option('--data <dir>', 'data root with one folder per registered task (e.g. data/rte/train.tsv)')
    .option('--out <dir>', 'output folder; each seed writes <out>/seed-<s>/')
    .option('--seeds <list>', 'comma-separated seeds; results are reported as mean ± std over them', '42')
    .option('--lr <x>', 'peak learning rate (default: the paper\'s for the setup)')
    .option('--epochs <n>', "maximum epochs (default: the paper's for the setup)")
    .option('--batch-size <n>', 'training examples per step', '32')
    .option('--max-length <n>', 'tokens per example, special tokens included', '128')
    .option('--patience <n>', 'early stopping: epochs without a better dev metric (0 = off, keep the best epoch)', '3')
    .option('--warmup-ratio <x>', 'linear warm-up over this fraction of the steps', '0')
    .option('--weight-decay <x>', 'AdamW weight decay', '0')
    .option('--train-limit <n>', 'use only the first N training examples')
    .addOption(new Option('--bad-rows <mode>', 'malformed data rows: error (stop, listing them) or skip (warn and leave them out)').choices(['error', 'skip']).default('error'))
    .option('--resume', 'skip finished seeds and continue interrupted ones from their checkpoint')
    .option('--keep-checkpoints', 'keep the checkpoints of finished seeds')
    .option('--log-every <n>', 'steps between lines of metrics.jsonl', '10')
    .option('--threads <n>', 'CPU threads (default: one per available core)')
    .addOption(new Option('--device <name>', 'cpu or cuda (a build with the CUDA backend)').choices(['cpu', 'cuda']).default('cpu'))
    .option('--gemm <name>', 'CPU GEMM provider: builtin or openblas (default: the fastest available)')
    .option('--no-progress', 'no progress bars (they are off anyway when stderr is not a terminal)');
}

/** Builds the program; `handlers` run the commands (injected, so the parser is testable). */
export function buildProgram(version: string, handlers: Handlers): Command {
  const program = new Command('adapterfusion');
  program
    .usage('<command> [options]')
    .description('BERT with bottleneck adapters and AdapterFusion (Pfeiffer et al. 2020), AdapterHub-compatible files.')
    .version(version, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'print help')
    .addHelpCommand('help [command]', "print this help, or a command's")
    .showSuggestionAfterError(false)
    .addHelpText('after', `\nThe paper's protocol: train-adapter per task (stage 1), train-fusion per target (stage 2), report.\nTry 'adapterfusion demo' first.\n${EXIT_CODES}`);

  const train = (name: TrainKind, summary: string, extra?: (c: Command) => Command) => {
    let c = trainingOptions(program.command(name).description(summary));
    if (extra) c = extra(c);
    c.addHelpText('after', EXIT_CODES).action((o: Record<string, unknown>) => handlers.train(name, o));
  };
  train('train-head', 'train a task head on the frozen encoder ("Head" in the paper\'s Table 1)');
  train('finetune', 'fine-tune the whole encoder with a task head ("Full")');
  train('train-adapter', 'stage 1: train one bottleneck adapter and its head per seed ("ST-A")', (c) =>
    c
      .addOption(new Option('--config <name>', 'adapter architecture').choices(['pfeiffer', 'houlsby']).default('pfeiffer'))
      .option('--reduction-factor <n>', 'hidden size / bottleneck width', '16')
      .addOption(new Option('--non-linearity <name>', 'bottleneck activation (default: relu for pfeiffer, swish for houlsby)').choices(['relu', 'swish', 'gelu', 'tanh'])),
  );
  train('train-mt-adapters', 'train adapters for several tasks jointly with the encoder ("MT-A", Stickland & Murray 2019)', (c) =>
    c
      .option('--tasks <names...>', 'the tasks trained jointly: registered names or custom task JSON files; --task is not used')
      .addOption(new Option('--config <name>', 'adapter architecture').choices(['pfeiffer', 'houlsby']).default('pfeiffer'))
      .option('--reduction-factor <n>', 'hidden size / bottleneck width', '16')
      .option('--alpha-start <x>', 'annealed sampling: α of the first epoch (task p ∝ size^α)', '1')
      .option('--alpha-end <x>', 'α of the last epoch', '0.2'),
  );
  train('train-fusion', 'stage 2: train AdapterFusion over trained adapters for a target task ("Fusion w/ ST-A")', (c) =>
    c
      .option('--adapters <dirs...>', 'adapter folders, or train-adapter output folders (the same seed is taken)')
      .addOption(new Option('--fusion-config <name>', 'AdapterFusion variant').choices(['dynamic', 'static']).default('dynamic'))
      .addOption(new Option('--adapters-from <setup>', 'what the adapters are, for the report').choices(['st-a', 'mt-a']).default('st-a'))
      .option('--mt-a <dir>', 'a train-mt-adapters output: seed s fuses <dir>/seed-<s>/*/adapter on <dir>/seed-<s>/model (replaces --model and --adapters)')
      .option('--mt-tasks <names...>', "with --mt-a: fuse only these tasks' adapters"),
  );

  program
    .command('eval')
    .description('evaluate saved adapters / a fusion layer / a head on a task split')
    .option('--run <dir>', 'a finished run folder (<out>/seed-<s>): everything else is read from its run.json')
    .option('--model <dir>', 'Hugging Face BERT folder')
    .option('--task <name>', 'registered task')
    .option('--task-file <file>', 'custom task JSON')
    .option('--data <dir>', 'data root for registered tasks')
    .option('--adapter <dir>', 'an adapter folder (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--fusion <dir>', 'an AdapterFusion folder (its adapters given with --adapter)')
    .option('--head <dir>', 'the head folder (default: the adapter folder when one adapter is given)')
    .option('--split <name>', 'split to evaluate', 'dev')
    .option('--batch-size <n>', 'examples per forward pass', '32')
    .option('--max-length <n>', 'tokens per example', '128')
    .option('--fusion-activations', 'also print the mean fusion weights per layer')
    .option('--json', 'print one JSON object')
    .option('--threads <n>', 'CPU threads')
    .option('--gemm <name>', 'CPU GEMM provider')
    .addHelpText('after', EXIT_CODES)
    .action((o: Record<string, unknown>) => handlers.evaluate(o));

  program
    .command('predict')
    .description('run a model with adapters, a fusion layer and a head over JSON Lines')
    .option('--model <dir>', 'Hugging Face BERT folder (its tokenizer is used for "text" lines)')
    .option('--adapter <dir>', 'an adapter saved by AdapterHub\'s save_adapter (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--fusion <dir>', 'an AdapterFusion layer (save_adapter_fusion); its adapters given with --adapter')
    .option('--head <dir>', 'a prediction head (save_head), or an adapter folder saved with its head')
    .option('--input <file>', "JSON Lines, '-' = stdin: {\"input_ids\": [...]} or {\"text\", \"text_pair\"?} or {\"choices\": [...]}")
    .option('--output <file>', 'where to write (default stdout); renamed into place only when every line succeeded')
    .option('--fusion-attentions', 'add "fusion_attentions": [layer][token][adapter]')
    .option('--batch-size <n>', 'examples per forward pass', '32')
    .option('--max-length <n>', 'truncate "text" lines to N tokens (default: the tokenizer\'s limit)')
    .option('--threads <n>', 'CPU threads')
    .option('--gemm <name>', 'CPU GEMM provider: builtin or openblas')
    .addHelpText(
      'after',
      `\nOutput lines: {"logits": [...], "label": k, "label_name"?} (classification, multiple choice) or\n{"logits": [x], "score": x} (regression); "id" is copied from the input.\n${EXIT_CODES}`,
    )
    .action((o: Record<string, unknown>) => handlers.predict(o));

  program
    .command('report')
    .description("collect the runs under a folder into the paper's Table 1 and 2, fusion heatmaps and an HTML page")
    .argument('<runs-dir>', 'folder holding run folders (searched recursively)')
    .option('--out <dir>', 'where to write the report (default: <runs-dir>/report)')
    .option('--html', 'also write report.html: one self-contained page')
    .addHelpText('after', EXIT_CODES)
    .action((dir: string, o: Record<string, unknown>) => handlers.report(dir, o));

  program
    .command('demo')
    .description('the whole two-stage method on a small generated BERT and generated tasks, offline, in minutes')
    .option('--out <dir>', 'output folder (default: a new folder under the system temp folder)')
    .option('--seeds <list>', 'seeds', '1,2,3')
    .option('--threads <n>', 'CPU threads')
    .option('--no-progress', 'no progress bars')
    .addHelpText('after', EXIT_CODES)
    .action((o: Record<string, unknown>) => handlers.demo(o));

  program
    .command('bench')
    .description('time forward passes and training steps (plain, ST-A, Fusion) of a model on this machine')
    .option('--model <dir>', 'a BERT folder (default: BERT-base shapes with random weights)')
    .option('--batch-size <n>', 'sequences per batch', '8')
    .option('--seq-len <n>', 'tokens per sequence', '128')
    .option('--adapters <n>', 'adapters in the fusion', '8')
    .option('--repeats <n>', 'timed repetitions (median reported)', '5')
    .option('--threads <n>', 'CPU threads')
    .option('--gemm <name>', 'CPU GEMM provider')
    .option('--json', 'print one JSON object')
    .addHelpText('after', EXIT_CODES)
    .action((o: Record<string, unknown>) => handlers.bench(o));

  program
    .command('tasks')
    .description('list the registered tasks: format, labels, metric and the files each split reads')
    .option('--json', 'print JSON')
    .action((o: Record<string, unknown>) => handlers.tasks(o));

  program
    .command('info')
    .description('print the version and what the native backend uses (GEMM provider, instruction set, threads)')
    .option('--threads <n>', 'report for N threads')
    .option('--gemm <name>', 'report for this GEMM provider (builtin or openblas)')
    .option('--json', 'print one JSON object')
    .action((o: Record<string, unknown>) => handlers.info(o));

  // Strictness commander leaves out: stray arguments and single options given twice.
  program.hook('preAction', (root, action) => {
    if (action.args.length > action.registeredArguments.length) {
      throw new UsageError(`unexpected argument '${action.args[action.registeredArguments.length]}'`, action.name());
    }
    checkRepeats(action, (root as unknown as { rawArgs?: string[] }).rawArgs ?? []);
  });
  for (const c of program.commands) c.allowExcessArguments(true);
  return program;
}

/** Options that take one value may appear once (commander would keep the last silently). */
function checkRepeats(cmd: Command, raw: string[]): void {
  const seen = new Map<string, number>();
  for (const arg of raw) {
    if (arg === '--') break;
    if (!arg.startsWith('--')) continue;
    const name = arg.split('=')[0];
    const opt = cmd.options.find((o) => o.long === name);
    if (!opt || opt.variadic || !opt.required || opt.long === '--adapter') continue;
    const n = (seen.get(name) ?? 0) + 1;
    seen.set(name, n);
    if (n > 1) throw new UsageError(`option ${name} given more than once`, cmd.name());
  }
}
