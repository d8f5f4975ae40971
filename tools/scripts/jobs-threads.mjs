#!/usr/bin/env node
// Times a grid of classifier jobs run by the experiment runner with `--jobs 1` and `--jobs 2`
// (SKINGAN_THREADS = max(1, floor(cores / jobs)) each), and `--jobs 2` with every job on all cores
// (what the runner did before: oversubscribed). Needs the built CLI (`pnpm turbo run build
// --filter=@skingan/cli...`). Usage: node tools/scripts/jobs-threads.mjs [--classifiers 4]
// [--epochs 2] [--per-class 16] [--keep]
import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dist = join(root, 'packages', 'cli', 'dist');
const bin = join(dist, 'bin.js');
const { planJobs } = await import(pathToFileURL(join(dist, 'experiment', 'job.js')).href);
const { runJobs, threadsPerJob } = await import(pathToFileURL(join(dist, 'experiment', 'runner.js')).href);

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const classifiers = arg('classifiers', 4);
const epochs = arg('epochs', 2);
const perClass = arg('per-class', 16);
const cores = availableParallelism();

const dir = await fs.mkdtemp(join(tmpdir(), 'skingan-jobs-threads-'));
const cli = (args) => {
  const r = spawnSync(process.execPath, [bin, ...args], {
    encoding: 'utf8',
    env: { ...process.env, CI: '1' },
  });
  if (r.status !== 0) throw new Error(`skingan ${args.join(' ')}: ${r.stderr}`);
};
const data = join(dir, 'data');
cli(['data', 'demo-set', '--out', data, '--per-class', String(perClass), '--size', '32']);
cli(['data', 'split', data, '--seed', '1', '--out', join(dir, 'split.json')]);

const jobs = Array.from({ length: classifiers }, (_, i) => ({
  id: `classifier/seed-${i}`,
  stage: 'classifier',
  args: [
    'classifier',
    'train',
    '--data',
    data,
    '--split',
    join(dir, 'split.json'),
    '--preset',
    'test',
    '--size',
    '32',
    '--epochs',
    String(epochs),
    '--seed',
    String(i),
    '--no-augment',
    '--out',
    '{out}/run',
  ],
  deps: [],
}));

const setups = [
  { label: '--jobs 1', concurrency: 1, threads: threadsPerJob(cores, 1) },
  { label: '--jobs 2', concurrency: 2, threads: threadsPerJob(cores, 2) },
  { label: '--jobs 2, all cores each (before)', concurrency: 2, threads: Math.min(4, cores) },
];
console.log(
  `${classifiers} classifier jobs (test preset, 32², ${epochs} epochs, ${perClass * 8} images), ${cores} cores`,
);
for (const s of setups) {
  const t0 = Date.now();
  const results = await runJobs(planJobs(jobs, join(dir, s.label.replace(/\W+/g, '-'))), {
    concurrency: s.concurrency,
    bin,
    threads: s.threads,
  });
  const failed = results.filter((r) => r.status !== 'done');
  if (failed.length) throw new Error(`${failed[0].id}: ${failed[0].error} (log ${failed[0].log})`);
  console.log(
    `${s.label.padEnd(36)} SKINGAN_THREADS=${s.threads}  ${((Date.now() - t0) / 1000).toFixed(1)} s`,
  );
}
if (!process.argv.includes('--keep')) await fs.rm(dir, { recursive: true, force: true });
