import * as tf from '@tensorflow/tfjs';

type Initializer = ReturnType<typeof tf.initializers.zeros>;

/**
 * Spectral normalisation (Miyato et al. 2018) of a layer's kernel: the layer computes with W / σ(W),
 * σ the largest singular value of the kernel as a matrix M = [fan-in, out] (a conv kernel
 * [k, k, in, out] flattened over its first three axes). σ is estimated from the persistent vectors
 * u (out) and v (fan-in), non-trainable weights saved with the model, as σ = vᵀ M u; the gradient
 * flows through M only, as in PyTorch's `spectral_norm`. Each `powerIterate()` refines u and v by
 * one power-method step; the trainer calls it once per training step (`powerIterateAll`), not at
 * every forward pass as PyTorch does, so D's three passes of a step share one estimate.
 */
export class SpectralNorm {
  private constructor(
    readonly u: tf.LayerVariable,
    readonly v: tf.LayerVariable,
  ) {}

  /**
   * The two vectors for a kernel of `kernelShape`, made by the layer's `addWeight` (protected in
   * tfjs, hence passed in), drawn from `initializer` and scaled to unit length.
   */
  static create(
    kernelShape: number[],
    addWeight: (name: string, shape: number[], init: Initializer) => tf.LayerVariable,
    initializer: Initializer = tf.initializers.randomNormal({ mean: 0, stddev: 1 }),
  ): SpectralNorm {
    const out = kernelShape[kernelShape.length - 1]!;
    const fanIn = kernelShape.slice(0, -1).reduce((a, b) => a * b, 1);
    const u = addWeight('sn_u', [out], initializer);
    const v = addWeight('sn_v', [fanIn], initializer);
    tf.tidy(() => {
      u.write(unit(u.read()));
      v.write(unit(v.read()));
    });
    return new SpectralNorm(u, v);
  }

  /** σ = vᵀ M u, differentiable in the kernel (u and v are constants of the step). */
  sigma(kernel: tf.Tensor): tf.Scalar {
    return tf.tidy(() => {
      const m = asMatrix(kernel);
      const mu = tf.matMul(m, tf.reshape(this.u.read(), [-1, 1]));
      return tf.sum(tf.mul(tf.reshape(this.v.read(), [-1, 1]), mu)) as tf.Scalar;
    });
  }

  /** The kernel divided by its estimated largest singular value. */
  normalize(kernel: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.div(kernel, this.sigma(kernel)));
  }

  /** One power-method step on the kernel's current values: v ← M u / ‖M u‖, u ← Mᵀ v / ‖Mᵀ v‖. */
  powerIterate(kernel: tf.Tensor): void {
    tf.tidy(() => {
      const m = asMatrix(kernel);
      const v = unit(tf.reshape(tf.matMul(m, tf.reshape(this.u.read(), [-1, 1])), [-1]));
      const u = unit(tf.reshape(tf.matMul(v.reshape([1, -1]), m), [-1]));
      this.v.write(v);
      this.u.write(u);
    });
  }
}

/** A layer that may be spectrally normalised: `powerIterate` runs one step and says whether it did. */
export interface PowerIterated {
  powerIterate(): boolean;
}

function isPowerIterated(layer: unknown): layer is PowerIterated {
  return typeof (layer as Partial<PowerIterated>).powerIterate === 'function';
}

/** One power iteration in every spectrally normalised layer of `model`; returns how many there are. */
export function powerIterateAll(model: tf.LayersModel): number {
  let n = 0;
  for (const layer of model.layers) if (isPowerIterated(layer) && layer.powerIterate()) n++;
  return n;
}

function asMatrix(kernel: tf.Tensor): tf.Tensor2D {
  return tf.reshape(kernel, [-1, kernel.shape[kernel.rank - 1]!]);
}

/** x / max(‖x‖, 1e-12), PyTorch's `normalize`. */
function unit(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.div(x, tf.maximum(tf.norm(x), 1e-12)));
}
