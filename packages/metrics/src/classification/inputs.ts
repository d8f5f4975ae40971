import { SkinganError } from '@skingan/core';

/** A probability table: one row per image, one column per class (plain arrays or typed rows). */
export type ProbabilityTable = readonly ArrayLike<number>[];

/**
 * Checks labels against a probability table and returns the predicted class of each row (argmax;
 * the first maximum on ties). Errors name the row.
 */
export function predictedClasses(
  labels: readonly number[],
  probs: ProbabilityTable,
  numClasses: number,
): Int32Array {
  if (labels.length !== probs.length) {
    throw new SkinganError(`${labels.length} labels but ${probs.length} probability rows`, {
      hint: 'give one probability row per test image, in the same order as the labels',
    });
  }
  const pred = new Int32Array(labels.length);
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i]!;
    if (!(Number.isInteger(l) && l >= 0 && l < numClasses)) {
      throw new SkinganError(`row ${i}: label ${l} is not a class index in [0, ${numClasses})`);
    }
    const p = probs[i]!;
    if (p.length !== numClasses) {
      throw new SkinganError(`row ${i}: ${p.length} probabilities for ${numClasses} classes`);
    }
    let best = 0;
    for (let c = 0; c < numClasses; c++) {
      const v = p[c]!;
      if (!Number.isFinite(v)) throw new SkinganError(`row ${i}: probability of class ${c} is ${v}`);
      if (v > p[best]!) best = c;
    }
    pred[i] = best;
  }
  return pred;
}

/** Validates integer class indices (labels or predictions). */
function checkClassIndices(values: readonly number[] | Int32Array, numClasses: number, what: string): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!(Number.isInteger(v) && v >= 0 && v < numClasses)) {
      throw new SkinganError(`${what}: row ${i} has ${v}, not a class index in [0, ${numClasses})`);
    }
  }
}

/** A classifier's predictions on the test images: a probability table (argmax) or class indices. */
export type Predictions = ProbabilityTable | readonly number[] | Int32Array;

/** Predicted class indices from either a probability table (argmax) or indices (validated). */
export function toPredictions(labels: readonly number[], predictions: Predictions, k: number): Int32Array {
  if (predictions.length > 0 && typeof predictions[0] !== 'number') {
    return predictedClasses(labels, predictions as ProbabilityTable, k);
  }
  const indices = predictions as readonly number[] | Int32Array;
  if (indices.length !== labels.length) {
    throw new SkinganError(`${labels.length} labels but ${indices.length} predictions`);
  }
  checkClassIndices(labels, k, 'labels');
  checkClassIndices(indices, k, 'predictions');
  return Int32Array.from(indices);
}
