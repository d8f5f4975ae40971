import { Rng } from '@skingan/core';
import type { ProbabilityTable } from '../classification/inputs.js';
import { confusionMatrix, reportFromConfusion } from '../classification/report.js';
import { type BootstrapOptions, resolveOptions } from './bootstrap.js';
import { toPredictions } from './classification-intervals.js';
import { type McNemarResult, mcnemarTest } from './mcnemar.js';
import { quantileSorted } from './quantile.js';

/** B − A for a metric, with a paired percentile-bootstrap interval of the difference. */
export interface PairedDifference {
  a: number;
  b: number;
  /** b − a. */
  difference: number;
  lower: number;
  upper: number;
  level: number;
  resamples: number;
  /** Resamples where the difference was undefined (left out). */
  undefinedResamples: number;
  /** The interval excludes 0. */
  excludesZero: boolean;
}

/**
 * Paired bootstrap of one or more statistics of two classifiers on the same test images: each
 * resample draws the same image indices for both, so the interval is for the difference itself
 * (much narrower than comparing two separate intervals).
 */
export function pairedBootstrap(
  n: number,
  statisticA: (indices: Int32Array) => readonly number[],
  statisticB: (indices: Int32Array) => readonly number[],
  options: BootstrapOptions = {},
): PairedDifference[] {
  const { resamples, level, seed } = resolveOptions(options);
  const identity = Int32Array.from({ length: n }, (_, i) => i);
  const a0 = statisticA(identity);
  const b0 = statisticB(identity);
  const draws = a0.map(() => new Float64Array(resamples));
  const rng = new Rng(seed);
  const idx = new Int32Array(n);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < n; i++) idx[i] = rng.int(n);
    const a = statisticA(idx);
    const b = statisticB(idx);
    for (let s = 0; s < draws.length; s++) draws[s]![r] = b[s]! - a[s]!;
  }
  const alpha = (1 - level) / 2;
  return a0.map((a, s) => {
    const defined = draws[s]!.filter((v) => !Number.isNaN(v)).sort();
    const lower = quantileSorted(defined, alpha);
    const upper = quantileSorted(defined, 1 - alpha);
    return {
      a,
      b: b0[s]!,
      difference: b0[s]! - a,
      lower,
      upper,
      level,
      resamples,
      undefinedResamples: resamples - defined.length,
      excludesZero: lower > 0 || upper < 0,
    };
  });
}

export interface ClassifierComparison {
  classes: string[];
  n: number;
  /** Accuracy B − A with McNemar's exact test (the paired test for accuracy). */
  accuracy: PairedDifference & { mcnemar: McNemarResult };
  balancedAccuracy: PairedDifference;
  /** Per-class recall B − A, in `classes` order. */
  recall: PairedDifference[];
}

/**
 * Compares classifier B with classifier A on the same test images: McNemar's exact test and a
 * paired bootstrap for accuracy, paired bootstraps for balanced accuracy and per-class recall.
 */
export function compareClassifiers(
  labels: readonly number[],
  predictionsA: ProbabilityTable | readonly number[] | Int32Array,
  predictionsB: ProbabilityTable | readonly number[] | Int32Array,
  classes: readonly string[],
  options: BootstrapOptions = {},
): ClassifierComparison {
  const k = classes.length;
  const pa = toPredictions(labels, predictionsA, k);
  const pb = toPredictions(labels, predictionsB, k);
  const stat = (pred: Int32Array) => (idx: Int32Array) => {
    const r = reportFromConfusion(confusionMatrix(labels, pred, k, idx), classes);
    return [r.accuracy, r.balancedAccuracy, ...r.perClass.map((m) => m.recall)];
  };
  const diffs = pairedBootstrap(labels.length, stat(pa), stat(pb), options);
  return {
    classes: [...classes],
    n: labels.length,
    accuracy: { ...diffs[0]!, mcnemar: mcnemarTest(labels, pa, pb) },
    balancedAccuracy: diffs[1]!,
    recall: diffs.slice(2),
  };
}
