// --task NAME (the registry), --task-file FILE (a custom task's JSON) or --task NAME with
// --columns / --train-file / --dev-file (a custom task on the command line) → a TaskSpec.
import { getTask, type TaskSpec } from '../eval/tasks.js';
import { UsageError } from './args.js';

export async function resolveTaskOption(o: Record<string, unknown>, cmd: string): Promise<string | TaskSpec> {
  const task = o.task as string | undefined;
  const file = o.taskFile as string | undefined;
  const columns = o.columns as string | undefined;
  if (task === '' || file === '') throw new UsageError('--task and --task-file need a non-empty value', cmd);
  if (file !== undefined) {
    if (columns !== undefined || o.trainFile !== undefined) throw new UsageError('--task-file already names the files and columns: drop --columns / --train-file', cmd);
    const { readCustomTaskFile } = await import('../eval/custom-task.js');
    return readCustomTaskFile(file);
  }
  if (task === undefined) throw new UsageError('missing --task NAME (a registered task) or --task-file FILE (your own data)', cmd);
  if (columns !== undefined || o.trainFile !== undefined || o.devFile !== undefined) {
    if (columns === undefined || o.trainFile === undefined || o.devFile === undefined) {
      throw new UsageError('a task from your own files needs --columns, --train-file and --dev-file together', cmd);
    }
    const { defineCustomTask, parseColumnMapping } = await import('../eval/custom-task.js');
    type Spec = Parameters<typeof defineCustomTask>[0];
    const files: { train: string; dev: string; test?: string } = { train: o.trainFile as string, dev: o.devFile as string };
    if (o.testFile !== undefined) files.test = o.testFile as string;
    return defineCustomTask({ name: task, files, ...parseColumnMapping(columns) } as Spec);
  }
  return getTask(task);
}
