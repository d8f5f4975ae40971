import { SkinganError } from '@skingan/core';
import { type ProbabilityTable, predictedClasses, toPredictions } from './inputs.js';
import { rocAuc } from './roc-auc.js';

/** One class of a classification report. Undefined ratios are NaN (null in JSON), never 0. */
export interface ClassMetrics {
  class: string;
  /** Test images of this class. */
  support: number;
  /** Test images predicted as this class. */
  predicted: number;
  truePositives: number;
  /** TP / predicted; NaN when nothing was predicted as this class (0/0). */
  precision: number;
  /** TP / support; NaN when the class has no test images. */
  recall: number;
  /** 2TP / (2TP + FP + FN), which is 0 (not NaN) when only one of precision/recall is undefined;
   * NaN only when the class is neither present nor predicted. */
  f1: number;
  /** One-vs-rest ROC AUC of this class' probability; NaN without probabilities or without both
   * positives and negatives. */
  auc: number;
}

export interface ClassificationReport {
  classes: string[];
  /** Test images. */
  n: number;
  accuracy: number;
  /**
   * Mean recall over the classes that have test images: the ISIC 2019 challenge metric (as
   * sklearn's `balanced_accuracy_score`). Classes without test images are left out, and named in
   * `notes`, rather than averaging in a NaN or a 0.
   */
  balancedAccuracy: number;
  /** Classes whose recall entered `balancedAccuracy`. */
  balancedAccuracyClasses: string[];
  /** Mean F1 over the classes whose F1 is defined. */
  macroF1: number;
  /** Mean one-vs-rest AUC over the classes whose AUC is defined (NaN without probabilities). */
  macroAuc: number;
  perClass: ClassMetrics[];
  /** confusion[true][predicted] counts. */
  confusion: number[][];
  /** Why some value is undefined, one line each. */
  notes: string[];
}

export interface ReportOptions {
  /** Class names, one per probability column (default "0", "1", …). */
  classes?: readonly string[];
}

/** Classification metrics from true labels and a probability table (predicted class = argmax). */
export function classificationReport(
  labels: readonly number[],
  probs: ProbabilityTable,
  options: ReportOptions = {},
): ClassificationReport {
  const k = options.classes?.length ?? probs[0]?.length ?? 0;
  const classes = classNames(options.classes, k);
  const pred = predictedClasses(labels, probs, k);
  const report = reportFromConfusion(confusionMatrix(labels, pred, k), classes);
  for (let c = 0; c < k; c++) {
    const scores = probs.map((p) => p[c]!);
    const positive = labels.map((l) => l === c);
    report.perClass[c]!.auc = rocAuc(scores, positive);
  }
  report.macroAuc = meanDefined(report.perClass.map((m) => m.auc));
  return report;
}

/** Classification metrics from true and predicted class indices (no AUC: it needs scores). */
export function classificationReportFromPredictions(
  labels: readonly number[],
  predictions: readonly number[] | Int32Array,
  options: ReportOptions & { numClasses?: number } = {},
): ClassificationReport {
  const k = options.classes?.length ?? options.numClasses;
  if (k === undefined) throw new SkinganError('give `classes` or `numClasses`', { code: 'USAGE' });
  return reportFromConfusion(
    confusionMatrix(labels, toPredictions(labels, predictions, k), k),
    classNames(options.classes, k),
  );
}

/** confusion[true][predicted] over `k` classes. */
export function confusionMatrix(
  labels: ArrayLike<number>,
  predictions: ArrayLike<number>,
  k: number,
  indices?: ArrayLike<number>,
): number[][] {
  const m = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  const n = indices ? indices.length : labels.length;
  for (let t = 0; t < n; t++) {
    const i = indices ? indices[t]! : t;
    m[labels[i]!]![predictions[i]!]!++;
  }
  return m;
}

/** All count-based metrics from a confusion matrix (AUC left NaN). */
export function reportFromConfusion(confusion: number[][], classes: readonly string[]): ClassificationReport {
  const k = classes.length;
  let n = 0;
  let correct = 0;
  const perClass: ClassMetrics[] = [];
  const notes: string[] = [];
  for (let c = 0; c < k; c++) {
    let support = 0;
    let predicted = 0;
    for (let j = 0; j < k; j++) {
      support += confusion[c]![j]!;
      predicted += confusion[j]![c]!;
    }
    const tp = confusion[c]![c]!;
    n += support;
    correct += tp;
    const denomF1 = support + predicted; // 2TP + FP + FN
    perClass.push({
      class: classes[c]!,
      support,
      predicted,
      truePositives: tp,
      precision: predicted > 0 ? tp / predicted : Number.NaN,
      recall: support > 0 ? tp / support : Number.NaN,
      f1: denomF1 > 0 ? (2 * tp) / denomF1 : Number.NaN,
      auc: Number.NaN,
    });
    if (support === 0)
      notes.push(`${classes[c]}: no test images; recall undefined, left out of balanced accuracy`);
    if (predicted === 0) notes.push(`${classes[c]}: never predicted; precision undefined`);
  }
  const withSupport = perClass.filter((m) => m.support > 0);
  return {
    classes: [...classes],
    n,
    accuracy: n > 0 ? correct / n : Number.NaN,
    balancedAccuracy: meanDefined(withSupport.map((m) => m.recall)),
    balancedAccuracyClasses: withSupport.map((m) => m.class),
    macroF1: meanDefined(perClass.map((m) => m.f1)),
    macroAuc: Number.NaN,
    perClass,
    confusion: confusion.map((r) => [...r]),
    notes,
  };
}

/** Mean of the non-NaN values; NaN if there are none. */
function meanDefined(values: readonly number[]): number {
  let s = 0;
  let c = 0;
  for (const v of values) {
    if (!Number.isNaN(v)) {
      s += v;
      c++;
    }
  }
  return c > 0 ? s / c : Number.NaN;
}

function classNames(classes: readonly string[] | undefined, k: number): string[] {
  if (k === 0) throw new SkinganError('no classes: the probability table is empty', { code: 'USAGE' });
  return classes ? [...classes] : Array.from({ length: k }, (_, i) => String(i));
}
