import * as tf from '@tensorflow/tfjs';

/**
 * Mean binary cross-entropy of logits against a constant target t, in the overflow-free form
 * max(x, 0) − x·t + log(1 + e^−|x|) (no sigmoid → log round trip that saturates to ±inf).
 */
export function bceWithLogits(logits: tf.Tensor, target: number): tf.Scalar {
  return tf.tidy(() => {
    const x = logits;
    const loss = tf.add(tf.sub(tf.relu(x), tf.mul(x, target)), tf.log1p(tf.exp(tf.neg(tf.abs(x)))));
    return tf.mean(loss);
  });
}

/** Mean softmax cross-entropy of logits [B, C] against one-hot targets [B, C]. */
export function softmaxCrossEntropy(logits: tf.Tensor2D, oneHot: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => tf.neg(tf.mean(tf.sum(tf.mul(oneHot, tf.logSoftmax(logits)), 1))) as tf.Scalar);
}

/** Fraction of real/fake logits on the right side of 0 (D's real/fake accuracy). */
export function signAccuracy(logits: tf.Tensor, real: boolean): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.cast(real ? tf.greater(logits, 0) : tf.lessEqual(logits, 0), 'float32')));
}

/** Fraction of rows whose arg-max is the one-hot target's class. */
export function classAccuracy(logits: tf.Tensor2D, oneHot: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.cast(tf.equal(tf.argMax(logits, 1), tf.argMax(oneHot, 1)), 'float32')));
}
