// Every CLI command as a library function (`import { commands } from 'adapterfusion'`): the CLI
// parses options and draws progress; these do the work. See docs/ARCHITECTURE.md ("Runs and reports").
import { runTrainingCommand, type CommandResult, type TrainCommandOptions } from './train-run.js';
import { adapterPlan, fullPlan, fusionPlan, headPlan, type AdapterPlanOptions, type FusionPlanOptions } from './setups.js';

export type { TrainCommandOptions, CommandResult } from './train-run.js';
export type { AdapterPlanOptions, FusionPlanOptions } from './setups.js';
export { evaluateCommand as evaluate } from './evaluate-command.js';
export { trainMtAdapters, trainFusionOnMtAdapters, mtModelFolder, mtAdapterFolder, mtAdapterFolders } from './mt-command.js';
export type { MtAdaptersCommandOptions, FusionOnMtAdaptersOptions } from './mt-command.js';
export { demoCommand as demo } from './demo-command.js';
export type { DemoOptions, DemoSummary } from './demo-command.js';
export { benchCommand as bench } from './bench-command.js';
export type { BenchOptions, BenchResult, BenchCase } from './bench-command.js';
export { writeReport as report } from '../report/index.js';
export type { EvaluateCommandOptions, EvaluateCommandResult } from './evaluate-command.js';

/** "Head": a fresh head on the frozen encoder, per seed. */
export function trainHead(options: TrainCommandOptions): Promise<CommandResult> {
  return runTrainingCommand(options, headPlan());
}

/** "Full": full fine-tuning (encoder + head), per seed; saves a Hugging Face folder and the head. */
export function finetune(options: TrainCommandOptions): Promise<CommandResult> {
  return runTrainingCommand(options, fullPlan());
}

/** Stage 1, "ST-A": one adapter (Pfeiffer by default, or Houlsby) and its head, per seed. */
export function trainAdapter(options: TrainCommandOptions & AdapterPlanOptions): Promise<CommandResult> {
  return runTrainingCommand(options, adapterPlan(options));
}

/** Stage 2, "Fusion w/ ST-A" (or w/ MT-A): a fusion layer over trained adapters and a fresh head, per seed. */
export function trainFusion(options: TrainCommandOptions & FusionPlanOptions): Promise<CommandResult> {
  return runTrainingCommand(options, fusionPlan(options));
}
