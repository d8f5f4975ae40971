import { batchNormTraining, lastAxis, single } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';

export interface BatchNormArgs {
  /** Weight of the newest batch in the running statistics (PyTorch's convention; tfjs' momentum is 1 − this). */
  momentum?: number;
  epsilon?: number;
  name?: string;
}

/**
 * Batch normalization over N, H, W of NHWC feature maps, with PyTorch's semantics (running
 * statistics updated with momentum 0.1 and the unbiased batch variance), trained through core's
 * `batchNormTraining` (one op with the closed-form gradient; tfjs' own materializes γ/σ with `tile`
 * and makes about twice as many passes). Same weights as tf.layers.batchNormalization: gamma, beta
 * (trainable), moving_mean, moving_variance.
 */
export class BatchNorm extends tf.layers.Layer {
  static readonly className = 'SkinganBatchNorm';
  readonly momentum: number;
  readonly epsilon: number;
  private gamma!: tf.LayerVariable;
  private beta!: tf.LayerVariable;
  private movingMean!: tf.LayerVariable;
  private movingVariance!: tf.LayerVariable;

  constructor(args: BatchNormArgs = {}) {
    super(args);
    this.momentum = args.momentum ?? 0.1;
    this.epsilon = args.epsilon ?? 1e-5;
    this.supportsMasking = true;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const c = [lastAxis(this, inputShape, 'channel')];
    this.gamma = this.addWeight('gamma', c, 'float32', tf.initializers.ones());
    this.beta = this.addWeight('beta', c, 'float32', tf.initializers.zeros());
    this.movingMean = this.addWeight('moving_mean', c, 'float32', tf.initializers.zeros(), undefined, false);
    this.movingVariance = this.addWeight(
      'moving_variance',
      c,
      'float32',
      tf.initializers.ones(),
      undefined,
      false,
    );
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor {
    const x = single(inputs) as tf.Tensor4D;
    const gamma = this.gamma.read();
    const beta = this.beta.read();
    if (!kwargs.training) {
      return tf.tidy(() => {
        const scale = tf.mul(gamma, tf.rsqrt(tf.add(this.movingVariance.read(), this.epsilon)));
        return tf.add(tf.mul(x, scale), tf.sub(beta, tf.mul(this.movingMean.read(), scale)));
      });
    }
    // Core's one-op batch norm (closed-form gradient, SIMD passes on WASM); the batch statistics
    // update the running ones while they exist.
    const n = x.size / x.shape[3];
    return batchNormTraining(x, gamma as tf.Tensor1D, beta as tf.Tensor1D, this.epsilon, (mean, variance) =>
      this.updateMovingStatistics(mean, variance, n),
    );
  }

  /** PyTorch's update: running ← (1 − momentum)·running + momentum·batch, with the unbiased variance. */
  private updateMovingStatistics(mean: tf.Tensor, variance: tf.Tensor, n: number): void {
    tf.tidy(() => {
      const a = this.momentum;
      const unbiased = tf.mul(variance, n / Math.max(1, n - 1));
      this.movingMean.write(tf.add(tf.mul(this.movingMean.read(), 1 - a), tf.mul(mean, a)));
      this.movingVariance.write(tf.add(tf.mul(this.movingVariance.read(), 1 - a), tf.mul(unbiased, a)));
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), momentum: this.momentum, epsilon: this.epsilon };
  }
}
