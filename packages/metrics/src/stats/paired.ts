import { type Predictions, toPredictions } from '../classification/inputs.js';
import { type BootstrapOptions, bootstrap, type ConfidenceInterval } from './bootstrap.js';
import { resampledReport } from './classification-intervals.js';
import { type McNemarResult, mcnemarTest } from './mcnemar.js';

/** B − A for a metric, with a paired percentile-bootstrap interval of the difference. */
export interface PairedDifference extends Omit<ConfidenceInterval, 'estimate'> {
  a: number;
  b: number;
  /** b − a. */
  difference: number;
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
  const identity = Int32Array.from({ length: n }, (_, i) => i);
  const a0 = statisticA(identity);
  const b0 = statisticB(identity);
  const differences = bootstrap(
    n,
    (idx) => {
      const a = statisticA(idx);
      return statisticB(idx).map((b, s) => b - a[s]!);
    },
    options,
  );
  return differences.map(({ estimate, ...interval }, s) => ({
    a: a0[s]!,
    b: b0[s]!,
    difference: estimate,
    ...interval,
    excludesZero: interval.lower > 0 || interval.upper < 0,
  }));
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
  predictionsA: Predictions,
  predictionsB: Predictions,
  classes: readonly string[],
  options: BootstrapOptions = {},
): ClassifierComparison {
  const pa = toPredictions(labels, predictionsA, classes.length);
  const pb = toPredictions(labels, predictionsB, classes.length);
  const stat = (pred: Int32Array) => (idx: Int32Array) => {
    const r = resampledReport(labels, pred, classes, idx);
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
