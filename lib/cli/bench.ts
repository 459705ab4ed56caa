// `adapterfusion bench`: prints the timings of lib/runs/bench-command.ts.
import { benchCommand } from '../runs/bench-command.js';
import { asUsage, gemmOption, positiveInt } from './args.js';

export async function benchCommandCli(o: Record<string, unknown>): Promise<void> {
  const cmd = 'bench';
  let options;
  try {
    const threads = positiveInt(o.threads as string | undefined, 'threads', cmd);
    const gemm = gemmOption(o.gemm as string | undefined, cmd);
    options = {
      ...(o.model ? { model: o.model as string } : {}),
      batchSize: positiveInt(o.batchSize as string, 'batch-size', cmd)!,
      seqLen: positiveInt(o.seqLen as string, 'seq-len', cmd, 2)!,
      adapters: positiveInt(o.adapters as string, 'adapters', cmd, 2)!,
      repeats: positiveInt(o.repeats as string, 'repeats', cmd)!,
      ...(threads !== null ? { threads } : {}),
      ...(gemm !== null ? { gemm } : {}),
    };
  } catch (err) {
    throw asUsage(err, cmd);
  }
  const r = await benchCommand(options);
  if (o.json) {
    process.stdout.write(JSON.stringify(r) + '\n');
    return;
  }
  const m = r.machine;
  const lines = [
    `${r.model}, B=${r.batchSize}, L=${r.seqLen}, fusion over ${r.adapters} Pfeiffer adapters`,
    `${m.cpu} (${m.cores} cores), ${m.backend} ${m.gemm}/${m.isa}, ${m.threads} threads; median of repeated calls`,
    '',
    'case                            ms   tokens/s',
    ...r.cases.map((c) => `${c.name.padEnd(28)} ${c.ms.toFixed(1).padStart(8)} ${Math.round(c.tokensPerSecond).toString().padStart(10)}`),
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

export { benchCommandCli as benchCommand };
