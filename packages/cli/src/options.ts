import { type BackendName, parseBackendName } from '@skingan/core';
import { type Command, InvalidArgumentError } from 'commander';

/** The global `--backend` (or SKINGAN_BACKEND), read from any subcommand. */
export function globalBackend(cmd: Command): BackendName | undefined {
  const root = cmd.parent ? rootOf(cmd) : cmd;
  const v = root.opts<{ backend?: string }>().backend;
  return v ? parseBackendName(v, '--backend') : undefined;
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
