import { type LayerArgs, single } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
import { LAYER_PACKAGE, nhwc } from './layer-utils.js';

export interface InstanceNormalizationArgs extends LayerArgs {
  /** Added to the variance. Default 1e-5 (PyTorch's). */
  epsilon?: number;
}

/**
 * Per-image, per-channel mean over the spatial axes of an NHWC tensor: [n, h, w, c] → [n, 1, 1, c],
 * as one average pool over the whole image. On WASM, tf.mean over non-last axes transposes the
 * tensor first (~10× slower).
 */
function spatialMean(x: tf.Tensor4D): tf.Tensor4D {
  const [, h, w] = x.shape;
  // The kernel itself: tf.avgPool adds a Cast to the input dtype, one more kernel call per mean.
  return tf.engine().runKernel('AvgPool', { x }, {
    filterSize: [h, w],
    strides: [1, 1],
    pad: 'valid',
  } as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}

/**
 * Instance normalization without affine parameters: each image's channels are normalized over
 * their spatial positions, `y = (x − mean) / sqrt(var + ε)` with the biased variance.
 *
 * The gradient is the closed form
 *   dx = (dy − mean(dy) − y · mean(dy · y)) / sqrt(var + ε)
 * and only `y` and the per-channel 1/sqrt(var + ε) are kept for backprop (the op-by-op gradient
 * would keep several full-size intermediates).
 */
export function instanceNorm(x: tf.Tensor4D, epsilon = 1e-5): tf.Tensor4D {
  return tf.customGrad((...args) => {
    const [input, save] = args as [tf.Tensor4D, tf.GradSaveFunc];
    // tidy: the intermediates go now, not at the end of the enclosing scope (the whole step).
    const [y, rstd] = tf.tidy(() => {
      const centered = tf.sub(input, spatialMean(input));
      const variance = spatialMean(tf.square(centered) as tf.Tensor4D);
      const r = tf.rsqrt(tf.add(variance, epsilon));
      return [tf.mul(centered, r), r];
    }) as [tf.Tensor4D, tf.Tensor4D];
    save([y, rstd]);
    return {
      value: y,
      // tidy here too: tfjs calls a custom gradient outside any scope of its own, so its
      // temporaries would otherwise live until the whole backward pass ends (+40% heap).
      gradFunc: (dy, saved) =>
        tf.tidy(() => {
          const [sy, sr] = saved as [tf.Tensor4D, tf.Tensor4D];
          const g = dy as tf.Tensor4D;
          const meanDyY = spatialMean(tf.mul(g, sy) as tf.Tensor4D);
          return tf.mul(tf.sub(tf.sub(g, spatialMean(g)), tf.mul(sy, meanDyY)), sr);
        }),
    };
  })(x) as tf.Tensor4D;
}

/**
 * Instance normalization over height and width of each image and channel, without affine
 * parameters (PyTorch's InstanceNorm2d default, which the CycleGAN reference uses).
 */
export class InstanceNormalization extends tf.layers.Layer {
  static readonly className = 'InstanceNormalization';
  readonly epsilon: number;

  constructor(args: InstanceNormalizationArgs = {}) {
    super(args);
    this.epsilon = args.epsilon ?? 1e-5;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return nhwc(inputShape);
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return instanceNorm(single(inputs) as tf.Tensor4D, this.epsilon);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), epsilon: this.epsilon };
  }
}
tf.serialization.registerClass(InstanceNormalization, LAYER_PACKAGE);

export function instanceNormalization(args?: InstanceNormalizationArgs): InstanceNormalization {
  return new InstanceNormalization(args);
}
