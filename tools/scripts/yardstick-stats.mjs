#!/usr/bin/env node
// The yardstick over seeds (docs/results/ham-train/yardstick/): skingan's `cpu` classifier vs the
// PyTorch recipe on one split. Per classifier, the mean of each column over seeds with its 95%
// t-interval (`aggregateSeeds`); for the two balanced accuracies, Welch's test of skingan − recipe
// (`welchDifference`: the two programs' seeds share nothing, so they do not pair).
// Needs the built metrics package (`pnpm -F @skingan/metrics build`).
//
//   node tools/scripts/yardstick-stats.mjs [DIR]      (default: the current folder)
//
// DIR holds, per seed s, {torch,skingan}-seed-s.classify.json (the test part, `skingan metrics
// classify --json`) and the training results: torch-seed-s.json (torch_classifier_test_predictions.py)
// and skingan-seed-s.train.json (`classifier train --json`). Writes DIR/seeds.csv and prints the
// Markdown table and the tests.
import { promises as fs } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { aggregateSeeds, welchDifference } = await import(
  pathToFileURL(join(root, 'packages', 'metrics', 'dist', 'index.js')).href
);

const dir = process.argv[2] ?? '.';
const MINOR = ['AK', 'DF', 'VASC', 'SCC'];
const IMPLS = ['torch', 'skingan'];
const round4 = (x) => Math.round(x * 1e4) / 1e4;

async function readJson(name) {
  const path = join(dir, name);
  try {
    return JSON.parse(await fs.readFile(path, 'utf8'));
  } catch (e) {
    process.stderr.write(`yardstick-stats: cannot read ${path}: ${e.message}\n`);
    process.exit(2);
  }
}

/** What each program's training result calls its best epoch, its wall time and its epochs run. */
const training = {
  torch: (r) => ({
    val: r.best.valBalancedAccuracy,
    epoch: r.best.epoch,
    wall: r.wallSeconds,
    ran: r.args.epochs,
  }),
  skingan: (r) => ({ val: r.best.valBalancedAccuracy, epoch: r.best.epoch, wall: r.seconds, ran: r.epochs }),
};

const names = await fs.readdir(dir);
const rows = [];
for (const impl of IMPLS) {
  const pattern = new RegExp(`^${impl}-seed-(\\d+)\\.classify\\.json$`);
  const seeds = names.map((n) => n.match(pattern)).flatMap((m) => (m ? [Number(m[1])] : []));
  for (const s of seeds.sort((a, b) => a - b)) {
    const test = await readJson(`${impl}-seed-${s}.classify.json`);
    const t = training[impl](
      await readJson(impl === 'torch' ? `torch-seed-${s}.json` : `skingan-seed-${s}.train.json`),
    );
    const recall = Object.fromEntries(test.perClass.map((p) => [p.class, p.recall]));
    rows.push({
      impl,
      seed: s,
      val_bal_acc: round4(t.val),
      best_epoch: t.epoch,
      epochs_run: t.ran,
      test_bal_acc: round4(test.balancedAccuracy),
      test_acc: round4(test.accuracy),
      ...Object.fromEntries(MINOR.map((k) => [`recall_${k}`, round4(recall[k])])),
      wall_s: Math.round(t.wall),
    });
  }
}
if (!rows.length) {
  process.stderr.write(`yardstick-stats: no {torch,skingan}-seed-<n>.classify.json in ${dir}\n`);
  process.exit(2);
}
const header = Object.keys(rows[0]);
await fs.writeFile(
  join(dir, 'seeds.csv'),
  `${[header.join(','), ...rows.map((r) => header.map((h) => r[h]).join(','))].join('\n')}\n`,
);

const cols = ['val_bal_acc', 'test_bal_acc', 'test_acc', ...MINOR.map((k) => `recall_${k}`)];
const column = (impl, c) => rows.filter((r) => r.impl === impl).map((r) => r[c]);
const lines = [`| classifier | seeds | ${cols.join(' | ')} |`, `|---|---:|${'---:|'.repeat(cols.length)}`];
for (const impl of IMPLS) {
  const cells = cols.map((c) => {
    const a = aggregateSeeds(column(impl, c));
    return `${a.mean.toFixed(3)} ± ${((a.upper - a.lower) / 2).toFixed(3)}`;
  });
  lines.push(`| ${impl} | ${column(impl, 'seed').length} | ${cells.join(' | ')} |`);
}
for (const c of ['val_bal_acc', 'test_bal_acc']) {
  const w = welchDifference(column('torch', c), column('skingan', c));
  lines.push(
    `${c}: skingan − torch = ${w.difference >= 0 ? '+' : ''}${w.difference.toFixed(3)} ` +
      `[${w.lower.toFixed(3)}, ${w.upper.toFixed(3)}], Welch df ${w.df.toFixed(1)}, p = ${w.pValue.toFixed(3)}`,
  );
}
process.stdout.write(`${lines.join('\n')}\n`);
