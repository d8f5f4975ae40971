import {
  type BackendInfo,
  type BackendName,
  classIndex,
  initBackend,
  isSkinganError,
  type LabelSpace,
  parseBackendName,
  SkinganError,
} from '@skingan/core';
import { type Command, InvalidArgumentError, Option } from 'commander';

/** The global `--backend` (or SKINGAN_BACKEND), read from any subcommand. */
export function globalBackend(cmd: Command): BackendName | undefined {
  const root = cmd.parent ? rootOf(cmd) : cmd;
  const v = root.opts<{ backend?: string }>().backend;
  // Name where a bad value came from: a flag the user typed, or the environment.
  const source = root.getOptionValueSource('backend') === 'env' ? 'SKINGAN_BACKEND' : '--backend';
  return v ? parseBackendName(v, source) : undefined;
}

function rootOf(cmd: Command): Command {
  let c = cmd;
  while (c.parent) c = c.parent;
  return c;
}

/** Parses an integer option; a bad value is a usage error (exit 2) that names the flag. */
export function intOption(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n)) throw new InvalidArgumentError(`${flag} must be an integer, got "${value}"`);
    return n;
  };
}

/** Parses a number option, with a usage error that names the flag. */
export function numberOption(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isFinite(n)) throw new InvalidArgumentError(`${flag} must be a number, got "${value}"`);
    return n;
  };
}

/** A class named by a flag: an unknown one is a usage error (exit 2) that names the flag. */
export function flagClassIndex(space: LabelSpace, name: string, flag: string, context = ''): number {
  try {
    return classIndex(space, name);
  } catch (e) {
    if (isSkinganError(e) && e.code === 'UNKNOWN_CLASS') {
      throw new SkinganError(`${flag}: ${e.message}${context}`, { code: 'USAGE', hint: e.hint });
    }
    throw e;
  }
}

/** A comma-separated class list flag as the space's class names; an unknown one is a usage error. */
export function flagClasses(space: LabelSpace, value: string, flag: string): string[] {
  return splitList(value).map((c) => space.classes[flagClassIndex(space, c, flag)]!);
}

/** `A, B,C` → ['A', 'B', 'C'] for comma-separated flags. */
export function splitList(value: string): string[] {
  return value
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
}

/**
 * The backend for a command: the global `--backend` (or SKINGAN_BACKEND), with the one-line choice
 * on stderr unless the command prints JSON.
 */
export function initCommandBackend(cmd: Command, json?: boolean): Promise<BackendInfo> {
  return initBackend({ backend: globalBackend(cmd), log: json ? null : undefined });
}

/** A command's action: the backend first (`initCommandBackend`), then `run` with the options. */
export function withBackend<O extends { json?: boolean }>(
  run: (opts: O) => Promise<void>,
): (opts: O, cmd: Command) => Promise<void> {
  return async (opts, cmd) => {
    await initCommandBackend(cmd, opts.json);
    await run(opts);
  };
}

/**
 * An option as a table row: `[flags, description]`, with `'int'` / `'number'` a value parsed with
 * a usage error that names the flag (`intOption`, `numberOption`), or `'text'` as given; and its
 * default if any.
 */
export type OptionRow = readonly [
  flags: string,
  description: string,
  parse?: 'int' | 'number' | 'text',
  fallback?: number | string,
];

/** Adds the options of a table to `cmd`, in its order (the order --help lists them in). */
export function addOptions(cmd: Command, rows: readonly OptionRow[]): Command {
  for (const [flags, description, parse, fallback] of rows) {
    const flag = flags.split(' ')[0]!;
    if (parse === 'text') cmd.option(flags, description, fallback as string | undefined);
    else if (parse)
      cmd.option(flags, description, (parse === 'int' ? intOption : numberOption)(flag), fallback);
    else cmd.option(flags, description);
  }
  return cmd;
}

/** `--preset <name>` of a GAN's `train`, each preset described; unset: a --config file's, else thesis. */
export function presetOption<P>(
  text: string,
  presets: Record<string, P>,
  describe: (n: string, p: P) => string,
) {
  const list = Object.entries(presets).map(([name, p]) => describe(name, p));
  return new Option('--preset <name>', `${text}: ${list.join('; ')}`)
    .choices(Object.keys(presets))
    .default(undefined, 'thesis');
}
