// `adapterfusion demo`: runs lib/runs/demo-command.ts with an overall progress bar on stderr and
// prints what it measured: Table 1 for the target, the fusion weights, whether the paper's two
// claims show, and where the report is.
import cliProgress from 'cli-progress';
import { join, relative } from 'node:path';
import { demoCommand, type DemoSummary } from '../runs/demo-command.js';
import { DEMO_BERT_CONFIG } from '../demo/settings.js';
import { asUsage, positiveInt, seedList } from './args.js';
import { withProgress } from './handlers.js';
import { meanStd } from './summary.js';

const pct = (xs: number[]) => {
  const { mean, std } = meanStd(xs.map((x) => x * 100));
  return `${mean.toFixed(1).padStart(5)} ± ${std.toFixed(1)}`;
};

export function formatDemo(s: DemoSummary): string {
  const c = DEMO_BERT_CONFIG;
  const nameWidth = Math.max(...s.tasks.map((t) => t.name.length)) + 2;
  const col = Math.max(8, ...s.fusionWeights.adapters.map((a) => a.length + 2));
  const lines = [
    `AdapterFusion demo: a random BERT made here (${c.num_hidden_layers} layers, hidden ${c.hidden_size}), generated tasks, seeds ${s.seeds.join(', ')}`,
    '',
    'Tasks (every word of the made-up vocabulary has a hidden topic and a hidden colour):',
    ...s.tasks.map((t) => `  ${t.name.padEnd(nameWidth)}${(t.related === 'target' ? 'target' : t.related ? 'related' : 'unrelated').padEnd(9)} ${String(t.train).padStart(4)} train ${String(t.dev).padStart(4)} dev  ${t.description}`),
    '',
    `Target "${s.target}", dev accuracy, mean ± std over ${s.seeds.length} seeds (Table 1):`,
    `  Head              ${pct(s.scores.head)}`,
    `  ST-A              ${pct(s.scores['st-a'])}`,
    `  Fusion w/ ST-A    ${pct(s.scores['fusion-st-a'])}`,
    '',
    `Fusion weights on the target's dev tokens (mean over seeds):`,
    `  ${''.padEnd(12)}${s.fusionWeights.adapters.map((a) => a.padStart(col)).join('')}`,
    ...s.fusionWeights.layers.map((row, l) => `  ${`layer ${l}`.padEnd(12)}${row.map((x) => x.toFixed(3).padStart(col)).join('')}`),
    `  ${'all layers'.padEnd(12)}${s.fusionWeights.all.map((x) => x.toFixed(3).padStart(col)).join('')}`,
    '',
    'The paper\'s claims, in miniature:',
    `  Fusion ≥ ST-A on the low-resource target: ${s.claims.fusionBeatsStA ? 'yes' : 'NO'}`,
    `  fusion weights concentrate on the related adapters: ${s.claims.relatedGetMoreWeight ? 'yes' : 'NO'}`,
    '',
    `Report: ${join(s.out, 'report', 'report.html')}`,
    `  heatmaps: ${s.report.paths.filter((p) => p.endsWith('.png')).map((p) => relative(s.out, p)).join(', ')}`,
    `  runs (AdapterHub folders, run.json, metrics.jsonl): ${join(s.out, 'runs')}`,
    `Done in ${s.seconds.toFixed(0)} s.`,
  ];
  return lines.join('\n') + '\n';
}

export async function demoCommandCli(o: Record<string, unknown>): Promise<void> {
  const cmd = 'demo';
  let seeds: number[];
  let threads: number | null;
  try {
    seeds = seedList(o.seeds as string, cmd)!;
    threads = positiveInt(o.threads as string | undefined, 'threads', cmd);
  } catch (err) {
    throw asUsage(err, cmd);
  }
  const enabled = o.progress !== false;
  const tty = enabled && process.stderr.isTTY === true;
  const summary = await withProgress(false, async (signal, progress) => {
    let bar: cliProgress.SingleBar | null = null;
    try {
      return await demoCommand({
        ...(o.out ? { out: o.out as string } : {}),
        seeds,
        ...(threads !== null ? { threads } : {}),
        signal,
        onEvent: (e) => {
          if (e.type === 'warning') progress.handle(e);
          if (e.type === 'step') bar?.update({ step: `${e.step}/${e.totalSteps}` });
        },
        onStage: (st) => {
          const what = `seed ${st.seed}: ${st.setup} on ${st.task}`;
          if (tty) {
            bar ??= new cliProgress.SingleBar(
              { format: 'demo |{bar}| {value}/{total} runs | {stage} | step {step}', hideCursor: true, stream: process.stderr, clearOnComplete: true },
              cliProgress.Presets.shades_classic,
            );
            if (st.index === 0) bar.start(st.total, 0, { stage: what, step: '-' });
            else bar.update(st.index, { stage: what, step: '-' });
          } else if (enabled) {
            process.stderr.write(`demo: run ${st.index + 1}/${st.total}: ${what}\n`);
          }
        },
      });
    } finally {
      (bar as cliProgress.SingleBar | null)?.stop();
    }
  });
  process.stdout.write(formatDemo(summary));
}

export { demoCommandCli as demoCommand };
