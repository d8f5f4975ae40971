import { checkOutput, claimOutput, type OutputCheck } from '@skingan/core';
import type { Command } from 'commander';

/** `--force` on every command that writes: the one way past the output guard. */
export function forceOption(cmd: Command): Command {
  return cmd.option(
    '--force',
    'overwrite the output even if it is an input of this command or was not written by it',
  );
}

/**
 * The output guard of one command run (see `checkOutput` in @skingan/core): `check` each output
 * before the work starts, `claim` it right before writing it.
 */
export function outputGuard(
  command: string,
  inputs: readonly (string | undefined)[],
  force: boolean | undefined,
) {
  const check: OutputCheck = {
    command,
    inputs: inputs.filter((p): p is string => p !== undefined),
    force: Boolean(force),
  };
  return {
    check: (path: string) => checkOutput(path, check),
    claim: (path: string) => claimOutput(path, command),
    /** For an output folder that fills up as the command runs. */
    checkAndClaim: async (path: string) => {
      const out = await checkOutput(path, check);
      await claimOutput(out, command);
      return out;
    },
  };
}
