import { withBias } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
import { type PowerIterated, SpectralNorm } from './spectral-norm.js';

type Initializer = ReturnType<typeof tf.initializers.zeros>;

export interface Conv2DArgs {
  filters: number;
  kernelSize: number;
  strides?: number;
  /** Initial kernel values (not serialized: a loaded model gets its saved weights). */
  kernelInitializer?: Initializer;
  /** Compute with the spectrally normalised kernel (see `SpectralNorm`). */
  spectralNorm?: boolean;
  /** Initial u and v of the spectral norm (scaled to unit length; not serialized). */
  spectralNormInitializer?: Initializer;
  name?: string;
}

/**
 * A 'same'-padded NHWC convolution with bias, computed as `conv2d` + `add` rather than
 * tf.layers.conv2d's `tf.fused.conv2d`. The fused op's custom gradient computes dx, dW and db
 * together whatever is asked for, so a GAN's G step would pay for all of D's weight gradients and
 * the D step for the gradient of the input images, and every call copies its saved inputs. Plain
 * ops keep tfjs' per-input lazy gradients. Same weights (`kernel` [k, k, in, out], `bias` [out]),
 * and with `spectralNorm` the non-trainable `sn_u` [out] and `sn_v` [k·k·in].
 */
export class Conv2D extends tf.layers.Layer implements PowerIterated {
  static readonly className: string = 'SkinganConv2D';
  readonly filters: number;
  readonly kernelSize: number;
  readonly strides: number;
  readonly spectralNorm: boolean;
  private readonly kernelInitializer: Initializer;
  private readonly spectralNormInitializer: Initializer | undefined;
  protected kernel!: tf.LayerVariable;
  protected bias!: tf.LayerVariable;
  /** The spectral norm's state, once built with `spectralNorm`. */
  sn: SpectralNorm | undefined;

  constructor(args: Conv2DArgs) {
    super(args);
    this.filters = args.filters;
    this.kernelSize = args.kernelSize;
    this.strides = args.strides ?? 1;
    this.kernelInitializer = args.kernelInitializer ?? tf.initializers.zeros();
    this.spectralNorm = args.spectralNorm ?? false;
    this.spectralNormInitializer = args.spectralNormInitializer;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const channels = shape[shape.length - 1];
    if (typeof channels !== 'number') throw new Error(`${this.name}: the channel dimension must be known`);
    const k = this.kernelSize;
    this.kernel = this.addWeight('kernel', [k, k, channels, this.filters], 'float32', this.kernelInitializer);
    this.bias = this.addWeight('bias', [this.filters], 'float32', tf.initializers.zeros());
    if (this.spectralNorm) {
      this.sn = SpectralNorm.create(
        [k, k, channels, this.filters],
        (name, shape, init) => this.addWeight(name, shape, 'float32', init, undefined, false),
        this.spectralNormInitializer,
      );
    }
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const [n, h, w] = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const out = (v: number | null) => (v === null ? null : Math.ceil(v / this.strides));
    return [n ?? null, out(h ?? null), out(w ?? null), this.filters];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = (Array.isArray(inputs) ? inputs[0]! : inputs) as tf.Tensor4D;
    return tf.tidy(() => {
      const w = this.kernel.read();
      const kernel = (this.sn ? this.sn.normalize(w) : w) as tf.Tensor4D;
      return withBias(() => tf.conv2d(x, kernel, this.strides, 'same'), this.bias.read() as tf.Tensor1D);
    });
  }

  powerIterate(): boolean {
    this.sn?.powerIterate(this.kernel.read());
    return this.sn !== undefined;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      filters: this.filters,
      kernelSize: this.kernelSize,
      strides: this.strides,
      spectralNorm: this.spectralNorm,
    };
  }
}
