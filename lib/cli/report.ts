// `adapterfusion report RUNS [--out DIR] [--html]`: the paper's tables, heatmaps and the page.
import { join, resolve, relative } from 'node:path';
import { stat } from 'node:fs/promises';
import { writeReport } from '../report/index.js';
import { CliError } from './jsonl.js';

export async function reportCommand(dir: string, o: Record<string, unknown>): Promise<void> {
  const runs = resolve(dir);
  const st = await stat(runs).catch(() => null);
  if (!st?.isDirectory()) throw new CliError(`${dir}: no such folder`);
  const out = resolve((o.out as string | undefined) ?? join(runs, 'report'));
  const r = await writeReport(runs, out, { html: Boolean(o.html) });
  for (const w of r.warnings) process.stderr.write(`adapterfusion: warning: ${w}\n`);
  const table1 = r.paths.find((p) => p.endsWith('table1.md'));
  const lines = [`${r.runs.length} runs from ${runs}`, ''];
  if (table1) lines.push((await import('node:fs/promises').then((fs) => fs.readFile(table1, 'utf8'))).replace(/^# Table 1\n\n/, ''));
  lines.push(`Written to ${out}:`);
  for (const p of r.paths) lines.push(`  ${relative(out, p)}`);
  process.stdout.write(lines.join('\n') + '\n');
}
