import { type Interpolation, single, singleShape, upConv2d, upConvTaps } from '@skingan/core';
import type * as tf from '@tensorflow/tfjs';
import { Conv2D, type Conv2DArgs } from './conv2d.js';

/** `Conv2D`'s arguments but the stride (1) and spectral norm (not offered for G), and the upsampling. */
export type NearestUpConv2DArgs = Omit<Conv2DArgs, 'strides' | 'spectralNorm' | 'spectralNormInitializer'> & {
  /** Default `nearest` (also for saved models from before the option). */
  interpolation?: Interpolation;
};

/**
 * 2× upsampling (`upsample2x`, nearest or bilinear) followed by a k×k stride-1 'same' conv with
 * bias, the generator's `nearest-conv` and `bilinear-conv` blocks, computed as one stride-2
 * transposed conv whose (k′×k′) kernel is a fixed linear map of the conv's (the "sub-pixel" form):
 * the same output and gradients as upsampling then convolving (tested against that; beyond the
 * edges the conv reads the upsampled map of a zero-padded input, which for bilinear is ¼ of the edge
 * pixel on the first ring, where a conv on the upsampled map pads zeros), at the cost of
 * a transposed conv on the small map instead of a conv on the 4× larger one (k = 3: k′ = 4 for
 * nearest, 2.25× fewer multiply-adds; k′ = 6 for bilinear, the same count). A `Conv2D` (stride 1) on
 * the upsampled map, with its weights: `kernel` [k, k, in, out], `bias` [out]. The class keeps its
 * first name, which saved models carry.
 */
export class NearestUpConv2D extends Conv2D {
  static override readonly className = 'SkinganNearestUpConv2D';
  readonly interpolation: Interpolation;
  private readonly taps: number[][];

  constructor(args: NearestUpConv2DArgs) {
    // A deserialized config carries Conv2D's fields too: keep them at what this layer computes.
    super({ ...args, strides: 1, spectralNorm: false });
    this.interpolation = args.interpolation ?? 'nearest';
    this.taps = upConvTaps(this.kernelSize, this.interpolation);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), interpolation: this.interpolation };
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const [n, h, w] = singleShape(inputShape);
    const twice = (v: number | null | undefined) => (v == null ? null : 2 * v);
    return [n ?? null, twice(h), twice(w), this.filters];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return upConv2d(
      single(inputs) as tf.Tensor4D,
      this.kernel.read() as tf.Tensor4D,
      this.bias!.read() as tf.Tensor1D,
      this.taps,
    );
  }
}
