#!/usr/bin/env node
// The `adapterfusion` command. User mistakes print `adapterfusion: <message>` (exit 1; usage
// errors exit 2 with a hint); only unexpected errors print a stack, asking for a report (exit 3).
import { AdapterFusionError } from '../errors.js';
import { parseCommandLine, usageOf, UsageError } from './args.js';
import { BrokenPipe, CliError } from './jsonl.js';

const EXIT_ERROR = 1;
const EXIT_USAGE = 2;
const EXIT_INTERNAL = 3;

function say(message: string): void {
  // Library messages (the addon loader's) may already carry the prefix.
  process.stderr.write(`adapterfusion: ${message.replace(/^adapterfusion: /, '')}\n`);
}

async function run(argv: string[]): Promise<number> {
  const command = parseCommandLine(argv);
  switch (command.name) {
    case 'help': {
      (command.toStderr ? process.stderr : process.stdout).write(usageOf(command.topic));
      return command.toStderr ? EXIT_USAGE : 0;
    }
    case 'version': {
      const { packageVersion } = await import('./info.js');
      process.stdout.write(`${packageVersion()}\n`);
      return 0;
    }
    case 'info': {
      const { infoCommand } = await import('./info.js');
      infoCommand(command.args);
      return 0;
    }
    case 'predict': {
      const { predictCommand } = await import('./predict.js');
      await predictCommand(command.args);
      return 0;
    }
  }
}

/** Maps an error to its message and exit code. */
export function report(err: unknown): number {
  if (err instanceof UsageError) {
    say(err.message);
    const cmd = err.command ? ` ${err.command}` : '';
    process.stderr.write(`Run 'adapterfusion${cmd} --help' for usage.\n`);
    return EXIT_USAGE;
  }
  if (err instanceof BrokenPipe) return 0;
  if (err instanceof CliError) {
    say(err.message);
    return EXIT_ERROR;
  }
  if (err instanceof AdapterFusionError && err.code !== 'ERR_AF_INTERNAL') {
    say(err.message);
    return EXIT_ERROR;
  }
  const detail = err instanceof Error ? (err.stack ?? `${err.name}: ${err.message}`) : String(err);
  process.stderr.write(
    `adapterfusion: internal error: ${detail}\n` +
      'This is a bug in adapterfusion. Please report it with the command line, the input that triggers it\n' +
      "and the output of 'adapterfusion info'.\n",
  );
  return EXIT_INTERNAL;
}

async function main(): Promise<void> {
  let code: number;
  try {
    code = await run(process.argv.slice(2));
  } catch (err) {
    code = report(err);
  }
  // exitCode (not exit()) lets stdout drain when it is a pipe.
  process.exitCode = code;
}

void main();
