import * as tf from '@tensorflow/tfjs';
import type { TrainingConfig } from '../config.js';

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

/** Mean hinge loss max(0, 1 − sign·x): D's hinge terms, sign +1 on real logits and −1 on fake ones. */
export function hingeLoss(logits: tf.Tensor, sign: 1 | -1): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.relu(tf.sub(1, tf.mul(logits, sign)))));
}

/** The real/fake terms of the objective, each a mean over the batch of the real/fake head's logits. */
export interface AdversarialLoss {
  /** G's term on D's logits for fakes (G minimizes it). */
  generator(fakeLogits: tf.Tensor): tf.Scalar;
  /** D's term on real images' logits. */
  real(realLogits: tf.Tensor): tf.Scalar;
  /** D's term on fakes' logits. */
  fake(fakeLogits: tf.Tensor): tf.Scalar;
}

/**
 * The real/fake part of the ACGAN objective for `training.adversarialLoss`:
 * - `bce` (the paper): D minimizes BCE(real, realLabel) + BCE(fake, 0); G minimizes BCE(fake, 1)
 *   (`non-saturating`) or −BCE(fake, 0) (`minimax`).
 * - `hinge` (Lim and Ye 2017; Miyato et al. 2018): D minimizes mean max(0, 1 − real) +
 *   mean max(0, 1 + fake); G minimizes −mean fake. `realLabel` and `generatorLoss` do not apply.
 */
export function adversarialLoss(
  t: Pick<TrainingConfig, 'adversarialLoss' | 'generatorLoss' | 'realLabel'>,
): AdversarialLoss {
  if (t.adversarialLoss === 'hinge') {
    return {
      generator: (x) => tf.tidy(() => tf.neg(tf.mean(x)) as tf.Scalar),
      real: (x) => hingeLoss(x, 1),
      fake: (x) => hingeLoss(x, -1),
    };
  }
  return {
    generator: (x) =>
      t.generatorLoss === 'non-saturating' ? bceWithLogits(x, 1) : tf.tidy(() => tf.neg(bceWithLogits(x, 0))),
    real: (x) => bceWithLogits(x, t.realLabel),
    fake: (x) => bceWithLogits(x, 0),
  };
}

/**
 * Mode-seeking term (Mao et al. 2019, MSGAN): for two fakes of the same class from different noise,
 * 1 / (mean|G(z₁, c) − G(z₂, c)| / mean|z₁ − z₂| + ε). G minimizes it, so it is pushed to make
 * different noise give different images: the collapse within a class that the class head does not
 * see. `fakes` and `z` hold the pairs as halves: row i pairs with row i + n/2 (n even).
 */
export function modeSeekingLoss(fakes: tf.Tensor4D, z: tf.Tensor2D, epsilon = 1e-5): tf.Scalar {
  return tf.tidy(() => {
    const half = Math.floor(fakes.shape[0] / 2);
    const meanAbsDiff = (x: tf.Tensor) => {
      const [a, b] = tf.split(x.slice(0, 2 * half), 2);
      return tf.mean(tf.abs(tf.sub(a!, b!)));
    };
    return tf.div(1, tf.add(tf.div(meanAbsDiff(fakes), meanAbsDiff(z)), epsilon)) as tf.Scalar;
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
