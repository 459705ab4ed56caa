// Learning-rate schedules, exactly as Hugging Face transformers computes them
// (get_linear_schedule_with_warmup / get_constant_schedule_with_warmup, and TrainingArguments'
// warmup_ratio → warmup steps). Steps are optimizer steps, 0-based: step s is the (s+1)-th update.

export type ScheduleName = 'linear' | 'constant';

export interface ScheduleOptions {
  /** The peak learning rate. */
  lr: number;
  /** Optimizer steps of the whole run (epochs × steps per epoch). */
  totalSteps: number;
  /** Steps of linear warm-up from 0 (default 0). */
  warmupSteps?: number;
  /** 'linear' (default): warm-up, then linear decay to 0 at totalSteps. 'constant': warm-up, then flat. */
  schedule?: ScheduleName;
}

/**
 * lr at optimizer step s (0-based), as transformers' get_linear_schedule_with_warmup (LambdaLR:
 * base · lambda(s), in float64):
 * base·s/max(1, warmup) for s < warmup, else base·max(0, (total − s) / max(1, total − warmup)).
 */
export function linearScheduleWithWarmup(lr: number, warmupSteps: number, totalSteps: number): (step: number) => number {
  return (s) => {
    if (s < warmupSteps) return lr * (s / Math.max(1, warmupSteps));
    return lr * Math.max(0, (totalSteps - s) / Math.max(1, totalSteps - warmupSteps));
  };
}

/** lr at step s as get_constant_schedule_with_warmup: base·s/max(1, warmup) for s < warmup, else base. */
export function constantScheduleWithWarmup(lr: number, warmupSteps: number): (step: number) => number {
  return (s) => (s < warmupSteps ? lr * (s / Math.max(1, warmupSteps)) : lr);
}

/** The schedule function of a run. */
export function makeSchedule(o: ScheduleOptions): (step: number) => number {
  const warmup = o.warmupSteps ?? 0;
  return (o.schedule ?? 'linear') === 'constant' ? constantScheduleWithWarmup(o.lr, warmup) : linearScheduleWithWarmup(o.lr, warmup, o.totalSteps);
}

/** Warm-up steps from TrainingArguments' rules: warmupSteps when given (> 0), else ceil(total · warmupRatio). */
export function warmupStepsFor(totalSteps: number, warmupSteps?: number, warmupRatio?: number): number {
  if (warmupSteps !== undefined && warmupSteps > 0) return warmupSteps;
  if (warmupRatio !== undefined && warmupRatio > 0) return Math.ceil(totalSteps * warmupRatio);
  return 0;
}
