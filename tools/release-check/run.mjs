#!/usr/bin/env node
// `pnpm release-check`: packs every published package (each non-private packages/*) as
// `changeset publish` would, and checks the tarballs as npm users get them:
//   1. the tarball holds no tests, test helpers or `workspace:` ranges;
//   2. publint --strict (package.json fields against the files);
//   3. attw, profile esm-only (the types resolve for ESM and bundler consumers);
//   4. a consumer smoke test: npm installs the packed @skingan/core, data and metrics into an empty
//      folder, and smoke/esm.mjs (import) and smoke/cjs.cjs (require) check real results.
// Needs only the npm registry (for the packages' own dependencies). `--no-build` skips the build;
// `--keep` keeps the temporary folder. Exits 1 when any check fails, after running them all.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const bin = (name) => join(here, 'node_modules', '.bin', name);
const args = new Set(process.argv.slice(2));
const SMOKE_PACKAGES = ['@skingan/core', '@skingan/data', '@skingan/metrics'];
/** Paths that must never be published (tests and what only tests use). */
const UNPUBLISHABLE = /(^|\/)(test-utils|__tests__)\/|\.test\.[cm]?[jt]s$|\.e2e\./;

const env = {
  ...process.env,
  TURBO_TELEMETRY_DISABLED: '1',
  TURBO_NO_UPDATE_NOTIFIER: '1',
  FORCE_COLOR: '0',
  NO_COLOR: '1',
};
const failures = [];

/** Runs a command; returns its status and combined output (never throws). */
function run(cmd, argv, cwd = root) {
  const r = spawnSync(cmd, argv, { cwd, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const output = `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? `${r.error.message}\n` : ''}`
    // biome-ignore lint/suspicious/noControlCharactersInRegex: removes the tools' colour codes
    .replace(/\x1b\[[0-9;]*m/g, '');
  return { ok: r.status === 0, output };
}

function fail(what, output) {
  failures.push(what);
  console.log(`  FAIL ${what}`);
  if (output) console.log(output.replace(/^/gm, '    | ').trimEnd());
}

/** The lines of a tool's report worth showing (its banner and progress lines dropped). */
function findings(output) {
  return output
    .split('\n')
    .filter((l) => l.trim() && !/^(Running publint|Unpacking tarball|Linting|All good)/.test(l.trim()))
    .join('\n');
}

const packages = readdirSync(join(root, 'packages'), { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => join(root, 'packages', d.name))
  .filter((dir) => {
    try {
      return !JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).private;
    } catch {
      return false; // not a package
    }
  });

console.log(`release-check: ${packages.length} packages under packages/, node ${process.version}`);

if (!args.has('--no-build')) {
  const build = run('pnpm', [
    'exec',
    'turbo',
    'run',
    'build',
    '--filter=./packages/*',
    '--output-logs=errors-only',
  ]);
  if (!build.ok) {
    fail('build', build.output);
    process.exit(1);
  }
}

const work = mkdtempSync(join(tmpdir(), 'skingan-release-check-'));
const tarballs = new Map();
for (const dir of packages) {
  const pack = run('pnpm', ['pack', '--json', '--pack-destination', join(work, 'tarballs')], dir);
  if (!pack.ok) {
    fail(`pack ${dir}`, pack.output);
    continue;
  }
  const info = JSON.parse(pack.output.slice(pack.output.indexOf('{')));
  const { name, version, filename } = info;
  tarballs.set(name, filename);
  const problems = [];

  const banned = info.files.map((f) => f.path).filter((p) => UNPUBLISHABLE.test(p));
  if (banned.length) problems.push(['files', `tests in the tarball:\n${banned.join('\n')}`]);
  const manifest = run('tar', ['-xzOf', filename, 'package/package.json']).output;
  const workspaceRanges = manifest.match(/"[^"]+": "workspace:[^"]*"/g);
  if (workspaceRanges) problems.push(['files', `workspace ranges left: ${workspaceRanges.join(', ')}`]);

  const publint = run(bin('publint'), ['--strict', filename]);
  const publintNotes = findings(publint.output);
  if (!publint.ok) problems.push(['publint --strict', publintNotes]);

  const attw = run(bin('attw'), [
    '--profile',
    'esm-only',
    '--no-definitely-typed',
    '--format',
    'ascii',
    '--no-emoji',
    filename,
  ]);
  if (!attw.ok) problems.push(['attw --profile esm-only', attw.output]);

  const summary = `${name}@${version}: ${info.files.length} files, publint ${publint.ok ? 'ok' : 'FAILED'}, attw ${attw.ok ? 'ok' : 'FAILED'}`;
  console.log(`  ${problems.length ? 'FAIL' : 'ok  '} ${summary}`);
  if (publint.ok && publintNotes) console.log(publintNotes.replace(/^/gm, '    | ')); // suggestions
  for (const [check, output] of problems) fail(`${name}: ${check}`, output);
}

const missing = SMOKE_PACKAGES.filter((p) => !tarballs.has(p));
if (missing.length) {
  fail(`smoke test: not packed: ${missing.join(', ')}`);
} else {
  // An empty application: only the tarballs and what their manifests ask for from the registry.
  const app = join(work, 'app');
  cpSync(join(here, 'smoke'), app, { recursive: true });
  writeFileSync(
    join(app, 'package.json'),
    `${JSON.stringify({ name: 'smoke-app', private: true }, null, 2)}\n`,
  );
  const started = Date.now();
  const install = run(
    'npm',
    ['install', '--no-audit', '--no-fund', '--loglevel=error', ...SMOKE_PACKAGES.map((p) => tarballs.get(p))],
    app,
  );
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  if (!install.ok) {
    fail('smoke test: npm install of the packed core, data and metrics', install.output);
  } else {
    const versionOf = (name) =>
      JSON.parse(readFileSync(join(app, 'node_modules', name, 'package.json'), 'utf8')).version;
    const installed = [...SMOKE_PACKAGES, '@tensorflow/tfjs', 'sharp', 'fast-csv'].map(
      (p) => `${p}@${versionOf(p)}`,
    );
    console.log(`  ok   npm install into an empty folder (${seconds} s): ${installed.join(', ')}`);
    for (const script of ['esm.mjs', 'cjs.cjs']) {
      const smoke = run(process.execPath, [script], app);
      if (smoke.ok) console.log(`  ok   ${smoke.output.trim().split('\n').at(-1)}`);
      else fail(`smoke test: ${script}`, smoke.output);
    }
  }
}

if (args.has('--keep')) console.log(`release-check: kept ${work}`);
else rmSync(work, { recursive: true, force: true });
if (failures.length) {
  console.log(`release-check: ${failures.length} failed: ${failures.join('; ')}`);
  process.exit(1);
}
console.log('release-check: all passed');
