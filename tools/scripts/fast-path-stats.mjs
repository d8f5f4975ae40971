#!/usr/bin/env node
// The fast path's tables (docs/fast-path.md) from per-seed `skingan metrics classify --json`
// reports: per row, the mean test balanced accuracy over seeds with its t-interval and the minority
// classes' recall (`summarizeSeeds`); per row and baseline, the paired difference over seeds with
// its t-interval and paired t-test p (`pairedSeedDifference`). Seeds pair by number.
// Needs the built metrics package (`pnpm -F @skingan/metrics build`).
//
//   node tools/scripts/fast-path-stats.mjs --row 'ISIC-0=DIR' --row 'class-weighted=DIR' …
//     [--base ISIC-0 --base class-weighted] [--recall AK,DF,VASC,SCC] [--out PREFIX]
//
// DIR holds seed-<n>.classify.json (and, optionally, the head's seed-<n>.json with
// valBalancedAccuracy). Writes PREFIX.md and PREFIX.json (default: prints the Markdown).
import { promises as fs } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { aggregateSeeds, pairedSeedDifference, renderMarkdown, summarizeSeeds, tableToJson } = await import(
  pathToFileURL(join(root, 'packages', 'metrics', 'dist', 'index.js')).href
);

const values = (name) => process.argv.flatMap((a, i) => (a === `--${name}` ? [process.argv[i + 1]] : []));
const fail = (msg) => {
  process.stderr.write(`fast-path-stats: ${msg}\n`);
  process.exit(2);
};
const rowArgs = values('row');
if (!rowArgs.length) fail('give at least one --row LABEL=DIR');
const recallClasses = (values('recall')[0] ?? 'AK,DF,VASC,SCC').split(',');
const out = values('out')[0];

async function readRow(arg) {
  const eq = arg.indexOf('=');
  if (eq < 1) fail(`--row "${arg}": expected LABEL=DIR`);
  const label = arg.slice(0, eq);
  const dir = arg.slice(eq + 1);
  const names = (await fs.readdir(dir)).filter((n) => /^seed-\d+\.classify\.json$/.test(n));
  if (!names.length) fail(`--row ${label}: no seed-<n>.classify.json in ${dir}`);
  const seeds = names.map((n) => Number(n.match(/\d+/)[0])).sort((a, b) => a - b);
  const reports = [];
  const val = [];
  const readJson = async (file) => {
    try {
      return JSON.parse(await fs.readFile(file, 'utf8'));
    } catch (err) {
      return fail(`cannot read ${file} (${err.message}); is its run still writing it?`);
    }
  };
  for (const s of seeds) {
    reports.push(await readJson(join(dir, `seed-${s}.classify.json`)));
    const head = await fs.readFile(join(dir, `seed-${s}.json`), 'utf8').catch(() => undefined);
    val.push(head ? JSON.parse(head).valBalancedAccuracy : Number.NaN);
  }
  return { label, dir, seeds, reports, val };
}

const rows = [];
for (const a of rowArgs) rows.push(await readRow(a));
const bases = values('base').map(
  (b) => rows.find((r) => r.label === b) ?? fail(`--base ${b} is not a --row`),
);
const classes = rows[0].reports[0].classes;
for (const c of recallClasses)
  if (!classes.includes(c)) fail(`--recall: no class ${c} in ${classes.join(',')}`);
const testCounts = Object.fromEntries(rows[0].reports[0].perClass.map((p) => [p.class, p.support]));

const est = (a) => (a.n > 1 ? { value: a.mean, lower: a.lower, upper: a.upper } : { value: a.mean });
const rowTable = {
  title: 'Test balanced accuracy and minority-class recall over seeds',
  rowHeader: 'training set',
  columns: [
    { key: 'bal', header: 'test bal. acc' },
    { key: 'val', header: 'val bal. acc' },
    ...recallClasses.map((c) => ({ key: `r.${c}`, header: `${c} recall (${testCounts[c]})` })),
    { key: 'seeds', header: 'seeds', digits: 0 },
  ],
  rows: rows.map((r) => {
    const s = summarizeSeeds(r.reports);
    const cells = {
      bal: s.balancedAccuracy,
      val: est(aggregateSeeds(r.val)),
      seeds: { value: r.seeds.length },
    };
    for (const c of recallClasses) cells[`r.${c}`] = s.recall[classes.indexOf(c)];
    return { label: r.label, cells };
  }),
  notes: [
    'Mean over seeds [95% t-interval of the mean]; recall columns name the test images of the class.',
    'Seeds vary the head (batch order, chosen decay and epoch) on one fixed test set: the intervals are training noise only.',
  ],
};

// Each pair once: a baseline is compared with the rows that are not an earlier baseline.
const pairTables = bases.map((base, k) => {
  const paired = rows
    .filter((r) => r !== base && !bases.slice(0, k).includes(r))
    .map((r) => {
      const common = r.seeds.filter((s) => base.seeds.includes(s));
      const pick = (row) => common.map((s) => row.reports[row.seeds.indexOf(s)].balancedAccuracy);
      const a = pick(base);
      const b = pick(r);
      const d = pairedSeedDifference(a, b);
      return {
        label: r.label,
        cells: {
          d: est(d),
          p: { value: d.pValue },
          better: { value: b.filter((x, i) => x > a[i]).length },
          seeds: { value: d.n },
        },
      };
    });
  return {
    title: `Paired with ${base.label} (same seed, same test images)`,
    rowHeader: 'training set',
    columns: [
      { key: 'd', header: 'Δ test bal. acc' },
      { key: 'p', header: 'paired t p', digits: 4 },
      { key: 'better', header: 'better (seeds)', digits: 0 },
      { key: 'seeds', header: 'pairs', digits: 0 },
    ],
    rows: paired,
    notes: [
      `Δ: the row minus ${base.label}, mean of the per-seed differences [95% t-interval]; p: two-sided paired t-test (0.0000: below 0.00005).`,
    ],
  };
});

const tables = [rowTable, ...pairTables.filter((t) => t.rows.length)];
const md = tables.map((t) => renderMarkdown(t)).join('\n');
if (out) {
  await fs.writeFile(`${out}.md`, md);
  await fs.writeFile(
    `${out}.json`,
    `${JSON.stringify({ rows: rows.map((r) => ({ label: r.label, dir: r.dir, seeds: r.seeds })), tables: tables.map(tableToJson) }, null, 1)}\n`,
  );
  process.stderr.write(`wrote ${out}.md and ${out}.json\n`);
} else process.stdout.write(md);
