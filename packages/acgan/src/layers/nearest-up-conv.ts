import { single, singleShape, withBias } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
import { Conv2D, type Conv2DArgs } from './conv2d.js';

/** `Conv2D`'s arguments but the stride (1) and spectral norm (not offered for G). */
export type NearestUpConv2DArgs = Omit<Conv2DArgs, 'strides' | 'spectralNorm' | 'spectralNormInitializer'>;

/**
 * 2× nearest-neighbour upsampling of NHWC maps: each pixel becomes a 2×2 block (a broadcast multiply,
 * differentiable with the kernels every backend has). `NearestUpConv2D` computes the same as this
 * followed by a conv without materializing the upsampled map; this is its reference form.
 */
export function upsample2x(x: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const [b, h, w, c] = x.shape;
    const blocks = tf.mul(tf.reshape(x, [b, h, 1, w, 1, c]), tf.ones([1, 1, 2, 1, 2, 1]));
    return tf.reshape(blocks, [b, 2 * h, 2 * w, c]) as tf.Tensor4D;
  });
}

/**
 * The 1-D tap map of "2× nearest upsampling, then a k-tap 'same' conv" as a stride-2 transposed conv:
 * `taps[s][t]` = 1 where tap t of the conv lands on tap s of the transposed conv's kernel (size k + 1
 * for odd k, k + 2 for even k, whose 'same' padding puts the output where the upsampled conv's is).
 *
 * Output j = 2m + r of the upsampled conv reads input m + ⌊(r + t − p)/2⌋ through tap t (p the
 * conv's leading pad ⌊(k − 1)/2⌋), and the transposed conv reads input m + d through its tap
 * s = r + P − 2d (P its leading pad ⌊(k′ − 2)/2⌋); the phases r = 0, 1 fill alternate s.
 */
export function nearestUpTaps(k: number): number[][] {
  const size = k % 2 ? k + 1 : k + 2;
  const p = Math.floor((k - 1) / 2);
  const P = Math.floor((size - 2) / 2);
  const taps = Array.from({ length: size }, () => new Array<number>(k).fill(0));
  for (const r of [0, 1]) {
    for (let t = 0; t < k; t++) {
      const s = r + P - 2 * Math.floor((r + t - p) / 2);
      if (s < 0 || s >= size) throw new Error(`nearestUpTaps(${k}): tap ${t} of phase ${r} falls outside`);
      taps[s]![t]! += 1;
    }
  }
  return taps;
}

/**
 * 2× nearest-neighbour upsampling followed by a k×k stride-1 'same' conv with bias, the generator's
 * `nearest-conv` block, computed as one stride-2 transposed conv whose (k′×k′) kernel is a fixed
 * linear map of the conv's (the "sub-pixel" form): the same output and gradients as upsampling then
 * convolving (tested against that), at the cost of a transposed conv on the small map instead of a
 * conv on the 4× larger one (2.25× fewer multiply-adds for k = 3). A `Conv2D` (stride 1) on the
 * upsampled map, with its weights: `kernel` [k, k, in, out], `bias` [out].
 */
export class NearestUpConv2D extends Conv2D {
  static override readonly className = 'SkinganNearestUpConv2D';
  private readonly taps: number[][];

  constructor(args: NearestUpConv2DArgs) {
    // A deserialized config carries Conv2D's fields too: keep them at what this layer computes.
    super({ ...args, strides: 1, spectralNorm: false });
    this.taps = nearestUpTaps(this.kernelSize);
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const [n, h, w] = singleShape(inputShape);
    const twice = (v: number | null | undefined) => (v == null ? null : 2 * v);
    return [n ?? null, twice(h), twice(w), this.filters];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = single(inputs) as tf.Tensor4D;
    return tf.tidy(() => {
      const [b, h, w] = x.shape;
      const kernel = this.transposedKernel(this.kernel.read() as tf.Tensor4D);
      return withBias(
        () => tf.conv2dTranspose(x, kernel, [b, 2 * h, 2 * w, this.filters], 2, 'same'),
        this.bias!.read() as tf.Tensor1D,
      );
    });
  }

  /** [k, k, in, out] → the transposed conv's [k′, k′, out, in]: the tap map applied along both axes. */
  private transposedKernel(kernel: tf.Tensor4D): tf.Tensor4D {
    const [k, , cin, cout] = kernel.shape;
    const size = this.taps.length;
    const a = tf.tensor2d(this.taps);
    // Rows: k → k′, then (after swapping the spatial axes) columns: k → k′.
    let m = tf.reshape(tf.matMul(a, tf.reshape(kernel, [k, -1])), [size, k, cin, cout]);
    m = tf.transpose(m, [1, 0, 2, 3]);
    m = tf.reshape(tf.matMul(a, tf.reshape(m, [k, -1])), [size, size, cin, cout]);
    // [col, row, in, out] → [row, col, out, in]
    return tf.transpose(m, [1, 0, 3, 2]) as tf.Tensor4D;
  }
}
