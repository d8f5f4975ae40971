import { lastAxis, layerConfig, single, singleShape, withBias } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
import { KernelLayer, type KernelLayerArgs } from './kernel-layer.js';

export interface Conv2DArgs extends KernelLayerArgs {
  filters: number;
  kernelSize: number;
  strides?: number;
}

/**
 * A 'same'-padded NHWC convolution with bias, computed as `conv2d` + `add` rather than
 * tf.layers.conv2d's `tf.fused.conv2d`. The fused op's custom gradient computes dx, dW and db
 * together whatever is asked for, so a GAN's G step would pay for all of D's weight gradients and
 * the D step for the gradient of the input images, and every call copies its saved inputs. Plain
 * ops keep tfjs' per-input lazy gradients. Same weights (`kernel` [k, k, in, out], `bias` [out]),
 * and with `spectralNorm` the non-trainable `sn_u` [out] and `sn_v` [k·k·in].
 */
export class Conv2D extends KernelLayer {
  static readonly className: string = 'SkinganConv2D';
  readonly filters: number;
  readonly kernelSize: number;
  readonly strides: number;

  constructor(args: Conv2DArgs) {
    super(args);
    this.filters = args.filters;
    this.kernelSize = args.kernelSize;
    this.strides = args.strides ?? 1;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const k = this.kernelSize;
    this.addKernel([k, k, lastAxis(this, inputShape, 'channel'), this.filters], this.filters);
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const [n, h, w] = singleShape(inputShape);
    const out = (v: number | null) => (v === null ? null : Math.ceil(v / this.strides));
    return [n ?? null, out(h ?? null), out(w ?? null), this.filters];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = single(inputs) as tf.Tensor4D;
    return tf.tidy(() => {
      const [kernel, bias] = this.kernelAndBias<tf.Tensor4D>();
      return withBias(() => tf.conv2d(x, kernel, this.strides, 'same'), bias);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      ...layerConfig(this, ['filters', 'kernelSize', 'strides', 'spectralNorm']),
    };
  }
}
