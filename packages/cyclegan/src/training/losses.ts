import * as tf from '@tensorflow/tfjs';

/** LSGAN (Mao et al.): mean squared distance of the discriminator's patch outputs to the target 1 (real) or 0 (fake). */
export function lsganLoss(prediction: tf.Tensor, target: 0 | 1): tf.Scalar {
  return tf.tidy(() =>
    target === 1 ? tf.mean(tf.squaredDifference(prediction, 1)) : tf.mean(tf.square(prediction)),
  ) as tf.Scalar;
}

/** Mean absolute difference (PyTorch's L1Loss). */
export function l1Loss(a: tf.Tensor, b: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.abs(tf.sub(a, b)))) as tf.Scalar;
}
