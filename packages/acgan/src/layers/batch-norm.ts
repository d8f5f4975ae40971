import * as tf from '@tensorflow/tfjs';

export interface BatchNormArgs {
  /** Weight of the newest batch in the running statistics (PyTorch's convention; tfjs' momentum is 1 − this). */
  momentum?: number;
  epsilon?: number;
  name?: string;
}

const AXES = [0, 1, 2];

/**
 * Batch normalization over N, H, W of NHWC feature maps, with PyTorch's semantics (running
 * statistics updated with momentum 0.1 and the unbiased batch variance) and a hand-written
 * backward pass:
 *
 *   dβ = Σ dy,  dγ = Σ dy·x̂,  dx = γ/σ · (dy − dβ/n − x̂·dγ/n)
 *
 * tfjs' own batch-norm gradient materializes γ/σ with `tile` to the full feature-map shape and
 * makes about twice as many passes; on WASM, where `Tile` is a slow generic kernel, it cost a
 * tenth of an ACGAN step. Same weights as tf.layers.batchNormalization: gamma, beta (trainable),
 * moving_mean, moving_variance.
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
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const channels = shape[shape.length - 1];
    if (typeof channels !== 'number') throw new Error(`${this.name}: the channel dimension must be known`);
    const c = [channels];
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
    const x = (Array.isArray(inputs) ? inputs[0]! : inputs) as tf.Tensor4D;
    const gamma = this.gamma.read();
    const beta = this.beta.read();
    if (!kwargs.training) {
      return tf.tidy(() => {
        const scale = tf.mul(gamma, tf.rsqrt(tf.add(this.movingVariance.read(), this.epsilon)));
        return tf.add(tf.mul(x, scale), tf.sub(beta, tf.mul(this.movingMean.read(), scale)));
      });
    }
    let mean: tf.Tensor | undefined;
    let variance: tf.Tensor | undefined;
    const normalize = tf.customGrad((xIn, gIn, bIn, save) => {
      const [xt, g, b] = [xIn as tf.Tensor4D, gIn as tf.Tensor1D, bIn as tf.Tensor1D];
      const m = tf.moments(xt, AXES);
      mean = tf.keep(m.mean);
      variance = tf.keep(m.variance);
      const invStd = tf.rsqrt(tf.add(m.variance, this.epsilon));
      const xHat = tf.mul(tf.sub(xt, m.mean), invStd);
      (save as (ts: tf.Tensor[]) => void)([xHat, invStd, g]);
      return {
        value: tf.add(tf.mul(xHat, g), b),
        gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
          const [xh, inv, gs] = saved as [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D];
          const d = dy as tf.Tensor4D;
          const n = d.size / d.shape[3];
          const dBeta = tf.sum(d, AXES);
          const dGamma = tf.sum(tf.mul(d, xh), AXES);
          const centred = tf.sub(tf.sub(d, tf.div(dBeta, n)), tf.mul(xh, tf.div(dGamma, n)));
          return [tf.mul(centred, tf.mul(gs, inv)), dGamma, dBeta];
        },
      };
    });
    const y = normalize(x, gamma, beta);
    this.updateMovingStatistics(mean!, variance!, x.size / x.shape[3]);
    return y;
  }

  private updateMovingStatistics(mean: tf.Tensor, variance: tf.Tensor, n: number): void {
    tf.tidy(() => {
      const a = this.momentum;
      const unbiased = tf.mul(variance, n / Math.max(1, n - 1));
      this.movingMean.write(tf.add(tf.mul(this.movingMean.read(), 1 - a), tf.mul(mean, a)));
      this.movingVariance.write(tf.add(tf.mul(this.movingVariance.read(), 1 - a), tf.mul(unbiased, a)));
    });
    tf.dispose([mean, variance]);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), momentum: this.momentum, epsilon: this.epsilon };
  }
}
