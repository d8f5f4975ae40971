import { CommanderError } from 'commander';
import { createProgram } from './program.js';
import { exitCodeOf, printError, wantsJson } from './ui/output.js';

/**
 * Runs the CLI and returns the exit code: 0 ok, 2 usage error, 1 failure. Every error is printed
 * here, once (ui/output.ts, format-error.ts): errors meant for the user (SkinganError) print their
 * message and hint without a stack trace, `--debug` adds the stack, and with `--json` the error is a
 * JSON document on stdout instead.
 */
export async function main(argv: string[]): Promise<number> {
  const json = wantsJson(argv);
  const program = createProgram({ json });
  const debug = argv.includes('--debug');
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError && e.exitCode === 0) return 0; // --help, --version
    printError(e, { json, debug });
    return exitCodeOf(e);
  }
}
