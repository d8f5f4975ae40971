#!/usr/bin/env node
// Copies what docs/results/ publishes of a finished `skingan experiment` folder: tables/, the report
// (md, html and the files they link), and config.json (experiment.json without its plan, job list
// and per-job results, plus the seconds each stage's jobs took, read from the jobs'
// `.skingan-job.json` markers).
// No model weights, images or features are copied.
//
//   node tools/scripts/publish-experiment.mjs EXPERIMENT_DIR docs/results/ham-train/nv2mel
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [exp, out] = process.argv.slice(2);
if (!exp || !out) {
  console.error('usage: publish-experiment.mjs EXPERIMENT_DIR OUT_DIR');
  process.exit(2);
}
const manifest = JSON.parse(readFileSync(join(exp, 'experiment.json'), 'utf8'));
mkdirSync(out, { recursive: true });
for (const name of ['tables', 'report.md', 'report.html', 'report-assets', 'report-charts']) {
  const from = join(exp, name);
  if (!existsSync(from)) continue;
  rmSync(join(out, name), { recursive: true, force: true });
  cpSync(from, join(out, name), { recursive: true });
}

const byStage = {};
const unfinished = [];
for (const job of manifest.jobs) {
  const marker = join(job.out, '.skingan-job.json');
  const done = existsSync(marker) ? JSON.parse(readFileSync(marker, 'utf8')) : null;
  if (done?.status !== 'done') {
    unfinished.push(job.id);
    continue;
  }
  byStage[job.stage] ??= { jobs: 0, seconds: 0 };
  const s = byStage[job.stage];
  s.jobs += 1;
  s.seconds += done.ms / 1000;
}
for (const s of Object.values(byStage)) s.seconds = Math.round(s.seconds);
const { plan: _plan, jobs: _jobs, results: _results, ...rest } = manifest;
writeFileSync(
  join(out, 'config.json'),
  `${JSON.stringify({ ...rest, jobSecondsByStage: byStage }, null, 2)}\n`,
);
console.log(`${out}: ${manifest.jobs.length - unfinished.length} jobs done`);
if (unfinished.length > 0) {
  console.error(`not finished (${unfinished.length}): ${unfinished.slice(0, 10).join(', ')}`);
  process.exit(1);
}
