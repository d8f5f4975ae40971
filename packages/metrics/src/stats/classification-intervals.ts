import { type Predictions, toPredictions } from '../classification/inputs.js';
import { type ClassificationReport, confusionMatrix, reportFromConfusion } from '../classification/report.js';
import { type BootstrapOptions, bootstrap, type ConfidenceInterval } from './bootstrap.js';

/** Bootstrap intervals of the count-based classification metrics. */
export interface ClassificationIntervals {
  classes: string[];
  accuracy: ConfidenceInterval;
  balancedAccuracy: ConfidenceInterval;
  macroF1: ConfidenceInterval;
  /** One per class, in `classes` order. */
  precision: ConfidenceInterval[];
  recall: ConfidenceInterval[];
  f1: ConfidenceInterval[];
}

/**
 * Percentile-bootstrap intervals over test images for accuracy, balanced accuracy, macro F1 and
 * per-class precision/recall/F1, from a probability table (argmax) or predicted class indices.
 */
export function classificationIntervals(
  labels: readonly number[],
  predictions: Predictions,
  classes: readonly string[],
  options: BootstrapOptions = {},
): ClassificationIntervals {
  const k = classes.length;
  const pred = toPredictions(labels, predictions, k);
  const flat = bootstrap(
    labels.length,
    (idx) => {
      const r = resampledReport(labels, pred, classes, idx);
      return [
        r.accuracy,
        r.balancedAccuracy,
        r.macroF1,
        ...r.perClass.map((m) => m.precision),
        ...r.perClass.map((m) => m.recall),
        ...r.perClass.map((m) => m.f1),
      ];
    },
    options,
  );
  return {
    classes: [...classes],
    accuracy: flat[0]!,
    balancedAccuracy: flat[1]!,
    macroF1: flat[2]!,
    precision: flat.slice(3, 3 + k),
    recall: flat.slice(3 + k, 3 + 2 * k),
    f1: flat.slice(3 + 2 * k, 3 + 3 * k),
  };
}

/** The classification report of predicted classes `pred` on a resample (image indices) of the test set. */
export function resampledReport(
  labels: readonly number[],
  pred: Int32Array,
  classes: readonly string[],
  indices: Int32Array,
): ClassificationReport {
  return reportFromConfusion(confusionMatrix(labels, pred, classes.length, indices), classes);
}
