import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../dist/bin.js', import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** The signal that ended the process (a kill), else null. */
  signal: NodeJS.Signals | null;
}

/** Runs the built `skingan` binary (tests depend on `build`, as turbo's task graph ensures). */
export function runCli(
  args: string[],
  env: Record<string, string | undefined> = {},
  cwd?: string,
): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, CI: '1', ...env },
    cwd,
    maxBuffer: 1 << 26,
    timeout: 600_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, signal: r.signal };
}
