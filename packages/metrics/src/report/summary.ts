import { SkinganError } from '@skingan/core';
import type { ProbabilityTable } from '../classification/inputs.js';
import { type ClassificationReport, classificationReport } from '../classification/report.js';
import type { ClassificationIntervals } from '../stats/classification-intervals.js';
import { aggregateSeeds } from '../stats/seeds.js';
import { type Estimate, estimateWith } from './table.js';

/** What the thesis tables need from one classifier (or the mean of several seeds). */
export interface ClassifierSummary {
  classes: string[];
  accuracy: Estimate;
  balancedAccuracy: Estimate;
  /** One per class, in `classes` order. */
  precision: Estimate[];
  recall: Estimate[];
  /** How the intervals were made, for the table notes. */
  interval: 'none' | 'bootstrap' | 'seeds';
  /** Coverage of the intervals (e.g. 0.95). */
  level: number;
  /** Test images per classifier. */
  n: number;
  /** Classifiers (seeds, or folds × seeds) summarized. */
  runs: number;
  /**
   * `summarizeFolds`: the lesion-disjoint folds the runs came from (runs = folds × seeds); its
   * per-class precision and recall are pooled over the folds per seed.
   */
  folds?: number;
}

/** One classifier's report, with bootstrap intervals if given. */
export function summarizeReport(
  report: ClassificationReport,
  intervals?: ClassificationIntervals,
): ClassifierSummary {
  if (intervals && intervals.classes.join() !== report.classes.join()) {
    throw new SkinganError('the intervals are for other classes than the report', { code: 'INTERNAL' });
  }
  return {
    classes: [...report.classes],
    accuracy: estimateWith(report.accuracy, intervals?.accuracy),
    balancedAccuracy: estimateWith(report.balancedAccuracy, intervals?.balancedAccuracy),
    precision: report.perClass.map((m, c) => estimateWith(m.precision, intervals?.precision[c])),
    recall: report.perClass.map((m, c) => estimateWith(m.recall, intervals?.recall[c])),
    interval: intervals ? 'bootstrap' : 'none',
    level: intervals?.accuracy.level ?? 0.95,
    n: report.n,
    runs: 1,
  };
}

/** Several classifiers trained with different seeds: mean and t-based interval of each metric. */
export function summarizeSeeds(
  reports: readonly ClassificationReport[],
  options: { level?: number } = {},
): ClassifierSummary {
  const first = reports[0];
  if (!first) throw new SkinganError('no runs to summarize', { code: 'USAGE' });
  for (const r of reports) {
    if (r.classes.join() !== first.classes.join()) {
      throw new SkinganError(
        `runs disagree on the classes: ${first.classes.join(',')} vs ${r.classes.join(',')}`,
      );
    }
  }
  // Every summarized metric is a proportion: a t-interval from few seeds can reach past [0, 1]
  // (df = 1 gives t ≈ 12.7), and the part outside is impossible, so it is clipped.
  const clip = (x: number) => (Number.isNaN(x) ? x : Math.min(1, Math.max(0, x)));
  const agg = (values: number[]): Estimate => {
    const a = aggregateSeeds(values, options);
    return reports.length > 1
      ? { value: a.mean, lower: clip(a.lower), upper: clip(a.upper) }
      : { value: a.mean };
  };
  return {
    classes: [...first.classes],
    accuracy: agg(reports.map((r) => r.accuracy)),
    balancedAccuracy: agg(reports.map((r) => r.balancedAccuracy)),
    precision: first.classes.map((_, c) => agg(reports.map((r) => r.perClass[c]!.precision))),
    recall: first.classes.map((_, c) => agg(reports.map((r) => r.perClass[c]!.recall))),
    interval: reports.length > 1 ? 'seeds' : 'none',
    level: options.level ?? 0.95,
    n: first.n,
    runs: reports.length,
  };
}

/** One classifier of a K-fold experiment: trained in fold `fold` with `seed`, tested on that fold's test part. */
export interface FoldRun {
  fold: number;
  seed: number;
  labels: readonly number[];
  probs: ProbabilityTable;
  /** Its report on its own test part, if already computed (else computed here). */
  report?: ClassificationReport;
}

/**
 * Classifiers of K folds × R seeds, the folds' test parts covering every image once. Accuracy and
 * balanced accuracy: mean and t-interval over the K × R runs. Per-class precision and recall:
 * pooled over the folds, i.e. computed on each seed's K test parts together (every image once, so
 * a class with 4 test images a fold counts all its 20), then mean and t-interval over the seeds
 * (no interval with one seed). Every seed must have a run in every fold.
 */
export function summarizeFolds(
  runs: readonly FoldRun[],
  classes: readonly string[],
  options: { level?: number } = {},
): ClassifierSummary {
  const folds = [...new Set(runs.map((r) => r.fold))];
  const seeds = [...new Set(runs.map((r) => r.seed))].sort((a, b) => a - b);
  const pooled = seeds.map((seed) => {
    const of = runs.filter((r) => r.seed === seed);
    const missing = folds.filter((f) => !of.some((r) => r.fold === f));
    if (missing.length || of.length !== folds.length) {
      throw new SkinganError(
        `seed ${seed} has ${of.length} runs for ${folds.length} folds (missing: ${missing.join(', ') || 'none'}): pooling over the folds needs one run in each`,
        { code: 'USAGE' },
      );
    }
    return classificationReport(
      of.flatMap((r) => r.labels),
      of.flatMap((r) => [...r.probs]),
      { classes },
    );
  });
  const all = summarizeSeeds(
    runs.map((r) => r.report ?? classificationReport(r.labels, r.probs, { classes })),
    options,
  );
  const perClass = summarizeSeeds(pooled, options);
  return { ...all, precision: perClass.precision, recall: perClass.recall, folds: folds.length };
}
