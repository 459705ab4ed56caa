// The trainable parameters and AdamW's state of a model, as Trainer and MultiTaskTrainer
// snapshot, checkpoint and restore them. One place for the tensors a checkpoint holds (values,
// moments, each tensor's own step count) and for the checks a resume makes, so that both
// trainers write and read the same layout and refuse a checkpoint with the same messages.
import type { BertModel } from '../model/bert-model.js';
import { InvalidArgumentError } from '../errors.js';
import { saveCheckpoint, type CheckpointContents, type LoadedCheckpoint, type NamedTensor } from './checkpoint.js';
import { isObject } from './option-checks.js';

/** A parameter's name and shape: what trainer_state.json records as `trainable`. */
export interface ParamSpec {
  name: string;
  shape: number[];
}

export function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The model's trainable parameters, in the model's order. */
export function trainableParams(model: BertModel): ParamSpec[] {
  return model
    .parameters()
    .filter((p) => p.trainable)
    .map((p) => ({ name: p.name, shape: p.shape }));
}

/** A copy of every trainable parameter (for a checkpoint, or as the best so far). */
export async function snapshotTrainable(model: BertModel): Promise<NamedTensor[]> {
  const out: NamedTensor[] = [];
  for (const p of trainableParams(model)) out.push({ name: p.name, shape: p.shape, data: await model.getParameter(p.name) });
  return out;
}

/** Puts saved parameter values back (restoreBest at the end of training). */
export async function setParams(model: BertModel, tensors: readonly NamedTensor[]): Promise<void> {
  for (const p of tensors) await model.setParameter(p.name, p.data);
}

/**
 * Writes a checkpoint of the trainable parameters and Adam's moments. Every tensor keeps its own
 * step count (tensorSteps: multi-task steps skip the tasks not drawn); `steps` is the largest.
 * `state` builds trainer_state.json's contents around the list of trainable parameters.
 */
export async function saveTrainingCheckpoint(
  model: BertModel,
  dir: string,
  state: (trainable: ParamSpec[]) => CheckpointContents['state'],
  best: NamedTensor[] | null,
): Promise<string> {
  const params = await snapshotTrainable(model);
  const m: NamedTensor[] = [];
  const v: NamedTensor[] = [];
  const tensorSteps: Record<string, number> = {};
  let steps = 0;
  for (const p of params) {
    const st = await model.getOptimizerState(p.name);
    tensorSteps[p.name] = st.steps;
    steps = Math.max(steps, st.steps);
    m.push({ name: p.name, shape: p.shape, data: st.m });
    v.push({ name: p.name, shape: p.shape, data: st.v });
  }
  const contents: CheckpointContents = {
    state: state(params.map((p) => ({ name: p.name, shape: p.shape }))),
    params,
    optimizer: { steps, tensorSteps, m, v },
    best,
  };
  return saveCheckpoint(dir, contents);
}

/** Refuses a checkpoint written with other values of the options that change the numbers (`keys`). */
export function checkSameOptions(ck: LoadedCheckpoint, now: object, keys: readonly string[]): void {
  const saved = ck.state.options;
  if (!isObject(saved)) throw new InvalidArgumentError(`${ck.path}: the checkpoint has no trainer options`);
  const current = now as Record<string, unknown>;
  const differ = keys.filter((k) => !sameJson(saved[k], current[k]));
  if (differ.length) {
    throw new InvalidArgumentError(
      `the checkpoint ${ck.path} was written with other options: ` +
        differ.map((k) => `${k} ${JSON.stringify(saved[k])} (now ${JSON.stringify(current[k])})`).join(', '),
    );
  }
}

/** The parameters the checkpoint trained, once it is known to hold their values and both moments. */
export function savedTrainable(ck: LoadedCheckpoint): ParamSpec[] | undefined {
  const want = ck.state.trainable as ParamSpec[] | undefined;
  const params = new Set(ck.params.map((t) => t.name));
  const m = new Set(ck.optimizer.m.map((t) => t.name));
  const v = new Set(ck.optimizer.v.map((t) => t.name));
  for (const p of want ?? []) {
    if (!params.has(p.name) || !m.has(p.name) || !v.has(p.name)) throw new InvalidArgumentError(`${ck.path}: the checkpoint lacks the tensors of ${p.name}`);
  }
  return want;
}

/**
 * Loads a checkpoint's values and Adam state (each tensor's own step count) into the model's
 * trainable parameters, which must be the ones it trained (`want`, from savedTrainable);
 * `where` qualifies "this model" in the error (e.g. " in mode 'adapter'").
 */
export async function restoreTrainable(model: BertModel, ck: LoadedCheckpoint, want: ParamSpec[] | undefined, where = ''): Promise<void> {
  const trainable = trainableParams(model);
  if (!sameJson(trainable, want)) {
    throw new InvalidArgumentError(
      `the checkpoint ${ck.path} trained other parameters than this model${where} ` +
        `(${want?.length ?? 0} saved, ${trainable.length} now): build the model as when it was written`,
    );
  }
  const params = new Map(ck.params.map((t) => [t.name, t]));
  const m = new Map(ck.optimizer.m.map((t) => [t.name, t]));
  const v = new Map(ck.optimizer.v.map((t) => [t.name, t]));
  for (const p of trainable) await model.setParameter(p.name, params.get(p.name)!.data);
  // (loadCheckpoint gives every tensor with moments a count; `steps` only guards older files.)
  for (const p of trainable) await model.setOptimizerState(ck.optimizer.tensorSteps[p.name] ?? ck.optimizer.steps, p.name, m.get(p.name)!.data, v.get(p.name)!.data);
}
