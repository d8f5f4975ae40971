import { isSkinganError } from '@skingan/core';
import { CommanderError } from 'commander';
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
    if (isSkinganError(e)) {
      process.stderr.write(`skingan: ${e.describe()}\n`);
      if (debug && e.stack) process.stderr.write(`${e.stack}\n`);
      return e.code === 'USAGE' ? 2 : 1;
    }
    const err = e instanceof Error ? e : new Error(String(e));
    process.stderr.write(`skingan: ${err.message}\n`);
    process.stderr.write(debug ? `${err.stack}\n` : '  (run with --debug for the stack trace)\n');
    return 1;
  }
}
