import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '@skingan/core';
import { loadDataset } from '@skingan/data';
import {
  type ClassificationReport,
  type ClassifierSummary,
  classificationIntervals,
  classificationReport,
  compareClassifiers,
  type Estimate,
  extractorNote,
  type GeneratedCountEntry,
  type MetricsTable,
  mcnemarTest,
  pairedSeedDifference,
  parsePredictionsCsv,
  predictedClasses,
  renderCsv,
  renderMarkdown,
  summarizeFolds,
  summarizeReport,
  summarizeSeeds,
  table62,
  table72,
  tableToJson,
} from '@skingan/metrics';
import { type ExperimentPlan, realOnlySet, type TrainingSet } from './pipelines/common.js';

/** Test predictions of one trained classifier, aligned with the true labels. */
interface CellResult {
  set: TrainingSet;
  seed: number;
  /** 0 in a one-split plan. */
  fold: number;
  labels: number[];
  probs: Float64Array[];
  report: ClassificationReport;
}

/** Every table `buildTables` can write, as `tables/<name>.{md,csv,json}`. */
const TABLE_NAMES = [
  'table-6.2',
  'table-7.2',
  'baselines',
  'paired-vs-isic-0',
  'paired-vs-augment',
  'gan-metrics',
] as const;
type TableName = (typeof TABLE_NAMES)[number];

export interface ExperimentTables {
  /** Table 6.2 or 7.2, then the paired comparisons, then (noise2img) FID/KID. */
  tables: { name: TableName; table: MetricsTable }[];
  /**
   * What the tables lack because its jobs have not finished: training sets (their rows are left
   * out) and GAN metrics (`gan-metrics <kind> FID|KID`, their cells are left empty or, of a K-fold
   * plan, averaged over fewer folds).
   */
  incomplete: string[];
}

/**
 * Turns finished jobs into the experiment's tables, writing `tables/<name>.{md,csv,json}`.
 * `outOf(jobId)` gives a job's folder. Missing predictions leave their rows out (and are listed).
 */
export async function buildTables(
  plan: ExperimentPlan,
  data: string[],
  outOf: (jobId: string) => string | undefined,
  dir: string,
  seed: number,
): Promise<ExperimentTables> {
  const dataset = await loadDataset(data);
  const classes = [...dataset.labelSpace.classes];
  // Columns for the classes the data has (a 3-class dataset gets a 3-class table).
  const present = classes.filter((_, i) => dataset.samples.some((s) => s.label === i));
  const labelOf = new Map(dataset.samples.map((s) => [s.id, s.label]));

  const cells: CellResult[] = [];
  const incomplete = new Set<string>();
  for (const cell of plan.cells) {
    const out = outOf(cell.predictJob);
    const csv = cell.predictions ?? 'predictions.csv';
    const text = out ? await fs.readFile(join(out, csv), 'utf8').catch(() => undefined) : undefined;
    if (text === undefined) {
      incomplete.add(cell.set.label);
      continue;
    }
    const table = await parsePredictionsCsv(text, join(out!, csv));
    const order = classes.map((c) => table.classes.indexOf(c));
    const labels = table.ids.map((id) => labelOf.get(id)!);
    const probs = table.probs.map((row) => Float64Array.from(order, (j) => (j < 0 ? 0 : row[j]!)));
    cells.push({
      set: cell.set,
      seed: cell.seed,
      fold: cell.fold ?? 0,
      labels,
      probs,
      report: classificationReport(labels, probs, { classes }),
    });
  }

  // One summary per training set: mean ± t-interval over seeds, or bootstrap CIs for a single seed;
  // of a K-fold plan, over its folds × seeds (per-class values pooled over the folds).
  // Keyed by slug: sets read back from experiment.json are copies, not the plan's objects.
  const folded = plan.cells.some((c) => c.fold !== undefined);
  const summaries = new Map<string, ClassifierSummary>();
  for (const set of plan.sets) {
    const runs = cells.filter((c) => c.set.slug === set.slug && !incomplete.has(set.label));
    if (!runs.length) continue;
    summaries.set(
      set.slug,
      folded
        ? summarizeFolds(runs, classes)
        : runs.length > 1
          ? summarizeSeeds(runs.map((r) => r.report))
          : summarizeReport(
              runs[0]!.report,
              classificationIntervals(runs[0]!.labels, runs[0]!.probs, classes, { seed, resamples: 1000 }),
            ),
    );
  }

  const tables: ExperimentTables['tables'] = [];
  if (plan.kind === 'noise2img') {
    const rows = plan.sets
      .filter((s) => summaries.has(s.slug))
      .map((s) => ({ label: s.label, summary: summaries.get(s.slug)! }));
    if (rows.length) tables.push({ name: 'table-6.2', table: table62(rows, { classes: present }) });
  } else {
    const base = realOnlySet(plan.sets);
    const entries: GeneratedCountEntry[] = [];
    for (const s of plan.sets) {
      const summary = summaries.get(s.slug);
      if (!summary || s.baseline) continue;
      if (s.slug === base?.slug) {
        // The real-only baseline is N = 0 in every α column.
        const alphas = [
          ...new Set(
            plan.sets.filter((x) => x.slug !== base.slug && !x.baseline).map((x) => x.coords.alpha as number),
          ),
        ];
        for (const alpha of alphas) entries.push({ n: 0, alpha: fmtAlpha(alpha), summary });
      } else {
        entries.push({ n: s.coords.n as number, alpha: fmtAlpha(s.coords.alpha as number), summary });
      }
    }
    if (entries.length) tables.push({ name: 'table-7.2', table: table72(entries) });
    // The baselines have no α or N: their own table, per class, beside ISIC-0.
    const real = plan.sets.filter((s) => (s === base || s.baseline) && summaries.has(s.slug));
    if (real.some((s) => s.baseline)) {
      const rows = real.map((s) => ({ label: s.label, summary: summaries.get(s.slug)! }));
      tables.push({
        name: 'baselines',
        table: table62(rows, { classes: present, title: 'Real-data baselines (no synthetic images)' }),
      });
    }
  }
  const isic0 = realOnlySet(plan.sets);
  const comparisons = isic0 && comparisonTable(plan, cells, classes, seed, isic0);
  if (comparisons) tables.push({ name: 'paired-vs-isic-0', table: comparisons });
  // Perez et al.: a GAN row counts as a gain only if it also beats classic augmentation.
  const augmented = plan.sets.find((s) => s.baseline === 'augment');
  const vsAugment = augmented && comparisonTable(plan, cells, classes, seed, augmented);
  if (vsAugment) tables.push({ name: 'paired-vs-augment', table: vsAugment });
  if (plan.kind === 'noise2img') {
    const gan = await ganTable(plan, outOf);
    for (const m of gan.missing) incomplete.add(m);
    if (gan.table) tables.push({ name: 'gan-metrics', table: gan.table });
  }

  await fs.mkdir(join(dir, 'tables'), { recursive: true });
  for (const { name, table } of tables) {
    await writeFileAtomic(join(dir, 'tables', `${name}.md`), `${renderMarkdown(table)}\n`);
    await writeFileAtomic(join(dir, 'tables', `${name}.csv`), renderCsv(table));
    await writeJsonAtomic(join(dir, 'tables', `${name}.json`), tableToJson(table));
  }
  // A table an earlier write made and this one cannot (its jobs' results are gone or now fail)
  // must not stay beside the new ones as if current.
  const written = new Set(tables.map((t) => t.name));
  for (const name of TABLE_NAMES.filter((n) => !written.has(n))) {
    for (const ext of ['md', 'csv', 'json'])
      await fs.rm(join(dir, 'tables', `${name}.${ext}`), { force: true });
  }
  return { tables, incomplete: [...incomplete] };
}

const fmtAlpha = (a: number) => {
  const inv = 1 / a;
  return Number.isInteger(inv) && inv > 1 ? `1/${inv}` : String(a);
};

/**
 * Each set against `base` (ISIC-0, or the augmentation baseline), run by run: the runs of the same
 * (fold, seed) share their test images, so each pair's difference is free of the test-set noise.
 * Accuracy and balanced-accuracy differences: with two or more pairs, their mean with its t-interval
 * and (balanced accuracy) the paired t-test; with one, a paired-bootstrap interval over its test
 * images. McNemar's exact test on the first seed's test predictions (of every fold: each image
 * once). Against a baseline, only the synthetic rows are compared.
 */
function comparisonTable(
  plan: ExperimentPlan,
  cells: CellResult[],
  classes: string[],
  seed: number,
  base: TrainingSet,
): MetricsTable | undefined {
  const rows = [];
  const kinds = new Set<'t' | 'bootstrap'>();
  for (const set of plan.sets) {
    // Against a baseline, neither ISIC-0 (nothing added) nor another baseline (the fast path's
    // augment row adds its views): only the synthetic rows.
    const real = set.baseline !== undefined || set.addJobs.length === 0;
    if (set.slug === base.slug || (base.baseline && real)) continue;
    const pairs = cells
      .filter((c) => c.set.slug === set.slug)
      .map(
        (c) =>
          [cells.find((b) => b.set.slug === base.slug && b.seed === c.seed && b.fold === c.fold), c] as const,
      )
      .filter((p): p is readonly [CellResult, CellResult] => p[0] !== undefined);
    if (!pairs.length) continue;
    const firstSeed = Math.min(...pairs.map(([, b]) => b.seed));
    const first = pairs.filter(([, b]) => b.seed === firstSeed);
    const labels = first.flatMap(([a]) => a.labels);
    const predicted = (i: 0 | 1) =>
      predictedClasses(
        labels,
        first.flatMap((p) => p[i].probs),
        classes.length,
      );
    const mcnemar = mcnemarTest(labels, predicted(0), predicted(1));
    // One pair: a paired bootstrap over its test images; several: the t-interval over the pairs.
    const single = pairs.length === 1;
    const cmp = single
      ? compareClassifiers(pairs[0]![0].labels, pairs[0]![0].probs, pairs[0]![1].probs, classes, {
          seed,
          resamples: 1000,
        })
      : undefined;
    const difference = (k: 'accuracy' | 'balancedAccuracy') => {
      if (cmp) return { estimate: { value: cmp[k].difference, lower: cmp[k].lower, upper: cmp[k].upper } };
      const d = pairedSeedDifference(
        pairs.map(([a]) => a.report[k]),
        pairs.map(([, b]) => b.report[k]),
      );
      return { estimate: { value: d.mean, lower: d.lower, upper: d.upper }, pValue: d.pValue };
    };
    const bal = difference('balancedAccuracy');
    kinds.add(single ? 'bootstrap' : 't');
    rows.push({
      label: set.label,
      cells: {
        dAcc: difference('accuracy').estimate,
        mcnemarP: { value: mcnemar.pValue },
        dBal: bal.estimate,
        tP: bal.pValue === undefined ? null : { value: bal.pValue },
        better: {
          value: pairs.filter(([a, b]) => b.report.balancedAccuracy > a.report.balancedAccuracy).length,
        },
        runs: { value: pairs.length },
      } satisfies Record<string, Estimate | null>,
    });
  }
  if (!rows.length) return undefined;
  const folds = new Set(cells.map((c) => c.fold)).size;
  const seeds = new Set(cells.map((c) => c.seed)).size;
  const pairing = folds > 1 ? 'fold and seed' : 'seed';
  return {
    title: `Paired comparison with ${base.label} (same test images, same ${pairing})`,
    rowHeader: 'training set',
    columns: [
      { key: 'dAcc', header: 'Δ accuracy' },
      { key: 'mcnemarP', header: 'McNemar p' },
      { key: 'dBal', header: 'Δ bal. acc' },
      { key: 'tP', header: 'Δ bal. acc p' },
      { key: 'better', header: 'bal. acc better (runs)', digits: 0 },
      { key: 'runs', header: 'runs', digits: 0 },
    ],
    rows,
    notes: [
      `Δ: the set minus ${base.label}, the mean over runs paired by ${pairing}${folds > 1 ? ` (runs: ${folds} folds × ${seeds} seed${seeds === 1 ? '' : 's'})` : ''}.`,
      ...(kinds.has('t')
        ? [
            '[lower, upper] over several runs: 95% t-interval of the mean paired difference; Δ bal. acc p: two-sided paired t-test.',
          ]
        : []),
      ...(kinds.has('bootstrap')
        ? ['[lower, upper] of a single run: 95% paired-bootstrap interval over its test images.']
        : []),
      `McNemar p: exact two-sided test on the first seed's discordant test images${folds > 1 ? ' (every fold: each image once)' : ''}; p ≥ 0.05 means no evidence of a difference.`,
    ],
  };
}

interface GanJson {
  fid?: number;
  kid?: number;
  kidStd?: number;
  extractor: string;
  /** The side real and synthetic images were decoded at (absent in results of older builds). */
  decodeSize?: number;
  perClass?: { class: string; fid?: number; kid?: number; skipped?: string }[];
}

/** FID and KID of the ACGAN and CycleGAN images against the real test images, overall and per class. */
async function ganTable(
  plan: ExperimentPlan,
  outOf: (jobId: string) => string | undefined,
): Promise<{ table?: MetricsTable; missing: string[] }> {
  // Of a K-fold plan, each fold's generators against that fold's test images: one result a fold.
  const results: Record<string, GanJson[]> = {};
  const missing: string[] = [];
  for (const g of plan.ganMetricJobs) {
    const out = outOf(g.job);
    const text = out
      ? await fs.readFile(join(out, `${g.metric}.json`), 'utf8').catch(() => undefined)
      : undefined;
    if (!text) {
      missing.push(`gan-metrics ${g.kind} ${g.metric.toUpperCase()}`);
      continue;
    }
    const key = `${g.kind}.${g.metric}`;
    results[key] = [...(results[key] ?? []), JSON.parse(text) as GanJson];
  }
  const any = Object.values(results)[0]?.[0];
  if (!any) return { missing };
  const kinds = [...new Set(plan.ganMetricJobs.map((g) => g.kind))];
  const folds = new Set(plan.ganMetricJobs.map((g) => g.fold ?? 0)).size;
  const labels = ['all', ...(any.perClass ?? []).map((p) => p.class)];
  const value = (rs: GanJson[] | undefined, label: string, key: 'fid' | 'kid'): Estimate | null => {
    const vs = (rs ?? [])
      .map((r) => (label === 'all' ? r[key] : r.perClass?.find((p) => p.class === label)?.[key]))
      .filter((v): v is number => typeof v === 'number');
    return vs.length ? { value: vs.reduce((a, b) => a + b, 0) / vs.length } : null;
  };
  const table: MetricsTable = {
    title: 'Image quality against the real test images (lower is better)',
    rowHeader: 'class',
    columns: kinds.flatMap((k) => [
      { key: `${k}.fid`, header: 'FID', group: k, digits: 2 },
      { key: `${k}.kid`, header: 'KID', group: k, digits: 4 },
    ]),
    rows: labels.map((label) => ({
      label,
      cells: Object.fromEntries(
        kinds.flatMap((k) =>
          (['fid', 'kid'] as const).map((m) => [`${k}.${m}`, value(results[`${k}.${m}`], label, m)]),
        ),
      ),
    })),
    notes: [
      extractorNote(any.extractor),
      ...(any.decodeSize
        ? [
            `Real and synthetic images alike decoded at ${any.decodeSize}² (the generators' size) before the extractor.`,
          ]
        : []),
      ...(folds > 1
        ? [
            `Means over the ${folds} folds: each fold's generators against that fold's test images (the only images they never saw).`,
          ]
        : []),
      'Per-class values use few test images per class: read them as a ranking, not as absolute values.',
    ],
  };
  return { table, missing };
}
