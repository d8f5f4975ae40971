import { SkinganError } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';

/**
 * Softmax cross-entropy, optionally class-weighted as PyTorch's `CrossEntropyLoss(weight=…)`:
 * Σ w[yᵢ]·nllᵢ / Σ w[yᵢ]. Labels become one-hot rows (a matrix product instead of a gather,
 * which has no gradient on WASM).
 */
export function crossEntropy(
  logits: tf.Tensor2D,
  labels: tf.Tensor1D,
  classWeights?: tf.Tensor1D,
): tf.Scalar {
  return tf.tidy(() => {
    const numClasses = logits.shape[1];
    const oneHot = tf.oneHot(tf.cast(labels, 'int32'), numClasses).toFloat() as tf.Tensor2D;
    const nll = tf.neg(tf.sum(tf.mul(oneHot, tf.logSoftmax(logits)), 1));
    if (!classWeights) return tf.mean(nll) as tf.Scalar;
    const w = tf.squeeze(tf.matMul(oneHot, tf.reshape(classWeights, [numClasses, 1])), [1]);
    return tf.div(tf.sum(tf.mul(w, nll)), tf.sum(w)) as tf.Scalar;
  });
}

/**
 * Weights that make every class count equally (scikit-learn's "balanced"): n / (k · countᶜ).
 * A class absent from `labels` gets weight 0.
 */
export function balancedClassWeights(labels: readonly number[], numClasses: number): number[] {
  const counts = new Array<number>(numClasses).fill(0);
  for (const l of labels) {
    if (!Number.isInteger(l) || l < 0 || l >= numClasses) {
      throw new SkinganError(`label ${l} is outside the ${numClasses} classes`, { code: 'BAD_INPUT' });
    }
    counts[l]! += 1;
  }
  const present = counts.filter((c) => c > 0).length;
  return counts.map((c) => (c > 0 ? labels.length / (present * c) : 0));
}
