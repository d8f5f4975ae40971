import * as tf from '@tensorflow/tfjs';
import { customOp } from './custom-op.js';
import { spatialMean } from './spatial-mean.js';

/**
 * Instance normalization without affine parameters (PyTorch's `InstanceNorm2d` default, as the
 * CycleGAN reference uses it): each image's channels are normalized over their spatial positions,
 * `y = (x − mean) / sqrt(var + ε)` with the biased variance.
 *
 * The gradient is the closed form
 *   dx = (dy − mean(dy) − y · mean(dy · y)) / sqrt(var + ε)
 * and only `y` and the per-channel 1/sqrt(var + ε) are kept for backprop (the op-by-op gradient
 * would keep several full-size intermediates).
 */
export function instanceNorm(x: tf.Tensor4D, epsilon = 1e-5): tf.Tensor4D {
  return customOp(
    'SkinganInstanceNorm',
    { x },
    (save) => {
      const mean = spatialMean(x);
      const centered = tf.sub(x, mean);
      const variance = spatialMean(tf.square(centered) as tf.Tensor4D);
      const rstd = tf.rsqrt(tf.add(variance, epsilon));
      const y = tf.mul(centered, rstd);
      save([y, rstd]);
      return y;
    },
    (dy, saved) => {
      const [y, rstd] = saved as [tf.Tensor4D, tf.Tensor4D];
      return {
        x: () =>
          tf.tidy(() => {
            const g = dy as tf.Tensor4D;
            const meanDy = spatialMean(g);
            const meanDyY = spatialMean(tf.mul(g, y) as tf.Tensor4D);
            return tf.mul(tf.sub(tf.sub(g, meanDy), tf.mul(y, meanDyY)), rstd);
          }),
      };
    },
  ) as tf.Tensor4D;
}
