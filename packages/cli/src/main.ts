import { CommanderError } from 'commander';
import { formatError } from './format-error.js';
import { createProgram } from './program.js';

/**
 * Runs the CLI and returns the exit code: 0 ok, 2 usage error, 1 failure. Errors meant for the user
 * (SkinganError) print their message and hint without a stack trace; `--debug` adds the stack.
 */
export async function main(argv: string[]): Promise<number> {
  const program = createProgram();
  const debug = argv.includes('--debug');
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // commander already printed the message (or the help/version).
      return e.exitCode === 0 ? 0 : 2;
    }
    const { text, exitCode } = formatError(e, debug);
    process.stderr.write(text);
    return exitCode;
  }
}
