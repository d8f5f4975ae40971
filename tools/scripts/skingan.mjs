#!/usr/bin/env node
// `pnpm skingan <args>` from a checkout: builds the CLI and what it depends on (turbo, cached,
// its output on stderr so `--json` results on stdout stay clean), then runs it.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const build = spawnSync(
  'pnpm',
  ['exec', 'turbo', 'run', 'build', '--filter=@skingan/cli...', '--output-logs=errors-only'],
  {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
    env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1', TURBO_NO_UPDATE_NOTIFIER: '1' },
  },
);
if (build.status !== 0) {
  process.stderr.write(build.stdout ?? '');
  process.stderr.write('skingan: building the CLI failed (see above)\n');
  process.exit(1);
}
const cli = spawnSync(
  process.execPath,
  [join(root, 'packages', 'cli', 'dist', 'bin.js'), ...process.argv.slice(2)],
  {
    stdio: 'inherit',
  },
);
process.exit(cli.status ?? 1);
