import { withBias } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
import { type PowerIterated, SpectralNorm } from './spectral-norm.js';

type Initializer = ReturnType<typeof tf.initializers.zeros>;

export interface DenseArgs {
  units: number;
  /** Add a bias (default true). */
  useBias?: boolean;
  /** Initial kernel values (not serialized: a loaded model gets its saved weights). */
  kernelInitializer?: Initializer;
  /** Compute with the spectrally normalised kernel (see `SpectralNorm`). */
  spectralNorm?: boolean;
  /** Initial u and v of the spectral norm (scaled to unit length; not serialized). */
  spectralNormInitializer?: Initializer;
  name?: string;
}

/**
 * x·W (+ b) on [B, features] inputs, optionally with the spectrally normalised W: the discriminator's
 * heads when `discriminator.spectralNorm` is on (tf.layers.dense otherwise) and its projection
 * embedding. Weights `kernel` [in, units], `bias` [units] (with `useBias`), and with `spectralNorm`
 * the non-trainable `sn_u` [units], `sn_v` [in].
 */
export class Dense extends tf.layers.Layer implements PowerIterated {
  static readonly className = 'SkinganDense';
  readonly units: number;
  readonly useBias: boolean;
  readonly spectralNorm: boolean;
  private readonly kernelInitializer: Initializer;
  private readonly spectralNormInitializer: Initializer | undefined;
  private kernel!: tf.LayerVariable;
  private bias: tf.LayerVariable | undefined;
  sn: SpectralNorm | undefined;

  constructor(args: DenseArgs) {
    super(args);
    this.units = args.units;
    this.useBias = args.useBias ?? true;
    this.spectralNorm = args.spectralNorm ?? false;
    this.kernelInitializer = args.kernelInitializer ?? tf.initializers.zeros();
    this.spectralNormInitializer = args.spectralNormInitializer;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const features = shape[shape.length - 1];
    if (typeof features !== 'number') throw new Error(`${this.name}: the feature dimension must be known`);
    this.kernel = this.addWeight('kernel', [features, this.units], 'float32', this.kernelInitializer);
    if (this.useBias) this.bias = this.addWeight('bias', [this.units], 'float32', tf.initializers.zeros());
    if (this.spectralNorm) {
      this.sn = SpectralNorm.create(
        [features, this.units],
        (name, s, init) => this.addWeight(name, s, 'float32', init, undefined, false),
        this.spectralNormInitializer,
      );
    }
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    return [...shape.slice(0, -1), this.units];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = (Array.isArray(inputs) ? inputs[0]! : inputs) as tf.Tensor2D;
    return tf.tidy(() => {
      const w = this.kernel.read();
      const kernel = (this.sn ? this.sn.normalize(w) : w) as tf.Tensor2D;
      return withBias(() => tf.matMul(x, kernel), this.bias?.read() as tf.Tensor1D | undefined);
    });
  }

  powerIterate(): boolean {
    this.sn?.powerIterate(this.kernel.read());
    return this.sn !== undefined;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      units: this.units,
      useBias: this.useBias,
      spectralNorm: this.spectralNorm,
    };
  }
}
