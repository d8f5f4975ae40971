import { SkinganError } from '@skingan/core';
import type { ClassificationReport } from '../classification/report.js';
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
  /** Classifiers (seeds) summarized. */
  runs: number;
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
