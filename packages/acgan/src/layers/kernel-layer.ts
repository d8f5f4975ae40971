import * as tf from '@tensorflow/tfjs';
import { type PowerIterated, SpectralNorm } from './spectral-norm.js';

type Initializer = ReturnType<typeof tf.initializers.zeros>;

export interface KernelLayerArgs {
  /** Initial kernel values (not serialized: a loaded model gets its saved weights). */
  kernelInitializer?: Initializer;
  /** Compute with the spectrally normalised kernel (see `SpectralNorm`). */
  spectralNorm?: boolean;
  /** Initial u and v of the spectral norm (scaled to unit length; not serialized). */
  spectralNormInitializer?: Initializer;
  name?: string;
}

/**
 * What `Conv2D` and `Dense` share: a kernel, optionally spectrally normalised, and a bias. Weights
 * `kernel`, `bias` and with `spectralNorm` the non-trainable `sn_u`, `sn_v`, in that order.
 */
export abstract class KernelLayer extends tf.layers.Layer implements PowerIterated {
  readonly spectralNorm: boolean;
  private readonly kernelInitializer: Initializer;
  private readonly spectralNormInitializer: Initializer | undefined;
  protected kernel!: tf.LayerVariable;
  protected bias: tf.LayerVariable | undefined;
  /** The spectral norm's state, once built with `spectralNorm`. */
  sn: SpectralNorm | undefined;

  constructor(args: KernelLayerArgs) {
    super(args);
    this.kernelInitializer = args.kernelInitializer ?? tf.initializers.zeros();
    this.spectralNorm = args.spectralNorm ?? false;
    this.spectralNormInitializer = args.spectralNormInitializer;
  }

  /** Adds the weights: a kernel of `shape`, a bias of `biasSize` (null: none), the spectral norm's. */
  protected addKernel(shape: number[], biasSize: number | null): void {
    this.kernel = this.addWeight('kernel', shape, 'float32', this.kernelInitializer);
    if (biasSize !== null) this.bias = this.addWeight('bias', [biasSize], 'float32', tf.initializers.zeros());
    if (this.spectralNorm) {
      this.sn = SpectralNorm.create(
        shape,
        (name, s, init) => this.addWeight(name, s, 'float32', init, undefined, false),
        this.spectralNormInitializer,
      );
    }
    this.built = true;
  }

  /** The kernel to compute with (spectrally normalised with `spectralNorm`), and the bias. */
  protected kernelAndBias<K extends tf.Tensor>(): [K, tf.Tensor1D | undefined] {
    const w = this.kernel.read();
    return [(this.sn ? this.sn.normalize(w) : w) as K, this.bias?.read() as tf.Tensor1D | undefined];
  }

  powerIterate(): boolean {
    this.sn?.powerIterate(this.kernel.read());
    return this.sn !== undefined;
  }
}
