#!/usr/bin/env node
// The `adapterfusion` command. User mistakes print `adapterfusion: <message>` (exit 1; usage
// errors exit 2 with a hint); a stop by Ctrl-C / SIGTERM exits 130 / 143 after keeping a
// checkpoint; only unexpected errors print a stack, asking for a report (exit 3).
import { CommanderError } from 'commander';
import { AdapterFusionError } from '../errors.js';
import { AbortError } from '../trainer/errors.js';
import { UsageError } from './args.js';
import { BrokenPipe, CliError } from './jsonl.js';
import { buildProgram } from './program.js';
import { handlers } from './handlers.js';
import { packageVersion } from './info.js';
import { Interrupted } from './signals.js';

const EXIT_ERROR = 1;
const EXIT_USAGE = 2;
const EXIT_INTERNAL = 3;

function say(message: string): void {
  // Library messages (the addon loader's) may already carry the prefix.
  process.stderr.write(`adapterfusion: ${message.replace(/^adapterfusion: /, '')}\n`);
}

/** commander's own messages, in this command's words. */
function rephrase(err: CommanderError): string {
  const msg = err.message.replace(/^error: /, '');
  const quoted = /'(-{1,2}[^'\s]*)/.exec(msg)?.[1];
  switch (err.code) {
    case 'commander.unknownOption':
      return `unknown option ${quoted ?? ''}`.trim();
    case 'commander.optionMissingArgument':
      return `option ${quoted ?? ''} needs a value`;
    case 'commander.unknownCommand':
      return msg.replace(/\.$/, '');
    case 'commander.invalidArgument':
      return msg.replace(/^option '([^ ']+)[^']*' argument '([^']*)' is invalid\. Allowed choices are (.*)\.$/, '$1 must be one of $3, got \'$2\'');
    default:
      return msg;
  }
}

function usageHint(command: string | null): void {
  process.stderr.write(`Run 'adapterfusion${command ? ` ${command}` : ''} --help' for usage.\n`);
}

/** Maps an error to its message and exit code. */
export function report(err: unknown, command: string | null = null): number {
  if (err instanceof CommanderError) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
    say(rephrase(err));
    usageHint(command);
    return EXIT_USAGE;
  }
  if (err instanceof UsageError) {
    say(err.message);
    usageHint(err.command ?? command);
    return EXIT_USAGE;
  }
  if (err instanceof Interrupted) return err.exitCode;
  if (err instanceof AbortError) return 130;
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
  // `adapterfusion --help | head`: a closed pipe ends the output, not the process with a stack.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  const argv = process.argv.slice(2);
  const program = buildProgram(packageVersion(), handlers);
  program.exitOverride();
  program.configureOutput({ outputError: () => undefined });
  for (const c of program.commands) {
    c.exitOverride();
    c.configureOutput({ outputError: () => undefined });
  }
  let code = 0;
  if (argv.length === 0) {
    process.stderr.write(program.helpInformation());
    code = EXIT_USAGE;
  } else {
    const command = program.commands.find((c) => c.name() === argv[0])?.name() ?? null;
    try {
      await program.parseAsync(argv, { from: 'user' });
    } catch (err) {
      code = report(err, command);
    }
  }
  // exitCode (not exit()) lets stdout drain when it is a pipe.
  process.exitCode = code;
}

void main();
