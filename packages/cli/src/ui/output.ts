import { isSkinganError } from '@skingan/core';
import { CommanderError } from 'commander';
import { describeError, formatError } from '../format-error.js';

// What `--json` means in every command: stdout carries exactly one JSON document, the result, or on
// failure `{"error":{"code","message","hint","file"}}` with the same exit code as without --json
// (2 usage, 1 failure). Progress, the backend line and warnings go to stderr either way.

/** Whether the command line asks for JSON: `--json` anywhere before a `--`. */
export function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).includes('--json');
}

/** Writes a command's one JSON document to stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

interface ErrorDocument {
  error: { code: string; message: string; hint: string | null; file: string | null };
}

/** The exit code of an error: 2 for usage errors (bad flags, arguments), 1 for failures. */
export function exitCodeOf(e: unknown): number {
  if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
  return isSkinganError(e) && e.code === 'USAGE' ? 2 : 1;
}

/** The JSON form of an error, with the fields the text form prints. */
export function errorDocument(e: unknown): ErrorDocument {
  if (e instanceof CommanderError) {
    return {
      error: {
        code: 'USAGE',
        message: e.message.replace(/^error: /, ''),
        hint: 'run with --help for usage',
        file: null,
      },
    };
  }
  const { code, message, hint, file } = describeError(e);
  // The text form's "(run with --debug for the stack trace)" of an unexpected error, as its hint.
  const internal = isSkinganError(e) ? null : 'run with --debug for the stack trace';
  return { error: { code, message, hint: hint ?? internal, file: file ?? null } };
}

/** Prints an error for the user: the JSON document on stdout, or the message and hint on stderr. */
export function printError(e: unknown, options: { json: boolean; debug: boolean }): void {
  if (options.json) {
    printJson(errorDocument(e));
    if (options.debug && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
  } else if (!(e instanceof CommanderError)) {
    // (commander printed its own message and the help hint)
    process.stderr.write(formatError(e, options.debug).text);
  }
}

/** A command's progress lines: on stderr, none with --json (its stdout is the one document). */
export function stderrLog(json: boolean | undefined): (line: string) => void {
  return (line) => {
    if (!json) process.stderr.write(`${line}\n`);
  };
}
