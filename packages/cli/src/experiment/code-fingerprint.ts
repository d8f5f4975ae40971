import { createHash } from 'node:crypto';
import { promises as fs, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, sep } from 'node:path';
import { VERSION } from '../version.js';

/**
 * Identity of the code an experiment's jobs run: `skingan@VERSION`, plus, in a checkout (the
 * packages are not under node_modules), a hash of the built `dist/` of the CLI and of every
 * `@skingan/*` package it uses, so a rebuilt change reruns the jobs even at the same version.
 * Published packages are immutable per version, so there the version says it all.
 */
export async function codeFingerprint(): Promise<string> {
  cached ??= compute();
  return cached;
}

let cached: Promise<string> | undefined;

async function compute(): Promise<string> {
  const require = createRequire(import.meta.url);
  const own = JSON.parse(await fs.readFile(require.resolve('../../package.json'), 'utf8')) as {
    dependencies?: Record<string, string>;
  };
  const names = [
    '@skingan/cli',
    ...Object.keys(own.dependencies ?? {}).filter((n) => n.startsWith('@skingan/')),
  ];
  const dirs = names.map((n) => [n, realpathSync(dirname(require.resolve(`${n}/package.json`)))] as const);
  if (dirs.some(([, dir]) => dir.split(sep).includes('node_modules'))) return `skingan@${VERSION}`;
  return `skingan@${VERSION}+dist.${await distFingerprint(dirs)}`;
}

/** A hash (16 hex digits) of every file under `dist/` of the given packages (name, folder). */
export async function distFingerprint(packages: readonly (readonly [string, string])[]): Promise<string> {
  const h = createHash('sha256');
  for (const [name, dir] of [...packages].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    for (const file of await listFiles(join(dir, 'dist'))) {
      h.update(`${name}/${relative(dir, file)}\n`).update(await fs.readFile(file));
    }
  }
  return h.digest('hex').slice(0, 16);
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
  const out: string[] = [];
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const path = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(path)));
    else if (e.isFile()) out.push(path);
  }
  return out;
}
